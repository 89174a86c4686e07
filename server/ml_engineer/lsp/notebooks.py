"""Notebook document sync: pygls keeps the cells; we analyse the notebook's code cells as one program."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

if TYPE_CHECKING:
    from .server import MLEngineerServer


def register(server: MLEngineerServer) -> None:
    @server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    def did_open(ls: MLEngineerServer, params: types.DidOpenNotebookDocumentParams) -> None:
        uri = params.notebook_document.uri
        ls.store.notebooks.add(uri)
        ls.schedule(uri, immediately=True)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def did_change(ls: MLEngineerServer, params: types.DidChangeNotebookDocumentParams) -> None:
        uri = params.notebook_document.uri
        if uri in ls.store.notebooks:
            # Cells added, removed or reordered change every later cell's lines: re-analyse now.
            structure_changed = params.change.cells is not None and params.change.cells.structure is not None
            ls.schedule(uri, immediately=structure_changed)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def did_close(ls: MLEngineerServer, params: types.DidCloseNotebookDocumentParams) -> None:
        uri = params.notebook_document.uri
        ls.scheduler.cancel(uri)
        ls.store.close(uri)
        ls.publisher.clear(uri)

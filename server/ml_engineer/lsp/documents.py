"""Open documents and their latest snapshots; builds the immutable inputs of each analysis.

A *key* is what gets analysed as one program: a text document's URI, or a notebook's URI (whose
code cells are joined). Cell URIs map to their notebook's key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types
from pygls.uris import to_fs_path
from pygls.workspace import Workspace

from ..analysis.config import Config, ConfigError, config_from_pyproject, find_pyproject
from ..analysis.notebook import join_cells
from .analysis_runner import AnalysisInput
from .settings import ServerSettings
from .snapshot import CellSpan, Snapshot, core_encoding
from .text_sync import TextBuffer, TreeEdit

log = logging.getLogger(__name__)


@dataclass
class OpenText:
    uri: str
    version: int
    buffer: TextBuffer
    language_id: str
    # Changes since the tree of the latest snapshot: (version after the change, edit or None when
    # the whole text was replaced and the old tree cannot be reused).
    edits: list[tuple[int, TreeEdit | None]] = field(default_factory=list)


def uri_to_path(uri: str) -> str:
    """A file path for `file:` URIs; other schemes (untitled:, vscode-notebook-cell:) keep the URI."""
    if uri.startswith("file:"):
        path = to_fs_path(uri)
        if path:
            return path
    return uri


class ConfigResolver:
    """`[tool.ml-engineer]` of the nearest pyproject.toml, cached per folder, merged with settings."""

    def __init__(self) -> None:
        self._by_folder: dict[str, Config] = {}
        self.errors: list[str] = []  # configuration errors not yet shown to the user
        self._reported: set[str] = set()

    def clear(self) -> None:
        self._by_folder.clear()

    def for_path(self, path: str, root: str | None, settings: ServerSettings) -> Config:
        folder = str(Path(path).parent) if Path(path).is_absolute() else (root or "")
        base = self._by_folder.get(folder)
        if base is None:
            base = Config()
            if folder:
                try:
                    pyproject = find_pyproject(Path(folder))
                    if pyproject is not None:
                        base = config_from_pyproject(pyproject)
                except (ConfigError, OSError) as error:
                    message = str(error)
                    if message not in self._reported:
                        self._reported.add(message)
                        self.errors.append(f"{message}; using the default rules")
            self._by_folder[folder] = base
        return base.merged(select=settings.select, ignore=settings.ignore, severity=settings.severity)


class DocumentStore:
    def __init__(self, workspace: Workspace | None = None) -> None:
        self.workspace = workspace
        self.texts: dict[str, OpenText] = {}
        self.notebooks: set[str] = set()
        self.snapshots: dict[str, Snapshot] = {}
        self.configs = ConfigResolver()
        self.settings = ServerSettings()
        self.root: str | None = None
        self.position_encoding: str | None = types.PositionEncodingKind.Utf16

    # --- bookkeeping -----------------------------------------------------------------------

    def open_keys(self) -> list[str]:
        return [*self.texts, *self.notebooks]

    def key_for(self, uri: str) -> str | None:
        if uri in self.texts or uri in self.notebooks:
            return uri
        if self.workspace is not None:
            notebook = self.workspace.get_notebook_document(cell_uri=uri)
            if notebook is not None and notebook.uri in self.notebooks:
                return notebook.uri
        return None

    def snapshot_for(self, uri: str) -> Snapshot | None:
        key = self.key_for(uri)
        return self.snapshots.get(key) if key is not None else None

    def current_version(self, key: str) -> int | None:
        if key in self.texts:
            return self.texts[key].version
        if key in self.notebooks and self.workspace is not None:
            notebook = self.workspace.get_notebook_document(notebook_uri=key)
            return notebook.version if notebook is not None else None
        return None

    def open_text(self, item: types.TextDocumentItem) -> None:
        self.texts[item.uri] = OpenText(item.uri, item.version, TextBuffer(item.text), item.language_id)

    def change_text(self, params: types.DidChangeTextDocumentParams) -> None:
        doc = self.texts.get(params.text_document.uri)
        if doc is None:
            return
        encoding = self.position_encoding or types.PositionEncodingKind.Utf16
        for change in params.content_changes:
            edit = doc.buffer.apply(change, encoding)
            doc.edits.append((params.text_document.version, edit))
        doc.version = params.text_document.version

    def close(self, key: str) -> None:
        self.texts.pop(key, None)
        self.notebooks.discard(key)
        self.snapshots.pop(key, None)

    def accept(self, snapshot: Snapshot) -> None:
        """Store a current snapshot; its tree becomes the base of the next incremental parse."""
        self.snapshots[snapshot.key] = snapshot
        doc = self.texts.get(snapshot.key)
        if doc is not None:
            doc.edits = [(version, edit) for version, edit in doc.edits if version > snapshot.version]

    # --- analysis inputs -------------------------------------------------------------------

    def make_input(self, key: str) -> AnalysisInput | None:
        if key in self.texts:
            return self._text_input(self.texts[key])
        if key in self.notebooks:
            return self._notebook_input(key)
        return None

    def _common(self, path: str) -> dict[str, object]:
        return {
            "config": self.configs.for_path(path, self.root, self.settings),
            "encoding": core_encoding(self.position_encoding),
            "max_size": self.settings.max_file_size_bytes,
        }

    def _text_input(self, doc: OpenText) -> AnalysisInput:
        path = uri_to_path(doc.uri)
        previous = self.snapshots.get(doc.uri)
        base_tree = None
        edits: tuple[TreeEdit, ...] = ()
        if previous is not None and previous.result is not None:
            pending = [edit for version, edit in doc.edits if version > previous.version]
            if all(edit is not None for edit in pending):
                base_tree = previous.result.tree
                edits = tuple(edit for edit in pending if edit is not None)
        return AnalysisInput(
            key=doc.uri, version=doc.version, text=doc.buffer.text, path=path,
            base_tree=base_tree, edits=edits, **self._common(path),  # type: ignore[arg-type]
        )

    def _notebook_input(self, key: str) -> AnalysisInput | None:
        if self.workspace is None:
            return None
        notebook = self.workspace.get_notebook_document(notebook_uri=key)
        if notebook is None:
            return None
        code_cells = [cell for cell in notebook.cells if cell.kind == types.NotebookCellKind.Code]
        orders = [cell.execution_summary.execution_order if cell.execution_summary else None for cell in code_cells]
        if code_cells and all(order is not None for order in orders):
            # Every cell ran: analyse them in the order the kernel saw them.
            code_cells = [cell for _, cell in sorted(zip(orders, code_cells, strict=True), key=lambda pair: pair[0] or 0)]
        pieces: list[tuple[int, str]] = []
        documents = []
        for index, cell in enumerate(code_cells):
            document = self.workspace.get_text_document(cell.document)
            if document.language_id not in (None, "python"):
                continue
            pieces.append((index, document.source))
            documents.append(document)
        joined = join_cells(pieces)
        cells = tuple(
            CellSpan(doc.uri, doc.version or 0, cell.start_line, cell.line_count)
            for doc, cell in zip(documents, joined.cells, strict=True)
        )
        path = uri_to_path(key)
        return AnalysisInput(
            key=key, version=notebook.version, text=joined.text, path=path, cells=cells,
            notebook=joined if cells else None, is_notebook=True, **self._common(path),  # type: ignore[arg-type]
        )

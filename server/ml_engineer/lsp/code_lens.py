"""Code lens above each training loop: the pipeline as the model sees it; clicking asks for a review."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from ..analysis.pipeline_summary import summarize_training_loops
from .snapshot import Snapshot

if TYPE_CHECKING:
    from .server import MLEngineerServer


def code_lenses(snapshot: Snapshot, uri: str) -> list[types.CodeLens]:
    if snapshot.result is None:
        return []
    lenses = []
    for summary in summarize_training_loops(snapshot.result.model):
        loop_uri, loop_range = snapshot.range(summary.loop.start_byte, summary.loop.end_byte)
        if loop_uri != uri:
            continue
        line = summary.line()
        question = (
            f"Review this training loop ({line}). Is anything wrong or missing: gradient handling, "
            "mixed precision, clipping, scheduling, evaluation, checkpointing?"
        )
        head = types.Range(loop_range.start, loop_range.start)
        argument = {
            "uri": uri,
            "question": question,
            "range": {
                "start": {"line": loop_range.start.line, "character": 0},
                "end": {"line": loop_range.end.line, "character": loop_range.end.character},
            },
        }
        lenses.append(types.CodeLens(range=head, command=types.Command(line, "mlEngineer.ask", arguments=[argument])))
    return lenses


def register(server: MLEngineerServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_CODE_LENS, types.CodeLensOptions(resolve_provider=False))
    def code_lens(ls: MLEngineerServer, params: types.CodeLensParams) -> list[types.CodeLens] | None:
        if not ls.settings.code_lens_enabled:
            return []
        snapshot = ls.store.snapshot_for(params.text_document.uri)
        if snapshot is None:
            return None
        return code_lenses(snapshot, params.text_document.uri)

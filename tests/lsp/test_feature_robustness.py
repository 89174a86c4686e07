"""Hover, code actions and code lenses never raise, at any position of the example scripts
(in-process, on snapshots: fast enough to try every token)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from ml_engineer.analysis.config import Config
from ml_engineer.lsp.analysis_runner import AnalysisInput, run_analysis
from ml_engineer.lsp.code_actions import code_actions
from ml_engineer.lsp.code_lens import code_lenses
from ml_engineer.lsp.diagnostics import diagnostics_by_uri
from ml_engineer.lsp.hover import hover_at

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = [*sorted((ROOT / "examples").glob("*.py")), ROOT / "benchmarks" / "data" / "image_classifier_train.py"]
URI = "file:///example.py"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_position_is_safe(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    snapshot = run_analysis(AnalysisInput(URI, 1, text, str(path), Config(), "utf-16", 10**7))
    assert snapshot.result is not None
    diagnostics_by_uri(snapshot)
    code_lenses(snapshot, URI)
    hovers = 0
    for line_number, line in enumerate(text.split("\n")):
        for column in range(0, len(line) + 1, 3):
            if hover_at(snapshot, URI, types.Position(line_number, column)) is not None:
                hovers += 1
        whole_line = types.Range(types.Position(line_number, 0), types.Position(line_number, len(line)))
        params = types.CodeActionParams(types.TextDocumentIdentifier(URI), whole_line, types.CodeActionContext(diagnostics=[]))
        code_actions(snapshot, params, versioned=True)
    assert hovers > 0

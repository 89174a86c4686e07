"""Analyses must be freed once dropped: the language server re-analyses on every keystroke."""

from __future__ import annotations

import gc
from pathlib import Path

from ml_engineer.analysis.config import Config
from ml_engineer.analysis.engine import analyze
from ml_engineer.analysis.model import SemanticModel

EXAMPLES = Path(__file__).parent.parent.parent / "examples"


def test_no_semantic_model_outlives_its_analysis() -> None:
    text = "\n".join(path.read_text(encoding="utf-8") for path in sorted(EXAMPLES.glob("*.py")))
    for _ in range(3):
        result = analyze(text, "leak.py", Config(select=("ML",)))
        assert result.findings  # every rule family ran, caches included
        del result
    gc.collect()
    alive = [obj for obj in gc.get_objects() if isinstance(obj, SemanticModel)]
    assert alive == []

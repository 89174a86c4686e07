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


def test_a_dropped_analysis_is_freed_without_the_cyclic_collector() -> None:
    # Reference cycles (model <-> caches, class <-> methods) keep a model, its nodes and so its
    # whole tree alive until a full collection, which the server's high GC thresholds make rare:
    # memory then grows with every keystroke. Without cycles, dropping the result frees it at once.
    text = "\n".join(path.read_text(encoding="utf-8") for path in sorted(EXAMPLES.glob("*.py")))
    analyze(text, "warm.py", Config(select=("ML",)))
    gc.collect()
    gc.disable()
    try:
        result = analyze(text, "cycles.py", Config(select=("ML",)))
        assert result.findings and result.model.training_loops and result.model.classes
        del result
        alive = [obj for obj in gc.get_objects() if isinstance(obj, SemanticModel)]
        assert alive == []
    finally:
        gc.enable()

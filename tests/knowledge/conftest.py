"""Shared fixtures: one knowledge base per test session, with its JSON cache in a temporary folder."""

from __future__ import annotations

import pytest

from ml_engineer.knowledge import KnowledgeBase


@pytest.fixture(scope="session")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    mp = pytest.MonkeyPatch()
    mp.setenv("ML_ENGINEER_CACHE_DIR", str(tmp_path_factory.mktemp("kb-cache")))
    try:
        return KnowledgeBase.load()
    finally:
        mp.undo()

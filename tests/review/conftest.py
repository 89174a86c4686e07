"""Fixtures of the review tests: the fake Messages API (with tool_use replies) and import paths."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parents[1]
for folder in (TESTS_DIR, TESTS_DIR / "lsp", TESTS_DIR / "review"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from fake_anthropic.fixtures import api_env, fake_api  # noqa: E402

__all__ = ["api_env", "fake_api"]

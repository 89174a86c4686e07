"""Shared fixtures of the agent tests: the fake Messages API server and a test key."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parents[1]
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from fake_anthropic.fixtures import api_env, fake_api  # noqa: E402

__all__ = ["api_env", "fake_api"]

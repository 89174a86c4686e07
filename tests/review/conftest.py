"""Fixtures of the review tests: the fake Messages API (with tool_use replies) and import paths."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parents[1]
for folder in (TESTS_DIR, TESTS_DIR / "lsp", TESTS_DIR / "review"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from review_samples import TEST_KEY  # noqa: E402

from fake_anthropic import FakeAnthropicServer  # noqa: E402


@pytest.fixture
def fake_api() -> Iterator[FakeAnthropicServer]:
    server = FakeAnthropicServer(expected_key=TEST_KEY)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def api_env(fake_api: FakeAnthropicServer) -> dict[str, str]:
    return {"ANTHROPIC_API_KEY": TEST_KEY, "ANTHROPIC_BASE_URL": fake_api.base_url}

"""pytest fixtures around the fake Messages API, shared by the agent, review and LSP suites."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .server import FakeAnthropicServer

# Looks like a real key so that a leak would also be caught by the secret detectors.
TEST_KEY = "sk-ant-api03-Zq7TESTKEYw3rT9yU2iO5pA8sD1fG4hJ6kL0zX3cV7bN9mQ2wE5rT8yU1iO4pA7sD0f-AA"


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

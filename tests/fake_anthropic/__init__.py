"""A local HTTP server that speaks the Anthropic Messages API, for tests.

    from fake_anthropic import FakeAnthropicServer, Reply

    with FakeAnthropicServer() as server:
        server.enqueue(Reply.stream(["Hello", " world"]))
        client = anthropic.AsyncAnthropic(api_key="test-key", base_url=server.base_url, max_retries=0)
        ...
        server.requests[0].json["system"]

Make it importable by putting the ``tests`` directory on ``sys.path`` (see tests/agent/conftest.py).
"""

from .server import ERROR_TYPES, FakeAnthropicServer, RecordedRequest, Reply

__all__ = ["ERROR_TYPES", "FakeAnthropicServer", "RecordedRequest", "Reply"]

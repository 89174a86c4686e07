"""What every backend receives and returns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..models import Usage

#: Called with each piece of the answer, in order. May be sync or async.
ChunkCallback = Callable[[str], "Awaitable[None] | None"]


@dataclass(frozen=True)
class Payload:
    """Exactly what would be sent to the Messages API."""

    model: str
    system: str
    messages: tuple[dict[str, Any], ...]
    max_tokens: int

    def request_body(self) -> dict[str, Any]:
        """The JSON body of the request (as shown by --dry-run), system prompt cached."""
        return {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "system": [{"type": "text", "text": self.system, "cache_control": {"type": "ephemeral"}}],
            "messages": [dict(m) for m in self.messages],
        }


@dataclass
class BackendResult:
    text: str
    model: str
    usage: Usage = field(default_factory=Usage)
    stop_reason: str | None = None


class BackendError(Exception):
    """A failure explained for the user: what happened and what to do. Never holds the API key."""

    def __init__(self, message: str, kind: str, status: int | None = None, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind  # auth | permission | model_not_found | rate_limit | overloaded | server | stream | timeout | connection | bad_request | config | unexpected
        self.status = status
        self.retry_after_s = retry_after_s


class Backend(Protocol):
    name: str

    async def answer(self, payload: Payload, on_chunk: ChunkCallback | None) -> BackendResult: ...


async def emit(on_chunk: ChunkCallback | None, text: str) -> None:
    """Deliver one chunk to a sync or async callback."""
    if on_chunk is None or not text:
        return
    result = on_chunk(text)
    if result is not None:
        await result

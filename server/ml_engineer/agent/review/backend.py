"""The Anthropic backend, asked for one forced tool call instead of a streamed answer.

It subclasses :class:`AnthropicBackend` and replaces only the single request: retries, timeouts,
error messages and scrubbing of the API key from errors and logs are the agent layer's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..backends.anthropic_api import AnthropicBackend
from ..backends.base import BackendError, BackendResult, ChunkCallback, Payload
from ..models import Usage
from .schema import TOOL_NAME


@dataclass
class ToolCallResult(BackendResult):
    tool_input: Any = None  # the `input` of the report_findings call; None when the model did not call it


class ToolUseBackend(AnthropicBackend):
    async def call_tool(self, payload: Payload) -> ToolCallResult:
        result = await self.answer(payload, None)
        if not isinstance(result, ToolCallResult):  # pragma: no cover - answer() returns what _stream_once built
            raise BackendError("Unexpected answer from the review backend.", "unexpected")
        return result

    async def _stream_once(self, payload: Payload, on_chunk: ChunkCallback | None, delivered: list[str]) -> BackendResult:
        body = payload.request_body()
        final = await self._get_client().messages.create(**body)
        tool_input = None
        texts: list[str] = []
        for block in getattr(final, "content", None) or []:
            kind = getattr(block, "type", None)
            if kind == "tool_use" and getattr(block, "name", None) == TOOL_NAME and tool_input is None:
                tool_input = getattr(block, "input", None)
            elif kind == "text":
                texts.append(str(getattr(block, "text", "")))
        return ToolCallResult(
            text="".join(texts),
            model=str(getattr(final, "model", payload.model) or payload.model),
            usage=Usage.from_message(final),
            stop_reason=getattr(final, "stop_reason", None),
            tool_input=tool_input,
        )

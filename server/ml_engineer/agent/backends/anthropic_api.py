"""The Anthropic backend: streams an answer from the Messages API with ``AsyncAnthropic``.

Choices made on purpose (see docs/agent.md):

* ``anthropic`` is imported on first use: importing it costs over a second, which the editor must
  not pay at start-up or for questions answered offline.
* The system prompt is one block with ``cache_control`` so that follow-up questions (same agent,
  same system prompt) read it from the prompt cache.
* Timeouts: 5 s to connect, ``read_timeout_s`` (60 s) of silence between streamed events.
* Retries are ours, not the SDK's (its ``max_retries`` is 0): the SDK obeys any ``retry-after``
  without a cap, which would freeze an editor for minutes. We retry 429/5xx/529 and connection
  failures up to ``max_retries`` times, only before the first chunk has been shown, waiting
  ``retry-after`` when it is at most ``max_retry_wait_s`` and giving up with a clear message
  otherwise.
* Every failure becomes a :class:`BackendError` whose message says what to do; the API key is
  scrubbed from every message and from log records of the HTTP stack while a request runs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ...analysis.secrets import redact
from ..models import Usage
from .base import BackendError, BackendResult, ChunkCallback, Payload, emit

_RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
_LOGGER_PREFIXES = ("anthropic", "httpx", "httpcore", "httpx2", "httpcore2")


class AnthropicBackend:
    name = "anthropic"

    def __init__(
        self,
        api_key: str,
        base_url: str | None = None,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 60.0,
        max_retries: int = 2,
        max_retry_wait_s: float = 10.0,
        backoff_s: float = 0.5,
    ) -> None:
        if not api_key:
            raise BackendError(
                "No Anthropic API key: set ANTHROPIC_API_KEY in the environment of the editor or CLI, "
                "or use the offline backend.",
                "config",
            )
        self._api_key = api_key
        self.base_url = base_url or os.environ.get("ANTHROPIC_BASE_URL") or None
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.max_retries = max_retries
        self.max_retry_wait_s = max_retry_wait_s
        self.backoff_s = backoff_s
        self._client: Any = None

    def __repr__(self) -> str:  # never show the key
        return f"AnthropicBackend(base_url={self.base_url!r})"

    def _get_client(self) -> Any:
        if self._client is None:
            import anthropic  # lazily: >1 s to import

            self._client = anthropic.AsyncAnthropic(
                api_key=self._api_key,
                base_url=self.base_url,
                timeout=anthropic.Timeout(
                    connect=self.connect_timeout_s, read=self.read_timeout_s, write=10.0, pool=self.connect_timeout_s
                ),
                max_retries=0,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def answer(self, payload: Payload, on_chunk: ChunkCallback | None) -> BackendResult:
        attempt = 0
        with _scrubbed_logs(self._api_key):
            while True:
                delivered: list[str] = []
                try:
                    return await self._stream_once(payload, on_chunk, delivered)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    error = self.explain(exc, payload.model)
                    retry = (
                        not delivered
                        and attempt < self.max_retries
                        and _is_retryable(exc)
                        and (error.retry_after_s is None or error.retry_after_s <= self.max_retry_wait_s)
                    )
                    if not retry:
                        raise error from None
                    wait = error.retry_after_s if error.retry_after_s is not None else self.backoff_s * (2**attempt)
                    attempt += 1
                    await asyncio.sleep(wait)

    async def count_tokens(self, payload: Payload) -> int:
        """Exact input token count from the API (a network call; used to calibrate estimates)."""
        body = payload.request_body()
        with _scrubbed_logs(self._api_key):
            try:
                result = await self._get_client().messages.count_tokens(
                    model=body["model"], system=body["system"], messages=body["messages"]
                )
            except Exception as exc:
                raise self.explain(exc, payload.model) from None
        return int(result.input_tokens)

    async def _stream_once(self, payload: Payload, on_chunk: ChunkCallback | None, delivered: list[str]) -> BackendResult:
        body = payload.request_body()
        client = self._get_client()
        async with client.messages.stream(
            model=body["model"], max_tokens=body["max_tokens"], system=body["system"], messages=body["messages"]
        ) as stream:
            async for text in stream.text_stream:
                delivered.append(text)
                await emit(on_chunk, text)
            final = await stream.get_final_message()
        return BackendResult(
            text="".join(delivered),
            model=str(getattr(final, "model", payload.model) or payload.model),
            usage=Usage.from_message(final),
            stop_reason=getattr(final, "stop_reason", None),
        )

    # --- errors --------------------------------------------------------------------------------

    def explain(self, exc: BaseException, model: str) -> BackendError:
        """One clear, key-free message for any failure of a request."""
        error = _explain(exc, model, self.base_url or "https://api.anthropic.com", self.read_timeout_s)
        error.message = self.scrub(error.message)
        error.args = (error.message,)
        return error

    def scrub(self, text: str) -> str:
        if self._api_key:
            text = text.replace(self._api_key, "<redacted:api_key>")
        return redact(text)[0]


def _is_retryable(exc: BaseException) -> bool:
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status in _RETRYABLE_STATUS and status != 200
    name = type(exc).__name__
    return name in ("APIConnectionError", "APITimeoutError")


def _error_body(exc: BaseException) -> tuple[str, str]:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error")
        err: dict[str, Any] = inner if isinstance(inner, dict) else body
        return str(err.get("type", "")), str(err.get("message", ""))
    return "", ""


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    try:
        if headers.get("retry-after-ms"):
            return float(headers["retry-after-ms"]) / 1000
        if headers.get("retry-after"):
            return float(headers["retry-after"])
    except (TypeError, ValueError):
        return None
    return None


def _explain(exc: BaseException, model: str, base_url: str, read_timeout_s: float) -> BackendError:
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    error_type, detail = _error_body(exc)
    detail = re.sub(r"\s+", " ", detail).strip()[:300]
    if name == "APITimeoutError":
        return BackendError(
            f"The Anthropic API did not answer within {read_timeout_s:g} s (timeout). Check your network "
            "connection or proxy, then ask again.",
            "timeout",
        )
    if name == "APIConnectionError":
        return BackendError(
            f"Could not connect to the Anthropic API at {base_url} (connection failed or refused). Check your "
            "network and proxy, and agent.baseUrl / ANTHROPIC_BASE_URL if you set one.",
            "connection",
        )
    if not isinstance(status, int):
        text = str(exc).splitlines()[0] if str(exc) else ""
        return BackendError(f"Unexpected error while asking the agent ({name}: {text[:200]}).", "unexpected")
    if status == 200:  # `event: error` in the middle of the stream
        what = f"{error_type}: {detail}" if error_type else detail or "unknown error"
        hint = " The API is overloaded; try again in a minute." if error_type == "overloaded_error" else " Ask again."
        return BackendError(
            f"The answer was interrupted by the API ({what}); what was shown so far is incomplete.{hint}",
            "stream",
            status,
        )
    if status == 401:
        return BackendError(
            "The Anthropic API rejected the API key (401 authentication error). Check ANTHROPIC_API_KEY in the "
            "environment of the editor or CLI, or unset it to get offline answers.",
            "auth",
            status,
        )
    if status == 403:
        return BackendError(
            f"The API key is not allowed to use {model} (403 permission error). Check the key's workspace and "
            "permissions in the Anthropic console, or choose another model with agent.model.",
            "permission",
            status,
        )
    if status == 404:
        if "model" in detail.lower() or error_type == "not_found_error":
            return BackendError(
                f"Model {model!r} was not found (404). Set agent.model to an available model id or an alias "
                "(sonnet, opus, haiku); if you set agent.baseUrl, check that it points at the Messages API.",
                "model_not_found",
                status,
            )
    if status == 429:
        retry_after = _retry_after(exc)
        when = f"in {retry_after:g} s" if retry_after is not None else "in a minute"
        return BackendError(
            f"Rate limited by the Anthropic API (429). Try again {when}, or lower agent.maxContextTokens to send less.",
            "rate_limit",
            status,
            retry_after,
        )
    if status == 529 or error_type == "overloaded_error":
        return BackendError(
            "The Anthropic API is overloaded (529). Try again in a minute, or pick a lighter model "
            "(agent.model: haiku).",
            "overloaded",
            status,
            _retry_after(exc),
        )
    if status == 413 or error_type == "request_too_large":
        return BackendError(
            "The request was too large for the API (413). Lower agent.maxContextTokens.", "bad_request", status
        )
    if status == 400:
        return BackendError(
            f"The API rejected the request (400: {detail or error_type}). If the context is too long, lower "
            "agent.maxContextTokens; if the model does not exist, change agent.model.",
            "bad_request",
            status,
        )
    if status >= 500:
        return BackendError(
            f"The Anthropic API had a server error ({status}). Try again in a moment.",
            "server",
            status,
            _retry_after(exc),
        )
    return BackendError(
        f"The Anthropic API returned HTTP {status} ({detail or error_type or name}).", "unexpected", status
    )


class _ScrubFilter(logging.Filter):
    def __init__(self, secret: str) -> None:
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._secret in message:
            record.msg = message.replace(self._secret, "<redacted:api_key>")
            record.args = None
        return True


@contextmanager
def _scrubbed_logs(secret: str) -> Iterator[None]:
    """Scrub the key from records of the HTTP stack's loggers for the duration of a request."""
    scrub = _ScrubFilter(secret)
    names = [n for n in list(logging.root.manager.loggerDict) if n.split(".")[0] in _LOGGER_PREFIXES]
    loggers = [logging.getLogger(n) for n in {*names, *_LOGGER_PREFIXES}]
    for logger in loggers:
        logger.addFilter(scrub)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(scrub)

"""The API backend a service keeps, rebuilt when the connection settings change."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from ..settings import AgentSettings
from .anthropic_api import AnthropicBackend

_B = TypeVar("_B", bound=AnthropicBackend)


def api_key_from(env: Mapping[str, str]) -> str:
    """The API key, which only ever comes from `ANTHROPIC_API_KEY` in the environment ("" without one)."""
    return (env.get("ANTHROPIC_API_KEY") or "").strip()


class BackendSlot(Generic[_B]):
    """One backend of class `make`, built on first use and replaced when the key, URL, timeouts or
    retries in the settings change (the ask and review services each keep one)."""

    def __init__(self, make: type[_B]) -> None:
        self._make = make
        self._backend: _B | None = None
        self._config: tuple[Any, ...] | None = None

    def get(self, settings: AgentSettings, env: Mapping[str, str]) -> _B:
        key = api_key_from(env)
        config = (key, settings.base_url, settings.connect_timeout_s, settings.read_timeout_s, settings.max_retries)
        if self._backend is None or config != self._config:
            self._backend = self._make(
                api_key=key,
                base_url=settings.base_url or env.get("ANTHROPIC_BASE_URL") or None,
                connect_timeout_s=settings.connect_timeout_s,
                read_timeout_s=settings.read_timeout_s,
                max_retries=settings.max_retries,
            )
            self._config = config
        return self._backend

    async def aclose(self) -> None:
        if self._backend is not None:
            await self._backend.aclose()
            self._backend = None

"""Settings of the agent layer, mirroring the ``agent.*`` keys of docs/lsp-protocol.md.

:meth:`AgentSettings.from_mapping` accepts the LSP settings section (``{"agent": {...}}``), the
flat dotted form (``{"agent.backend": ...}``) or the inner mapping itself, ignores unknown keys and
reports bad values as warnings instead of failing: a typo in a setting must not break the editor.
The API key is never a setting; it comes from ``ANTHROPIC_API_KEY`` in the environment only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

BACKENDS = ("auto", "anthropic", "offline")


@dataclass(frozen=True)
class AgentSettings:
    backend: str = "auto"  # auto = anthropic when ANTHROPIC_API_KEY is set, else offline
    name: str = "ml-engineer"
    model: str = ""  # model id or alias overriding the agent file's `model`
    base_url: str = ""  # else ANTHROPIC_BASE_URL, else the SDK default
    max_context_tokens: int = 6000
    max_tokens: int = 2048
    exclude_paths: tuple[str, ...] = ()
    model_aliases: Mapping[str, str] = field(default_factory=dict)
    # Network behaviour (not in the LSP table; chosen for an interactive editor, see docs/agent.md).
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 60.0  # longest silence allowed between two streamed events
    max_retries: int = 2
    history_turns: int = 3  # question/answer pairs kept per document for follow-ups
    cache_size: int = 64

    _CAMEL = {
        "baseUrl": "base_url",
        "maxContextTokens": "max_context_tokens",
        "maxTokens": "max_tokens",
        "excludePaths": "exclude_paths",
        "modelAliases": "model_aliases",
        "connectTimeout": "connect_timeout_s",
        "readTimeout": "read_timeout_s",
        "maxRetries": "max_retries",
        "historyTurns": "history_turns",
        "cacheSize": "cache_size",
    }

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None) -> tuple[AgentSettings, list[str]]:
        """Settings from an LSP/JSON mapping, and warnings for values that were ignored."""
        if not raw:
            return cls(), []
        inner: dict[str, Any] = {}
        if isinstance(raw.get("agent"), Mapping):
            inner.update(raw["agent"])
        for key, value in raw.items():
            if key.startswith("agent."):
                inner[key[len("agent.") :]] = value
        if not inner and "agent" not in raw:
            inner = dict(raw)
        warnings: list[str] = []
        values: dict[str, Any] = {}
        known = {f.name: f for f in fields(cls) if not f.name.startswith("_")}
        for key, value in inner.items():
            attr = cls._CAMEL.get(key, key)
            if attr not in known:
                continue
            converted = _convert(attr, value)
            if converted is None:
                warnings.append(f"ignored setting agent.{key}={value!r}: {_EXPECTED[attr]}")
                continue
            values[attr] = converted
        return replace(cls(), **values), warnings


_EXPECTED = {
    "backend": "expected one of " + ", ".join(BACKENDS),
    "name": "expected an agent name",
    "model": "expected a model id or alias",
    "base_url": "expected an http(s) URL",
    "max_context_tokens": "expected a whole number between 500 and 200000",
    "max_tokens": "expected a whole number between 1 and 64000",
    "exclude_paths": "expected a list of glob patterns",
    "model_aliases": "expected a mapping of alias to model id",
    "connect_timeout_s": "expected a positive number of seconds",
    "read_timeout_s": "expected a positive number of seconds",
    "max_retries": "expected a whole number between 0 and 10",
    "history_turns": "expected a whole number between 0 and 20",
    "cache_size": "expected a whole number between 0 and 10000",
}


def _int_in(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        return None
    return int(value) if low <= value <= high else None


def _convert(attr: str, value: Any) -> Any:
    if attr == "backend":
        return value if value in BACKENDS else None
    if attr in ("name", "model"):
        return value.strip() if isinstance(value, str) else None
    if attr == "base_url":
        if not isinstance(value, str):
            return None
        return value.strip() if value.strip() == "" or value.strip().startswith(("http://", "https://")) else None
    if attr == "max_context_tokens":
        return _int_in(value, 500, 200_000)
    if attr == "max_tokens":
        return _int_in(value, 1, 64_000)
    if attr == "max_retries":
        return _int_in(value, 0, 10)
    if attr == "history_turns":
        return _int_in(value, 0, 20)
    if attr == "cache_size":
        return _int_in(value, 0, 10_000)
    if attr in ("connect_timeout_s", "read_timeout_s"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
        return float(value) if ok else None
    if attr == "exclude_paths":
        if isinstance(value, str):
            value = [value]
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return tuple(v for v in value if v.strip())
        return None
    if attr == "model_aliases":
        if isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            return dict(value)
        return None
    return None

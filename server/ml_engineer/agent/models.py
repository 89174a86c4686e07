"""Model aliases and prices: the one table that maps agent-file model names to API model ids.

Agent files say ``model: sonnet`` (or ``opus``, ``haiku``, ``inherit``, or a full model id).
:func:`resolve_model` turns that into the id sent to the Messages API; the ``agent.model``
setting overrides the file, and ``model_aliases`` in the settings can override this table.

Prices are list prices in USD per million tokens from Anthropic's pricing page, checked
2026-11-27. They only feed the *estimated* cost shown with an answer; update them here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

#: Alias -> concrete model id. ``inherit`` means "whatever the caller uses by default", which
#: for this tool is the ``sonnet`` entry.
MODEL_ALIASES: dict[str, str] = {
    "sonnet": "claude-sonnet-5-5",
    "opus": "claude-opus-5-5",
    "haiku": "claude-haiku-5-5",
}
DEFAULT_ALIAS = "sonnet"


@dataclass(frozen=True)
class ModelPrice:
    """USD per million tokens."""

    input: float
    output: float
    cache_write: float  # 5-minute cache writes
    cache_read: float


MODEL_PRICES: dict[str, ModelPrice] = {
    # Sonnet 5.5 cache reads were cut from $0.20 to $0.10 on 2026-10-07.
    "claude-sonnet-5-5": ModelPrice(input=2.0, output=10.0, cache_write=2.5, cache_read=0.10),
    "claude-opus-5-5": ModelPrice(input=4.0, output=20.0, cache_write=5.0, cache_read=0.20),
    # Haiku 5.5 prompts up to 100k tokens (longer prompts cost 5x; the context sent here is ~6k).
    "claude-haiku-5-5": ModelPrice(input=0.10, output=0.50, cache_write=0.125, cache_read=0.01),
    "claude-sonnet-5": ModelPrice(input=2.0, output=10.0, cache_write=2.5, cache_read=0.20),
    "claude-opus-5": ModelPrice(input=5.0, output=25.0, cache_write=6.25, cache_read=0.50),
    "claude-sonnet-4-5": ModelPrice(input=3.0, output=15.0, cache_write=3.75, cache_read=0.30),
    "claude-opus-4-5": ModelPrice(input=5.0, output=25.0, cache_write=6.25, cache_read=0.50),
    "claude-haiku-4-5": ModelPrice(input=1.0, output=5.0, cache_write=1.25, cache_read=0.10),
}


def resolve_model(
    agent_model: str | None,
    override: str | None = None,
    aliases: Mapping[str, str] | None = None,
) -> str:
    """The concrete model id for an agent file's ``model`` and an optional settings override.

    ``override`` (the ``agent.model`` setting) wins when non-empty; it may itself be an alias.
    Unknown names are passed through unchanged: they are taken to be full model ids.
    """
    table = {**MODEL_ALIASES, **(aliases or {})}
    name = (override or "").strip() or (agent_model or "").strip() or "inherit"
    if name == "inherit":
        name = DEFAULT_ALIAS
    return table.get(name, name)


@dataclass(frozen=True)
class Usage:
    """Token counts reported by the API for one answer."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0

    @classmethod
    def from_message(cls, message: object) -> Usage:
        """Counts from an SDK message's `usage` (absent or partial fields count as 0)."""
        usage = getattr(message, "usage", None)
        return cls(
            input_tokens=int(getattr(usage, "input_tokens", 0) or 0),
            output_tokens=int(getattr(usage, "output_tokens", 0) or 0),
            cache_read_input_tokens=int(getattr(usage, "cache_read_input_tokens", 0) or 0),
            cache_creation_input_tokens=int(getattr(usage, "cache_creation_input_tokens", 0) or 0),
        )

    def to_dict(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
        }


def estimate_cost(model: str, usage: Usage) -> float | None:
    """Estimated USD cost of one answer, or ``None`` for a model with no known price.

    Dated snapshots (``claude-haiku-4-5-20251001``) are priced as their longest known base id.
    """
    price = MODEL_PRICES.get(model)
    if price is None:
        base = max((m for m in MODEL_PRICES if model.startswith(m + "-")), key=len, default=None)
        price = MODEL_PRICES.get(base) if base else None
    if price is None:
        return None
    total = (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_read_input_tokens * price.cache_read
        + usage.cache_creation_input_tokens * price.cache_write
    )
    return round(total / 1_000_000, 6)

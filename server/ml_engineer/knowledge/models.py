"""Typed records of the knowledge base: API entries, method notes on entities, topics."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Pitfall:
    """A mistake people make with an API, and the rule codes that catch it (may be empty)."""

    text: str
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApiEntry:
    """What an ML engineer should know about one public API, keyed by its fully qualified name."""

    name: str
    library: str
    summary: str
    details: str = ""
    arguments: dict[str, str] = field(default_factory=dict)
    pitfalls: tuple[Pitfall, ...] = ()
    example: str = ""
    references: tuple[str, ...] = ()
    versions: str = ""
    # The semantic-model entity kind an instance of this API becomes ("optimizer", "loss", ...).
    entity_kind: str | None = None
    # Set when the entry was reached through an alias (an old or private spelling).
    looked_up_as: str | None = None
    alias_note: str | None = None

    @property
    def rules(self) -> tuple[str, ...]:
        """Every rule code named by the entry's pitfalls, in first-seen order."""
        seen: dict[str, None] = {}
        for pitfall in self.pitfalls:
            for code in pitfall.rules:
                seen.setdefault(code, None)
        return tuple(seen)


@dataclass(frozen=True)
class MethodEntry:
    """A note on a method called on a known entity kind, e.g. `optimizer.zero_grad`."""

    entity_kind: str
    method: str
    summary: str
    details: str = ""
    pitfalls: tuple[Pitfall, ...] = ()
    example: str = ""
    references: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.entity_kind}.{self.method}"


@dataclass(frozen=True)
class Topic:
    """A short answer to a question ML engineers are asked, with retrieval hints."""

    id: str
    title: str
    answer: str
    checklist: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    triggers: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    references: tuple[str, ...] = ()

"""Canonicalises the spellings of one API to the name the knowledge base is keyed by.

The table lives in `data/aliases.yaml`, not here: exact aliases (old names, deprecated
modules, with a note saying what changed) and regular-expression rewrites (private module
paths such as `torch.nn.modules.loss.X` or `sklearn.model_selection._split.X`, and the
`tensorflow.keras.` prefix). This module only applies the table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ml_engineer.knowledge.loader import KnowledgeDataError


@dataclass(frozen=True)
class Alias:
    target: str
    note: str | None = None


@dataclass(frozen=True)
class Rewrite:
    pattern: re.Pattern[str]
    replacement: str
    note: str | None = None


@dataclass(frozen=True)
class Resolution:
    """The canonical name a spelling resolved to, and the note to show (if the spelling is outdated)."""

    name: str
    note: str | None = None


class AliasTable:
    def __init__(self, aliases: Mapping[str, Alias], rewrites: list[Rewrite]) -> None:
        self.aliases = dict(aliases)
        self.rewrites = list(rewrites)

    @classmethod
    def from_document(cls, document: Mapping[str, Any], filename: str = "aliases.yaml") -> AliasTable:
        aliases: dict[str, Alias] = {}
        for name, raw in (document.get("aliases") or {}).items():
            if isinstance(raw, str):
                aliases[name] = Alias(target=raw)
            elif isinstance(raw, Mapping) and isinstance(raw.get("target"), str):
                note = raw.get("note")
                aliases[name] = Alias(
                    target=raw["target"], note=note.strip() if isinstance(note, str) else None
                )
            else:
                raise KnowledgeDataError(f"{filename}: alias {name!r} needs a target")
        rewrites: list[Rewrite] = []
        for index, raw in enumerate(document.get("rewrites") or []):
            if not isinstance(raw, Mapping) or not isinstance(raw.get("pattern"), str):
                raise KnowledgeDataError(f"{filename}: rewrites[{index}] needs a pattern and a replacement")
            try:
                pattern = re.compile(raw["pattern"])
            except re.error as exc:
                raise KnowledgeDataError(f"{filename}: rewrites[{index}]: bad pattern: {exc}") from exc
            note = raw.get("note")
            rewrites.append(
                Rewrite(
                    pattern=pattern,
                    replacement=str(raw.get("replacement", "")),
                    note=note.strip() if isinstance(note, str) else None,
                )
            )
        return cls(aliases, rewrites)

    def resolve(self, qualname: str, exists: Callable[[str], bool]) -> Resolution | None:
        """Find the canonical name for `qualname`, or None when no spelling of it is known.

        Order: the name itself; an exact alias; then each rewrite (and an exact alias of the
        rewritten name), so `tensorflow.keras.optimizers.Adam` and
        `torch.cuda.amp.grad_scaler.GradScaler` both land on their entries.
        """
        name = qualname.strip()
        if exists(name):
            return Resolution(name)
        alias = self.aliases.get(name)
        if alias is not None and exists(alias.target):
            return Resolution(alias.target, alias.note)
        for rewrite in self.rewrites:
            rewritten, count = rewrite.pattern.subn(rewrite.replacement, name, count=1)
            if not count or rewritten == name:
                continue
            if exists(rewritten):
                return Resolution(rewritten, rewrite.note)
            alias = self.aliases.get(rewritten)
            if alias is not None and exists(alias.target):
                return Resolution(alias.target, alias.note or rewrite.note)
        return None

"""Settings of automatic reviews (section ``mlEngineer``, keys ``review.*``).

``review.onSave`` (default false) reviews the functions changed since the last review when a file
is saved; ``review.maxPerHour`` (default 10) caps those automatic reviews per rolling hour.
Reviews asked for with the command are never limited. Bad values become warnings and defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ReviewSettings:
    on_save: bool = False
    max_per_hour: int = 10

    @classmethod
    def from_section(cls, section: Mapping[str, Any] | None) -> tuple[ReviewSettings, list[str]]:
        """From the ``mlEngineer`` section: nested (``{"review": {"onSave": true}}``) or dotted keys."""
        if not isinstance(section, Mapping):
            return cls(), []
        nested = section.get("review")
        raw: dict[str, Any] = dict(nested) if isinstance(nested, Mapping) else {}
        for key, value in section.items():
            if isinstance(key, str) and key.startswith("review."):
                raw[key[len("review.") :]] = value
        warnings: list[str] = []
        on_save, max_per_hour = cls.on_save, cls.max_per_hour
        if "onSave" in raw:
            if isinstance(raw["onSave"], bool):
                on_save = raw["onSave"]
            else:
                warnings.append(f"ignored mlEngineer.review.onSave={raw['onSave']!r}: expected true or false")
        if "maxPerHour" in raw:
            value = raw["maxPerHour"]
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 1000:
                max_per_hour = value
            else:
                warnings.append(f"ignored mlEngineer.review.maxPerHour={value!r}: expected a whole number between 0 and 1000")
        return cls(on_save, max_per_hour), warnings

"""Collects every rule module in this package (one rule per module, named `mlNNN_*.py`)."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from .base import Rule


@lru_cache(maxsize=1)
def _rules() -> dict[str, type[Rule]]:
    from .. import rules as package

    found: dict[str, type[Rule]] = {}
    for module_info in pkgutil.iter_modules(package.__path__):
        if not module_info.name.startswith("ml"):
            continue
        module = importlib.import_module(f"{package.__name__}.{module_info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Rule) and value is not Rule and getattr(value, "code", None):
                if value.__module__ != module.__name__:
                    continue
                if value.code in found and found[value.code] is not value:
                    raise RuntimeError(f"two rules claim {value.code}: {found[value.code]} and {value}")
                found[value.code] = value
    return dict(sorted(found.items()))


def all_rules() -> list[type[Rule]]:
    return list(_rules().values())


def get_rule(code: str) -> type[Rule] | None:
    return _rules().get(code.upper())


def rule_codes() -> list[str]:
    return list(_rules())

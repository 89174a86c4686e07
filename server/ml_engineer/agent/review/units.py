"""Which functions changed since the last review, so that automatic reviews re-send only those.

A file is cut into review units: each top-level function, each method of a top-level class, and
``<module>`` (everything else, blank and comment lines left out). A unit's digest is a hash of its text; a unit is *changed* when its
name is new or its digest differs from the one recorded after the last review.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

MODULE_UNIT = "<module>"


@dataclass(frozen=True)
class ReviewUnit:
    name: str  # "train", "Net.forward", or MODULE_UNIT
    start_line: int  # 1-based, inclusive (0 for the module unit)
    end_line: int
    digest: str


def review_units(analysis: Any) -> list[ReviewUnit]:
    source = analysis.source
    data: bytes = source.data
    units: list[ReviewUnit] = []
    module_parts: list[bytes] = []
    cursor = 0
    for name, node in _definitions(analysis.tree.root_node):
        module_parts.append(data[cursor : node.start_byte])
        cursor = node.end_byte
        text = data[node.start_byte : node.end_byte]
        end_row = node.end_point[0] - (1 if node.end_point[1] == 0 and node.end_point[0] > node.start_point[0] else 0)
        units.append(ReviewUnit(name, node.start_point[0] + 1, end_row + 1, _digest(text)))
    module_parts.append(data[cursor:])
    # Blank and comment lines do not change what the module does: inserting them must not trigger a review.
    module = b"\n".join(
        stripped for line in b"".join(module_parts).split(b"\n")
        if (stripped := line.strip()) and not stripped.startswith(b"#")
    )
    units.append(ReviewUnit(MODULE_UNIT, 0, 0, _digest(module)))
    return units


def _definitions(root: Any) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for child in root.named_children:
        node = _definition(child)
        if node is None:
            continue
        name = _name(node)
        if node.type == "function_definition":
            out.append((name, child))
        elif node.type == "class_definition":
            body = node.child_by_field_name("body")
            for member in body.named_children if body is not None else []:
                method = _definition(member)
                if method is not None and method.type == "function_definition":
                    out.append((f"{name}.{_name(method)}", member))
    return out


def _definition(node: Any) -> Any:
    if node.type == "decorated_definition":
        return node.child_by_field_name("definition")
    return node if node.type in ("function_definition", "class_definition") else None


def _name(node: Any) -> str:
    name = node.child_by_field_name("name")
    return name.text.decode("utf-8", "replace") if name is not None and name.text else "?"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


class ChangeTracker:
    """Unit digests recorded at each document's last review."""

    def __init__(self) -> None:
        self._reviewed: dict[str, dict[str, str]] = {}

    def changed(self, document: str, units: list[ReviewUnit]) -> list[ReviewUnit]:
        before = self._reviewed.get(document, {})
        return [u for u in units if before.get(u.name) != u.digest]

    def mark_reviewed(self, document: str, units: list[ReviewUnit]) -> None:
        recorded = self._reviewed.setdefault(document, {})
        for unit in units:
            recorded[unit.name] = unit.digest

    def forget(self, document: str) -> None:
        self._reviewed.pop(document, None)

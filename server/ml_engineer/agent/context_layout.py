"""How the chosen lines are laid out for the agent: which rows are shown, where ``...`` stands
for left-out lines, and which rows are not worth their tokens.

Rows that carry no information about what the code does (comment lines, docstrings, long
print/logging statements) are left out of the sent code outside the selection; a run of left-out
lines becomes one ``...`` line, and the kept lines keep their numbers. Chosen ranges a few lines
apart share one snippet with a ``...`` line between them, which costs far less than a second
snippet header.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from typing import Any

from tree_sitter import Node

#: Hidden non-blank lines between two shown ones up to this many are shown rather than marked.
GAP_FILL = 0
#: Shown rows at most this many lines apart share one snippet, the gap rendered as one marker.
JOIN_GAP = 20
#: Characters of one ``...`` line (the number column is left empty).
MARKER_CHARS = 10
#: A print/logging statement is low value from this many characters (over all its lines):
#: a short one says what is reported, a long one is mostly formatting.
LONG_LOG_CHARS = 60

_LOG_CALL = re.compile(
    r"^\s*(?:print|(?:\w*log\w*|logging)\.(?:debug|info|warning|warn|error|exception|critical|log))\s*\(", re.I
)


def low_value_rows(
    lines: list[str], definitions: Iterable[Node], statement_end: Callable[[int], int], module: Node | None = None
) -> set[int]:
    """0-based rows worth leaving out of excerpts: whole-line comments, docstrings of
    ``definitions`` (and of ``module``), and print/logging statements of ``LONG_LOG_CHARS`` or more.

    ``statement_end(row)`` is the last row of the statement starting at ``row``.
    """
    rows: set[int] = set()
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped.startswith("#"):
            rows.add(i)
        elif stripped[:1] in ("p", "l", "L") and _LOG_CALL.match(line):
            end = max(i, statement_end(i))
            if sum(len(lines[r].strip()) for r in range(i, end + 1)) >= LONG_LOG_CHARS:
                rows.update(range(i, end + 1))
    for node in [*([module] if module is not None else []), *definitions]:
        body = node if node.type == "module" else node.child_by_field_name("body")
        first = body.named_children[0] if body is not None and body.named_children else None
        if first is not None and first.type == "expression_statement" and first.named_children and first.named_children[0].type == "string":
            end = int(first.end_point[0]) - (1 if first.end_point[1] == 0 and first.end_point[0] > first.start_point[0] else 0)
            rows.update(range(int(first.start_point[0]), end + 1))
    return rows


def definition_nodes(model: Any) -> list[Node]:
    """The function and class nodes of a semantic model (for their docstrings)."""
    nodes = [info.node for info in getattr(model, "functions", {}).values()]
    nodes += [info.node for info in getattr(model, "classes", {}).values()]
    return nodes


def layout(shown: AbstractSet[int], lines: list[str], elided: AbstractSet[int]) -> list[tuple[int, int, list[tuple[int, int]]]]:
    """Group ``shown`` 0-based rows into snippets: ``(start, end, parts)`` where ``parts`` are the
    runs of rows printed (blank rows inside a part are skipped but not marked) and a ``...`` line
    stands between two parts."""
    snippets: list[tuple[int, int, list[tuple[int, int]]]] = []
    for row in sorted(shown):
        if not snippets:
            snippets.append((row, row, [(row, row)]))
            continue
        start, end, parts = snippets[-1]
        if row <= end:
            continue
        hidden = [r for r in range(end + 1, row) if lines[r].strip()]
        if not hidden or (len(hidden) <= GAP_FILL and not any(r in elided for r in hidden)):
            parts[-1] = (parts[-1][0], row)
            snippets[-1] = (start, row, parts)
        elif row - end - 1 <= JOIN_GAP:
            parts.append((row, row))
            snippets[-1] = (start, row, parts)
        else:
            snippets.append((row, row, [(row, row)]))
    return snippets


def number(lines: list[str], parts: list[tuple[int, int]], marked: Callable[[int], bool]) -> str:
    """The rows of ``parts`` prefixed by their 1-based numbers (``>`` where ``marked``), a ``...``
    line between parts; blank rows inside a part are left out (the numbers show where they were)."""
    width = len(str(parts[-1][1] + 1))
    out: list[str] = []
    for k, (start, end) in enumerate(parts):
        if k:
            out.append(f"{'':>{width}} | ...")
        for i in range(start, end + 1):
            if not lines[i].strip() and start < i < end:
                continue
            mark = ">" if marked(i) else " "
            out.append(f"{i + 1:>{width}}{mark}| {lines[i]}".rstrip())
    return "\n".join(out)

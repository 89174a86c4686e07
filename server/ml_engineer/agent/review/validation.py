"""Checks what the model returned through the findings tool; bad items are dropped and counted.

Nothing the model sends can crash a review: every item is checked for shape, types and a line
range inside the snippets it was shown (a model cannot cite code it did not see), and whatever
fails is dropped with a reason that the caller reports as a count.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .schema import MAX_FINDINGS, SEVERITIES

_MAX_TITLE = 200
_MAX_EXPLANATION = 8000
_LINE_PREFIX = re.compile(r"^\s*\d+\s?[> ]?\|\s?")  # "  42>| " as printed in the snippets
_RULE_CODE = re.compile(r"^[A-Z]{2,4}\d{3}$")


@dataclass(frozen=True)
class ReviewItem:
    """One validated finding of the agent, located in the lines it was shown (1-based, inclusive)."""

    start_line: int
    end_line: int
    severity: str
    title: str
    explanation: str
    confidence: float
    replacement: str | None = None
    rule_code: str | None = None


@dataclass
class Validation:
    items: list[ReviewItem] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)  # reason -> count
    replacements_removed: int = 0  # replacements that carried a redaction marker (would insert it into the code)

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())


def validate_findings(tool_input: Any, shown: Sequence[tuple[int, int]], line_count: int) -> Validation:
    """Validate the ``input`` of a ``report_findings`` tool call.

    ``shown`` are the 1-based inclusive line ranges of the snippets sent; an item must lie inside
    one of them and inside the file's ``line_count`` lines.
    """
    out = Validation()
    raw = tool_input.get("findings") if isinstance(tool_input, dict) else None
    if not isinstance(raw, list):
        out.dropped["no findings list"] += 1
        return out
    seen: set[tuple[int, int, str]] = set()
    for entry in raw:
        if len(out.items) >= MAX_FINDINGS:
            out.dropped["too many findings"] += 1
            continue
        item, reason = _item(entry)
        if item is None:
            out.dropped[reason] += 1
            continue
        if item.end_line > line_count or not any(s <= item.start_line and item.end_line <= e for s, e in shown):
            out.dropped["line range outside the code shown"] += 1
            continue
        key = (item.start_line, item.end_line, item.title.lower())
        if key in seen:
            out.dropped["duplicate"] += 1
            continue
        seen.add(key)
        if item.replacement is not None and "<redacted:" in item.replacement:
            item = ReviewItem(**{**item.__dict__, "replacement": None})
            out.replacements_removed += 1
        out.items.append(item)
    return out


def _item(entry: Any) -> tuple[ReviewItem | None, str]:
    if not isinstance(entry, dict):
        return None, "not an object"
    raw_start: Any = entry.get("start_line")
    raw_end: Any = entry.get("end_line", raw_start)
    if not _is_int(raw_start) or not _is_int(raw_end):
        return None, "line numbers missing or not integers"
    start, end = int(raw_start), int(raw_end)
    if start < 1 or end < start:
        return None, "line range outside the code shown"
    severity = entry.get("severity")
    if severity not in SEVERITIES:
        return None, "unknown severity"
    title, explanation = entry.get("title"), entry.get("explanation")
    if not isinstance(title, str) or not title.strip() or not isinstance(explanation, str) or not explanation.strip():
        return None, "title or explanation missing"
    confidence = entry.get("confidence")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 <= confidence <= 1:
        return None, "confidence missing or not in 0-1"
    replacement = entry.get("replacement")
    if replacement is not None and not isinstance(replacement, str):
        return None, "replacement is not text"
    rule_code = entry.get("rule_code")
    rule_code = rule_code.strip().upper() if isinstance(rule_code, str) and _RULE_CODE.match(rule_code.strip().upper()) else None
    return ReviewItem(
        start_line=start,
        end_line=end,
        severity=str(severity),
        title=_one_line(title)[:_MAX_TITLE],
        explanation=explanation.strip()[:_MAX_EXPLANATION],
        confidence=float(confidence),
        replacement=_strip_line_numbers(replacement) if replacement is not None else None,
        rule_code=rule_code,
    ), ""


def _is_int(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float) and value.is_integer())


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _strip_line_numbers(text: str) -> str:
    """Models sometimes copy the snippets' ``12 | `` prefixes into a replacement: remove them when every
    non-blank line has one."""
    text = text.rstrip("\n")
    lines = text.split("\n")
    if lines and all(_LINE_PREFIX.match(line) for line in lines if line.strip()):
        return "\n".join(_LINE_PREFIX.sub("", line, count=1) for line in lines)
    return text

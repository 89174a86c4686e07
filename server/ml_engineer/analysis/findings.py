"""Findings: what a rule reports, in byte offsets; renderers convert positions at the edge."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from .source import Span

Severity = Literal["error", "warning", "info", "hint"]
SEVERITY_ORDER: dict[str, int] = {"hint": 0, "info": 1, "warning": 2, "error": 3}


@dataclass(frozen=True)
class Edit:
    """Replace bytes [start, end) of the source with `new_text`."""

    start: int
    end: int
    new_text: str


@dataclass(frozen=True)
class Fix:
    title: str
    edits: tuple[Edit, ...]
    safe: bool  # safe fixes keep behaviour users rely on and are applied by `--fix` / fixAll


@dataclass(frozen=True)
class Related:
    span: Span
    message: str


@dataclass(frozen=True)
class Finding:
    code: str
    name: str
    severity: Severity
    message: str
    span: Span
    related: tuple[Related, ...] = ()
    fix: Fix | None = None
    tags: tuple[str, ...] = field(default=())  # "deprecated" | "unnecessary"

    def with_severity(self, severity: Severity) -> Finding:
        return replace(self, severity=severity)


def _conflicts(a: Edit, b: Edit) -> bool:
    if a.start < b.end and b.start < a.end:
        return True
    # Two insertions at one point, or an insertion inside a replaced range, would interleave.
    return (a.start == a.end and b.start <= a.start <= b.end) or (b.start == b.end and a.start <= b.start <= a.end)


def apply_fixes(data: bytes, fixes: list[Fix]) -> tuple[bytes, list[Fix]]:
    """Apply fixes that do not conflict with an earlier one; returns new bytes and the fixes applied."""
    applied: list[Fix] = []
    edits: list[Edit] = []
    for fix in fixes:
        if any(_conflicts(new, old) for new in fix.edits for old in edits):
            continue
        applied.append(fix)
        edits.extend(fix.edits)
    out = data
    for edit in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        out = out[: edit.start] + edit.new_text.encode("utf-8") + out[edit.end :]
    return out, applied

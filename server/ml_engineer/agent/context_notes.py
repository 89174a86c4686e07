"""Analyzer findings as shown to the agent next to the selected code.

A finding in the selection carries what the engineer needs to judge it: the message, the
suggested fix, and two sections of its rule documentation, *Why is this bad?* (first paragraph)
and *Use instead* (the corrected code). The rest of the rule page (what it does, examples,
references) repeats the message or only matters to someone reading the rule catalogue. Findings
elsewhere in the sent code are one-line summaries: they say "this is known", nothing more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from ..analysis.findings import Finding

_MAX_DOCS_CHARS = 500  # rule_docs_excerpt default
_MAX_WHY_CHARS = 300
_MAX_USE_INSTEAD_LINES = 6
_MAX_OTHER_MESSAGE_CHARS = 120  # findings outside the selection: a shortened message, no docs


@dataclass(frozen=True)
class FindingNote:
    """A finding of the static analyzer, as shown to the agent."""

    code: str
    name: str
    severity: str
    line: int
    end_line: int
    message: str
    docs: str  # excerpt of the rule documentation ('' outside the selection)
    fix_title: str | None
    in_focus: bool

    def render(self) -> str:
        where = f"line {self.line}" if self.line == self.end_line else f"lines {self.line}-{self.end_line}"
        out = f"- {self.code} {self.name} ({self.severity}) at {where}: {self.message}"
        if self.fix_title and (self.in_focus or self.docs):
            out += f" Suggested fix: {self.fix_title}."
        if self.docs:
            out += "\n  " + self.docs.replace("\n", "\n  ")
        return out


def finding_note(
    finding: Finding, lines: tuple[int, int], in_focus: bool, *, whole_file: bool = False, docs: str = "full"
) -> FindingNote:
    """The note for ``finding`` spanning 0-based rows ``lines``.

    In the selection: full message, fix and the rule's why / use-instead. Elsewhere: a one-line
    summary, except when the whole file is sent for a whole-file question (``whole_file``), where
    every finding is equally "in focus" and keeps its full message. ``docs`` (in the selection):
    ``"full"`` why and use instead, ``"why"`` without the code, ``"none"``.
    """
    first, last = lines
    full = in_focus or whole_file
    return FindingNote(
        code=finding.code,
        name=finding.name,
        severity=finding.severity,
        line=first + 1,
        end_line=last + 1,
        message=finding.message if full else shorten(finding.message, _MAX_OTHER_MESSAGE_CHARS),
        docs=rule_docs_brief(finding.code, with_code=docs == "full") if in_focus and docs != "none" else "",
        fix_title=finding.fix.title if finding.fix is not None and full else None,
        in_focus=in_focus,
    )


def without_docs(note: FindingNote) -> FindingNote:
    return replace(note, docs="")


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def rule_docs(code: str) -> str:
    """The full markdown documentation of a rule ('' when the rule or registry is unavailable)."""
    try:
        from ..analysis.rules.registry import get_rule
    except ImportError:
        return ""
    rule: Any = get_rule(code)
    if rule is None:
        return ""
    docs = getattr(rule, "docs", "")
    return str(docs() if callable(docs) else docs or "")


def _section(docs: str, title: str) -> str | None:
    match = re.search(rf"#+\s*{title}\s*\n(.*?)(?=\n#+\s|\Z)", docs, re.S | re.I)
    return match.group(1).strip() if match else None


def _sentences(text: str, limit: int) -> str:
    """Whole sentences of ``text`` up to ``limit`` characters (at least the first, shortened)."""
    out = ""
    for sentence in re.split(r"(?<=[.!?:])\s+(?=[A-Z`(])", text):
        if out and len(out) + 1 + len(sentence) > limit:
            break
        out = f"{out} {sentence}" if out else sentence
    return shorten(out, limit)


def rule_docs_excerpt(code: str, limit: int = _MAX_DOCS_CHARS) -> str:
    """The *Why is this bad?* section of a rule's docs (else its start), compacted."""
    docs = rule_docs(code)
    if not docs:
        return ""
    text = _section(docs, r"Why is this bad\?") or docs
    return shorten(re.sub(r"\s+", " ", text).strip(), limit)


def rule_docs_brief(code: str, with_code: bool = True) -> str:
    """*Why is this bad?* (first paragraph, compacted) and the *Use instead* code of a rule.

    The first paragraph of "why" is the argument; later paragraphs list exceptions the analyzer
    has already applied. "Use instead" is the shape of the fix, which an answer usually needs.
    """
    docs = rule_docs(code)
    if not docs:
        return ""
    why = _section(docs, r"Why is this bad\?")
    if why is None:
        return rule_docs_excerpt(code, _MAX_WHY_CHARS)
    out = "Why: " + _sentences(re.sub(r"\s+", " ", why.split("\n\n")[0]).strip(), _MAX_WHY_CHARS)
    use = _section(docs, "Use instead") if with_code else None
    if use:
        code_match = re.search(r"```(\w*)\n(.*?)```", use, re.S)
        if code_match:
            body = code_match.group(2).rstrip("\n").split("\n")
            if len(body) > _MAX_USE_INSTEAD_LINES:
                body = [*body[:_MAX_USE_INSTEAD_LINES], "..."]
            out += f"\nUse instead:\n```{code_match.group(1)}\n" + "\n".join(body) + "\n```"
        else:
            out += "\nUse instead: " + shorten(re.sub(r"\s+", " ", use), 200)
    return out

"""Agent findings as the editor and the CLI see them: a stable code, an anchor, and rule duplicates.

Codes: ``AI`` + three digits derived from a hash of the finding's normalised title (``AI001`` to
``AI999``). The same problem reported by two reviews keeps its code, and the codes cannot collide
with rule codes (``MLxxx``). Two different titles may share a code; the code is a label, the
finding's ``id`` (title + cited text) is what identifies it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ...analysis.findings import Finding
from .anchoring import Anchor
from .validation import ReviewItem

AGENT_SOURCE = "ml-engineer (agent)"
_WORD = re.compile(r"[a-z0-9]+")
_WEAK_WORDS = frozenset({"missing", "before", "after", "not", "no", "on", "in", "with", "without", "the", "of", "to",
                         "unsafe", "called", "used", "data", "result"})


def agent_code(title: str) -> str:
    digest = hashlib.sha256(" ".join(_WORD.findall(title.lower())).encode()).hexdigest()
    return f"AI{int(digest[:8], 16) % 999 + 1:03d}"


@dataclass(frozen=True)
class AgentFinding:
    id: str
    code: str
    item: ReviewItem
    anchor: Anchor
    duplicate_of: str | None = None  # code of the rule finding it repeats (shown in that finding's hover)

    @classmethod
    def create(cls, item: ReviewItem, lines: Sequence[str], duplicate_of: str | None = None) -> AgentFinding:
        anchor = Anchor.at(lines, item.start_line - 1, item.end_line - 1)
        ident = hashlib.sha256(("\n".join([item.title, *anchor.cited])).encode("utf-8", "surrogatepass")).hexdigest()[:12]
        return cls(ident, agent_code(item.title), item, anchor, duplicate_of)

    @property
    def start_line(self) -> int:
        """Current 0-based first line."""
        return self.anchor.start

    @property
    def end_line(self) -> int:
        return self.anchor.end

    def relocated(self, lines: Sequence[str]) -> AgentFinding | None:
        anchor = self.anchor.relocate(lines)
        return None if anchor is None else replace(self, anchor=anchor)

    def hover_markdown(self) -> str:
        item = self.item
        out = [f"**{self.code}** (ML engineer agent, confidence {item.confidence:.0%}): {item.title}", "", item.explanation]
        if item.replacement is not None:
            out += ["", "Suggested replacement (code action *Apply ML engineer suggestion*):", "", "```python",
                    item.replacement, "```"]
        return "\n".join(out)

    def to_dict(self) -> dict[str, Any]:
        item = self.item
        return {
            "id": self.id,
            "code": self.code,
            "source": AGENT_SOURCE,
            "severity": item.severity,
            "title": item.title,
            "explanation": item.explanation,
            "confidence": item.confidence,
            "replacement": item.replacement,
            "start_line": self.start_line + 1,
            "end_line": self.end_line + 1,
            "duplicate_of": self.duplicate_of,
        }


def rule_duplicate(item: ReviewItem, rule_findings: Iterable[Finding], source: Any) -> Finding | None:
    """The rule finding that ``item`` repeats: overlapping lines and the same topic.

    Same topic = the model named the rule (``rule_code``), or the words of the rule's name
    (``zero-grad-missing``) appear in the agent's title and explanation (word prefixes, so that
    "zeroed gradients" matches).
    """
    tokens = _WORD.findall(f"{item.title} {item.explanation}".lower())
    for finding in rule_findings:
        first = source.line_of(finding.span.start) + 1
        last = source.line_of(max(finding.span.start, finding.span.end - 1)) + 1
        if last < item.start_line or item.end_line < first:
            continue
        if item.rule_code == finding.code:
            return finding
        words = [w for w in _WORD.findall(finding.name.lower()) if w not in _WEAK_WORDS and len(w) >= 3]
        if not words:
            continue
        hits = sum(1 for w in words if any(t.startswith(w[:4]) for t in tokens))
        if hits >= min(2, len(words)):
            return finding
    return None

"""The offline backend: an answer built from the analysis and the knowledge base, no network.

Used when no API key is set, when the file is excluded from sending, and on request. It shows the
findings in the asked range (message, rule documentation, fix), the findings around it, and the
knowledge-base topics that match the question, under a heading that says it is an offline answer
and how to get the full agent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..context import LineRange, rule_docs

ENABLE_HINT = (
    "Set `ANTHROPIC_API_KEY` in the environment of the editor (or the CLI) and leave `agent.backend` on "
    "`auto` to ask the full ML engineer agent."
)


@dataclass(frozen=True)
class OfflineAnswer:
    markdown: str
    finding_codes: tuple[str, ...]
    topic_ids: tuple[str, ...]


def answer_offline(
    analysis: Any,
    question: str,
    focus: LineRange | None,
    reason: str,
    max_topics: int = 2,
    nearby_lines: int = 15,
) -> OfflineAnswer:
    source = analysis.source
    findings = list(getattr(analysis, "findings", []))

    def lines_of(f: Any) -> tuple[int, int]:
        return source.line_of(f.span.start) + 1, source.line_of(max(f.span.start, f.span.end - 1)) + 1

    if focus is None:
        in_range = findings
        nearby: list[Any] = []
    else:
        in_range = [f for f in findings if lines_of(f)[0] <= focus.end and focus.start <= lines_of(f)[1]]
        nearby = [
            f
            for f in findings
            if f not in in_range
            and min(abs(lines_of(f)[0] - focus.end), abs(focus.start - lines_of(f)[1])) <= nearby_lines
        ]

    where = (f"lines {focus}" if focus.start != focus.end else f"line {focus.start}") if focus is not None else "this file"
    out = [
        "## Offline answer",
        "",
        f"> This answer comes from the local analyzer and knowledge base, not from the agent ({reason}). {ENABLE_HINT}",
        "",
    ]
    if in_range:
        out += [f"### What the analyzer found in {where}", ""]
        for f in in_range:
            out += _finding_section(f, lines_of(f), with_docs=True)
    else:
        out += [f"The analyzer reports no problem in {where}.", ""]
    if nearby:
        out += ["### Nearby findings", ""]
        for f in nearby:
            first, last = lines_of(f)
            where_f = f"line {first}" if first == last else f"lines {first}-{last}"
            out.append(f"- **{f.code}** `{f.name}` ({f.severity}) at {where_f}: {f.message}")
        out.append("")

    topics = _topics(question, [f.code for f in in_range], max_topics)
    if topics:
        out += ["### Related guidance", ""]
        for rendered in topics.values():
            out += [_demote_headings(rendered).strip(), ""]
    elif not in_range:
        out += [
            "No knowledge-base topic matches this question. Rephrase it with the symptom you see "
            "(for example \"validation loss goes up\") or ask the agent.",
            "",
        ]
    return OfflineAnswer("\n".join(out).rstrip() + "\n", tuple(f.code for f in in_range), tuple(topics))


def _finding_section(f: Any, lines: tuple[int, int], with_docs: bool) -> list[str]:
    first, last = lines
    where = f"line {first}" if first == last else f"lines {first}-{last}"
    out = [f"#### {f.code} `{f.name}` ({f.severity}), {where}", "", f.message, ""]
    if f.fix is not None:
        safety = "safe to apply" if f.fix.safe else "review before applying"
        out += [f"**Quick fix available:** {f.fix.title} ({safety}).", ""]
    docs = rule_docs(f.code) if with_docs else ""
    if docs:
        out += [_demote_headings(docs, levels=4).strip(), ""]
    return out


def _topics(question: str, codes: list[str], k: int) -> dict[str, str]:
    """Topic id -> rendered markdown: topics of the findings' rules first, then search matches."""
    try:
        from ...knowledge import get_knowledge_base, render_topic
    except ImportError:
        return {}
    try:
        kb = get_knowledge_base()
        chosen: dict[str, str] = {}
        for topic in kb.topics_for_rules(codes)[:1]:
            chosen[topic.id] = render_topic(topic)
        for topic, score in kb.search_topics(question, k):
            if score > 0 and topic.id not in chosen and len(chosen) < k:
                chosen[topic.id] = render_topic(topic)
        return chosen
    except Exception:  # a broken knowledge base must not break offline answers
        return {}


def _demote_headings(markdown: str, levels: int = 2) -> str:
    """Push headings down so that embedded documents nest under this answer's headings."""
    return re.sub(r"(?m)^(#{1,6}) ", lambda m: "#" * min(6, len(m.group(1)) + levels) + " ", markdown)

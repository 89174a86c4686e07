"""Markdown renderers for hovers (API entries, argument notes, method notes) and offline answers (topics).

A hover's first paragraph is the one-line summary, so editors that show only the first
paragraph still say something useful; the details follow under small headings.
"""

from __future__ import annotations

from ml_engineer.knowledge.models import ApiEntry, MethodEntry, Pitfall, Topic


def _codes(rules: tuple[str, ...]) -> str:
    return " (" + ", ".join(f"`{code}`" for code in rules) + ")" if rules else ""


def _pitfall_lines(pitfalls: tuple[Pitfall, ...]) -> list[str]:
    return [f"- {p.text}{_codes(p.rules)}" for p in pitfalls]


def _example_block(example: str) -> list[str]:
    return ["```python", example.rstrip(), "```"]


def _references(references: tuple[str, ...]) -> list[str]:
    return [f"- <{url}>" for url in references]


def render_api_hover(entry: ApiEntry, argument: str | None = None) -> str:
    """Markdown for hovering an API (or one of its keyword arguments when `argument` is given)."""
    lines: list[str] = []
    note = entry.arguments.get(argument) if argument else None
    if argument and note:
        lines += [f"**`{argument}=`** — {note}", "", f"`{entry.name}`: {entry.summary}"]
    else:
        lines += [f"**`{entry.name}`** — {entry.summary}"]
    if entry.alias_note:
        lines += ["", f"> {entry.alias_note}"]
    if entry.details:
        lines += ["", entry.details]
    if entry.versions:
        lines += ["", f"**Versions:** {entry.versions}"]
    other_arguments = {k: v for k, v in entry.arguments.items() if k != argument or not note}
    if other_arguments:
        lines += ["", "**Key arguments**", ""]
        lines += [f"- `{name}`: {text}" for name, text in other_arguments.items()]
    return _with_common_sections(lines, entry)


def render_method_hover(entry: MethodEntry) -> str:
    """Markdown for hovering a method called on a known entity, e.g. `optimizer.zero_grad()`."""
    lines = [f"**`{entry.entity_kind}.{entry.method}()`** — {entry.summary}"]
    if entry.details:
        lines += ["", entry.details]
    return _with_common_sections(lines, entry)


def _with_common_sections(lines: list[str], entry: ApiEntry | MethodEntry) -> str:
    """Append the pitfalls, example and references every hover ends with, and join."""
    if entry.pitfalls:
        lines += ["", "**Pitfalls**", "", *_pitfall_lines(entry.pitfalls)]
    if entry.example:
        lines += ["", "**Example**", "", *_example_block(entry.example)]
    if entry.references:
        lines += ["", "**References**", "", *_references(entry.references)]
    return "\n".join(lines).strip() + "\n"


def render_topic(topic: Topic) -> str:
    """Markdown for an offline answer: title, short answer, checklist, related rules, references."""
    lines = [f"## {topic.title}", "", topic.answer]
    if topic.checklist:
        lines += ["", "**Checklist**", ""] + [f"- [ ] {item}" for item in topic.checklist]
    if topic.rules:
        lines += ["", "**Related rules:** " + ", ".join(f"`{code}`" for code in topic.rules)]
    if topic.references:
        lines += ["", "**References**", "", *_references(topic.references)]
    return "\n".join(lines).strip() + "\n"

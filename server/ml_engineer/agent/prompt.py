"""The user message sent with a question: the selected code, the analyzer's findings, the question.

Code comes first and the question last (models answer long-context questions better that way).
"""

from __future__ import annotations

from .context import ContextBundle


def build_user_message(question: str, bundle: ContextBundle) -> str:
    parts: list[str] = []
    if bundle.whole_file:
        where = f"the whole file `{bundle.path}` ({bundle.line_count} lines)"
    else:
        where = f"excerpts of `{bundle.path}` ({bundle.line_count} lines in all)"
    if bundle.focus is not None:
        parts.append(
            f"I am asking about {_lines(bundle.focus)} of `{bundle.path}` (marked with `>` after the line number). "
            f"Below is {where}; each line starts with its line number."
        )
    else:
        parts.append(f"I am asking about `{bundle.path}`. Below is {where}; each line starts with its line number.")
    parts.append("<code>\n" + "\n\n".join(s.render() for s in bundle.snippets) + "\n</code>")
    if bundle.findings:
        parts.append(
            "<findings>\nThe static analyzer reported:\n"
            + "\n".join(n.render() for n in bundle.findings)
            + "\n</findings>"
        )
    if bundle.redactions:
        parts.append(f"({len(bundle.redactions)} secret value(s) were replaced by `<redacted:...>` before sending.)")
    parts.append(f"<question>\n{question.strip()}\n</question>")
    return "\n\n".join(parts)


def build_follow_up_message(question: str, bundle: ContextBundle | None) -> str:
    """A follow-up: the question, plus the code again only when the selection changed."""
    if bundle is None:
        return f"<question>\n{question.strip()}\n</question>"
    return build_user_message(question, bundle)


def _lines(focus: object) -> str:
    text = str(focus)
    return f"lines {text}" if "-" in text else f"line {text}"

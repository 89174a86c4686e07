"""`# noqa: ML101, ML102` suppressions on the reported line (a bare `# noqa` silences all)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .source import SourceText

NOQA = re.compile(rb"#\s*noqa(?::\s*(?P<codes>[A-Za-z]+[0-9]+(?:[\s,]+[A-Za-z]+[0-9]+)*))?", re.IGNORECASE)
CODE = re.compile(rb"[A-Za-z]+[0-9]+")


@dataclass(frozen=True)
class NoqaDirective:
    line: int
    start: int  # byte offset of '#'
    end: int
    codes: frozenset[str] | None  # None: bare `# noqa`


def find_noqa(source: SourceText) -> dict[int, NoqaDirective]:
    directives: dict[int, NoqaDirective] = {}
    data = source.data
    if b"noqa" not in data and b"NOQA" not in data:
        return directives
    for match in NOQA.finditer(data):
        line = source.line_of(match.start())
        codes_raw = match.group("codes")
        codes = frozenset(code.decode().upper() for code in CODE.findall(codes_raw)) if codes_raw else None
        directives[line] = NoqaDirective(line, match.start(), match.end(), codes)
    return directives


def is_suppressed(directives: dict[int, NoqaDirective], code: str, lines: tuple[int, ...]) -> bool:
    for line in lines:
        directive = directives.get(line)
        if directive is not None and (directive.codes is None or code in directive.codes):
            return True
    return False

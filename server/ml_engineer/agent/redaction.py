"""What must not leave the machine: secret values (redacted) and excluded paths (never sent)."""

from __future__ import annotations

import contextlib
import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath, PurePosixPath

from ..analysis.secrets import Redaction, find_secrets


@dataclass(frozen=True)
class RedactedSource:
    """The source with secret values replaced, line numbers unchanged."""

    lines: list[str]  # redacted lines, without line breaks
    redactions: list[Redaction]  # located in the original text; .line is 1-based

    def redactions_in(self, start: int, end: int) -> list[Redaction]:
        """Redactions whose value starts on lines start..end (1-based, inclusive)."""
        return [r for r in self.redactions if start <= r.line <= end]


def redact_source(text: str) -> RedactedSource:
    """Replace each secret with ``<redacted:kind>``, keeping every line break of the original.

    A secret spanning several lines (a PEM key) becomes the marker on its first line followed by
    the same number of line breaks, so line numbers shown to the model still match the file.
    """
    matches = find_secrets(text)
    data = text.encode("utf-8", errors="surrogatepass")
    redactions: list[Redaction] = []
    pieces: list[bytes] = []
    cursor = 0
    for m in matches:
        marker = f"<redacted:{m.kind}>"
        newlines = data.count(b"\n", m.start, m.end)
        pieces.append(data[cursor : m.start])
        pieces.append(marker.encode() + b"\n" * newlines)
        cursor = m.end
        redactions.append(Redaction(m.start, m.end, m.kind, m.name, data.count(b"\n", 0, m.start) + 1, marker))
    pieces.append(data[cursor:])
    redacted = b"".join(pieces).decode("utf-8", errors="replace")
    return RedactedSource(redacted.split("\n"), redactions)


def redact_text(text: str) -> tuple[str, list[Redaction]]:
    """Redact free text (a question, a previous answer)."""
    source = redact_source(text)
    return "\n".join(source.lines), source.redactions


def is_excluded(path: str, patterns: Iterable[str], workspace: str | None = None) -> str | None:
    """The first glob pattern of ``agent.excludePaths`` that matches ``path``, else ``None``.

    Patterns match the path relative to the workspace (``secrets/*.py``, ``**/private/**``), the
    absolute path, or the file name alone (``*.env``).
    """
    candidates = [PurePath(path).as_posix()]
    if workspace:
        with contextlib.suppress(ValueError):  # a path outside the workspace
            candidates.append(PurePath(path).relative_to(workspace).as_posix())
    name = PurePosixPath(candidates[0]).name
    for pattern in patterns:
        pat = pattern.strip()
        if not pat:
            continue
        for candidate in candidates:
            if fnmatch.fnmatchcase(candidate, pat) or PurePosixPath(candidate).match(pat):
                return pattern
            # "**/x/**" also matches "x/..." at the root of the workspace
            if pat.startswith("**/") and fnmatch.fnmatchcase(candidate, pat[3:]):
                return pattern
        if "/" not in pat and fnmatch.fnmatchcase(name, pat):
            return pattern
    return None

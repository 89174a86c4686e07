"""Keeps an agent finding attached to the code it cites while the document is edited.

An anchor stores the cited lines (trailing whitespace ignored) and a hash of the lines around them.
After an edit the finding is re-located by searching the new text for the cited lines:

* found once: the finding moves there (edits above it or elsewhere keep it);
* found several times: the occurrence whose surrounding context still hashes the same wins, else the
  one nearest to where it was;
* not found: the cited code changed, so the advice may no longer apply and the finding is dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

CONTEXT_LINES = 2  # lines above and below hashed as the anchor's surroundings


@dataclass(frozen=True)
class Anchor:
    cited: tuple[str, ...]  # the cited lines, right-stripped
    context_hash: str
    start: int  # 0-based first line where it was last located
    end: int  # 0-based last line (inclusive)

    @classmethod
    def at(cls, lines: Sequence[str], start: int, end: int) -> Anchor:
        """Anchor lines ``start..end`` (0-based, inclusive) of ``lines``."""
        cited = tuple(_norm(line) for line in lines[start : end + 1])
        return cls(cited, _context_hash(lines, start, end), start, end)

    def relocate(self, lines: Sequence[str]) -> Anchor | None:
        """This anchor in the new ``lines``, or ``None`` when the cited code is gone or changed."""
        n = len(self.cited)
        if n == 0:
            return None
        starts = _occurrences(lines, self.cited)
        if not starts:
            return None
        if len(starts) > 1:
            same_context = [s for s in starts if _context_hash(lines, s, s + n - 1) == self.context_hash]
            starts = same_context or starts
        best = min(starts, key=lambda s: abs(s - self.start))
        return Anchor(self.cited, _context_hash(lines, best, best + n - 1), best, best + n - 1)


def _norm(line: str) -> str:
    return line.rstrip()


def _occurrences(lines: Sequence[str], cited: tuple[str, ...]) -> list[int]:
    first = cited[0]
    n = len(cited)
    found = []
    for i in range(len(lines) - n + 1):
        if _norm(lines[i]) == first and all(_norm(lines[i + k]) == cited[k] for k in range(1, n)):
            found.append(i)
    return found


def _context_hash(lines: Sequence[str], start: int, end: int) -> str:
    above = [_norm(line) for line in lines[max(0, start - CONTEXT_LINES) : start]]
    below = [_norm(line) for line in lines[end + 1 : end + 1 + CONTEXT_LINES]]
    data = "\n".join([*above, "\x00", *below]).encode("utf-8", errors="surrogatepass")
    return hashlib.sha256(data).hexdigest()[:16]

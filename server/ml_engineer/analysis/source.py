"""Source text and the one place where positions change units.

tree-sitter speaks UTF-8 byte offsets; LSP speaks UTF-16 code units by default; the CLI prints
code-point columns like ruff. Everything downstream stores byte offsets and converts here.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Literal

Encoding = Literal["utf-8", "utf-16", "codepoint"]


@dataclass(frozen=True)
class Span:
    """A half-open range of byte offsets into the UTF-8 encoded source."""

    start: int
    end: int

    def contains(self, offset: int) -> bool:
        return self.start <= offset <= self.end

    def overlaps(self, other: Span) -> bool:
        return self.start <= other.end and other.start <= self.end


@dataclass
class SourceText:
    """Immutable text of one document with precomputed line starts."""

    text: str
    data: bytes = field(init=False)
    _line_starts: list[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # lone surrogates (from a lossy decode upstream) must not make encoding fail
        self.data = self.text.encode("utf-8", errors="surrogatepass")
        # Each line starts one past the previous line's end: a running sum of (length + 1), all in C.
        starts = list(accumulate(map((1).__add__, map(len, self.data.split(b"\n"))), initial=0))
        starts.pop()  # one past the end of the text
        self._line_starts = starts

    @property
    def line_count(self) -> int:
        return len(self._line_starts)

    def line_start(self, line: int) -> int:
        line = max(0, min(line, len(self._line_starts) - 1))
        return self._line_starts[line]

    def line_end(self, line: int) -> int:
        """Byte offset of the end of `line`, excluding the line break."""
        if line + 1 < len(self._line_starts):
            end = self._line_starts[line + 1] - 1
            if end > 0 and self.data[end - 1 : end] == b"\r":
                end -= 1
            return end
        return len(self.data)

    def line_bytes(self, line: int) -> bytes:
        return self.data[self.line_start(line) : self.line_end(line)]

    def line(self, line: int) -> str:
        return self.line_bytes(line).decode("utf-8", errors="replace")

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self._line_starts, offset) - 1

    def position(self, offset: int, encoding: Encoding = "utf-16") -> tuple[int, int]:
        """Byte offset -> (0-based line, column in `encoding` units)."""
        offset = max(0, min(offset, len(self.data)))
        line = self.line_of(offset)
        start = self._line_starts[line]
        if encoding == "utf-8":
            return line, offset - start
        raw = self.data[start:offset]
        if raw.isascii():
            return line, offset - start  # one unit per byte in every encoding (most code)
        prefix = raw.decode("utf-8", errors="replace")
        if encoding == "codepoint":
            return line, len(prefix)
        return line, _utf16_length(prefix)

    def offset(self, line: int, column: int, encoding: Encoding = "utf-16") -> int:
        """(0-based line, column in `encoding` units) -> byte offset, clamped to the line."""
        if line < 0:
            return 0
        if line >= len(self._line_starts):
            return len(self.data)
        start = self._line_starts[line]
        raw = self.data[start : self.line_end(line)]
        if encoding == "utf-8":
            return start + max(0, min(column, len(raw)))
        text = raw.decode("utf-8", errors="replace")
        units = 0
        for index, char in enumerate(text):
            if units >= column:
                return start + len(text[:index].encode("utf-8"))
            units += 1 if encoding == "codepoint" else _utf16_length(char)
        return start + len(raw)


def _utf16_length(text: str) -> int:
    # Characters outside the BMP take two UTF-16 code units. `surrogatepass`: text decoded from a
    # client's UTF-16 may hold a lone surrogate, one unit like any BMP character.
    return len(text.encode("utf-16-le", errors="surrogatepass")) // 2

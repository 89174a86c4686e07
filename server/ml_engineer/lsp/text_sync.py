"""Incremental text synchronisation: apply LSP content changes to a string, and record each change
as a tree-sitter edit so the next parse can reuse the previous tree.

We keep our own text instead of pygls' `TextDocument`: its line splitting (`str.splitlines`) also
breaks on form feeds and other Unicode separators, which LSP clients do not count as line ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate

from lsprotocol import types
from tree_sitter import Point, Tree


@dataclass(frozen=True)
class TreeEdit:
    """One change in tree-sitter's terms (byte offsets and (row, byte column) points)."""

    start_byte: int
    old_end_byte: int
    new_end_byte: int
    start_point: tuple[int, int]
    old_end_point: tuple[int, int]
    new_end_point: tuple[int, int]


def _encode(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogatepass")


def _units(char: str, encoding: str) -> int:
    if encoding == types.PositionEncodingKind.Utf8:
        return len(_encode(char))
    if encoding == types.PositionEncodingKind.Utf32:
        return 1
    return 2 if ord(char) > 0xFFFF else 1


def _column_to_index(line: str, column: int, encoding: str) -> int:
    """A column in the client's units -> index into `line` (clamped to the line's end)."""
    if encoding == types.PositionEncodingKind.Utf32:
        return min(column, len(line))
    if encoding != types.PositionEncodingKind.Utf8 and line.isascii():
        return min(column, len(line))
    units = 0
    for index, char in enumerate(line):
        if units >= column:
            return index
        units += _units(char, encoding)
    return len(line)


class TextBuffer:
    """The current text of one open document."""

    def __init__(self, text: str):
        self._text = text
        self._line_starts: list[int] | None = None

    @property
    def text(self) -> str:
        return self._text

    @text.setter
    def text(self, value: str) -> None:
        self._text = value
        self._line_starts = None

    def _starts(self) -> list[int]:
        # Index of each line's first character, built once per version of the text (a change
        # locates two positions; finding them line by line from the top costs ms on big files).
        if self._line_starts is None:
            self._line_starts = [0, *accumulate(len(line) + 1 for line in self._text.split("\n"))][:-1]
        return self._line_starts

    def _locate(self, position: types.Position, encoding: str) -> tuple[int, int, int]:
        """Position -> (index into text, row, byte column)."""
        text = self._text
        starts = self._starts()
        if position.line >= len(starts):
            return len(text), len(starts) - 1, len(_encode(text[starts[-1] :]))
        start = starts[position.line]
        end = text.find("\n", start)
        line = text[start : end if end != -1 else len(text)]
        if line.endswith("\r"):
            line = line[:-1]
        index = _column_to_index(line, position.character, encoding)
        return start + index, position.line, len(_encode(line[:index]))

    def apply(self, change: types.TextDocumentContentChangeEvent, encoding: str) -> TreeEdit | None:
        """Apply one change; returns the matching tree edit (None for a whole-document change)."""
        if not isinstance(change, types.TextDocumentContentChangePartial):
            self.text = change.text
            return None
        start, start_row, start_col = self._locate(change.range.start, encoding)
        end, end_row, end_col = self._locate(change.range.end, encoding)
        if end < start:
            start, end, start_row, start_col, end_row, end_col = end, start, end_row, end_col, start_row, start_col
        old = self.text
        # Byte offsets of the edit: the prefix is encoded once; the removed and inserted parts are small.
        start_byte = len(_encode(old[:start]))
        old_end_byte = start_byte + len(_encode(old[start:end]))
        inserted = _encode(change.text)
        new_end_byte = start_byte + len(inserted)
        newlines = change.text.count("\n")
        if newlines:
            new_end_point = (start_row + newlines, len(_encode(change.text[change.text.rfind("\n") + 1 :])))
        else:
            new_end_point = (start_row, start_col + len(inserted))
        self.text = old[:start] + change.text + old[end:]
        return TreeEdit(start_byte, old_end_byte, new_end_byte, (start_row, start_col), (end_row, end_col), new_end_point)


def edited_copy(tree: Tree, edits: list[TreeEdit]) -> Tree:
    """A copy of `tree` with `edits` applied in order (the original stays valid for other readers)."""
    copy = tree.copy()
    for edit in edits:
        copy.edit(
            start_byte=edit.start_byte,
            old_end_byte=edit.old_end_byte,
            new_end_byte=edit.new_end_byte,
            start_point=Point(*edit.start_point),
            old_end_point=Point(*edit.old_end_point),
            new_end_point=Point(*edit.new_end_point),
        )
    return copy

"""One analysed version of a document (or of a whole notebook): immutable, readable from any thread.

This is the one place that converts between the analysis core's byte offsets and LSP positions,
including the notebook case where one joined source maps back onto several cell documents.
"""

from __future__ import annotations

from dataclasses import dataclass

from lsprotocol import types

from ..analysis.engine import AnalysisResult
from ..analysis.findings import Finding
from ..analysis.source import Encoding

_ENCODINGS: dict[str, Encoding] = {
    types.PositionEncodingKind.Utf8: "utf-8",
    types.PositionEncodingKind.Utf16: "utf-16",
    types.PositionEncodingKind.Utf32: "codepoint",
}


def core_encoding(lsp_encoding: str | None) -> Encoding:
    return _ENCODINGS.get(lsp_encoding or types.PositionEncodingKind.Utf16, "utf-16")


@dataclass(frozen=True)
class CellSpan:
    """A notebook code cell inside the joined source."""

    uri: str
    version: int
    start_line: int
    line_count: int


@dataclass(frozen=True)
class Snapshot:
    key: str  # the text document's URI, or the notebook's
    version: int
    encoding: Encoding
    result: AnalysisResult | None
    cells: tuple[CellSpan, ...] = ()
    skipped: str | None = None  # why the document was not analysed (too large, binary)
    is_notebook: bool = False

    @property
    def uris(self) -> list[str]:
        return [cell.uri for cell in self.cells] if self.is_notebook else [self.key]

    @property
    def findings(self) -> list[Finding]:
        return self.result.findings if self.result is not None else []

    def version_of(self, uri: str) -> int:
        for cell in self.cells:
            if cell.uri == uri:
                return cell.version
        return self.version

    # --- bytes -> LSP ----------------------------------------------------------------------

    def position(self, offset: int) -> tuple[str, types.Position]:
        assert self.result is not None
        line, column = self.result.source.position(offset, self.encoding)
        if not self.cells:
            return self.key, types.Position(line, column)
        cell = self._cell_at_line(line)
        return cell.uri, types.Position(line - cell.start_line, column)

    def range(self, start: int, end: int) -> tuple[str, types.Range]:
        """Byte span -> (document URI, range); a span crossing cells is cut at its cell's end."""
        uri, start_pos = self.position(start)
        end_uri, end_pos = self.position(max(start, end))
        if end_uri != uri:
            assert self.result is not None
            cell = next(c for c in self.cells if c.uri == uri)
            last = cell.start_line + cell.line_count - 1
            end_offset = self.result.source.line_end(last)
            _, end_pos = self.position(end_offset)
        return uri, types.Range(start_pos, end_pos)

    # --- LSP -> bytes ----------------------------------------------------------------------

    def offset(self, uri: str, position: types.Position) -> int | None:
        """Position in document `uri` -> byte offset into the analysed source (None if unknown)."""
        if self.result is None:
            return None
        line = position.line
        if self.cells:
            cell = next((c for c in self.cells if c.uri == uri), None)
            if cell is None:
                return None
            line = cell.start_line + min(line, cell.line_count - 1)
        elif uri != self.key:
            return None
        return self.result.source.offset(line, position.character, self.encoding)

    def line_of(self, uri: str, line: int) -> int:
        """Document line -> line of the analysed source."""
        for cell in self.cells:
            if cell.uri == uri:
                return cell.start_line + line
        return line

    def _cell_at_line(self, line: int) -> CellSpan:
        chosen = self.cells[0]
        for cell in self.cells:
            if cell.start_line <= line:
                chosen = cell
            else:
                break
        return chosen

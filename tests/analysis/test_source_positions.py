"""The one place positions change units: bytes <-> UTF-16 <-> code points."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ml_engineer.analysis.source import SourceText


def test_utf16_columns_count_surrogate_pairs() -> None:
    source = SourceText("s = '😀é'; x.step\n")
    offset = source.data.index(b"x.step")
    assert source.position(offset, "utf-8") == (0, 14)
    assert source.position(offset, "codepoint") == (0, 10)
    assert source.position(offset, "utf-16") == (0, 11)
    assert source.offset(0, 11, "utf-16") == offset
    assert source.offset(0, 10, "codepoint") == offset


def test_crlf_lines_and_clamping() -> None:
    source = SourceText("a = 1\r\nbb = 2\r\n")
    assert source.line(0) == "a = 1"
    assert source.line(1) == "bb = 2"
    assert source.position(source.data.index(b"bb"), "utf-16") == (1, 0)
    assert source.offset(1, 999) == source.line_end(1)
    assert source.offset(99, 0) == len(source.data)
    assert source.offset(-1, 0) == 0


@given(st.text(max_size=200), st.data())
def test_round_trip_for_every_encoding(text: str, data: st.DataObject) -> None:
    source = SourceText(text)
    # offsets at character boundaries, except inside a CRLF line break: lines end before its
    # `\r`, so no (line, column) names the offset between `\r` and `\n`
    boundaries = [
        len(text[:i].encode("utf-8", "surrogatepass"))
        for i in range(len(text) + 1)
        if not (i > 0 and text[i - 1 : i + 1] == "\r\n")
    ]
    offset = data.draw(st.sampled_from(boundaries))
    for encoding in ("utf-8", "utf-16", "codepoint"):
        line, col = source.position(offset, encoding)  # type: ignore[arg-type]
        assert source.offset(line, col, encoding) == offset  # type: ignore[arg-type]


def test_every_position_of_crlf_text_round_trips_and_the_break_itself_maps_to_the_line_end() -> None:
    text = "ab\r\n\r\nc\u00e9\r\nd"
    source = SourceText(text)
    for i in range(len(text) + 1):
        offset = len(text[:i].encode("utf-8"))
        inside_break = i > 0 and text[i - 1 : i + 1] == "\r\n"
        for encoding in ("utf-8", "utf-16", "codepoint"):
            line, col = source.position(offset, encoding)  # type: ignore[arg-type]
            expected = source.line_end(line) if inside_break else offset
            assert source.offset(line, col, encoding) == expected  # type: ignore[arg-type]

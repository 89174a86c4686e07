"""In-process checks of the two pieces that are hard to observe end to end: incremental text
sync + tree edits (an incremental parse must equal a full parse), and dropping stale results."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types

from ml_engineer.analysis.config import Config
from ml_engineer.analysis.parsing import parse
from ml_engineer.lsp.analysis_runner import AnalysisInput, AnalysisScheduler
from ml_engineer.lsp.snapshot import Snapshot
from ml_engineer.lsp.text_sync import TextBuffer, edited_copy

BASE = "import torch\nfor x in loader:\n\tloss = model(x)  # 😀 é\r\n    loss.backward()\nopt.step()\n"


def utf16_position(text: str, index: int) -> types.Position:
    line = text.count("\n", 0, index)
    start = text.rfind("\n", 0, index) + 1
    return types.Position(line, len(text[start:index].encode("utf-16-le")) // 2)


edits = st.lists(
    st.tuples(st.integers(0, 10_000), st.integers(0, 40), st.sampled_from(["", "x", "\n", "(", "😀", "é\n  ", "def f():\n"])),
    min_size=1, max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(edits)
def test_incremental_changes_match_the_text_and_the_full_parse(changes) -> None:
    buffer = TextBuffer(BASE)
    expected = BASE
    tree = parse(BASE.encode("utf-8"))
    recorded = []
    for start_seed, length, new in changes:
        # positions on code point boundaries that are not inside a \r\n pair
        start = start_seed % (len(expected) + 1)
        end = min(len(expected), start + length)
        if expected[start - 1 : start + 1] == "\r\n" or expected[end - 1 : end + 1] == "\r\n":
            continue
        change = types.TextDocumentContentChangePartial(
            range=types.Range(utf16_position(expected, start), utf16_position(expected, end)), text=new
        )
        recorded.append(buffer.apply(change, types.PositionEncodingKind.Utf16))
        expected = expected[:start] + new + expected[end:]
        assert buffer.text == expected
    data = expected.encode("utf-8")
    incremental = parse(data, edited_copy(tree, [edit for edit in recorded if edit is not None]))
    assert str(incremental.root_node) == str(parse(data).root_node)


def test_positions_past_the_last_line_clamp_to_the_end_even_after_edits() -> None:
    buffer = TextBuffer("a\nbé")
    past = types.Range(types.Position(9, 0), types.Position(9, 3))
    edit = buffer.apply(types.TextDocumentContentChangePartial(range=past, text="!"), types.PositionEncodingKind.Utf16)
    assert buffer.text == "a\nbé!"
    assert edit is not None and (edit.start_byte, edit.start_point) == (5, (1, 3))
    # The cached line starts follow the text: line 2 exists once a newline is added.
    buffer.apply(types.TextDocumentContentChangePartial(range=past, text="\nc"), types.PositionEncodingKind.Utf16)
    line_two = types.Range(types.Position(2, 1), types.Position(2, 1))
    buffer.apply(types.TextDocumentContentChangePartial(range=line_two, text="d"), types.PositionEncodingKind.Utf16)
    assert buffer.text == "a\nbé!\ncd"


async def test_results_for_an_older_version_are_dropped() -> None:
    versions = {"doc": 1}
    published: list[Snapshot] = []

    def make_input(key: str) -> AnalysisInput:
        return AnalysisInput(key, versions[key], "import torch\n" * 200, "/doc.py", Config(), "utf-16", 10**7)

    async def on_result(snapshot: Snapshot) -> None:
        published.append(snapshot)

    scheduler = AnalysisScheduler(make_input, lambda key: versions[key], on_result)
    try:
        scheduler.schedule("doc", 0)
        await asyncio.sleep(0)  # the job for version 1 is now running in the worker
        versions["doc"] = 2  # ... and the document changes before it finishes
        await scheduler.wait_idle()
        assert published == []
        scheduler.schedule("doc", 0)
        await scheduler.wait_idle()
        assert [snapshot.version for snapshot in published] == [2]
    finally:
        scheduler.shutdown()


async def test_debounce_coalesces_quick_changes() -> None:
    calls: list[int] = []
    versions = {"doc": 0}

    def make_input(key: str) -> AnalysisInput:
        calls.append(versions[key])
        return AnalysisInput(key, versions[key], "x = 1\n", "/doc.py", Config(), "utf-16", 10**7)

    async def on_result(snapshot: Snapshot) -> None:
        pass

    scheduler = AnalysisScheduler(make_input, lambda key: versions[key], on_result)
    try:
        for version in range(1, 6):
            versions["doc"] = version
            scheduler.schedule("doc", 0.05)
        await scheduler.wait_idle()
        assert calls == [5]
    finally:
        scheduler.shutdown()

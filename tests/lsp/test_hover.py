"""Hover: finding first (message, then rule docs), ML APIs through the file's imports, noqa codes."""

from __future__ import annotations

from lsp_helpers import diagnostics_for, open_document, start
from lsprotocol import types
from samples import TRAINING, TYPO

URI = "file:///tmp/ml_engineer_tests/hover.py"


async def hover(client, line: int, character: int, uri: str = URI) -> str | None:
    result = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(line, character))
    )
    if result is None:
        return None
    assert isinstance(result.contents, types.MarkupContent)
    assert result.contents.kind == types.MarkupKind.Markdown
    return result.contents.value


async def test_hover_on_a_finding_shows_message_then_rule_docs(client):
    await start(client)
    open_document(client, URI, TYPO)
    await diagnostics_for(client, URI, lambda d: bool(d))
    text = await hover(client, 5, 8)
    assert text is not None
    first_paragraph = text.split("\n\n")[0]
    assert first_paragraph.startswith("**ML113** (requires-grad-typo): `p.require_grad` is a typo")
    assert "## Why is this bad?" in text
    assert text.index("is a typo") < text.index("## What it does")


async def test_hover_on_an_api_resolves_aliases_through_imports(client):
    await start(client)
    open_document(client, URI, TRAINING)
    await diagnostics_for(client, URI)
    # `nn.CrossEntropyLoss()` on line 4, with `import torch.nn as nn`
    text = await hover(client, 4, 20)
    assert text is not None and text.startswith("**`torch.nn.CrossEntropyLoss`**")
    # keyword argument `weight_decay=` of `torch.optim.AdamW`
    text = await hover(client, 5, 62)
    assert text is not None and text.startswith("**`weight_decay=`**")
    # a method on a known entity: `optimizer.step()`
    text = await hover(client, 13, 20)
    assert text is not None and "optimizer.step()" in text.split("\n")[0]
    # a method on the loss value: `loss.backward()`
    text = await hover(client, 12, 15)
    assert text is not None and "loss.backward()" in text.split("\n")[0]


async def test_hover_on_noqa_code_shows_rule_title_and_summary(client):
    await start(client)
    source = TYPO.replace("p.require_grad = False", "p.require_grad = False  # noqa: ML113, ML999")
    open_document(client, URI, source)
    assert await diagnostics_for(client, URI, lambda d: d == []) == []
    line = source.split("\n")[5]
    text = await hover(client, 5, line.index("ML113") + 2)
    assert text is not None and text.startswith("**ML113** (requires-grad-typo): Misspelt `requires_grad`")
    text = await hover(client, 5, line.index("ML999") + 1)
    assert text is not None and "not an ml-engineer rule" in text


async def test_hover_elsewhere_returns_nothing(client):
    await start(client)
    open_document(client, URI, "x = 1\n")
    await diagnostics_for(client, URI)
    assert await hover(client, 0, 0) is None

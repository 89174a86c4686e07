"""Markdown rendering of hovers and topics."""

from __future__ import annotations

from ml_engineer.knowledge import KnowledgeBase, render_api_hover, render_method_hover, render_topic


def test_api_hover_starts_with_the_summary_then_sections(kb: KnowledgeBase) -> None:
    entry = kb.api("torch.nn.CrossEntropyLoss")
    assert entry is not None
    text = render_api_hover(entry)
    first_paragraph = text.split("\n\n")[0]
    assert "torch.nn.CrossEntropyLoss" in first_paragraph and entry.summary in first_paragraph
    positions = [
        text.index(h) for h in ("**Key arguments**", "**Pitfalls**", "**Example**", "**References**")
    ]
    assert positions == sorted(positions)
    assert "(`ML501`)" in text and "```python" in text
    assert "<https://docs.pytorch.org/docs/stable/generated/torch.nn.CrossEntropyLoss.html>" in text


def test_argument_hover_leads_with_the_argument(kb: KnowledgeBase) -> None:
    entry = kb.api("torch.optim.AdamW")
    assert entry is not None
    text = render_api_hover(entry, argument="weight_decay")
    assert text.startswith("**`weight_decay=`**")
    assert "- `weight_decay`:" not in text  # not repeated in the argument list
    assert "- `lr`:" in text


def test_unknown_argument_falls_back_to_the_entry_hover(kb: KnowledgeBase) -> None:
    entry = kb.api("torch.optim.AdamW")
    assert entry is not None
    assert render_api_hover(entry, argument="nope") == render_api_hover(entry)


def test_alias_note_is_shown(kb: KnowledgeBase) -> None:
    entry = kb.api("torch.cuda.amp.GradScaler")
    assert entry is not None
    assert "> `torch.cuda.amp.GradScaler(...)` is deprecated" in render_api_hover(entry)


def test_method_hover(kb: KnowledgeBase) -> None:
    note = kb.method("scaler", "update")
    assert note is not None
    text = render_method_hover(note)
    assert text.startswith("**`scaler.update()`**") and "`ML110`" in text


def test_topic_rendering(kb: KnowledgeBase) -> None:
    text = render_topic(kb.topics["data-leakage"])
    assert text.startswith("## Data leakage")
    assert "**Checklist**" in text and "- [ ] " in text
    assert "**Related rules:** `ML301`" in text

"""Context selection: what is sent for a question at a range, numbered, ranked, cut to a budget."""

from __future__ import annotations

from pathlib import Path

import pytest
from ml_engineer.agent.context import LineRange, select_context
from ml_engineer.agent.prompt import build_user_message
from ml_engineer.agent.tokens import estimate_tokens
from ml_engineer.analysis.engine import analyze

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "image_classifier_train.py"


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.fixture(scope="module")
def big() -> tuple[str, object]:
    text = BENCH.read_text(encoding="utf-8")
    return text, analyze(text, str(BENCH))


def test_question_in_training_loop_gets_loop_model_and_constructions(big: tuple[str, object]) -> None:
    text, analysis = big
    focus = line_of(text, "optimizer.zero_grad()")
    bundle = select_context(analysis, LineRange(focus, focus), "why does my loss not go down?", 6000, path="train.py")
    assert not bundle.whole_file
    must = [
        "def train_one_epoch(",  # enclosing function
        "scaler.scale(loss).backward()",
        "class SmallResNet(nn.Module):",  # model class ...
        "x = F.dropout(x, self.dropout)",  # ... with its forward
        "optimizer = torch.optim.AdamW(",
        "criterion = nn.CrossEntropyLoss(",
        "scheduler = cosine_with_warmup(",
        "import torch.nn as nn",
    ]
    for needle in must:
        assert bundle.covers(line_of(text, needle)), needle
    # Unrelated code stays out.
    for needle in ("def parse_args", "def export_onnx", "class ImageFolderDataset"):
        assert not bundle.covers(line_of(text, needle)), needle
    assert bundle.tokens <= 0.35 * bundle.whole_file_tokens


def test_lines_are_numbered_and_the_selection_marked(big: tuple[str, object]) -> None:
    text, analysis = big
    focus = line_of(text, "optimizer.zero_grad()")
    bundle = select_context(analysis, LineRange(focus, focus), "q", 6000, path="train.py")
    rendered = "\n".join(s.render() for s in bundle.snippets)
    assert f"{focus}>|         optimizer.zero_grad()" in rendered
    assert f"{focus - 1} |         scaler.scale(loss).backward()" in rendered
    for snippet in bundle.snippets:
        assert snippet.render().startswith(f"### train.py:{snippet.start}-{snippet.end} (")
        first = snippet.text.splitlines()[0]
        assert first.lstrip().startswith(str(snippet.start))


def test_budget_is_a_ceiling(big: tuple[str, object]) -> None:
    text, analysis = big
    focus = line_of(text, "def main")
    for budget in (600, 1000, 2500):
        bundle = select_context(analysis, LineRange(focus, focus + 40), "what could go wrong?", budget)
        assert bundle.tokens <= budget * 1.05, (budget, bundle.tokens)
        assert bundle.covers(focus)


def test_selection_larger_than_budget_is_cut_and_flagged(big: tuple[str, object]) -> None:
    _text, analysis = big
    bundle = select_context(analysis, LineRange(1, 370), "review all", 800)
    assert bundle.truncated
    assert bundle.tokens <= 800 * 1.05


def test_small_file_goes_whole() -> None:
    text = "import torch\n\nmodel = torch.nn.Linear(2, 2)\nprint(model)\n"
    bundle = select_context(analyze(text, "s.py"), LineRange(3, 3), "what is this?", 6000)
    assert bundle.whole_file
    assert [(s.start, s.end) for s in bundle.snippets] == [(1, 5)]
    assert "3>| model = torch.nn.Linear(2, 2)" in bundle.snippets[0].text


def test_secrets_are_redacted_before_rendering_and_reported(big: tuple[str, object]) -> None:
    text, analysis = big
    secret_line = line_of(text, "WANDB_API_KEY = ")
    bundle = select_context(analysis, LineRange(secret_line, secret_line), "is this safe?", 6000)
    rendered = build_user_message("is this safe?", bundle)
    assert "3f9a1c2b7d8e4f60a1b2c3d4e5f60718293a4b5c" not in rendered
    assert f'{secret_line}>| WANDB_API_KEY = "<redacted:wandb>"' in rendered
    assert [(r.line, r.kind) for r in bundle.redactions] == [(secret_line, "wandb")]


def test_multiline_secret_keeps_line_numbers() -> None:
    body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7xyz012345"
    text = f'KEY = """-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----"""\nimport torch\nx = 1\n'
    bundle = select_context(analyze(text, "k.py"), LineRange(5, 5), "q", 6000)
    rendered = bundle.snippets[0].text
    assert body not in rendered
    assert "5>| x = 1" in rendered and "4 | import torch" in rendered


def test_findings_in_the_range_come_with_rule_docs() -> None:
    text = (
        "import torch\n\n"
        "model = torch.nn.Linear(2, 2)\n"
        "for p in model.parameters():\n"
        "    p.require_grad = False\n"
    )
    analysis = analyze(text, "f.py")
    if not any(f.code == "ML113" for f in analysis.findings):
        pytest.skip("rule ML113 not available")
    bundle = select_context(analysis, LineRange(5, 5), "why does this layer still train?", 6000)
    (note,) = [n for n in bundle.findings if n.code == "ML113"]
    assert note.line == 5 and note.in_focus
    assert "attribute" in note.docs  # the "Why is this bad?" section of the rule
    message = build_user_message("why does this layer still train?", bundle)
    assert "ML113 requires-grad-typo (error) at line 5" in message
    assert message.rstrip().endswith("why does this layer still train?\n</question>")


def test_estimate_is_chars_over_3_5() -> None:
    assert estimate_tokens("x" * 35) == 10
    assert estimate_tokens("") == 0

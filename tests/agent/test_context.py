"""Context selection: what is sent for a question at a range, numbered, ranked, cut to a budget."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from ml_engineer.agent.context import LineRange, select_context
from ml_engineer.agent.context_layout import JOIN_GAP
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
        where = f"line {snippet.start}" if snippet.start == snippet.end else f"lines {snippet.start}-{snippet.end}"
        assert snippet.render().startswith(f"### {where} (")
        first = snippet.text.splitlines()[0]
        assert first.lstrip().startswith(str(snippet.start))
    # The path is said once in the message, not in every snippet header.
    assert all("train.py" not in s.render().splitlines()[0] for s in bundle.snippets)


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


# --- relevance to the question and the range -------------------------------------------------------

TEXT_BENCH = BENCH.parent / "text_classifier_finetune.py"


@pytest.fixture(scope="module")
def text_clf() -> tuple[str, object]:
    text = TEXT_BENCH.read_text(encoding="utf-8")
    return text, analyze(text, str(TEXT_BENCH))


def test_zero_grad_question_gets_loop_and_construction_not_unrelated_code(big: tuple[str, object]) -> None:
    text, analysis = big
    focus = line_of(text, "optimizer.zero_grad()")
    bundle = select_context(analysis, LineRange(focus, focus), "Is the order of these calls right?", 6000)
    for needle in ("for step, (images, targets) in enumerate(loader):", "scaler.step(optimizer)", "optimizer = torch.optim.AdamW("):
        assert bundle.covers(line_of(text, needle)), needle
    # The construction statement, not the function around it; no data preparation code.
    for needle in ("history = []", "def build_transforms", "transforms.RandomResizedCrop(", "def parse_args"):
        assert not bundle.covers(line_of(text, needle)), needle
    # Not a question about what the model computes: the class is named, its forward is not sent.
    assert bundle.covers(line_of(text, "class SmallResNet(nn.Module):"))
    assert not bundle.covers(line_of(text, "x = F.dropout(x, self.dropout)"))


def test_question_about_model_outputs_includes_forward(big: tuple[str, object]) -> None:
    text, analysis = big
    focus = line_of(text, "loss = criterion(logits, targets)")
    bundle = select_context(analysis, LineRange(focus, focus), "Are the model outputs right for this loss?", 6000)
    assert bundle.covers(line_of(text, "x = F.dropout(x, self.dropout)"))
    assert bundle.covers(line_of(text, "return self.head(x)"))
    assert bundle.covers(line_of(text, "criterion = nn.CrossEntropyLoss("))


def test_architecture_question_includes_layers_and_used_blocks(big: tuple[str, object]) -> None:
    text, analysis = big
    start, end = line_of(text, "class SmallResNet(nn.Module):"), line_of(text, "return self.head(x)")
    bundle = select_context(analysis, LineRange(start, end), "Is this architecture reasonable?", 6000)
    assert bundle.covers(line_of(text, "class BasicBlock(nn.Module):"))
    assert bundle.covers(line_of(text, "return F.relu(out + self.shortcut(x))"))


def test_question_at_a_function_shows_where_it_is_called(big: tuple[str, object]) -> None:
    text, analysis = big
    start, end = line_of(text, "def evaluate("), line_of(text, "return loss_meter.avg, correct")
    bundle = select_context(analysis, LineRange(start, end), "Why is validation accuracy so low?", 6000)
    assert bundle.covers(line_of(text, "val_loss, val_acc, per_class = evaluate(model, val_loader, criterion, cfg)"))
    # The rest of the epoch loop around that call is not needed.
    assert not bundle.covers(line_of(text, "epochs_without_improvement += 1"))


def test_only_imports_used_by_the_sent_code(big: tuple[str, object]) -> None:
    text, analysis = big
    focus = line_of(text, "optimizer.zero_grad()")
    bundle = select_context(analysis, LineRange(focus, focus), "why does my loss not go down?", 6000, path="train.py")
    assert bundle.covers(line_of(text, "import torch.nn as nn"))
    for needle in ("import argparse", "from PIL import Image", "from torchvision import transforms"):
        assert not bundle.covers(line_of(text, needle)), needle


def test_findings_in_range_get_why_and_use_instead_others_one_line(big: tuple[str, object]) -> None:
    text, analysis = big
    focus = line_of(text, "optimizer.zero_grad()")
    bundle = select_context(analysis, LineRange(focus, focus), "q", 6000, large_file_share=None)
    (note,) = [n for n in bundle.findings if n.in_focus]
    assert note.code == "ML102"
    assert note.docs.startswith("Why: ") and "Use instead:" in note.docs
    assert "## References" not in note.docs and "## Example" not in note.docs
    others = [n for n in bundle.findings if not n.in_focus]
    assert others, "the sent loop holds other findings (ML105)"
    for other in others:
        assert "\n" not in other.render() and not other.docs


def test_large_file_cap_keeps_must_include_and_limits_the_rest(text_clf: tuple[str, object]) -> None:
    text, analysis = text_clf
    focus = line_of(text, "optimizer.zero_grad(set_to_none=True)")
    capped = select_context(analysis, LineRange(focus, focus), "is the order of the steps right?", 6000)
    uncapped = select_context(analysis, LineRange(focus, focus), "is the order of the steps right?", 6000, large_file_share=None)
    assert capped.limit < uncapped.limit == 6000
    assert capped.tokens <= capped.limit < uncapped.tokens
    # A large selection is sent whole even when it alone exceeds the share.
    start, end = line_of(text, "def train(cfg: TrainConfig)"), line_of(text, 'return {"best": best, "final_test": final}')
    bundle = select_context(analysis, LineRange(start, end), "review this", 6000)
    assert bundle.tokens > bundle.limit
    assert all(bundle.covers(line) for line in range(start, end + 1) if text.splitlines()[line - 1].strip())


def test_adjacent_snippets_are_merged(big: tuple[str, object]) -> None:
    text, analysis = big
    focus = line_of(text, "optimizer.zero_grad()")
    bundle = select_context(analysis, LineRange(focus, focus), "why does my loss not go down?", 6000)
    ranges = [(s.start, s.end) for s in bundle.snippets]
    assert all(b[0] - a[1] > JOIN_GAP + 1 for a, b in itertools.pairwise(ranges)), ranges


# --- economy: helpers in brief, constructions in brief, left-out lines ---------------------------


def _shown_lines(bundle: object) -> list[str]:
    return [line for s in bundle.snippets for line in s.text.splitlines()]  # type: ignore[attr-defined]


def test_called_helper_in_brief_signature_and_mode_switch(text_clf: tuple[str, object]) -> None:
    text, analysis = text_clf
    start, end = line_of(text, "for epoch in range(cfg.epochs):"), line_of(text, 'log.info("epoch %d valid %s", epoch, metrics)')
    bundle = select_context(analysis, LineRange(start, end), "Review this training loop.", 6000)
    # `evaluate` is called by the loop: what it does to the model, not its metric code.
    for needle in ("@torch.no_grad()", "def evaluate(model, loader, device) -> dict:", "model.eval()"):
        assert bundle.covers(line_of(text, needle)), needle
    for needle in ("predictions, targets = [], []", "accuracy = sum(int(p == t)"):
        assert not bundle.covers(line_of(text, needle)), needle
    assert bundle.tokens <= 0.25 * bundle.whole_file_tokens


def test_helper_without_mode_switch_in_brief_is_signature_and_return(text_clf: tuple[str, object]) -> None:
    text, analysis = text_clf
    start, end = line_of(text, "def evaluate(model, loader, device)"), line_of(text, 'return {"loss": total_loss / n')
    bundle = select_context(analysis, LineRange(start, end), "Is this evaluation correct?", 6000)
    assert bundle.covers(line_of(text, "def macro_f1(predictions, targets) -> float:"))
    assert bundle.covers(line_of(text, "return sum(scores) / max(1, len(scores))"))


def test_long_construction_in_brief_first_line_and_decisive_arguments(text_clf: tuple[str, object]) -> None:
    text, analysis = text_clf
    start, end = line_of(text, "for epoch in range(cfg.epochs):"), line_of(text, 'log.info("epoch %d valid %s", epoch, metrics)')
    bundle = select_context(analysis, LineRange(start, end), "Review this training loop.", 6000)
    assert bundle.covers(line_of(text, "train_loader = DataLoader("))
    assert bundle.covers(line_of(text, "shuffle=True,"))
    assert not bundle.covers(line_of(text, "num_workers=2,"))
    # The loaders the loop only passes on (to `evaluate`) rank below the one it iterates.
    assert not bundle.covers(line_of(text, "valid_loader = DataLoader("))


def test_loaders_passed_by_the_other_calls_of_a_selected_helper(text_clf: tuple[str, object]) -> None:
    text, analysis = text_clf
    start, end = line_of(text, "metrics = evaluate(model, test_loader, device)"), line_of(text, "save_model(model, tokenizer, vocab, cfg.output_dir)")
    bundle = select_context(analysis, LineRange(start, end), "Is my model selection sound?", 6000)
    for needle in ("metrics = evaluate(model, valid_loader, device)", "valid_loader = DataLoader(", "test_loader = DataLoader("):
        assert bundle.covers(line_of(text, needle)), needle


def test_architecture_question_shows_where_the_class_is_built(big: tuple[str, object]) -> None:
    text, analysis = big
    start, end = line_of(text, "class SmallResNet(nn.Module):"), line_of(text, "return self.head(x)")
    bundle = select_context(analysis, LineRange(start, end), "Is this architecture reasonable?", 6000)
    assert bundle.covers(line_of(text, "model = SmallResNet(num_classes, cfg.widths, cfg.dropout)"))
    # Not for a question that is not about the structure.
    other = select_context(analysis, LineRange(start, end), "Why is this slow?", 6000)
    assert not any("instantiated" in s.reasons for s in other.snippets)


def test_forward_in_brief_when_only_a_finding_is_about_outputs(text_clf: tuple[str, object]) -> None:
    text, analysis = text_clf
    start, end = line_of(text, "for epoch in range(cfg.epochs):"), line_of(text, 'log.info("epoch %d valid %s", epoch, metrics)')
    bundle = select_context(analysis, LineRange(start, end), "Review this training loop.", 6000)
    # ML501 (softmax before cross-entropy) is in the selection: the forward's return is what it names.
    assert bundle.covers(line_of(text, "return torch.softmax(logits, dim=-1)"))
    assert bundle.covers(line_of(text, "def forward(self, input_ids, attention_mask):"))
    assert not bundle.covers(line_of(text, "pooled = self.pooler(outputs.last_hidden_state, attention_mask)"))
    # Asked about the outputs: the whole forward.
    asked = select_context(analysis, LineRange(start, end), "Are the model outputs right for this loss?", 6000)
    assert asked.covers(line_of(text, "pooled = self.pooler(outputs.last_hidden_state, attention_mask)"))


def test_selected_loop_in_a_long_function_is_its_own_region(text_clf: tuple[str, object]) -> None:
    text, analysis = text_clf
    start, end = line_of(text, "for epoch in range(cfg.epochs):"), line_of(text, 'log.info("epoch %d valid %s", epoch, metrics)')
    bundle = select_context(analysis, LineRange(start, end), "Review this training loop.", 6000)
    (snippet,) = [s for s in bundle.snippets if s.covers(start)]
    assert "enclosing loop" in snippet.reasons
    assert bundle.covers(line_of(text, "def train(cfg: TrainConfig) -> dict:"))  # where the loop lives
    # Not a window over the function's setup code.
    for needle in ("tokenizer = AutoTokenizer.from_pretrained(cfg.model_name", "collate = make_collate("):
        assert not bundle.covers(line_of(text, needle)), needle


LOW_VALUE = """import torch
import torch.nn as nn


def helper(model):
    \"\"\"Put the model in evaluation mode.

    A docstring that says what the code says.
    \"\"\"
    # switch the mode
    model.eval()
    print("helper: the model is now in evaluation mode, dropout is off, batch norm frozen", model)
    return model


def train(model, loader, optimizer):
    for x, y in loader:
        # forward
        loss = model(x).sum()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        helper(model)
"""


def test_comments_docstrings_and_long_prints_are_left_out_outside_the_selection() -> None:
    text = LOW_VALUE
    analysis = analyze(text, "low.py")
    focus = line_of(text, "helper(model)")
    bundle = select_context(analysis, LineRange(focus, focus), "q", 6000, small_file_tokens=0)
    shown = "\n".join(_shown_lines(bundle))
    assert bundle.covers(line_of(text, "def helper(model):")) and bundle.covers(line_of(text, "model.eval()"))
    for needle in ("A docstring", "# switch the mode", "print(\"helper:"):
        assert needle not in shown, needle
        assert not bundle.covers(line_of(text, needle)), needle
    # The left-out lines are one `...` line; the kept ones keep their numbers.
    assert " | ..." in shown
    assert f"{line_of(text, 'model.eval()')} |     model.eval()" in shown
    # Inside the selection nothing is left out.
    comment = line_of(text, "# forward")
    selected = select_context(analysis, LineRange(comment, comment + 1), "q", 6000, small_file_tokens=0)
    assert selected.covers(comment)


def test_nearby_ranges_share_a_snippet_with_a_marker_and_shown_ranges_exclude_the_gap(big: tuple[str, object]) -> None:
    text, analysis = big
    focus = line_of(text, "optimizer.zero_grad()")
    bundle = select_context(analysis, LineRange(focus, focus), "why does my loss not go down?", 6000)
    split = [s for s in bundle.snippets if s.parts]
    assert split, "some snippet joins ranges across left-out lines"
    for snippet in split:
        assert snippet.text.count(" | ...") == len(snippet.parts) - 1
        for (_a, b), (c, _d) in itertools.pairwise(snippet.parts):
            hidden = [line for line in range(b + 1, c) if text.splitlines()[line - 1].strip()]
            assert hidden and not any(bundle.covers(line) for line in hidden)
    assert bundle.line_ranges() == [part for s in bundle.snippets for part in s.shown()]

"""How much code the context selector sends, whether it keeps the lines that matter, and how fast.

For every script in examples/ and benchmarks/data/ and several questions per file, prints the
estimated tokens sent against the tokens of the whole (numbered) file, whether every line that
matters for the question was included, and the time added before the request can go out
(context selection + redaction + prompt building, on an already analysed document, which is what
the language server has in hand).

Targets: on files over 300 lines, <= 25 % of the whole-file tokens with every relevant line
included; <= 50 ms added before the first byte.

    PYTHONPATH=server python benchmarks/context_size.py [--repeat 20] [--count-tokens]

`--count-tokens` (needs ANTHROPIC_API_KEY) also asks the API for the exact input token count of
each request, to check the chars/3.5 estimate.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))

from ml_engineer.agent import AgentSettings, AskRequest, AskService, LineRange  # noqa: E402
from ml_engineer.analysis.engine import analyze  # noqa: E402

BIG_FILE_LINES = 300
RATIO_TARGET = 0.25
LATENCY_TARGET_MS = 50.0


@dataclass
class Case:
    """A question at a range; `must` lists (by a unique substring) the lines that matter."""

    file: str
    question: str
    focus: tuple[str, str | None]  # substrings of the first and last selected lines
    must: tuple[str, ...]


DATA = "benchmarks/data"
CASES = [
    Case(f"{DATA}/image_classifier_train.py", "Why does my training loss not go down?",
         ("optimizer.zero_grad()", None),
         ("scaler.scale(loss).backward()", "optimizer.zero_grad()", "scaler.step(optimizer)",
          "for step, (images, targets) in enumerate(loader):", "class SmallResNet(nn.Module):",
          "x = F.dropout(x, self.dropout)", "optimizer = torch.optim.AdamW(", "criterion = nn.CrossEntropyLoss(",
          "scheduler = cosine_with_warmup(", "scaler = torch.cuda.amp.GradScaler(")),
    Case(f"{DATA}/image_classifier_train.py", "Why is validation accuracy much lower than training accuracy?",
         ("def evaluate(model, loader, criterion, cfg: Config):", "return loss_meter.avg, correct / max(1, total), per_class"),
         ("def evaluate(", "predictions = logits.argmax(dim=1)", "x = F.dropout(x, self.dropout)",
          "val_loss, val_acc, per_class = evaluate(model, val_loader, criterion, cfg)")),
    Case(f"{DATA}/image_classifier_train.py", "Is this running loss computed correctly? Memory keeps growing.",
         ("running_loss += loss", None),
         ("running_loss += loss", "running_loss = 0", "loss = criterion(logits, targets)")),
    Case(f"{DATA}/image_classifier_train.py", "Is it safe to load checkpoints like this?",
         ("return torch.load(path)", None),
         ("return torch.load(path)", "def load_checkpoint(path: str):")),
    Case(f"{DATA}/text_classifier_finetune.py", "Why is the loss stuck near log(num_classes)?",
         ("with torch.autocast(device_type=device.type", "loss = criterion(logits, labels) / cfg.grad_accum_steps"),
         ("return torch.softmax(logits, dim=-1)", "criterion = nn.CrossEntropyLoss(weight=",
          "loss = criterion(logits, labels) / cfg.grad_accum_steps", "class SentenceClassifier(nn.Module):")),
    Case(f"{DATA}/text_classifier_finetune.py", "Is the order of the optimizer and scheduler steps right with AMP?",
         ("if (step + 1) % cfg.grad_accum_steps == 0:", "optimizer.zero_grad(set_to_none=True)"),
         ("scheduler.step()", "scaler.step(optimizer)", "scaler.update()",
          "scheduler = get_linear_schedule_with_warmup(", "optimizer = torch.optim.AdamW(")),
    Case(f"{DATA}/text_classifier_finetune.py", "Is my model selection sound?",
         ("metrics = evaluate(model, test_loader, device)", "save_model(model, tokenizer, vocab, cfg.output_dir)"),
         ("metrics = evaluate(model, test_loader, device)", "test_loader = DataLoader(",
          "valid_loader = DataLoader(", "def evaluate(model, loader, device) -> dict:",
          # the validation pass that exists but is not used for the choice, and the final test score
          "metrics = evaluate(model, valid_loader, device)", "final = evaluate(model, test_loader, device)")),
    Case(f"{DATA}/churn_tabular_pipeline.py", "Is this baseline score trustworthy?",
         ("def quick_baseline(df: pd.DataFrame, numeric) -> float:", "return float(scores.mean())"),
         ("X_scaled = scaler.fit_transform(X)", "scores = cross_val_score(")),
    Case(f"{DATA}/churn_tabular_pipeline.py", "Why is the reported test AP optimistic?",
         ("test_score = average_precision_score(y_test, search.predict_proba(X_test)[:, 1])",
          "best_name, best_search, best_score = name, search, test_score"),
         ("test_score = average_precision_score(", "if test_score > best_score:",
          "search = GridSearchCV(pipeline, grid, scoring=",
          # the caller passes the held-out test split in and reports metrics on that same split
          "best_name, search, results = select_model(", "metrics = evaluate_model(search, X_test, y_test)")),
    Case(f"{DATA}/churn_tabular_pipeline.py", "Why do I still have rows with a missing target?",
         ("df.dropna(subset=[TARGET])", None),
         ("df.dropna(subset=[TARGET])", "df = clean(df)")),
    # Questions of other kinds: architecture at the model class, data loading at the DataLoader,
    # "is this eval correct" at the evaluation function, a general review of a training loop.
    Case(f"{DATA}/image_classifier_train.py", "Is this architecture reasonable? Anything wrong with the layers?",
         ("class SmallResNet(nn.Module):", "return self.head(x)"),
         ("class SmallResNet(nn.Module):", "self.head = nn.Linear(in_ch, num_classes)", "x = F.dropout(x, self.dropout)",
          "class BasicBlock(nn.Module):", "return F.relu(out + self.shortcut(x))",
          "model = SmallResNet(num_classes, cfg.widths, cfg.dropout)")),
    Case(f"{DATA}/image_classifier_train.py", "Is my data loading set up correctly?",
         ("train_loader = DataLoader(", "drop_last=True,"),
         ("train_loader = DataLoader(", "val_loader = DataLoader(val_set", "train_set = ImageFolderDataset(",
          "val_set = ImageFolderDataset(", "train_tf, eval_tf = build_transforms(cfg.image_size)",
          "transforms.RandomResizedCrop(image_size", "transforms.CenterCrop(image_size)")),
    Case(f"{DATA}/text_classifier_finetune.py", "Is this evaluation correct?",
         ("def evaluate(model, loader, device) -> dict:", 'return {"loss": total_loss / n, "accuracy": accuracy'),
         ("model.eval()", "logits = model(input_ids, attention)", "total_loss += loss_fn(logits, labels)",
          "return torch.softmax(logits, dim=-1)", "def macro_f1(predictions, targets) -> float:")),
    Case(f"{DATA}/text_classifier_finetune.py", "Review this training loop.",
         ("for epoch in range(cfg.epochs):", 'log.info("epoch %d valid %s", epoch, metrics)'),
         ("scaler.scale(loss).backward()", "scheduler.step()", "optimizer = torch.optim.AdamW(",
          "scheduler = get_linear_schedule_with_warmup(", "criterion = nn.CrossEntropyLoss(weight=",
          "scaler = torch.cuda.amp.GradScaler(", "train_loader = DataLoader(", "return torch.softmax(logits, dim=-1)",
          "model.eval()")),
]


def find_line(lines: list[str], needle: str) -> int:
    hits = [i for i, line in enumerate(lines, 1) if needle in line]
    if not hits:
        raise SystemExit(f"benchmark case is stale: {needle!r} not found")
    return hits[0]


def example_cases() -> list[Case]:
    """For each example: one question at each finding, one about the first training loop."""
    cases = []
    for path in sorted((ROOT / "examples").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        analysis = analyze(text, str(path))
        lines = text.splitlines()
        for finding in analysis.findings[:3]:
            line = analysis.source.line_of(finding.span.start) + 1
            needle = lines[line - 1].strip()
            cases.append(Case(str(path.relative_to(ROOT)), f"What is wrong here ({finding.code})?", (needle, None), (needle,)))
    return cases


def run_case(case: Case, service: AskService, repeat: int) -> dict:
    path = ROOT / case.file
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    start = find_line(lines, case.focus[0])
    end = find_line(lines, case.focus[1]) if case.focus[1] else start
    analysis = analyze(text, case.file)
    request = AskRequest(text=text, question=case.question, path=case.file, range=LineRange(start, end), analysis=analysis)
    timings = []
    preview = service.preview(request)
    for _ in range(repeat):
        started = time.perf_counter()
        preview = service.preview(request)
        timings.append((time.perf_counter() - started) * 1000)
    bundle = preview.bundle
    assert bundle is not None
    missing = [needle for needle in case.must if not bundle.covers(find_line(lines, needle))]
    return {
        "file": case.file,
        "lines": len(lines),
        "question": case.question,
        "focus": f"{start}-{end}",
        "sent": bundle.tokens,
        "code": bundle.code_tokens,
        "whole": bundle.whole_file_tokens,
        "ratio": bundle.tokens / bundle.whole_file_tokens,
        "code_ratio": bundle.code_tokens / bundle.whole_file_tokens,
        "whole_file": bundle.whole_file,
        "snippets": len(bundle.snippets),
        "missing": missing,
        "must": len(case.must),
        "ms": statistics.median(timings),
        "ms_max": max(timings),
        "payload": preview.payload,
    }


async def count_tokens(rows: list[dict], service: AskService) -> None:
    backend = service._anthropic_backend()
    for row in rows:
        exact = await backend.count_tokens(row["payload"])
        chars = sum(len(str(m["content"])) for m in row["payload"].messages) + len(row["payload"].system)
        print(f"  {Path(row['file']).name:32} exact {exact:6d}  chars/3.5 {chars / 3.5:8.0f}  chars/token {chars / exact:.2f}")
    await backend.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--count-tokens", action="store_true")
    args = parser.parse_args()
    # A key makes the preview build the exact request (nothing is sent by preview).
    service = AskService(AgentSettings(), env={"ANTHROPIC_API_KEY": "benchmark-not-sent"}, workspace=str(ROOT))
    rows = [run_case(case, service, args.repeat) for case in [*CASES, *example_cases()]]

    print("sent = code snippets + analyzer findings (+ rule docs for findings in the selection); code = snippets only;")
    print("whole = the whole file, numbered; ratios are against whole. Times: median of --repeat runs.\n")
    print(f"{'file':28} {'lines':>5} {'focus':>9} {'sent':>5} {'code':>5} {'whole':>5} {'sent%':>6} {'code%':>6} {'ms':>5}  relevant  question")
    for r in rows:
        kept = "all" if not r["missing"] else f"MISSING {len(r['missing'])}"
        mode = " (whole)" if r["whole_file"] else ""
        print(f"{Path(r['file']).name:28} {r['lines']:5d} {r['focus']:>9} {r['sent']:5d} {r['code']:5d} {r['whole']:5d} "
              f"{r['ratio']:6.1%} {r['code_ratio']:6.1%} {r['ms']:5.1f}  {kept:8}  {r['question']}{mode}")
        for needle in r["missing"]:
            print(f"{'':36}missing: {needle}")
    big = [r for r in rows if r["lines"] > BIG_FILE_LINES]
    ok_ratio = all(r["ratio"] <= RATIO_TARGET for r in big)
    ok_lines = all(not r["missing"] for r in rows)
    worst_ms = max(r["ms"] for r in rows)
    print()
    if big:
        print(f"files over {BIG_FILE_LINES} lines: {len(big)} questions; sent/whole mean {statistics.mean(r['ratio'] for r in big):.1%}, "
              f"median {statistics.median(r['ratio'] for r in big):.1%}, max {max(r['ratio'] for r in big):.1%}; "
              f"code/whole mean {statistics.mean(r['code_ratio'] for r in big):.1%}, max {max(r['code_ratio'] for r in big):.1%}")
        print(f"  questions with sent <= {RATIO_TARGET:.0%} of whole: {sum(r['ratio'] <= RATIO_TARGET for r in big)}/{len(big)}: "
              f"{'PASS' if ok_ratio else 'FAIL'}")
    print(f"all {len(rows)} questions: sent/whole mean {statistics.mean(r['ratio'] for r in rows):.1%}, "
          f"median {statistics.median(r['ratio'] for r in rows):.1%}, max {max(r['ratio'] for r in rows):.1%} "
          f"(small files go whole, plus their findings)")
    must_total = sum(r["must"] for r in rows)
    must_missing = sum(len(r["missing"]) for r in rows)
    print(f"relevant lines included in {sum(not r['missing'] for r in rows)}/{len(rows)} questions "
          f"({must_total - must_missing}/{must_total} lines): {'PASS' if ok_lines else 'FAIL'}")
    print(f"time added before the first byte (median per question): max {worst_ms:.1f} ms, "
          f"mean {statistics.mean(r['ms'] for r in rows):.1f} ms (target <= {LATENCY_TARGET_MS:.0f} ms): "
          f"{'PASS' if worst_ms <= LATENCY_TARGET_MS else 'FAIL'}")
    if args.count_tokens:
        import os

        if not os.environ.get("ANTHROPIC_API_KEY"):
            print("--count-tokens needs ANTHROPIC_API_KEY")
        else:
            real = AskService(AgentSettings(), workspace=str(ROOT))
            asyncio.run(count_tokens(rows, real))
    return 0 if ok_ratio and ok_lines and worst_ms <= LATENCY_TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())

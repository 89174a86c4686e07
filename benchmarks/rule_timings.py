"""Per-rule timing table: where the analysis of a large generated training file spends its time.

Prints parse, semantic-model construction and every enabled rule (median of --runs analyses, in
engine order), slowest first, with each row's share of the whole analysis. Rules share lazily
computed model caches (training loops, loss calls, ...): the first rule that asks pays for them, so
a rule can look slow because of work the others reuse. `--isolated` adds a column with each rule
run alone on a fresh model (its cost including every cache it needs).

Run: python benchmarks/rule_timings.py [--size 20000] [--runs 3] [--isolated] [--top 0]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "server"))

from generate import write_files  # noqa: E402

from ml_engineer.analysis.config import Config  # noqa: E402
from ml_engineer.analysis.engine import analyze  # noqa: E402
from ml_engineer.analysis.model import SemanticModel  # noqa: E402
from ml_engineer.analysis.parsing import parse  # noqa: E402
from ml_engineer.analysis.rules.base import RuleContext  # noqa: E402
from ml_engineer.analysis.rules.registry import all_rules  # noqa: E402
from ml_engineer.analysis.source import SourceText  # noqa: E402
from ml_engineer.cli.main import GC_THRESHOLDS  # noqa: E402


def isolated_seconds(text: str, path: str, runs: int) -> dict[str, float]:
    """Each rule alone on a fresh model (median of `runs`)."""
    source = SourceText(text)
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        for rule_class in all_rules():
            model = SemanticModel(source, parse(source.data), path)
            ctx = RuleContext(model, path)
            start = time.perf_counter()
            list(rule_class().check(ctx))
            samples.setdefault(rule_class.code, []).append(time.perf_counter() - start)
    return {code: statistics.median(values) for code, values in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=20000, help="generated file length in lines")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--isolated", action="store_true", help="also time each rule alone on a fresh model")
    parser.add_argument("--top", type=int, default=0, help="print only the N slowest rows (0: all)")
    args = parser.parse_args()
    gc.set_threshold(*GC_THRESHOLDS)  # as `ml-engineer check` and the language server run it

    path = write_files(HERE / "generated", (args.size,))[args.size]
    text = path.read_text(encoding="utf-8")
    config = Config(select=("ML",))
    analyze(text, str(path), config)  # warm imports and the query
    samples: dict[str, list[float]] = {}
    totals = []
    for _ in range(args.runs):
        timings: dict[str, float] = {}
        start = time.perf_counter()
        analyze(text, str(path), config, timings=timings)
        totals.append(time.perf_counter() - start)
        for key, seconds in timings.items():
            samples.setdefault(key, []).append(seconds)
    medians = {key: statistics.median(values) for key, values in samples.items()}
    total = statistics.median(totals)
    isolated = isolated_seconds(text, str(path), max(1, args.runs // 2)) if args.isolated else {}

    rows = sorted(medians.items(), key=lambda item: item[1], reverse=True)
    if args.top:
        rows = rows[: args.top]
    print(
        f"{path.name}: {len(text.splitlines()):,} lines, whole analysis {total * 1000:.1f} ms (median of {args.runs}; "
        f"GC thresholds {GC_THRESHOLDS}, as the CLI sets them)"
    )
    header = f"{'step':>8} {'ms':>8} {'share':>6}" + (f" {'alone ms':>9}" if isolated else "")
    print(header)
    print("-" * len(header))
    for key, seconds in rows:
        alone = f" {isolated[key] * 1000:9.1f}" if key in isolated else (" " * 10 if isolated else "")
        print(f"{key:>8} {seconds * 1000:8.1f} {seconds / total:6.1%}{alone}")
    rest = total - sum(medians.values())
    print(f"{'other':>8} {rest * 1000:8.1f} {rest / total:6.1%}  (source, noqa, findings)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

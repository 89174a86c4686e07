"""Where one edit's re-analysis goes: the language server's edit path, in-process, step by step.

`lsp_latency.py` measures didChange -> publishDiagnostics end to end over stdio. This script runs
the same work without the protocol: the same files and the same kind of edits (a comment line or
an assignment line inserted at the start of a random line), the server's GC settings, the old tree
edited and handed to the parser for an incremental parse, then the whole-file model and rules. It
prints p50/p95/max of each step, so the floor of the current whole-file design can be read off.

The last line estimates what a per-function incremental design would redo per edit: the top-level
function or class that contains the edit, analysed alone with the file's imports. It is a lower
bound (it ignores the cross-function questions some rules ask, e.g. what a function's callers
do), not a feature of the server.

A second table times tree-sitter's incremental reparse alone, by kind of edit (a comment line, an
assignment, a half-typed call), each at 30 random places of the unedited file: the part of an
edit's cost that no analysis design changes.

    python benchmarks/edit_breakdown.py [--size 5000] [--edits 80] [--seed 1]
"""

from __future__ import annotations

import argparse
import gc
import random
import re
import sys
import time
from pathlib import Path

from tree_sitter import Point

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "server"))

from lsp_latency import percentile, training_file  # noqa: E402

from ml_engineer.analysis.config import Config  # noqa: E402
from ml_engineer.analysis.engine import analyze  # noqa: E402
from ml_engineer.analysis.parsing import parse  # noqa: E402
from ml_engineer.cli.main import GC_THRESHOLDS  # noqa: E402

_TOP_LEVEL = re.compile(r"^(?:@|def |async def |class )", re.MULTILINE)


def enclosing_unit(lines: list[str], line: int) -> str | None:
    """The text of the top-level def/class containing `line` (decorators included), if any."""
    start = line
    while start >= 0 and not _TOP_LEVEL.match(lines[start]):
        if lines[start] and not lines[start][0].isspace() and not lines[start].startswith("#"):
            return None  # a module-level statement: not inside a definition
        start -= 1
    if start < 0:
        return None
    while start > 0 and lines[start - 1].startswith("@"):
        start -= 1
    end = line + 1
    while end < len(lines) and (not lines[end] or lines[end][0].isspace() or lines[end].startswith("#")):
        end += 1
    return "\n".join(lines[start:end]) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=5000, help="file length in lines")
    parser.add_argument("--edits", type=int, default=80)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    gc.set_threshold(*GC_THRESHOLDS)

    rng = random.Random(args.seed)
    text = training_file(args.size)
    config = Config()
    result = analyze(text, "edit.py", config)
    gc.collect()
    gc.freeze()  # as the server does after its warm-up
    header = "".join(line + "\n" for line in text.split("\n") if line.startswith(("import ", "from ")))

    lines = text.split("\n")
    tree = result.tree
    steps: dict[str, list[float]] = {"parse": [], "model": [], "rules": [], "total": [], "unit": []}
    for version in range(2, args.edits + 2):
        line = rng.randrange(len(lines) - 1)
        inserted = "# edited" if version % 2 else f"x_{version} = {version}"
        byte = len("\n".join(lines[:line]).encode()) + (1 if line else 0)
        lines.insert(line, inserted)
        new_text = "\n".join(lines)
        started = time.perf_counter()
        tree.edit(
            start_byte=byte, old_end_byte=byte, new_end_byte=byte + len(inserted) + 1,
            start_point=Point(line, 0), old_end_point=Point(line, 0), new_end_point=Point(line + 1, 0),
        )
        timings: dict[str, float] = {}
        result = analyze(new_text, "edit.py", config, old_tree=tree, timings=timings)
        steps["total"].append(time.perf_counter() - started)
        tree = result.tree
        steps["parse"].append(timings["parse"])
        steps["model"].append(timings["model"])
        steps["rules"].append(sum(seconds for code, seconds in timings.items() if code.startswith("ML")))
        unit = enclosing_unit(lines, line + 1) or enclosing_unit(lines, line)
        if unit is not None:
            started = time.perf_counter()
            analyze(header + unit, "unit.py", config)
            steps["unit"].append(time.perf_counter() - started)

    labels = {
        "parse": "incremental parse",
        "model": "semantic model (index, scopes, tables built up front)",
        "rules": "rules, with the lazy tables they ask for",
        "total": "whole edit path (what the server does per didChange)",
        "unit": "lower bound, per-function design (edited definition alone)",
    }
    print(f"{args.size}-line file, {args.edits} edits (half comment lines, half assignments), ms:")
    for key, label in labels.items():
        values = [1000 * v for v in steps[key]]
        if not values:
            continue
        print(f"  {label:58s} p50 {percentile(values, 0.5):6.1f}  p95 {percentile(values, 0.95):6.1f}  "
              f"max {max(values):6.1f}" + (f"  ({len(values)} edits inside a definition)" if key == "unit" else ""))
    print_reparse_table(text)
    return 0


REPARSE_EDITS = {
    "comment line at column 0": "# edited",
    "assignment at column 0": "x_9 = 9",
    "indented assignment": "        x_9 = 9",
    "half-typed call `foo(`": "        foo(",
}


def print_reparse_table(text: str, places: int = 30) -> None:
    lines = text.split("\n")
    base = parse(text.encode())
    rng = random.Random(5)
    print(f"incremental reparse only, {places} random places each, ms:")
    for label, inserted in REPARSE_EDITS.items():
        times = []
        for _ in range(places):
            line = rng.randrange(len(lines) - 1)
            byte = len("\n".join(lines[:line]).encode()) + (1 if line else 0)
            new_text = "\n".join([*lines[:line], inserted, *lines[line:]])
            tree = base.copy()
            tree.edit(
                start_byte=byte, old_end_byte=byte, new_end_byte=byte + len(inserted) + 1,
                start_point=Point(line, 0), old_end_point=Point(line, 0), new_end_point=Point(line + 1, 0),
            )
            started = time.perf_counter()
            parse(new_text.encode(), tree)
            times.append(1000 * (time.perf_counter() - started))
        print(f"  {label:58s} p50 {percentile(times, 0.5):6.1f}  p95 {percentile(times, 0.95):6.1f}  max {max(times):6.1f}")


if __name__ == "__main__":
    sys.exit(main())

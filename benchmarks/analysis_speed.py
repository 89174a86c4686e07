"""Analysis speed: the whole analysis vs the bare tree-sitter parse, and vs TorchFix 0.7.0.

Prints, for generated 1k / 5k / 20k-line training files:
- parse: tree-sitter parse alone (in process, median)
- analysis: parse + semantic model + every rule (in process, median) and the ratio to the parse
- check CLI: `ml-engineer check FILE` as a process (wall time, median)
- torchfix: `torchfix --select=ALL FILE` from its own venv (wall time, median) and the speed-up

Run: python benchmarks/analysis_speed.py [--runs 5] [--no-torchfix]
TorchFix is installed into benchmarks/.torchfix-venv on first use (from PyPI).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import subprocess
import sys
import time
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "server"))

from generate import write_files  # noqa: E402

from ml_engineer.analysis.config import Config  # noqa: E402
from ml_engineer.analysis.engine import analyze  # noqa: E402
from ml_engineer.analysis.parsing import parse  # noqa: E402
from ml_engineer.cli.main import GC_THRESHOLDS  # noqa: E402

TORCHFIX_VENV = HERE / ".torchfix-venv"


def median_seconds(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ensure_torchfix() -> Path:
    exe = TORCHFIX_VENV / "bin" / "torchfix"
    if not exe.exists():
        print("installing TorchFix 0.7.0 into", TORCHFIX_VENV, file=sys.stderr)
        venv.create(TORCHFIX_VENV, with_pip=True)
        subprocess.run([str(TORCHFIX_VENV / "bin" / "pip"), "install", "-q", "torchfix==0.7.0"], check=True)
    return exe


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-torchfix", action="store_true")
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 5000, 20000])
    args = parser.parse_args()
    gc.set_threshold(*GC_THRESHOLDS)  # as `ml-engineer check` and the language server run it

    files = write_files(HERE / "generated", tuple(args.sizes))
    torchfix = None if args.no_torchfix else ensure_torchfix()
    config = Config(select=("ML",))
    cli = [sys.executable, "-m", "ml_engineer", "check", "--no-config", "--exit-zero", "--select", "ML"]
    header = f"{'file':>10} {'parse':>9} {'analysis':>9} {'ratio':>6} {'check CLI':>10} {'torchfix':>9} {'speed-up':>9} {'findings':>8}"
    print(header)
    print("-" * len(header))
    for size, path in files.items():
        text = path.read_text(encoding="utf-8")
        data = text.encode("utf-8")
        analyze(text, str(path), config)  # warm the query and rule imports
        t_parse = median_seconds(lambda data=data: parse(data), args.runs)
        result = analyze(text, str(path), config)
        t_analysis = median_seconds(lambda text=text, path=path: analyze(text, str(path), config), args.runs)
        t_cli = median_seconds(
            lambda path=path: subprocess.run([*cli, str(path)], capture_output=True, check=False), max(1, args.runs // 2)
        )
        t_torchfix = None
        if torchfix is not None:
            t_torchfix = median_seconds(
                lambda path=path: subprocess.run([str(torchfix), "--select=ALL", str(path)], capture_output=True, check=False),
                max(1, args.runs // 2),
            )
        tf = f"{t_torchfix * 1000:8.0f}ms" if t_torchfix is not None else f"{'-':>9}"
        speedup = f"{t_torchfix / t_analysis:8.0f}x" if t_torchfix is not None else f"{'-':>9}"
        print(
            f"{size:>10} {t_parse * 1000:8.1f}ms {t_analysis * 1000:8.1f}ms {t_analysis / t_parse:5.2f}x "
            f"{t_cli * 1000:9.0f}ms {tf} {speedup} {len(result.findings):>8}"
        )
    print("\nratio = analysis / parse (target <= 2x); speed-up = torchfix wall time / in-process analysis time")
    print("(check CLI includes interpreter start-up and imports, as a user running it pays)")
    print(f"(in-process runs use the GC thresholds {GC_THRESHOLDS}, as `ml-engineer check` and the language server set them)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

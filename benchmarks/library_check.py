"""`ml-engineer check` over large library trees: no internal error, run time, most frequent codes.

Library code should rarely trip training-script rules; any rule that fires often here is
investigated. Default targets: the Python standard library of this interpreter, and the
site-packages of a venv holding torch, scikit-learn and pandas (created on first use with
`pip install torch==2.13.0 scikit-learn pandas` in benchmarks/.libvenv, or pass --site-packages).

Run: python benchmarks/library_check.py [--stdlib] [--site-packages DIR] [--top 5]
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import sysconfig
import tempfile
import time
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIBVENV = HERE / ".libvenv"


def ensure_libvenv() -> Path:
    python = LIBVENV / "bin" / "python"
    if not python.exists():
        print("creating", LIBVENV, "(torch 2.13.0, scikit-learn, pandas)", file=sys.stderr)
        venv.create(LIBVENV, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "torch==2.13.0", "scikit-learn", "pandas"], check=True)
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def run(target: Path, label: str, top: int, excludes: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "pyproject.toml"
        config.write_text(f"[tool.ml-engineer]\nexclude = {json.dumps(excludes)}\n")
        command = [sys.executable, "-m", "ml_engineer", "check", str(target), "--format", "json", "--exit-zero",
                   "--select", "ML", "--config", str(config)]
        start = time.perf_counter()
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
    rows = json.loads(proc.stdout or "[]")
    stderr = proc.stderr.splitlines()
    internal = [line for line in stderr if "internal error" in line]
    skipped = [line for line in stderr if "skipped" in line or "cannot" in line or "not a valid" in line]
    files = len({row["filename"] for row in rows})
    py_files = sum(1 for path in target.rglob("*.py") if not set(path.parts) & set(excludes))
    counts = collections.Counter(row["code"] for row in rows)
    print(f"\n== {label}: {target}")
    print(f"   .py files under it: {py_files:,}; run time {elapsed:.1f} s; exit code {proc.returncode}")
    print(f"   findings: {len(rows):,} in {files:,} files; internal errors: {len(internal)}; unreadable/skipped: {len(skipped)}")
    for line in internal[:10]:
        print("   !", line)
    print(f"   top {top} codes:")
    for code, count in counts.most_common(top):
        print(f"     {code}  {count:>6}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stdlib", action="store_true", help="only the standard library")
    parser.add_argument("--site-packages", type=Path, help="a site-packages folder (default: benchmarks/.libvenv)")
    parser.add_argument("--top", type=int, default=5)
    args = parser.parse_args()
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    # The stdlib folder holds site-packages of the base interpreter: not the standard library.
    run(stdlib, "Python standard library", args.top, ["site-packages", "dist-packages"])
    if not args.stdlib:
        site = args.site_packages or ensure_libvenv()
        run(site, "site-packages with torch, scikit-learn, pandas", args.top, [])
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`ml-engineer check`: analyse files and directories, print findings, optionally apply safe fixes."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TextIO

from ..analysis.config import Config, ConfigError, config_from_pyproject, load_config
from ..analysis.engine import AnalysisResult, analyze
from ..analysis.findings import SEVERITY_ORDER, Finding, Fix, apply_fixes
from ..analysis.notebook import NotebookError, NotebookSource, load_notebook
from .files import DEFAULT_MAX_BYTES, UnreadableFile, iter_source_files, read_text
from .report import finding_to_json, render_sarif, render_statistics, render_text


def add_check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", default=["."], help="files or directories (default: .)")
    parser.add_argument("--format", choices=("text", "json", "sarif"), default="text", help="output format")
    parser.add_argument("--select", action="append", default=[], help="rule codes or prefixes to enable (comma-separated)")
    parser.add_argument("--extend-select", action="append", default=[], help="codes to enable on top of the selection")
    parser.add_argument("--ignore", action="append", default=[], help="rule codes or prefixes to disable")
    parser.add_argument("--fix", action="store_true", help="apply safe fixes in place and report what changed")
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even when findings are reported")
    parser.add_argument("--statistics", action="store_true", help="print a count per rule instead of each finding")
    parser.add_argument("--fail-on", choices=("error", "warning", "info"), help="lowest severity that fails the run")
    parser.add_argument("--config", type=Path, help="pyproject.toml to read [tool.ml-engineer] from")
    parser.add_argument("--no-config", action="store_true", help="ignore pyproject.toml settings")
    parser.add_argument("--max-file-size", type=int, default=DEFAULT_MAX_BYTES, help="skip larger files (bytes)")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto")


def _split_codes(values: list[str]) -> tuple[str, ...]:
    return tuple(code.strip().upper() for value in values for code in value.split(",") if code.strip())


def _config(args: argparse.Namespace) -> Config:
    if args.no_config:
        base = Config()
    elif args.config is not None:
        base = config_from_pyproject(args.config)
    else:
        first = Path(args.paths[0]) if args.paths else Path.cwd()
        base = load_config(first if first.exists() else Path.cwd())
    return base.merged(
        select=_split_codes(args.select),
        ignore=_split_codes(args.ignore),
        extend_select=_split_codes(args.extend_select),
        fail_on=args.fail_on,
    )


def analyze_path(path: Path, config: Config, max_bytes: int = DEFAULT_MAX_BYTES) -> AnalysisResult:
    """Read and analyse one file (a notebook cell by cell); raises UnreadableFile or NotebookError."""
    text = read_text(path, max_bytes)
    notebook: NotebookSource | None = None
    if path.suffix == ".ipynb":
        notebook = load_notebook(text)
        text = notebook.text
    return analyze(text, str(path), config, notebook=notebook)


def run_check(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        config = _config(args)
    except ConfigError as error:
        print(f"ml-engineer: error: {error}", file=err)
        return 2
    results: list[AnalysisResult] = []
    problems: list[str] = []
    fixed: list[tuple[str, list[Fix]]] = []
    explicit = {Path(p).resolve() for p in args.paths if Path(p).is_file()}
    for path in iter_source_files([Path(p) for p in args.paths]):
        if path.resolve() not in explicit and config.is_excluded(str(path)):
            continue
        display = _display(path)
        try:
            result = analyze_path(path, config, args.max_file_size)
        except (UnreadableFile, NotebookError) as error:
            problems.append(f"{display}: {error}")
            continue
        if args.fix:
            result, applied = _fix_file(path, result, config, args.max_file_size)
            if applied:
                fixed.append((display, applied))
        results.append(result)
        for failure in result.failures:
            problems.append(f"{display}: internal error in rule {failure.code}: {failure.error} (please report it)")

    rows = [(result, finding, _display(Path(result.path))) for result in results for finding in result.findings]
    findings = [finding for _, finding, _ in rows]
    if args.format == "json":
        print(json.dumps([finding_to_json(r, f, name) for r, f, name in rows], indent=2), file=out)
    elif args.format == "sarif":
        print(render_sarif(rows), file=out)
    else:
        colour = args.color == "always" or (args.color == "auto" and out.isatty() and not os.environ.get("NO_COLOR"))
        lines = render_statistics(findings) if args.statistics else render_text(rows, colour)
        for line in lines:
            print(line, file=out)
        for display, applied in fixed:
            for fix in applied:
                print(f"{display}: fixed: {fix.title}", file=out)
        _summary(findings, len(results), sum(len(a) for _, a in fixed), out)
    for problem in problems:
        print(f"ml-engineer: {problem}", file=err)
    if problems:
        return 2
    if args.exit_zero:
        return 0
    threshold = SEVERITY_ORDER[config.fail_on]
    return 1 if any(SEVERITY_ORDER.get(f.severity, 0) >= threshold for f in findings) else 0


def _summary(findings: list[Finding], files: int, fixed: int, out: TextIO) -> None:
    if fixed:
        print(f"Fixed {fixed} finding{'s' if fixed != 1 else ''}.", file=out)
    if not findings:
        print(f"All checks passed ({files} file{'s' if files != 1 else ''} checked).", file=out)
        return
    fixable = sum(1 for f in findings if f.fix is not None and f.fix.safe)
    line = f"Found {len(findings)} finding{'s' if len(findings) != 1 else ''} in {files} file{'s' if files != 1 else ''} checked."
    if fixable:
        line += f"\n[*] {fixable} fixable with the `--fix` option."
    print(line, file=out)


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _fix_file(path: Path, result: AnalysisResult, config: Config, max_bytes: int) -> tuple[AnalysisResult, list[Fix]]:
    """Apply safe fixes until none is left (fixes can reveal or overlap others), then re-analyse."""
    all_applied: list[Fix] = []
    for _ in range(5):
        safe = [f.fix for f in result.findings if f.fix is not None and f.fix.safe]
        if not safe:
            break
        new_data, applied = apply_fixes(result.source.data, safe)
        if not applied:
            break
        new_text = new_data.decode("utf-8")
        if result.notebook is not None:
            if not _write_notebook(path, result.notebook, new_text):
                break
        else:
            path.write_text(new_text, encoding="utf-8", newline="")
        all_applied.extend(applied)
        result = analyze_path(path, config, max_bytes)
    return result, all_applied


def _write_notebook(path: Path, notebook: NotebookSource, new_text: str) -> bool:
    """Write fixed cells back; only when every cell kept its line count (fixes are line-local)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    new_lines = new_text.split("\n")
    if len(new_lines) != sum(cell.line_count for cell in notebook.cells):
        return False
    for cell in notebook.cells:
        old_lines = cell.source.split("\n")
        lines = new_lines[cell.start_line : cell.start_line + cell.line_count]
        original = document["cells"][cell.index]
        raw = "".join(original["source"]) if isinstance(original["source"], list) else original["source"]
        raw_lines = raw.replace("\r\n", "\n").split("\n")
        # Keep magic lines as the user wrote them (the analysed copy has them commented out).
        merged = [raw_line if old == new else new for raw_line, old, new in zip(raw_lines, old_lines, lines, strict=False)]
        joined = "\n".join(merged)
        original["source"] = [line + "\n" for line in joined.split("\n")[:-1]] + [joined.split("\n")[-1]]
        if original["source"] and original["source"][-1] == "":
            original["source"].pop()
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return True

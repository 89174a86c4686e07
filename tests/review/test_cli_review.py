"""`ml-engineer review` in every format, offline and against the fake Messages API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from review_samples import HF_SECRET, LR_LINE, MALFORMED, TRAIN, duplicate_of_ml101, good_lr, tool_input

from fake_anthropic import FakeAnthropicServer, Reply
from ml_engineer.agent.review import TOOL_NAME
from ml_engineer.cli.main import main

SERVER_DIR = Path(__file__).resolve().parents[2] / "server"


@pytest.fixture
def train_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "train.py"
    path.write_text(TRAIN, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("ANTHROPIC_")]:
        monkeypatch.delenv(key)
    return path


@pytest.fixture
def with_api(api_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in api_env.items():
        monkeypatch.setenv(key, value)


def test_offline_text_lists_rule_findings_with_explanations_and_the_hint(train_file: Path, capsys) -> None:
    code = main(["review", "train.py"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "train.py:23:5: ML101" in out and "train.py:5:13: ML704" in out
    explanation = out.split("ML101", 1)[1].split("\n")[1]
    assert explanation.startswith("    ") and len(explanation.strip()) > 40
    assert "Offline review (ANTHROPIC_API_KEY is not set)" in err and "ANTHROPIC_API_KEY" in err


def test_offline_range_keeps_only_findings_in_the_range(train_file: Path, capsys) -> None:
    assert main(["review", "train.py:17-27", "--format", "json"]) == 1
    entries = json.loads(capsys.readouterr().out)
    assert [e["code"] for e in entries] == ["ML101"]
    assert entries[0]["source"] == "ml-engineer" and entries[0]["explanation"]
    assert main(["review", "train.py:1-3", "--backend", "offline"]) == 0
    assert "No findings in lines 1-3." in capsys.readouterr().out


def test_anthropic_without_a_key_is_a_usage_error(train_file: Path, capsys) -> None:
    assert main(["review", "train.py", "--backend", "anthropic"]) == 2
    assert "ANTHROPIC_API_KEY" in capsys.readouterr().err


def test_text_with_the_agent(train_file: Path, with_api: None, fake_api: FakeAnthropicServer, capsys) -> None:
    fake_api.enqueue(Reply.tool_use(TOOL_NAME, tool_input(good_lr(), duplicate_of_ml101(), *MALFORMED)))
    assert main(["review", "train.py"]) == 1
    out, err = capsys.readouterr()
    agent_lines = [line for line in out.splitlines() if line.startswith(f"train.py:{LR_LINE}:")]
    assert len(agent_lines) == 1 and " AI" in agent_lines[0] and "(agent, confidence 90%)" in agent_lines[0]
    assert "lr=0.01" in out  # the suggested replacement
    # the repeat of ML101 is attached to the rule finding, not printed as its own finding
    assert "ML engineer agent agrees" in out and out.count("Gradients are never zeroed") == 1
    assert f"{len(MALFORMED)} malformed or out-of-range item(s) dropped" in err
    assert "1200 input tokens" in err and "~$" in err
    assert HF_SECRET not in fake_api.message_requests()[0].body.decode()


def test_json_with_the_agent(train_file: Path, with_api: None, fake_api: FakeAnthropicServer, capsys) -> None:
    fake_api.enqueue(Reply.tool_use(TOOL_NAME, tool_input(good_lr(), duplicate_of_ml101())))
    assert main(["review", "train.py", "--format", "json"]) == 1
    entries = json.loads(capsys.readouterr().out)
    by_source: dict[str, list[dict]] = {}
    for entry in entries:
        by_source.setdefault(entry["source"], []).append(entry)
    [agent] = by_source["ml-engineer (agent)"]
    assert agent["code"].startswith("AI") and agent["location"] == {"row": LR_LINE, "column": 5}
    assert agent["fix"]["applicability"] == "unsafe"
    assert agent["fix"]["edits"][0]["content"] == "    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)"
    assert agent["fix"]["edits"][0]["location"] == {"row": LR_LINE, "column": 1}
    assert agent["confidence"] == 0.9 and "diverge" in agent["explanation"]
    ml101 = next(e for e in by_source["ml-engineer"] if e["code"] == "ML101")
    assert ml101["agent"][0]["title"] == "Gradients are never zeroed between steps"


def test_sarif_with_the_agent(train_file: Path, with_api: None, fake_api: FakeAnthropicServer, capsys) -> None:
    fake_api.enqueue(Reply.tool_use(TOOL_NAME, tool_input(good_lr())))
    assert main(["review", "train.py:17-27", "--format", "sarif"]) == 1
    sarif = json.loads(capsys.readouterr().out)
    run = sarif["runs"][0]
    results = run["results"]
    agent = next(r for r in results if r["ruleId"].startswith("AI"))
    assert run["tool"]["driver"]["rules"][agent["ruleIndex"]]["id"] == agent["ruleId"]
    assert agent["properties"]["source"] == "ml-engineer (agent)"
    assert agent["locations"][0]["physicalLocation"]["region"]["startLine"] == LR_LINE
    assert agent["fixes"][0]["artifactChanges"][0]["replacements"][0]["insertedContent"]["text"].endswith("lr=0.01)")
    assert {r["ruleId"] for r in results} == {"ML101", agent["ruleId"]}


def test_api_failure_exits_2_with_a_message(train_file: Path, with_api: None, fake_api: FakeAnthropicServer, capsys) -> None:
    fake_api.enqueue(Reply.error(400, "prompt is too long"))
    assert main(["review", "train.py"]) == 2
    assert "400" in capsys.readouterr().err


def test_console_script_runs_end_to_end(train_file: Path, fake_api: FakeAnthropicServer, api_env: dict[str, str]) -> None:
    fake_api.enqueue(Reply.tool_use(TOOL_NAME, tool_input(good_lr())))
    env = {**os.environ, **api_env, "PYTHONPATH": str(SERVER_DIR)}
    proc = subprocess.run([sys.executable, "-m", "ml_engineer", "review", str(train_file), "--format", "json"],
                          capture_output=True, text=True, env=env, timeout=60, cwd=train_file.parent)
    assert proc.returncode == 1, proc.stderr
    assert any(e["source"] == "ml-engineer (agent)" for e in json.loads(proc.stdout))

"""Agent files: parsing, validation errors with file and line, discovery order, model aliases."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml_engineer.agent.definitions import (
    AgentDefinitionError,
    AgentNotFoundError,
    bundled_agent_files,
    find_agent,
    list_agents,
    load_agent_file,
    parse_agent,
)
from ml_engineer.agent.models import MODEL_ALIASES, Usage, estimate_cost, resolve_model

SEED = Path("/work/shared/seeds/ml-engineer-agent-example.md")
REPO = Path(__file__).resolve().parents[2]


def write_agent(directory: Path, file_name: str, name: str, prompt: str = "You help.", model: str = "haiku") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / file_name
    path.write_text(f"---\nname: {name}\ndescription: test agent\nmodel: {model}\n---\n{prompt}\n", encoding="utf-8")
    return path


@pytest.mark.skipif(not SEED.exists(), reason="seed file not present on this machine")
def test_seed_agent_file_loads_as_is() -> None:
    agent = load_agent_file(SEED)
    assert agent.name == "ml-engineer"
    assert agent.model == "sonnet"
    # The plain description holds "Examples: <example>Context: ..." which strict YAML rejects.
    assert "<example>" in agent.description and agent.description.endswith("</example>")
    assert agent.system_prompt.startswith("You are an expert Machine Learning Engineer")


def test_default_agent_is_bundled_and_matches_the_top_level_file() -> None:
    bundled = [p for p in bundled_agent_files() if p.name == "ml-engineer.md"]
    assert bundled, "agents/ml-engineer.md must ship inside the package"
    assert bundled[0].read_text(encoding="utf-8") == (REPO / "agents" / "ml-engineer.md").read_text(encoding="utf-8")
    agent = load_agent_file(bundled[0])
    assert (agent.name, agent.model) == ("ml-engineer", "sonnet")
    for topic in ("how success is measured", "leakage", "feature", "distributed training", "A/B tests", "monitoring",
                  "retraining", "edge", "quantisation", "bias", "line number", "diff", "never claim to have executed"):
        assert topic.lower() in agent.system_prompt.lower(), topic


def test_unknown_front_matter_keys_are_tolerated() -> None:
    agent = parse_agent("---\nname: reviewer\ntools: Read, Grep\ncolor: blue\nmodel: opus\n---\nReview code.\n", "r.md")
    assert agent.name == "reviewer"
    assert agent.extra == {"tools": "Read, Grep", "color": "blue"}
    assert agent.model == "opus"
    assert agent.description == ""


def test_model_defaults_to_inherit() -> None:
    assert parse_agent("---\nname: a\n---\nprompt\n").model == "inherit"


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("---\nname: a\n  bad: [unclosed\n---\nprompt\n", 3, "invalid YAML"),
        ("---\ndescription: no name here\nmodel: sonnet\n---\nprompt\n", 4, "missing required key 'name'"),
        ("---\nname: 42\n---\nprompt\n", 2, "'name' must be a string, not int"),
        ("---\nname: a\ndescription: d\nmodel: [sonnet]\n---\nprompt\n", 4, "'model' must be a string, not list"),
        ("---\nname: a\ndescription:\n  - x\n---\nprompt\n", 3, "'description' must be a string"),
        ("name: a\n---\nprompt\n", 1, "expected YAML front matter"),
        ("---\nname: a\nprompt without a closing fence\n", 1, "not closed"),
        ("---\nname: a\n---\n\n", 4, "system prompt"),
        ("---\n- just\n- a list\n---\nprompt\n", 2, "mapping"),
    ],
)
def test_invalid_files_report_file_and_line(text: str, line: int, fragment: str, tmp_path: Path) -> None:
    path = tmp_path / "broken.md"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AgentDefinitionError) as info:
        load_agent_file(path)
    assert info.value.line == line
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert fragment in str(info.value)


def test_discovery_order_workspace_then_home_then_bundled(tmp_path: Path) -> None:
    workspace, home = tmp_path / "ws", tmp_path / "home"
    write_agent(home / ".claude" / "agents", "mine.md", "ml-engineer", "from home")
    assert find_agent("ml-engineer", workspace, home).system_prompt == "from home"
    write_agent(workspace / ".claude" / "agents", "x.md", "ml-engineer", "from .claude")
    assert find_agent("ml-engineer", workspace, home).system_prompt == "from .claude"
    write_agent(workspace / ".ml-engineer" / "agents", "y.md", "ml-engineer", "from .ml-engineer")
    assert find_agent("ml-engineer", workspace, home).system_prompt == "from .ml-engineer"
    # Without user files the bundled agent is used.
    assert find_agent("ml-engineer", tmp_path / "empty", tmp_path / "nohome").path.endswith("ml-engineer.md")


def test_agent_picked_by_front_matter_name_not_file_name(tmp_path: Path) -> None:
    write_agent(tmp_path / ".claude" / "agents", "something.md", "data-reviewer", "review data")
    assert find_agent("data-reviewer", tmp_path, tmp_path / "h").system_prompt == "review data"


def test_broken_file_named_like_the_agent_is_reported_not_skipped(tmp_path: Path) -> None:
    folder = tmp_path / ".claude" / "agents"
    folder.mkdir(parents=True)
    (folder / "ml-engineer.md").write_text("---\nname: 3\n---\nx\n", encoding="utf-8")
    with pytest.raises(AgentDefinitionError, match=r"ml-engineer\.md:2: 'name' must be a string"):
        find_agent("ml-engineer", tmp_path, tmp_path / "h")


def test_unknown_agent_lists_available_ones(tmp_path: Path) -> None:
    with pytest.raises(AgentNotFoundError, match=r"available agents: .*ml-engineer"):
        find_agent("nope", tmp_path, tmp_path / "h")


def test_list_agents_reports_broken_files(tmp_path: Path) -> None:
    folder = tmp_path / ".ml-engineer" / "agents"
    write_agent(folder, "ok.md", "ok-agent")
    (folder / "bad.md").write_text("no front matter", encoding="utf-8")
    agents, errors = list_agents(tmp_path, tmp_path / "h")
    assert {"ok-agent", "ml-engineer"} <= {a.name for a in agents}
    assert [e.path for e in errors] == [str(folder / "bad.md")]


def test_model_aliases_resolve_through_one_table() -> None:
    assert resolve_model("sonnet") == MODEL_ALIASES["sonnet"]
    assert resolve_model("opus") == MODEL_ALIASES["opus"]
    assert resolve_model("haiku") == MODEL_ALIASES["haiku"]
    assert resolve_model("inherit") == MODEL_ALIASES["sonnet"]
    assert resolve_model(None) == MODEL_ALIASES["sonnet"]
    assert resolve_model("claude-custom-1") == "claude-custom-1"
    assert resolve_model("sonnet", override="haiku") == MODEL_ALIASES["haiku"]
    assert resolve_model("sonnet", override="claude-x") == "claude-x"
    assert resolve_model("sonnet", aliases={"sonnet": "claude-pinned"}) == "claude-pinned"


def test_cost_estimate_uses_price_table() -> None:
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000, cache_read_input_tokens=1_000_000)
    assert estimate_cost("claude-sonnet-4-5", usage) == pytest.approx(3.0 + 15.0 + 0.30)
    assert estimate_cost("claude-haiku-4-5-20251001", usage) == pytest.approx(1.0 + 5.0 + 0.10)
    assert estimate_cost("claude-sonnet-5-5-20261001", Usage(input_tokens=1_000_000)) == pytest.approx(2.0)
    assert estimate_cost("unknown-model", usage) is None
    for model in MODEL_ALIASES.values():
        assert estimate_cost(model, usage) is not None, f"no price for {model}"

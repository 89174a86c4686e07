"""Agent definitions: Claude Code agent files (YAML front matter + system prompt) and their discovery.

An agent file looks like::

    ---
    name: ml-engineer
    description: When to use this agent ...
    model: sonnet
    ---
    You are ...   (the system prompt)

``name`` is required; ``description`` and ``model`` are optional strings; any other key (``tools``,
``color``, ...) is kept in ``extra`` and otherwise ignored. Claude Code accepts front matter that
strict YAML rejects (a plain ``description`` holding ``Examples: <example>Context: ...``), so when
strict parsing fails the file is read again as one ``key: value`` per line.

Discovery order (first match by ``name`` wins): ``<workspace>/.ml-engineer/agents/``,
``<workspace>/.claude/agents/``, ``~/.claude/agents/``, then the agents bundled in the package.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

DEFAULT_AGENT_NAME = "ml-engineer"
_FENCE = re.compile(r"^---[ \t]*$")
_LENIENT_KEY = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_-]*)[ \t]*:(?:[ \t]+(?P<value>.*))?$")


class AgentDefinitionError(ValueError):
    """An agent file that cannot be used; the message names the file and line."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        self.path = path
        self.line = line
        self.reason = message
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")


class AgentNotFoundError(LookupError):
    """No agent with the requested name in any discovery location."""


@dataclass(frozen=True)
class AgentDefinition:
    name: str
    description: str
    model: str  # as written in the file: an alias ("sonnet", "inherit") or a model id
    system_prompt: str
    path: str
    extra: dict[str, Any] = field(default_factory=dict)


def parse_agent(text: str, path: str = "<agent>") -> AgentDefinition:
    """Parse the text of one agent file; raise :class:`AgentDefinitionError` on any problem."""
    lines = text.splitlines()
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    if not lines or not _FENCE.match(lines[0]):
        raise AgentDefinitionError(path, 1, "expected YAML front matter starting with '---' on the first line")
    closing = next((i for i in range(1, len(lines)) if _FENCE.match(lines[i])), None)
    if closing is None:
        raise AgentDefinitionError(path, 1, "front matter is not closed: add a line with '---' after it")
    front_lines = lines[1:closing]
    front_text = "\n".join(front_lines)
    data, key_lines = _parse_front_matter(front_text, path)
    body = "\n".join(lines[closing + 1 :]).strip()
    closing_line = closing + 1  # 1-based line of the closing fence

    name = _require_string(data, key_lines, "name", path, required=True, fallback_line=closing_line) or ""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise AgentDefinitionError(
            path, key_lines.get("name"), f"'name' must be one word of letters, digits, '-', '_' or '.', not {name!r}"
        )
    description = _require_string(data, key_lines, "description", path, required=False, fallback_line=closing_line)
    model = _require_string(data, key_lines, "model", path, required=False, fallback_line=closing_line)
    if not body:
        raise AgentDefinitionError(path, closing_line + 1, "the system prompt (the text after the front matter) is empty")
    extra = {k: v for k, v in data.items() if k not in {"name", "description", "model"}}
    return AgentDefinition(
        name=name,
        description=description or "",
        model=model or "inherit",
        system_prompt=body,
        path=path,
        extra=extra,
    )


def load_agent_file(path: str | Path) -> AgentDefinition:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AgentDefinitionError(str(p), None, f"cannot read the agent file ({exc.__class__.__name__})") from None
    return parse_agent(text, str(p))


def agent_directories(workspace: str | Path | None = None, home: str | Path | None = None) -> list[Path]:
    """User-editable agent directories in search order (the bundled agents come after these)."""
    dirs: list[Path] = []
    if workspace is not None:
        root = Path(workspace)
        dirs += [root / ".ml-engineer" / "agents", root / ".claude" / "agents"]
    home_dir = Path(home) if home is not None else Path.home()
    dirs.append(home_dir / ".claude" / "agents")
    return dirs


def bundled_agent_files() -> list[Path]:
    """The agent files shipped inside the ``ml_engineer`` package."""
    try:
        folder = resources.files("ml_engineer") / "agents"
        return sorted(Path(str(entry)) for entry in folder.iterdir() if entry.name.endswith(".md"))
    except (FileNotFoundError, NotADirectoryError, ModuleNotFoundError):
        return []


def iter_agent_files(workspace: str | Path | None = None, home: str | Path | None = None) -> Iterator[Path]:
    for directory in agent_directories(workspace, home):
        if directory.is_dir():
            yield from sorted(directory.glob("*.md"))
    yield from bundled_agent_files()


def find_agent(
    name: str = DEFAULT_AGENT_NAME,
    workspace: str | Path | None = None,
    home: str | Path | None = None,
) -> AgentDefinition:
    """The first agent called ``name`` in discovery order.

    A broken file whose file name is ``<name>.md`` is reported (it is most likely the one the user
    meant) instead of silently falling through to a bundled agent of the same name.
    """
    return _find_in(iter_agent_files(workspace, home), name)


def list_agents(
    workspace: str | Path | None = None, home: str | Path | None = None
) -> tuple[list[AgentDefinition], list[AgentDefinitionError]]:
    """Every usable agent (first of each name wins) and the files that failed to load."""
    seen: dict[str, AgentDefinition] = {}
    errors: list[AgentDefinitionError] = []
    for path in iter_agent_files(workspace, home):
        try:
            agent = load_agent_file(path)
        except AgentDefinitionError as exc:
            errors.append(exc)
            continue
        seen.setdefault(agent.name, agent)
    return list(seen.values()), errors


def _find_in(paths: Iterable[Path], name: str) -> AgentDefinition:
    available: list[str] = []
    for path in paths:
        try:
            agent = load_agent_file(path)
        except AgentDefinitionError:
            if path.stem == name:
                raise
            continue
        if agent.name == name:
            return agent
        available.append(agent.name)
    listing = ", ".join(sorted(set(available))) or "none"
    raise AgentNotFoundError(
        f"no agent named {name!r}; available agents: {listing}. Agent files are looked up in "
        ".ml-engineer/agents/ and .claude/agents/ of the workspace, then ~/.claude/agents/."
    )


def _parse_front_matter(front_text: str, path: str) -> tuple[dict[str, Any], dict[str, int]]:
    """The front matter as a mapping, and the 1-based file line of each top-level key."""
    try:
        node = yaml.compose(front_text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(front_text)
    except yaml.YAMLError as exc:
        lenient = _parse_lenient(front_text)
        if lenient is not None:
            return lenient
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 2 if mark is not None else 2  # +1 for 1-based, +1 for the opening fence
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise AgentDefinitionError(path, line, f"invalid YAML front matter: {problem}") from None
    if data is None:
        raise AgentDefinitionError(path, 2, "the front matter is empty: it needs at least 'name'")
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        raise AgentDefinitionError(path, 2, "the front matter must be a mapping of 'key: value' lines")
    key_lines: dict[str, int] = {}
    for key_node, _value_node in node.value:
        key_lines[str(key_node.value)] = key_node.start_mark.line + 2
    return {str(k): v for k, v in data.items()}, key_lines


def _parse_lenient(front_text: str) -> tuple[dict[str, Any], dict[str, int]] | None:
    """One ``key: value`` per line, the value taken verbatim (as Claude Code reads it).

    Returns ``None`` when a top-level line is not ``key: value``, so the strict error is reported.
    """
    data: dict[str, Any] = {}
    key_lines: dict[str, int] = {}
    for index, line in enumerate(front_text.splitlines()):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0] in " \t":
            return None  # nested YAML: only the strict parser can read it
        m = _LENIENT_KEY.match(line)
        if m is None:
            return None
        key = m.group("key")
        data[key] = _unquote((m.group("value") or "").strip())
        key_lines[key] = index + 2
    return (data, key_lines) if data else None


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _require_string(
    data: dict[str, Any], key_lines: dict[str, int], key: str, path: str, *, required: bool, fallback_line: int
) -> str | None:
    if key not in data or data[key] is None:
        if required:
            raise AgentDefinitionError(path, fallback_line, f"missing required key '{key}' in the front matter")
        return None
    value = data[key]
    if not isinstance(value, str):
        raise AgentDefinitionError(
            path, key_lines.get(key, fallback_line), f"'{key}' must be a string, not {type(value).__name__}"
        )
    if required and not value.strip():
        raise AgentDefinitionError(path, key_lines.get(key, fallback_line), f"'{key}' must not be empty")
    return value.strip()

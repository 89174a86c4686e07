"""Editor settings (section `mlEngineer`): parsed once into a typed, defaulted structure.

Bad values are reported as warnings (shown to the user) and replaced by defaults; a typo in a
setting must never stop the server. Keys are listed in docs/lsp-protocol.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..agent.settings import AgentSettings
from ..analysis.config import VALID_SEVERITIES
from .review import ReviewSettings

SECTION = "mlEngineer"


@dataclass(frozen=True)
class ServerSettings:
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity: dict[str, str] = field(default_factory=dict)
    debounce_ms: int = 200
    code_lens_enabled: bool = True
    max_file_size_bytes: int = 2_000_000
    # None until agent settings are given: importing the agent package costs ~80 ms at start-up.
    agent_settings: AgentSettings | None = None

    @property
    def agent(self) -> AgentSettings:
        if self.agent_settings is not None:
            return self.agent_settings
        from ..agent.settings import AgentSettings

        return AgentSettings()
    review: ReviewSettings = field(default_factory=ReviewSettings)


def _unwrap_section(raw: Any) -> Mapping[str, Any]:
    """Accept `{"mlEngineer": {...}}` (initializationOptions of some clients) or the section itself."""
    if not isinstance(raw, Mapping):
        return {}
    inner = raw.get(SECTION)
    if isinstance(inner, Mapping):
        return inner
    return raw


def _lookup(section: Mapping[str, Any], dotted: str) -> Any:
    """`rules.select` as a nested key (`{"rules": {"select": ...}}`) or a flat dotted one."""
    if dotted in section:
        return section[dotted]
    node: Any = section
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def parse_settings(raw: Any) -> tuple[ServerSettings, list[str]]:
    """Settings from the client's JSON, and one warning per value that was ignored."""
    if raw is not None and not isinstance(raw, Mapping):
        return ServerSettings(), [f"ignored {SECTION} settings: expected an object, got {type(raw).__name__}"]
    section = _unwrap_section(raw)
    warnings: list[str] = []
    values: dict[str, Any] = {}

    for key, attr in (("rules.select", "select"), ("rules.ignore", "ignore")):
        value = _lookup(section, key)
        if value is None:
            continue
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            values[attr] = tuple(v.strip().upper() for v in value if v.strip())
        else:
            warnings.append(f"ignored {SECTION}.{key}: expected a list of rule codes or prefixes such as \"ML1\"")

    severity = _lookup(section, "rules.severity")
    if severity is not None:
        if isinstance(severity, Mapping):
            good = {}
            for code, level in severity.items():
                if isinstance(code, str) and level in VALID_SEVERITIES:
                    good[code.upper()] = level
                else:
                    warnings.append(
                        f"ignored {SECTION}.rules.severity.{code}={level!r}: expected one of {', '.join(VALID_SEVERITIES)}"
                    )
            values["severity"] = good
        else:
            warnings.append(f"ignored {SECTION}.rules.severity: expected an object of code -> severity")

    debounce = _lookup(section, "debounceMs")
    if debounce is not None:
        if _is_number(debounce) and 0 <= debounce <= 10_000:
            values["debounce_ms"] = int(debounce)
        else:
            warnings.append(f"ignored {SECTION}.debounceMs={debounce!r}: expected milliseconds between 0 and 10000")

    lens = _lookup(section, "codeLens.enabled")
    if lens is not None:
        if isinstance(lens, bool):
            values["code_lens_enabled"] = lens
        else:
            warnings.append(f"ignored {SECTION}.codeLens.enabled={lens!r}: expected true or false")

    size = _lookup(section, "maxFileSizeBytes")
    if size is not None:
        if _is_number(size) and size >= 1:
            values["max_file_size_bytes"] = int(size)
        else:
            warnings.append(f"ignored {SECTION}.maxFileSizeBytes={size!r}: expected a positive number of bytes")

    agent_raw = {key: value for key, value in section.items() if key == "agent" or key.startswith("agent.")}
    if agent_raw:
        from ..agent.settings import AgentSettings

        agent, agent_warnings = AgentSettings.from_mapping(agent_raw)
        warnings.extend(agent_warnings)
        values["agent_settings"] = agent
    review, review_warnings = ReviewSettings.from_section(section)
    warnings.extend(review_warnings)
    values["review"] = review
    return ServerSettings(**values), warnings


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)

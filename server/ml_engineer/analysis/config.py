"""`[tool.ml-engineer]` in the nearest pyproject.toml, merged with overrides from the CLI or editor.

```toml
[tool.ml-engineer]
select = ["ML"]                # codes or prefixes; default: every Tier A rule
ignore = ["ML401"]
fail-on = "warning"            # lowest severity that makes `check` exit 1 (default: info)
exclude = ["notebooks/scratch/*"]
[tool.ml-engineer.severity]
ML601 = "warning"
[tool.ml-engineer.per-file-ignores]
"tests/*" = ["ML401", "ML402"]
```
"""

from __future__ import annotations

import fnmatch
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePath
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

VALID_SEVERITIES = ("error", "warning", "info", "hint")


class ConfigError(ValueError):
    """A configuration value the user must fix; the message names the file and key."""


@dataclass(frozen=True)
class Config:
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    severity: dict[str, str] = field(default_factory=dict)
    per_file_ignores: dict[str, tuple[str, ...]] = field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    fail_on: str = "info"
    root: Path | None = None  # folder of the pyproject.toml the settings came from

    def is_enabled(self, code: str, tier: str = "A", path: str | None = None) -> bool:
        code = code.upper()
        if self.select:
            selected = _matches(code, self.select)
        else:
            selected = tier == "A"
        if self.extend_select and _matches(code, self.extend_select):
            selected = True
        if not selected:
            return False
        if _matches(code, self.ignore):
            return False
        if path is not None and self.per_file_ignores:
            relative = self.relative(path)
            for pattern, codes in self.per_file_ignores.items():
                if _path_matches(relative, pattern) and _matches(code, codes):
                    return False
        return True

    def severity_for(self, code: str, default: str) -> str:
        return self.severity.get(code.upper(), default)

    def is_excluded(self, path: str) -> bool:
        relative = self.relative(path)
        return any(_path_matches(relative, pattern) for pattern in self.exclude)

    def relative(self, path: str) -> str:
        pure = Path(path)
        if self.root is not None:
            try:
                return pure.resolve().relative_to(self.root.resolve()).as_posix()
            except (ValueError, OSError):
                pass
        return pure.as_posix()

    def merged(self, **overrides: Any) -> Config:
        """Overrides (CLI flags, editor settings) win over the file; empty values are ignored."""
        values = {key: value for key, value in overrides.items() if value not in (None, (), [], {})}
        if "severity" in values:
            values["severity"] = {**self.severity, **{k.upper(): v for k, v in values["severity"].items()}}
        for key in ("select", "ignore", "extend_select", "exclude"):
            if key in values:
                values[key] = tuple(str(v).upper() if key != "exclude" else str(v) for v in values[key])
        return replace(self, **values)


def _matches(code: str, patterns: tuple[str, ...]) -> bool:
    return any(code.startswith(pattern.upper()) for pattern in patterns if pattern)


def _path_matches(relative: str, pattern: str) -> bool:
    pattern = pattern.rstrip("/")
    if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(relative, pattern + "/*"):
        return True
    # A bare name matches at any depth, like .gitignore.
    if "/" not in pattern:
        return any(fnmatch.fnmatch(part, pattern) for part in PurePath(relative).parts)
    return False


def find_pyproject(start: Path) -> Path | None:
    start = start.resolve()
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        path = candidate / "pyproject.toml"
        if path.is_file():
            return path
    return None


def load_config(start: Path | None = None) -> Config:
    """Config from the nearest pyproject.toml above `start` (or the defaults)."""
    path = find_pyproject(start or Path.cwd())
    if path is None:
        return Config()
    return config_from_pyproject(path)


def config_from_pyproject(path: Path) -> Config:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: cannot read settings: {error}") from error
    section = document.get("tool", {}).get("ml-engineer")
    if section is None:
        return Config(root=path.parent)
    return config_from_mapping(section, origin=f"{path} [tool.ml-engineer]", root=path.parent)


def config_from_mapping(section: dict[str, Any], origin: str = "settings", root: Path | None = None) -> Config:
    def codes(key: str) -> tuple[str, ...]:
        value = section.get(key, section.get(key.replace("-", "_"), []))
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{origin}: `{key}` must be a list of rule codes or prefixes")
        return tuple(v.upper() for v in value)

    severity = section.get("severity", {})
    if not isinstance(severity, dict):
        raise ConfigError(f"{origin}: `severity` must be a table of CODE = \"error|warning|info|hint\"")
    for code, level in severity.items():
        if level not in VALID_SEVERITIES:
            raise ConfigError(f"{origin}: severity for {code} must be one of {', '.join(VALID_SEVERITIES)}, not {level!r}")
    per_file = section.get("per-file-ignores", section.get("per_file_ignores", {}))
    if not isinstance(per_file, dict):
        raise ConfigError(f"{origin}: `per-file-ignores` must be a table of \"glob\" = [codes]")
    exclude = section.get("exclude", [])
    if isinstance(exclude, str):
        exclude = [exclude]
    fail_on = section.get("fail-on", section.get("fail_on", "info"))
    if fail_on not in VALID_SEVERITIES:
        raise ConfigError(f"{origin}: `fail-on` must be one of {', '.join(VALID_SEVERITIES)}")
    return Config(
        select=codes("select"),
        ignore=codes("ignore"),
        extend_select=codes("extend-select"),
        severity={code.upper(): level for code, level in severity.items()},
        per_file_ignores={pattern: tuple(c.upper() for c in value) for pattern, value in per_file.items()},
        exclude=tuple(str(e) for e in exclude),
        fail_on=fail_on,
        root=root,
    )

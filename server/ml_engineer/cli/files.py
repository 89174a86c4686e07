"""Finding the files to check (skipping VCS, virtualenvs, caches and .gitignore'd paths) and reading them."""

from __future__ import annotations

import codecs
import fnmatch
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SKIP_DIRS = frozenset(
    {".git", ".hg", ".svn", "node_modules", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache",
     ".tox", ".nox", ".venv", "venv", ".eggs", ".ipynb_checkpoints", "site-packages-skip"}
)
CHECKED_SUFFIXES = (".py", ".ipynb")
DEFAULT_MAX_BYTES = 5_000_000


class UnreadableFile(Exception):
    """A file we could not turn into text; the message is written for the user."""


@dataclass(frozen=True)
class _IgnoreRule:
    base: Path
    pattern: str
    negated: bool
    directory_only: bool
    anchored: bool

    def matches(self, path: Path, is_dir: bool) -> bool:
        if self.directory_only and not is_dir:
            return False
        try:
            relative = path.relative_to(self.base).as_posix()
        except ValueError:
            return False
        if self.anchored or "/" in self.pattern:
            return fnmatch.fnmatch(relative, self.pattern) or fnmatch.fnmatch(relative, self.pattern.replace("**/", ""))
        return fnmatch.fnmatch(path.name, self.pattern)


def _read_gitignore(folder: Path) -> list[_IgnoreRule]:
    path = folder / ".gitignore"
    rules: list[_IgnoreRule] = []
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return rules
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        if negated:
            line = line[1:]
        directory_only = line.endswith("/")
        line = line.rstrip("/")
        anchored = line.startswith("/")
        line = line.lstrip("/")
        if line:
            rules.append(_IgnoreRule(folder, line, negated, directory_only, anchored))
    return rules


def _ignored(path: Path, is_dir: bool, rules: list[_IgnoreRule]) -> bool:
    ignored = False
    for rule in rules:
        if rule.matches(path, is_dir):
            ignored = not rule.negated
    return ignored


def _is_virtualenv(folder: Path) -> bool:
    return (folder / "pyvenv.cfg").is_file() or (folder / "conda-meta").is_dir()


def iter_source_files(paths: list[Path]) -> Iterator[Path]:
    """Files named explicitly are always yielded; directories are walked with the skips above."""
    for root in paths:
        if root.is_file():
            yield root
            continue
        if not root.is_dir():
            yield root  # reported as unreadable by the caller
            continue
        inherited: list[_IgnoreRule] = []
        for parent in reversed(root.resolve().parents):
            if (parent / ".git").exists() or parent == root.resolve().parent:
                inherited.extend(_read_gitignore(parent))
        yield from _walk(root, inherited)


def _walk(folder: Path, inherited: list[_IgnoreRule]) -> Iterator[Path]:
    rules = inherited + _read_gitignore(folder)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            continue
        if is_dir:
            if entry.name in SKIP_DIRS or _is_virtualenv(path) or _ignored(path, True, rules):
                continue
            yield from _walk(path, rules)
        elif entry.name.endswith(CHECKED_SUFFIXES) and not _ignored(path, False, rules):
            yield path


def read_text(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The file's text, or UnreadableFile with a message saying why and what to do."""
    try:
        size = path.stat().st_size
    except FileNotFoundError as error:
        raise UnreadableFile("no such file or directory") from error
    except OSError as error:
        raise UnreadableFile(f"cannot read: {error.strerror}") from error
    if size > max_bytes:
        raise UnreadableFile(f"skipped: {size:,} bytes is over the {max_bytes:,}-byte limit (--max-file-size)")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UnreadableFile(f"cannot read: {error.strerror}") from error
    if b"\x00" in data[:8192]:
        raise UnreadableFile("skipped: binary file (contains NUL bytes)")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UnreadableFile(
            f"skipped: not valid UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start}); "
            "save the file as UTF-8 to have it checked"
        ) from error

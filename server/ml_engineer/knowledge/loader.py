"""Reads the YAML files under `knowledge/data/` into typed records, checking their shape.

Each file holds any of three top-level sections: `entries` (API entries keyed by fully
qualified name), `methods` (notes keyed by `entity_kind.method`) and `topics` (keyed by id).
`aliases.yaml` is read separately by `aliases.py`. A malformed file raises
`KnowledgeDataError` naming the file and the key, so a bad edit fails loudly in tests.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from ml_engineer.knowledge.models import ApiEntry, MethodEntry, Pitfall, Topic

try:  # libyaml's loader is ~10x faster; fall back to the pure-Python one when absent.
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader

# The data folder is not a package: reach it through the knowledge package (works on Python 3.10).
KNOWLEDGE_PACKAGE = "ml_engineer.knowledge"
DATA_DIR = "data"
ALIASES_FILE = "aliases.yaml"
RULE_CODE = re.compile(r"^ML\d{3}$")
ENTITY_KINDS = frozenset(
    {
        "model",
        "optimizer",
        "loss",
        "scheduler",
        "scaler",
        "loader",
        "sklearn_transformer",
        "sklearn_estimator",
    }
)


class KnowledgeDataError(ValueError):
    """A knowledge-base YAML file does not have the expected shape."""


@dataclass
class LoadedData:
    entries: dict[str, ApiEntry] = field(default_factory=dict)
    methods: dict[str, MethodEntry] = field(default_factory=dict)
    topics: dict[str, Topic] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def data_files() -> Iterator[tuple[str, str]]:
    """Yield (file name, text) for every knowledge YAML file except the alias table, sorted by name."""
    root = resources.files(KNOWLEDGE_PACKAGE).joinpath(DATA_DIR)
    for item in sorted(root.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".yaml") and item.name != ALIASES_FILE:
            yield item.name, item.read_text(encoding="utf-8")


def read_aliases_text() -> str:
    return (
        resources.files(KNOWLEDGE_PACKAGE)
        .joinpath(DATA_DIR)
        .joinpath(ALIASES_FILE)
        .read_text(encoding="utf-8")
    )


def cache_dir() -> str | None:
    """Where parsed YAML is cached as JSON; `ML_ENGINEER_CACHE_DIR=""` disables the cache."""
    configured = os.environ.get("ML_ENGINEER_CACHE_DIR")
    if configured is not None:
        return configured or None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "ml-engineer")


def read_documents() -> dict[str, Mapping[str, Any]]:
    """Parse every data file (alias table included), going through a JSON cache keyed by content hash.

    Parsing the ~250 KB of YAML costs 60-200 ms even with libyaml (object construction is Python);
    the JSON cache brings a warm load to a few milliseconds. The cache is an optimisation only:
    any failure to read or write it falls back to parsing.
    """
    texts = dict(data_files())
    texts[ALIASES_FILE] = read_aliases_text()
    digest = hashlib.sha256()
    for name in sorted(texts):
        digest.update(name.encode() + b"\0" + texts[name].encode("utf-8") + b"\0")
    directory = cache_dir()
    cache_path = os.path.join(directory, f"knowledge-{digest.hexdigest()[:20]}.json") if directory else None
    if cache_path:
        try:
            with open(cache_path, encoding="utf-8") as handle:
                cached = json.load(handle)
            if isinstance(cached, dict) and set(cached) == set(texts):
                return cached
        except (OSError, ValueError):
            pass
    documents = {name: parse_yaml(text, name) for name, text in texts.items()}
    if cache_path:
        try:
            os.makedirs(os.path.dirname(cache_path), exist_ok=True)
            temporary = f"{cache_path}.{os.getpid()}.tmp"
            with open(temporary, "w", encoding="utf-8") as handle:
                json.dump(documents, handle)
            os.replace(temporary, cache_path)
        except (OSError, TypeError, ValueError):
            pass
    return documents


def parse_yaml(text: str, filename: str) -> Mapping[str, Any]:
    try:
        document = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise KnowledgeDataError(f"{filename}: not valid YAML: {exc}") from exc
    if not isinstance(document, Mapping):
        raise KnowledgeDataError(f"{filename}: the top level must be a mapping")
    return document


def load_all(documents: Mapping[str, Mapping[str, Any]] | None = None) -> LoadedData:
    """Build typed records from parsed documents (read them, through the cache, when not given)."""
    if documents is None:
        documents = read_documents()
    data = LoadedData()
    for filename in sorted(documents):
        if filename == ALIASES_FILE:
            continue
        document = documents[filename]
        data.files.append(filename)
        unknown = set(document) - {"library", "entries", "methods", "topics"}
        if unknown:
            raise KnowledgeDataError(f"{filename}: unknown top-level keys {sorted(unknown)}")
        library = document.get("library", "")
        for name, raw in _mapping(document.get("entries"), filename, "entries").items():
            if name in data.entries:
                raise KnowledgeDataError(f"{filename}: API entry {name!r} is defined twice")
            data.entries[name] = _api_entry(name, str(library), raw, filename)
        for key, raw in _mapping(document.get("methods"), filename, "methods").items():
            if key in data.methods:
                raise KnowledgeDataError(f"{filename}: method note {key!r} is defined twice")
            data.methods[key] = _method_entry(key, raw, filename)
        for topic_id, raw in _mapping(document.get("topics"), filename, "topics").items():
            if topic_id in data.topics:
                raise KnowledgeDataError(f"{filename}: topic {topic_id!r} is defined twice")
            data.topics[topic_id] = _topic(topic_id, raw, filename)
    return data


def _mapping(value: Any, filename: str, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise KnowledgeDataError(f"{filename}: {where} must be a mapping")
    return value


def _text(raw: Mapping[str, Any], key: str, where: str, required: bool = False) -> str:
    value = raw.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise KnowledgeDataError(f"{where}: {key} must be a string")
    value = value.strip()
    if required and not value:
        raise KnowledgeDataError(f"{where}: {key} is required")
    return value


def _strings(raw: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise KnowledgeDataError(f"{where}: {key} must be a list of strings")
    return tuple(v.strip() for v in value)


def _rule_codes(raw: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    codes = _strings(raw, key, where)
    for code in codes:
        if not RULE_CODE.match(code):
            raise KnowledgeDataError(f"{where}: {code!r} is not a rule code like ML101")
    return codes


def _pitfalls(raw: Mapping[str, Any], where: str) -> tuple[Pitfall, ...]:
    value = raw.get("pitfalls") or []
    if not isinstance(value, list):
        raise KnowledgeDataError(f"{where}: pitfalls must be a list")
    pitfalls = []
    for index, item in enumerate(value):
        item_where = f"{where}: pitfalls[{index}]"
        if isinstance(item, str):
            pitfalls.append(Pitfall(text=item.strip()))
        elif isinstance(item, Mapping):
            pitfalls.append(
                Pitfall(
                    text=_text(item, "text", item_where, True), rules=_rule_codes(item, "rules", item_where)
                )
            )
        else:
            raise KnowledgeDataError(f"{item_where}: must be a string or a mapping with text/rules")
    return tuple(pitfalls)


def _api_entry(name: str, library: str, raw: Any, filename: str) -> ApiEntry:
    where = f"{filename}: {name}"
    if not isinstance(raw, Mapping):
        raise KnowledgeDataError(f"{where}: must be a mapping")
    arguments_raw = _mapping(raw.get("arguments"), filename, f"{name}.arguments")
    arguments = {}
    for arg, note in arguments_raw.items():
        if not isinstance(arg, str):
            # YAML 1.1 reads keys such as `on`/`off`/`yes` as booleans: quote them in the file.
            raise KnowledgeDataError(f"{where}: argument name {arg!r} is not a string (quote it)")
        if not isinstance(note, str) or not note.strip():
            raise KnowledgeDataError(f"{where}: argument {arg!r} needs a non-empty note")
        arguments[str(arg)] = note.strip()
    entity_kind = raw.get("entity_kind")
    if entity_kind is not None and entity_kind not in ENTITY_KINDS:
        raise KnowledgeDataError(f"{where}: unknown entity_kind {entity_kind!r}")
    return ApiEntry(
        name=name,
        library=str(raw.get("library", library)),
        summary=_text(raw, "summary", where, True),
        details=_text(raw, "details", where),
        arguments=arguments,
        pitfalls=_pitfalls(raw, where),
        example=_text(raw, "example", where),
        references=_strings(raw, "references", where),
        versions=_text(raw, "versions", where),
        entity_kind=entity_kind,
    )


def _method_entry(key: str, raw: Any, filename: str) -> MethodEntry:
    where = f"{filename}: {key}"
    if not isinstance(raw, Mapping):
        raise KnowledgeDataError(f"{where}: must be a mapping")
    kind, dot, method = key.partition(".")
    if not dot or not method:
        raise KnowledgeDataError(f"{where}: method keys look like 'optimizer.zero_grad'")
    if kind not in ENTITY_KINDS:
        raise KnowledgeDataError(f"{where}: unknown entity kind {kind!r}")
    return MethodEntry(
        entity_kind=kind,
        method=method,
        summary=_text(raw, "summary", where, True),
        details=_text(raw, "details", where),
        pitfalls=_pitfalls(raw, where),
        example=_text(raw, "example", where),
        references=_strings(raw, "references", where),
    )


def _topic(topic_id: str, raw: Any, filename: str) -> Topic:
    where = f"{filename}: topic {topic_id}"
    if not isinstance(raw, Mapping):
        raise KnowledgeDataError(f"{where}: must be a mapping")
    return Topic(
        id=topic_id,
        title=_text(raw, "title", where, True),
        answer=_text(raw, "answer", where, True),
        checklist=_strings(raw, "checklist", where),
        tags=_strings(raw, "tags", where),
        triggers=_strings(raw, "triggers", where),
        rules=_rule_codes(raw, "rules", where),
        references=_strings(raw, "references", where),
    )

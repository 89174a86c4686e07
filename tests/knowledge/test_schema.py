"""Shape and content checks over every YAML file of the knowledge base."""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import urlparse

import pytest
import yaml

from ml_engineer.knowledge import KnowledgeBase, KnowledgeDataError
from ml_engineer.knowledge.loader import ALIASES_FILE, data_files, load_all, read_aliases_text

# The Tier A codes of core_api.md: the only rule codes the knowledge base may cite.
TIER_A = set(
    [
        "ML101",
        "ML102",
        "ML104",
        "ML105",
        "ML106",
        "ML107",
        "ML110",
        "ML111",
        "ML113",
        "ML201",
        "ML202",
        "ML204",
        "ML301",
        "ML302",
        "ML303",
        "ML304",
        "ML305",
        "ML401",
        "ML402",
        "ML501",
        "ML502",
        "ML503",
        "ML504",
        "ML506",
        "ML507",
        "ML508",
        "ML601",
        "ML701",
        "ML703",
        "ML704",
        "ML705",
        "ML801",
        "ML802",
        "ML803",
        "ML804",
        "ML807",
        "ML901",
        "ML902",
        "ML906",
    ]
)


def known_rule_codes() -> set[str]:
    """The rule registry's codes once every Tier A rule has landed, else the Tier A list."""
    try:
        from ml_engineer.analysis.rules.registry import all_rules
    except ImportError:
        return TIER_A
    registered = {rule.code for rule in all_rules()}
    return registered if registered >= TIER_A else TIER_A


def all_urls(kb: KnowledgeBase) -> list[str]:
    urls = [u for e in kb.entries.values() for u in e.references]
    urls += [u for m in kb.methods.values() for u in m.references]
    urls += [u for t in kb.topics.values() for u in t.references]
    return urls


def test_counts(kb: KnowledgeBase) -> None:
    assert len(kb.entries) >= 150
    assert len(kb.topics) >= 40
    assert len(kb.methods) >= 20


def test_every_library_area_is_covered(kb: KnowledgeBase) -> None:
    per_library = Counter(e.library for e in kb.entries.values())
    for library in ("torch", "sklearn", "keras", "jax", "optax", "transformers", "pandas"):
        assert per_library[library] > 0, library
    prefixes = [
        "torch.nn.",
        "torch.optim.lr_scheduler.",
        "torch.utils.data.",
        "torch.amp.",
        "sklearn.model_selection.",
        "sklearn.preprocessing.",
        "sklearn.metrics.",
        "keras.callbacks.",
        "keras.losses.",
        "jax.random.",
        "optax.",
        "transformers.",
        "pandas.DataFrame.",
    ]
    for prefix in prefixes:
        assert any(name.startswith(prefix) for name in kb.entries), prefix


def test_required_fields_are_filled(kb: KnowledgeBase) -> None:
    for entry in kb.entries.values():
        assert entry.summary and "\n" not in entry.summary, entry.name
        assert entry.references, f"{entry.name} has no reference"
    for method in kb.methods.values():
        assert method.summary and method.references, method.key
    for topic in kb.topics.values():
        assert topic.title and topic.answer, topic.id
        assert len(topic.checklist) >= 3, topic.id
        assert topic.tags and topic.triggers, topic.id


def test_names_are_unique_across_files() -> None:
    seen: dict[str, str] = {}
    for filename, text in data_files():
        document = yaml.safe_load(text)
        for section in ("entries", "methods", "topics"):
            for key in document.get(section) or {}:
                assert (section, key) not in seen, f"{key} in {filename} and {seen[(section, key)]}"
                seen[(section, key)] = filename


def test_every_rule_code_exists(kb: KnowledgeBase) -> None:
    known = known_rule_codes()
    cited = {code for e in kb.entries.values() for code in e.rules}
    cited |= {code for m in kb.methods.values() for p in m.pitfalls for code in p.rules}
    cited |= {code for t in kb.topics.values() for code in t.rules}
    assert cited, "the knowledge base should cite rule codes"
    assert cited <= known, sorted(cited - known)


def test_urls_are_well_formed_https(kb: KnowledgeBase) -> None:
    for url in all_urls(kb):
        parsed = urlparse(url)
        assert parsed.scheme == "https" and parsed.netloc and "." in parsed.netloc, url
        assert not re.search(r"\s", url), url


def test_alias_targets_exist(kb: KnowledgeBase) -> None:
    for name, alias in kb.aliases.aliases.items():
        assert alias.target in kb.entries, f"alias {name} -> missing {alias.target}"
        assert name not in kb.entries, f"{name} is both an alias and an entry"


def test_duplicate_entry_is_rejected() -> None:
    text = "entries:\n  a.B:\n    summary: x\n    references: [https://example.org]\n"
    documents = {"one.yaml": yaml.safe_load(text), "two.yaml": yaml.safe_load(text), ALIASES_FILE: {}}
    with pytest.raises(KnowledgeDataError, match="defined twice"):
        load_all(documents)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("entries:\n  a.B:\n    details: no summary\n", "summary is required"),
        ("entries:\n  a.B:\n    summary: s\n    pitfalls: [{text: t, rules: [XX1]}]\n", "not a rule code"),
        ("entries:\n  a.B:\n    summary: s\n    entity_kind: widget\n", "unknown entity_kind"),
        ("methods:\n  gadget.run:\n    summary: s\n", "unknown entity kind"),
        ("topics:\n  t:\n    title: T\n", "answer is required"),
        ("bogus: 1\n", "unknown top-level keys"),
        ("entries:\n  a.B:\n    summary: s\n    arguments: {on: x}\n", "not a string"),
    ],
)
def test_malformed_files_are_rejected_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(KnowledgeDataError, match=message):
        load_all({"bad.yaml": yaml.safe_load(text), ALIASES_FILE: {}})


def test_alias_file_is_valid_yaml() -> None:
    document = yaml.safe_load(read_aliases_text())
    assert set(document) == {"aliases", "rewrites"}

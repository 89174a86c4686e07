"""docs/rules/MLxxx.md (the pages diagnostics link to) must match the rules' docstrings."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_generator():
    spec = importlib.util.spec_from_file_location("generate_rule_docs", ROOT / "scripts" / "generate_rule_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_rule_docs_are_up_to_date() -> None:
    problems = load_generator().stale_pages()
    assert problems == [], "\n".join(problems) + "\nrun: python scripts/generate_rule_docs.py"


def test_every_rule_page_has_the_standard_sections_and_the_url_resolves_to_it() -> None:
    generator = load_generator()
    from ml_engineer.analysis.rules.registry import all_rules

    for rule in all_rules():
        page = generator.rule_page(rule)
        assert page.splitlines()[1] == f"# {rule.code} {rule.name}"
        for section in ("## What it does", "## Why is this bad?", "## Example"):
            assert section in page, f"{rule.code} docs lack {section}"
        assert rule.url().endswith(f"docs/rules/{rule.code}.md")

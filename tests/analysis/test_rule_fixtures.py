"""Every fixture under tests/fixtures/rules is run; reported (line, code) pairs must equal the markers.

A marker is `# expect: ML101` (several: `# expect: ML101, ML102`) on the line where the finding must
be reported. Lines without a marker must stay quiet for every code the fixture's name covers.
Fixture files are named after a code (`ML101.py`) or a code plus a style (`ML101_accumulation.py`);
notebooks (`.ipynb`) use the same markers inside cells.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ml_engineer.analysis.config import Config
from ml_engineer.analysis.engine import analyze
from ml_engineer.analysis.notebook import load_notebook
from ml_engineer.analysis.rules.registry import rule_codes

FIXTURES = Path(__file__).parent.parent / "fixtures" / "rules"
MARKER = re.compile(r"#\s*expect:\s*(ML\d{3}(?:\s*,\s*ML\d{3})*)")
FIXTURE_FILES = sorted(p for p in FIXTURES.glob("ML*") if p.suffix in (".py", ".ipynb"))


def expected_markers(text: str) -> set[tuple[int, str]]:
    expected = set()
    for number, line in enumerate(text.split("\n"), start=1):
        match = MARKER.search(line)
        if match:
            for code in re.split(r"\s*,\s*", match.group(1)):
                expected.add((number, code))
    return expected


def codes_under_test(path: Path) -> set[str]:
    """The fixture's own code: other rules may fire on it, but are not this fixture's business."""
    return {path.stem.split("_")[0].upper()}


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_fixture(path: Path) -> None:
    raw = path.read_text(encoding="utf-8")
    codes = codes_under_test(path)
    assert codes <= set(rule_codes()), f"{path.name} names a rule that does not exist"
    config = Config(select=tuple(codes))
    if path.suffix == ".ipynb":
        notebook = load_notebook(raw)
        result = analyze(notebook.text, str(path), config, notebook=notebook)
        text = notebook.text
    else:
        result = analyze(raw, str(path), config)
        text = raw
    assert not result.failures, result.failures[0].trace
    reported = {(result.source.line_of(f.span.start) + 1, f.code) for f in result.findings if f.code in codes}
    expected = {(line, code) for line, code in expected_markers(text) if code in codes}
    missed = sorted(expected - reported)
    unexpected = sorted(reported - expected)
    assert not missed and not unexpected, f"missed (line, code): {missed}; false positives: {unexpected}"


def test_every_rule_has_fixtures_with_buggy_and_correct_forms() -> None:
    for code in rule_codes():
        files = [p for p in FIXTURE_FILES if p.stem.split("_")[0].upper() == code]
        assert files, f"{code} has no fixture"
        markers = sum(
            1 for p in files for _, c in expected_markers(_fixture_text(p)) if c == code
        )
        assert markers >= 3, f"{code}: fewer than 3 buggy forms in its fixtures"


def _fixture_text(path: Path) -> str:
    raw = path.read_text(encoding="utf-8")
    return load_notebook(raw).text if path.suffix == ".ipynb" else raw

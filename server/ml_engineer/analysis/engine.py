"""The analysis pipeline: text -> tree -> semantic model -> findings (suppressed, configured)."""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass, field

from tree_sitter import Tree

from .config import Config
from .findings import Finding
from .model import SemanticModel
from .noqa import find_noqa, is_suppressed
from .notebook import NotebookSource
from .parsing import parse
from .rules.base import RuleContext
from .rules.registry import all_rules
from .source import SourceText

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RuleFailure:
    """A rule that raised: isolated, reported once, the other rules still ran."""

    code: str
    error: str
    trace: str


@dataclass
class AnalysisResult:
    path: str
    source: SourceText
    tree: Tree
    model: SemanticModel
    findings: list[Finding]
    failures: list[RuleFailure] = field(default_factory=list)
    notebook: NotebookSource | None = None


def analyze(
    text: str,
    path: str = "<stdin>",
    config: Config | None = None,
    notebook: NotebookSource | None = None,
    old_tree: Tree | None = None,
    timings: dict[str, float] | None = None,
) -> AnalysisResult:
    """Analyse one file. Pass a dict as `timings` to get seconds per phase ("parse", "model") and per rule code."""
    config = config or Config()
    clock = time.perf_counter
    started = clock()
    source = SourceText(text)
    tree = parse(source.data, old_tree)
    parsed = clock()
    model = SemanticModel(source, tree, path, cell_starts=notebook.cell_starts if notebook is not None else None)
    if timings is not None:
        timings["parse"] = parsed - started
        timings["model"] = clock() - parsed
    ctx = RuleContext(model, path)
    noqa = find_noqa(source)
    findings: list[Finding] = []
    failures: list[RuleFailure] = []
    for rule_class in all_rules():
        if not config.is_enabled(rule_class.code, rule_class.tier, path):
            continue
        rule_started = clock()
        try:
            produced = list(rule_class().check(ctx))
        except Exception as error:  # a broken rule must not take the others down
            log.warning("rule %s failed on %s: %s", rule_class.code, path, error)
            failures.append(RuleFailure(rule_class.code, f"{type(error).__name__}: {error}", traceback.format_exc()))
            continue
        finally:
            if timings is not None:
                # Shared model caches are paid by the first rule that asks; the table says so.
                timings[rule_class.code] = timings.get(rule_class.code, 0.0) + clock() - rule_started
        for finding in produced:
            lines = (source.line_of(finding.span.start), source.line_of(max(finding.span.start, finding.span.end - 1)))
            if is_suppressed(noqa, finding.code, lines):
                continue
            severity = config.severity_for(finding.code, finding.severity)
            findings.append(finding.with_severity(severity) if severity != finding.severity else finding)  # type: ignore[arg-type]
    findings.sort(key=lambda f: (f.span.start, f.code))
    return AnalysisResult(path, source, tree, model, _dedupe(findings), failures, notebook)


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, int, int]] = set()
    unique = []
    for finding in findings:
        key = (finding.code, finding.span.start, finding.span.end)
        if key not in seen:
            seen.add(key)
            unique.append(finding)
    return unique

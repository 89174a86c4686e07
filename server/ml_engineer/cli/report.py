"""Renders findings as text (ruff-like), JSON (ruff's shape) or SARIF 2.1.0."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from .. import __version__
from ..analysis.engine import AnalysisResult
from ..analysis.findings import Finding
from ..analysis.rules.registry import all_rules, get_rule

_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note", "hint": "note"}
_COLOURS = {"error": "\033[31m", "warning": "\033[33m", "info": "\033[36m", "hint": "\033[36m"}
_BOLD, _RESET = "\033[1m", "\033[0m"


@dataclass(frozen=True)
class Location:
    row: int  # 1-based
    column: int  # 1-based, code points
    end_row: int
    end_column: int
    cell: int | None = None


def locate(result: AnalysisResult, start: int, end: int) -> Location:
    """Byte span -> 1-based code-point location, in cell coordinates for notebooks."""
    line, col = result.source.position(start, "codepoint")
    end_line, end_col = result.source.position(end, "codepoint")
    cell_index = None
    if result.notebook is not None and result.notebook.cells:
        cell, line = result.notebook.locate(line)
        end_line -= cell.start_line
        cell_index = cell.index
    return Location(line + 1, col + 1, end_line + 1, end_col + 1, cell_index)


def finding_to_json(result: AnalysisResult, finding: Finding, filename: str) -> dict[str, Any]:
    loc = locate(result, finding.span.start, finding.span.end)
    rule = get_rule(finding.code)
    fix = None
    if finding.fix is not None:
        edits = []
        for edit in finding.fix.edits:
            edit_loc = locate(result, edit.start, edit.end)
            edits.append(
                {
                    "content": edit.new_text,
                    "location": {"row": edit_loc.row, "column": edit_loc.column},
                    "end_location": {"row": edit_loc.end_row, "column": edit_loc.end_column},
                }
            )
        fix = {"applicability": "safe" if finding.fix.safe else "unsafe", "message": finding.fix.title, "edits": edits}
    entry: dict[str, Any] = {
        "filename": filename,
        "code": finding.code,
        "name": finding.name,
        "severity": finding.severity,
        "message": finding.message,
        "location": {"row": loc.row, "column": loc.column},
        "end_location": {"row": loc.end_row, "column": loc.end_column},
        "fix": fix,
        "url": rule.url() if rule is not None else None,
        "related": [
            {"message": rel.message, "location": _loc_dict(locate(result, rel.span.start, rel.span.end))}
            for rel in finding.related
        ],
    }
    if loc.cell is not None:
        entry["cell"] = loc.cell
    return entry


def _loc_dict(loc: Location) -> dict[str, int]:
    out = {"row": loc.row, "column": loc.column}
    if loc.cell is not None:
        out["cell"] = loc.cell
    return out


def render_text(rows: list[tuple[AnalysisResult, Finding, str]], colour: bool) -> list[str]:
    lines = []
    for result, finding, filename in rows:
        loc = locate(result, finding.span.start, finding.span.end)
        where = f"{filename}:cell {loc.cell}:{loc.row}:{loc.column}" if loc.cell is not None else f"{filename}:{loc.row}:{loc.column}"
        marker = " [*]" if finding.fix is not None and finding.fix.safe else ""
        if colour:
            code = f"{_COLOURS.get(finding.severity, '')}{_BOLD}{finding.code}{_RESET}"
            lines.append(f"{_BOLD}{where}{_RESET}: {code}{marker} {finding.message}")
        else:
            lines.append(f"{where}: {finding.code}{marker} {finding.message}")
    return lines


def render_statistics(findings: list[Finding]) -> list[str]:
    counts = Counter((f.code, f.name) for f in findings)
    fixable = Counter(f.code for f in findings if f.fix is not None and f.fix.safe)
    return [
        f"{count:>5}\t{code}\t{'[*] ' if fixable[code] else ''}{name}"
        for (code, name), count in sorted(counts.items(), key=lambda item: (-item[1], item[0][0]))
    ]


def render_sarif(rows: list[tuple[AnalysisResult, Finding, str]]) -> str:
    rules = all_rules()
    index = {rule.code: i for i, rule in enumerate(rules)}
    results = []
    for result, finding, filename in rows:
        loc = locate(result, finding.span.start, finding.span.end)
        uri = filename.replace("\\", "/")
        region = {"startLine": loc.row, "startColumn": loc.column, "endLine": loc.end_row, "endColumn": loc.end_column}
        entry: dict[str, Any] = {
            "ruleId": finding.code,
            "ruleIndex": index.get(finding.code, 0),
            "level": _SARIF_LEVEL.get(finding.severity, "warning"),
            "message": {"text": finding.message},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}}],
        }
        if loc.cell is not None:
            entry["properties"] = {"cell": loc.cell}
        if finding.related:
            entry["relatedLocations"] = [
                {
                    "id": i,
                    "message": {"text": rel.message},
                    "physicalLocation": {"artifactLocation": {"uri": uri}, "region": _region(result, rel.span.start, rel.span.end)},
                }
                for i, rel in enumerate(finding.related)
            ]
        if finding.fix is not None and result.notebook is None:
            entry["fixes"] = [
                {
                    "description": {"text": finding.fix.title},
                    "artifactChanges": [
                        {
                            "artifactLocation": {"uri": uri},
                            "replacements": [
                                {"deletedRegion": _region(result, e.start, e.end), "insertedContent": {"text": e.new_text}}
                                for e in finding.fix.edits
                            ],
                        }
                    ],
                }
            ]
        results.append(entry)
    driver_rules = []
    for rule in rules:
        docs = rule.docs()
        driver_rules.append(
            {
                "id": rule.code,
                "name": rule.name,
                "shortDescription": {"text": rule.summary},
                "fullDescription": {"text": rule.summary},
                "help": {"text": docs, "markdown": docs},
                "helpUri": rule.url(),
                "defaultConfiguration": {"level": _SARIF_LEVEL.get(rule.severity, "warning")},
                "properties": {"tier": rule.tier, "tags": ["ml", rule.code[:3]]},
            }
        )
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "ml-engineer",
                        "informationUri": "https://github.com/ml-engineer-lsp/ml-engineer-lsp",
                        "version": __version__,
                        "rules": driver_rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(sarif, indent=2)


def _region(result: AnalysisResult, start: int, end: int) -> dict[str, int]:
    loc = locate(result, start, end)
    return {"startLine": loc.row, "startColumn": loc.column, "endLine": loc.end_row, "endColumn": loc.end_column}

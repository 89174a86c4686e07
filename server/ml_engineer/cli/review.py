"""`ml-engineer review FILE[:LINE[-END]]`: the agent reviews a file or a range, output in the check formats.

Rule findings of the reviewed lines and the agent's findings are printed together, as `check`
prints them (text, ruff-shaped JSON, SARIF 2.1.0); agent findings carry codes ``AIxxx`` and source
``ml-engineer (agent)``, their explanation and confidence, and their replacement as an unsafe fix.
An agent finding that repeats a rule finding is attached to that finding instead of printed twice.
Without an API key (or with ``--backend offline``) the rule findings are printed with their
explanations and a note on how to enable the agent. What the review cost goes to stderr.

Exit status: 0 nothing found, 1 findings reported, 2 usage, configuration or API error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, TextIO

from .ask import checked_line_range, parse_location, settings_from_args

_SLUG = re.compile(r"[^a-z0-9]+")


def add_review_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("location", metavar="FILE[:LINE[-END]]", help="the file, optionally with a line or line range")
    parser.add_argument("--backend", choices=["auto", "anthropic", "offline"], default=None,
                        help="anthropic (needs ANTHROPIC_API_KEY), offline, or auto (default: anthropic when a key is set)")
    parser.add_argument("--format", choices=("text", "json", "sarif"), default="text", help="output format")
    parser.add_argument("--agent", metavar="NAME", default=None, help="agent definition to use (default ml-engineer)")
    parser.add_argument("--model", default=None, help="model id or alias (sonnet, opus, haiku) overriding the agent's")
    parser.add_argument("--max-context-tokens", type=int, default=None, metavar="N",
                        help="token budget for the code sent (default 6000)")


def run_review(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from ..agent import AgentDefinitionError, AgentNotFoundError, BackendError
    from ..agent.review import ReviewRequest, ReviewService
    from ..analysis.notebook import NotebookError
    from .check import analyze_path
    from .files import UnreadableFile

    out = out or sys.stdout
    err = err or sys.stderr
    path, lines = parse_location(args.location)
    try:
        analysis = analyze_path(Path(path), _config(Path(path)))
    except (UnreadableFile, NotebookError, OSError) as error:
        print(f"ml-engineer review: cannot read {path}: {error}", file=err)
        return 2
    try:
        focus = checked_line_range(lines, analysis.source.line_count, path)
    except ValueError as error:
        print(f"ml-engineer review: {error}", file=err)
        return 2
    settings = settings_from_args(args, "review", err)
    service = ReviewService(settings, workspace=os.getcwd())
    backend = None if args.backend in (None, "auto") else args.backend
    request = ReviewRequest(analysis.source.text, path, focus, analysis, backend, args.agent)
    try:
        result = asyncio.run(_review(service, request))
    except (AgentDefinitionError, AgentNotFoundError) as error:
        print(f"ml-engineer review: {error}", file=err)
        return 2
    except BackendError as error:
        print(f"ml-engineer review: {error.message}", file=err)
        return 2
    except KeyboardInterrupt:
        print("ml-engineer review: interrupted", file=err)
        return 130
    report = ReviewReport(analysis, result, _display(path))
    if args.format == "json":
        print(json.dumps(report.json_entries(), indent=2), file=out)
    elif args.format == "sarif":
        print(report.sarif(), file=out)
    else:
        for line in report.text_lines():
            print(line, file=out)
    print(result.summary(), file=err)
    return 1 if report.rows else 0


async def _review(service: Any, request: Any) -> Any:
    try:
        return await service.review(request)
    finally:
        await service.aclose()


def _config(path: Path) -> Any:
    """`[tool.ml-engineer]` of the file's project, as `check` uses it (defaults when it is broken)."""
    from ..analysis.config import Config, ConfigError, load_config

    try:
        return load_config(path.resolve().parent)
    except (ConfigError, OSError):
        return Config()


def _display(path: str) -> str:
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


class ReviewReport:
    """A review's findings in the shapes of `ml_engineer.cli.report` (rule findings first, then the agent's)."""

    def __init__(self, analysis: Any, result: Any, filename: str) -> None:
        self.analysis = analysis
        self.result = result
        self.filename = filename
        self.agent = {f.id: f for f in result.findings}
        focus = result.range
        source = analysis.source
        self.rule_findings = [
            f for f in analysis.findings
            if focus is None
            or (source.line_of(f.span.start) + 1 <= focus.end and focus.start <= source.line_of(max(f.span.start, f.span.end - 1)) + 1)
        ]
        # Agent findings that repeat a rule finding, by that rule code (the first on overlapping lines).
        self.merged: dict[int, list[Any]] = {}
        for agent in result.findings:
            if agent.duplicate_of is None:
                continue
            for index, finding in enumerate(self.rule_findings):
                first = source.line_of(finding.span.start)
                last = source.line_of(max(finding.span.start, finding.span.end - 1))
                if finding.code == agent.duplicate_of and first <= agent.end_line and agent.start_line <= last:
                    self.merged.setdefault(index, []).append(agent)
                    break
        self.shown_agent = [f for f in result.findings if f.duplicate_of is None]
        self.agent_as_findings = [agent_finding(analysis, f) for f in self.shown_agent]
        self.rows = [(analysis, f, filename) for f in [*self.rule_findings, *self.agent_as_findings]]

    def text_lines(self) -> list[str]:
        from .report import render_text

        lines: list[str] = []
        rule_rows = self.rows[: len(self.rule_findings)]
        notes = {n.code + str(n.start_line): n for n in self.result.rule_notes}
        for index, (row, line) in enumerate(zip(rule_rows, render_text(rule_rows, False), strict=True)):
            lines.append(line)
            finding = row[1]
            first = self.analysis.source.line_of(finding.span.start) + 1
            note = notes.get(finding.code + str(first))
            if note is not None and note.explanation:
                lines.append(_indent(note.explanation))
            for agent in self.merged.get(index, []):
                lines.append(_indent(f"ML engineer agent agrees ({agent.code}): {agent.item.title}. {agent.item.explanation}"))
        agent_rows = self.rows[len(self.rule_findings) :]
        for agent, line in zip(self.shown_agent, render_text(agent_rows, False), strict=True):
            lines.append(f"{line} (agent, confidence {agent.item.confidence:.0%})")
            lines.append(_indent(agent.item.explanation))
            if agent.item.replacement is not None:
                lines.append(_indent("suggested replacement:\n" + agent.item.replacement))
        if not self.rows:
            where = f"lines {self.result.range.start}-{self.result.range.end}" if self.result.range else "this file"
            lines.append(f"No findings in {where}.")
        return lines

    def json_entries(self) -> list[dict[str, Any]]:
        from ..agent.review import AGENT_SOURCE
        from .report import finding_to_json

        entries = []
        notes = {(n.code, n.start_line): n.explanation for n in self.result.rule_notes}
        source = self.analysis.source
        for index, finding in enumerate(self.rule_findings):
            entry = finding_to_json(self.analysis, finding, self.filename)
            entry["source"] = "ml-engineer"
            explanation = notes.get((finding.code, source.line_of(finding.span.start) + 1))
            if explanation:
                entry["explanation"] = explanation
            if index in self.merged:
                entry["agent"] = [agent.to_dict() for agent in self.merged[index]]
            entries.append(entry)
        for agent, finding in zip(self.shown_agent, self.agent_as_findings, strict=True):
            entry = finding_to_json(self.analysis, finding, self.filename)
            entry.update(source=AGENT_SOURCE, explanation=agent.item.explanation, confidence=agent.item.confidence,
                         id=agent.id)
            entries.append(entry)
        return entries

    def sarif(self) -> str:
        from ..agent.review import AGENT_SOURCE
        from .report import render_sarif

        sarif = json.loads(render_sarif(self.rows))
        run = sarif["runs"][0]
        rules = run["tool"]["driver"]["rules"]
        agent_results = run["results"][len(self.rule_findings) :]
        for agent, entry in zip(self.shown_agent, agent_results, strict=True):
            index = next((i for i, r in enumerate(rules) if r["id"] == agent.code), None)
            if index is None:
                rules.append({
                    "id": agent.code,
                    "name": "agent-review",
                    "shortDescription": {"text": "A finding of the ML engineer agent's review"},
                    "defaultConfiguration": {"level": "warning"},
                    "properties": {"source": AGENT_SOURCE},
                })
                index = len(rules) - 1
            entry["ruleIndex"] = index
            entry["message"] = {"text": f"{agent.item.title}\n\n{agent.item.explanation}"}
            entry["properties"] = {**entry.get("properties", {}), "source": AGENT_SOURCE,
                                   "confidence": agent.item.confidence, "id": agent.id}
        return json.dumps(sarif, indent=2)


def agent_finding(analysis: Any, agent: Any) -> Any:
    """An agent finding as an analysis `Finding` (code AIxxx), so the check renderers can print it."""
    from ..analysis.findings import Edit, Finding, Fix
    from ..analysis.source import Span

    source = analysis.source
    line = source.line_bytes(agent.start_line)
    start = source.line_start(agent.start_line) + len(line) - len(line.lstrip())
    end = max(start, source.line_end(agent.end_line))
    fix = None
    if agent.item.replacement is not None:
        edit = Edit(source.line_start(agent.start_line), source.line_end(agent.end_line), agent.item.replacement)
        fix = Fix("Apply the ML engineer's suggestion", (edit,), safe=False)
    name = _SLUG.sub("-", agent.item.title.lower()).strip("-")[:60] or "agent-review"
    return Finding(agent.code, name, agent.item.severity, agent.item.title, Span(start, end), fix=fix)


def _indent(text: str) -> str:
    return "\n".join("    " + line if line else "" for line in text.split("\n"))

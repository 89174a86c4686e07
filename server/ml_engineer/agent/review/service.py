"""Review a file or a range of it: plan the request, call the forced tool, validate, anchor.

    service = ReviewService(settings, workspace="/project")
    result = await service.review(ReviewRequest(text=..., path="train.py", range=LineRange(40, 58)))
    result.findings   # AgentFinding list (anchored, duplicates of rule findings marked)

Backend choice, agent definitions, models, redaction and excluded paths are the agent layer's
(the same rules as for a question). Results are cached by the exact request body, so reviewing
unchanged code again costs nothing. Without an API key the review is offline: the rule findings
with their explanations, and how to enable the agent.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..backends.base import BackendError
from ..backends.offline import ENABLE_HINT
from ..backends.slot import BackendSlot
from ..cache import AnswerCache
from ..context import LineRange, rule_docs_excerpt
from ..definitions import find_agent
from ..models import Usage, estimate_cost, resolve_model
from ..redaction import is_excluded
from ..service import AskRequest, AskService
from ..settings import AgentSettings
from .backend import ToolUseBackend
from .findings import AgentFinding, rule_duplicate
from .request import ReviewPlan, build_review_plan
from .validation import Validation, validate_findings


@dataclass
class ReviewRequest:
    text: str
    path: str = "<stdin>"
    range: LineRange | None = None  # 1-based inclusive; None = the whole file
    analysis: Any = None  # an AnalysisResult of `text`, when the caller has one
    backend: str | None = None  # "anthropic" | "offline" | None (settings)
    agent: str | None = None


@dataclass(frozen=True)
class RuleNote:
    """A rule finding with the explanation shown by offline reviews."""

    code: str
    name: str
    severity: str
    message: str
    start_line: int  # 1-based
    end_line: int
    explanation: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ReviewResult:
    findings: list[AgentFinding]
    backend: str
    model: str
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    offline: bool = False
    offline_reason: str | None = None
    cached: bool = False
    dropped: dict[str, int] = field(default_factory=dict)
    replacements_removed: int = 0
    request_tokens_estimate: int = 0
    request_bytes: int = 0
    range: LineRange | None = None
    rule_notes: list[RuleNote] = field(default_factory=list)
    elapsed_ms: float = 0.0

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())

    def summary(self) -> str:
        """One line for the user: what came back and what it cost."""
        if self.offline:
            return f"Offline review ({self.offline_reason}): {len(self.rule_notes)} rule finding(s). {ENABLE_HINT}"
        shown = sum(1 for f in self.findings if f.duplicate_of is None)
        merged = len(self.findings) - shown
        parts = [f"{shown} agent finding(s)"]
        if merged:
            parts.append(f"{merged} merged into rule findings")
        if self.dropped_total:
            parts.append(f"{self.dropped_total} malformed or out-of-range item(s) dropped")
        usage = self.usage
        cost = f", ~${self.cost_usd:.4f}" if self.cost_usd is not None else ""
        cached = " (cached, no new cost)" if self.cached else ""
        return (f"Review via {self.model}{cached}: " + ", ".join(parts) + f"; {usage.input_tokens} input tokens "
                f"({usage.cache_read_input_tokens} from cache), {usage.output_tokens} output tokens{cost}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "findings": [f.to_dict() for f in self.findings],
            "backend": self.backend,
            "model": self.model,
            "usage": self.usage.to_dict(),
            "cost_usd": self.cost_usd,
            "offline": self.offline,
            "offline_reason": self.offline_reason,
            "cached": self.cached,
            "dropped": dict(self.dropped),
            "replacements_removed": self.replacements_removed,
            "request": {"tokens_estimate": self.request_tokens_estimate, "bytes": self.request_bytes},
            "range": [self.range.start, self.range.end] if self.range is not None else None,
            "rule_findings": [n.to_dict() for n in self.rule_notes],
            "summary": self.summary(),
        }


@dataclass
class _Outcome:
    """What the cache keeps: the validated items and what they cost."""

    validation: Validation
    model: str
    usage: Usage


class ReviewService:
    def __init__(
        self,
        settings: AgentSettings | None = None,
        workspace: str | None = None,
        env: Mapping[str, str] | None = None,
        home: str | None = None,
    ) -> None:
        self.settings = settings or AgentSettings()
        self.workspace = workspace
        self.home = home
        self._env = env if env is not None else os.environ
        self._cache: AnswerCache[_Outcome] = AnswerCache(self.settings.cache_size)
        self._backend = BackendSlot(ToolUseBackend)

    def update_settings(self, settings: AgentSettings) -> None:
        if settings != self.settings:
            self.settings = settings
            self._cache = AnswerCache(settings.cache_size)

    async def aclose(self) -> None:
        await self._backend.aclose()

    def plan(self, request: ReviewRequest) -> tuple[str, str | None, ReviewPlan | None, Any]:
        """(backend, why offline, the request that would be sent or None, the analysis)."""
        ask = AskService(self.settings, self.workspace, self._env, self.home)
        backend, offline_reason = ask.backend_for(AskRequest(request.text, "", request.path, backend=request.backend))
        excluded_by = is_excluded(request.path, self.settings.exclude_paths, self.workspace)
        if excluded_by is not None:
            backend, offline_reason = "offline", f"the file matches agent.excludePaths pattern {excluded_by!r}"
        analysis = request.analysis if request.analysis is not None else _analyze(request.text, request.path)
        if excluded_by is not None:
            return backend, offline_reason, None, analysis
        agent = find_agent(request.agent or self.settings.name, self.workspace, self.home)
        model = resolve_model(agent.model, self.settings.model, self.settings.model_aliases)
        plan = build_review_plan(
            analysis, request.path, request.range, model, agent.system_prompt,
            self.settings.max_context_tokens, self.settings.max_tokens,
        )
        return backend, offline_reason, plan, analysis

    async def review(self, request: ReviewRequest) -> ReviewResult:
        """Raises :class:`BackendError` with a message for the user when the API fails."""
        started = time.perf_counter()
        backend, offline_reason, plan, analysis = self.plan(request)
        if backend != "anthropic" or plan is None:
            return ReviewResult(
                [], "offline", "offline", offline=True, offline_reason=offline_reason, range=request.range,
                rule_notes=rule_notes(analysis, request.range), elapsed_ms=_ms(started),
            )
        outcome = self._cache.get(plan.cache_key)
        cached = outcome is not None
        if outcome is None:
            call = await self._backend.get(self.settings, self._env).call_tool(plan.payload)
            validation = (
                validate_findings(call.tool_input, plan.bundle.line_ranges(), analysis.source.line_count)
                if call.tool_input is not None
                else Validation(dropped=_counter("the model did not call report_findings"))
            )
            outcome = _Outcome(validation, call.model or plan.payload.model, call.usage)
            self._cache.put(plan.cache_key, outcome)
        lines = analysis.source.text.split("\n")
        findings = []
        for item in outcome.validation.items:
            duplicate = rule_duplicate(item, analysis.findings, analysis.source)
            findings.append(AgentFinding.create(item, lines, duplicate.code if duplicate is not None else None))
        return ReviewResult(
            findings,
            "anthropic",
            outcome.model,
            usage=Usage() if cached else outcome.usage,
            cost_usd=0.0 if cached else estimate_cost(plan.payload.model, outcome.usage),
            cached=cached,
            dropped=dict(outcome.validation.dropped),
            replacements_removed=outcome.validation.replacements_removed,
            request_tokens_estimate=plan.input_tokens_estimate,
            request_bytes=plan.request_bytes,
            range=request.range,
            elapsed_ms=_ms(started),
        )


def rule_notes(analysis: Any, focus: LineRange | None) -> list[RuleNote]:
    """The rule findings in ``focus`` (or the file) with the *Why is this bad?* part of their docs."""
    source = analysis.source
    notes = []
    for f in analysis.findings:
        first = source.line_of(f.span.start) + 1
        last = source.line_of(max(f.span.start, f.span.end - 1)) + 1
        if focus is not None and (last < focus.start or focus.end < first):
            continue
        notes.append(RuleNote(f.code, f.name, f.severity, f.message, first, last, rule_docs_excerpt(f.code)))
    return notes


def _counter(reason: str) -> Any:
    from collections import Counter

    return Counter({reason: 1})


def _analyze(text: str, path: str) -> Any:
    from ...analysis.engine import analyze

    return analyze(text, path)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


__all__ = ["BackendError", "ReviewRequest", "ReviewResult", "ReviewService", "RuleNote", "rule_notes"]

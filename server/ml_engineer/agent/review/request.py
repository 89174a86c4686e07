"""The review request: the agent's context selection and prompt, plus the forced findings tool.

The code sent is chosen by :func:`ml_engineer.agent.context.select_context` (redacted, numbered,
within the token budget) and framed by :func:`ml_engineer.agent.prompt.build_user_message`, exactly
as for a question; only the task text and the tool differ.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..backends.base import Payload
from ..cache import cache_key
from ..context import ContextBundle, LineRange, select_context
from ..prompt import build_user_message
from ..tokens import estimate_tokens
from .schema import REVIEW_TOOL, TOOL_CHOICE

REVIEW_TASK = (
    "Review this code as a senior ML engineer and report the problems a linter cannot catch: hyperparameters "
    "that cannot work together (a learning rate that does not fit the batch size or optimizer, a schedule that "
    "does not fit the number of steps), a metric or loss that does not fit the task, augmentation or "
    "training-only transforms applied to validation or test data, leakage through a feature, a preprocessing "
    "step or the split, evaluation that does not measure what it claims.\n"
    "{focus}"
    "The static analyzer findings listed in <findings> are already shown to the user: do not repeat them; when "
    "you have something to add about one, give its code as rule_code.\n"
    "Call the `report_findings` tool once. Locate each problem with the line numbers printed in the snippets, "
    "citing the smallest range of lines that shows it. Give a replacement only when the fix fits in those lines. "
    "Report only problems you believe are real; an empty list is a good answer for sound code."
)
_FOCUS = "Report problems in the marked lines (`>` after the line number) only; the rest is context.\n"


@dataclass(frozen=True)
class ReviewPayload(Payload):
    """A Messages API request that forces the findings tool."""

    tools: tuple[dict[str, Any], ...] = (REVIEW_TOOL,)
    tool_choice: dict[str, Any] = field(default_factory=lambda: dict(TOOL_CHOICE))

    def request_body(self) -> dict[str, Any]:
        body = super().request_body()
        body["tools"] = [dict(tool) for tool in self.tools]
        body["tool_choice"] = dict(self.tool_choice)
        return body


@dataclass(frozen=True)
class ReviewPlan:
    """Everything decided before sending: the context, the exact request and its cache key."""

    bundle: ContextBundle
    payload: ReviewPayload
    cache_key: str
    input_tokens_estimate: int

    @property
    def request_bytes(self) -> int:
        return len(json.dumps(self.payload.request_body(), ensure_ascii=False).encode("utf-8"))


def review_task(focus: LineRange | None) -> str:
    return REVIEW_TASK.format(focus=_FOCUS if focus is not None else "")


def build_review_plan(
    analysis: Any,
    path: str,
    focus: LineRange | None,
    model: str,
    system_prompt: str,
    budget_tokens: int,
    max_tokens: int,
) -> ReviewPlan:
    """The review request for ``focus`` (``None`` = the whole file) of an analysed document."""
    task = review_task(focus)
    bundle = select_context(analysis, focus, task, budget_tokens, path=path)
    message = build_user_message(task, bundle)
    payload = ReviewPayload(model, system_prompt, ({"role": "user", "content": message},), max_tokens)
    tokens = estimate_tokens(system_prompt) + estimate_tokens(message) + estimate_tokens(json.dumps(REVIEW_TOOL))
    return ReviewPlan(bundle, payload, cache_key(payload.request_body(), "anthropic-review"), tokens)

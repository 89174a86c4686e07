"""AI review: the agent reads a file or a function and reports findings through a forced tool call.

request (context + tool schema) -> backend (one tool call) -> validation (bad items dropped and
counted) -> findings anchored to the code they cite, with duplicates of rule findings marked.
Editor-agnostic: the language server (``ml_engineer.lsp.review``) and the CLI
(``ml-engineer review``) turn the results into diagnostics, hovers, code actions and reports.
"""

from .anchoring import Anchor
from .budget import HourlyBudget
from .findings import AGENT_SOURCE, AgentFinding, agent_code, rule_duplicate
from .request import ReviewPayload, ReviewPlan, build_review_plan
from .schema import REVIEW_TOOL, TOOL_CHOICE, TOOL_NAME
from .service import ReviewRequest, ReviewResult, ReviewService, RuleNote, rule_notes
from .units import ChangeTracker, ReviewUnit, review_units
from .validation import ReviewItem, Validation, validate_findings

__all__ = [
    "AGENT_SOURCE",
    "REVIEW_TOOL",
    "TOOL_CHOICE",
    "TOOL_NAME",
    "AgentFinding",
    "Anchor",
    "ChangeTracker",
    "HourlyBudget",
    "ReviewItem",
    "ReviewPayload",
    "ReviewPlan",
    "ReviewRequest",
    "ReviewResult",
    "ReviewService",
    "ReviewUnit",
    "RuleNote",
    "Validation",
    "agent_code",
    "build_review_plan",
    "review_units",
    "rule_duplicate",
    "rule_notes",
    "validate_findings",
]

"""The tool the model must call to report review findings, and its JSON schema.

The request forces this tool (``tool_choice``), so the answer is structured data rather than
prose: one item per problem, located by the line numbers printed in the labelled snippets.
"""

from __future__ import annotations

from typing import Any

TOOL_NAME = "report_findings"
SEVERITIES = ("error", "warning", "info", "hint")
MAX_FINDINGS = 20  # items beyond this are dropped (and counted): a review is a short list

FINDING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "start_line": {
            "type": "integer",
            "minimum": 1,
            "description": "First line of the problematic code, as numbered in the snippets.",
        },
        "end_line": {
            "type": "integer",
            "minimum": 1,
            "description": "Last line (inclusive), as numbered in the snippets; equal to start_line for one line.",
        },
        "severity": {"type": "string", "enum": list(SEVERITIES)},
        "title": {"type": "string", "description": "One short sentence naming the problem (under 100 characters)."},
        "explanation": {
            "type": "string",
            "description": "Why it is a problem in this code and what to do instead (markdown, a few sentences).",
        },
        "replacement": {
            "type": "string",
            "description": "Optional: the full new text of lines start_line..end_line, with their indentation and "
            "without line numbers. Omit it when the fix is not local to these lines.",
        },
        "confidence": {
            "type": "number",
            "minimum": 0,
            "maximum": 1,
            "description": "How sure you are that this is a real problem (0-1).",
        },
        "rule_code": {
            "type": "string",
            "description": "When this is the same problem as a static analyzer finding listed in <findings>, its code "
            "(e.g. ML101); omit otherwise.",
        },
    },
    "required": ["start_line", "end_line", "severity", "title", "explanation", "confidence"],
}

REVIEW_TOOL: dict[str, Any] = {
    "name": TOOL_NAME,
    "description": "Report the problems found in the reviewed ML code. Call it exactly once, with every finding "
    "(an empty list when the code is sound).",
    "input_schema": {
        "type": "object",
        "properties": {"findings": {"type": "array", "items": FINDING_SCHEMA, "maxItems": MAX_FINDINGS}},
        "required": ["findings"],
    },
}

TOOL_CHOICE: dict[str, Any] = {"type": "tool", "name": TOOL_NAME}

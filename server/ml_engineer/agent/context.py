"""Context selection: the few snippets of a file an ML engineer would read to answer a question.

Given the analysis of a file, a selected line range and the question, candidates are scored by
relevance to both and the best are kept (see docs/agent.md for the table):

1. must-include: the selected lines, what encloses them (the function, else the innermost loop
   holding the selection, the selected loop itself included, with its function's signature, else
   the statement; a window around the selection when those are too long), the findings in the
   selection and the statements they name;
2. the definitions of what the selected code uses, in brief first: a construction statement
   whole when short, else its first line and its deciding keyword lines (``lr=``, ``shuffle=``);
   a called same-file helper as its signature, the lines that switch mode or grad
   (``model.eval()``, ``@torch.no_grad()``) and its ``return``, its whole body lower; the model
   class as a header line, with ``forward``/``__init__`` only when the question or a finding in
   the selection is about outputs, losses or architecture (``forward`` as signature + return
   when only a finding is); loaders the selection only passes on rank below those it iterates;
3. the rest of an enclosing epoch loop, the call sites of a selected function (for a class and
   an architecture question, where it is built, as must-read), the other calls of a helper the
   selection calls and the construction lines of the loaders they pass;
4. the training loop and evaluation pass that share the selection's entities (evaluation only
   when asked about it or a finding concerns it);
5. the import lines of the names used by what was kept.

Candidates are added best first while the estimated token count stays under the budget and,
with a selection in a file over ``LARGE_FILE_LINES`` lines, under ``LARGE_FILE_SHARE`` of the
whole file (the must-include candidates and the brief definitions the selected lines use are
never dropped for that share). Outside the selection, comment lines, docstrings and long
print/logging statements are left out (``context_layout``). Chosen rows are laid out in file
order with every line prefixed by its 1-based number (``>`` marks the selection); rows up to
``JOIN_GAP`` lines apart share one snippet, the lines between shown as one ``...`` line.
Findings in the selection come with their rule's *why* and *use instead*; other findings in the
sent code as one-line summaries.
Small files are sent whole. Secrets are redacted before anything is rendered.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from tree_sitter import Node

from ..analysis.findings import Finding
from ..analysis.model import kind_from_name
from ..analysis.secrets import Redaction
from .context_layout import JOIN_GAP, MARKER_CHARS, definition_nodes, layout, low_value_rows, number
from .context_notes import (
    FindingNote,
    finding_note,
    rule_docs,
    rule_docs_brief,
    rule_docs_excerpt,
    without_docs,
)
from .redaction import RedactedSource, redact_source
from .tokens import CHARS_PER_TOKEN, estimate_chars, estimate_tokens

__all__ = [
    "LARGE_FILE_LINES",
    "LARGE_FILE_SHARE",
    "MIN_SCORE_WITH_FOCUS",
    "SMALL_FILE_TOKENS",
    "ContextBundle",
    "FindingNote",
    "LineRange",
    "Snippet",
    "rule_docs",
    "rule_docs_brief",
    "rule_docs_excerpt",
    "select_context",
]

_COMPOUND = frozenset(
    {"function_definition", "class_definition", "decorated_definition", "for_statement", "while_statement",
     "if_statement", "with_statement", "try_statement", "module"}
)
_FUNCTION_ROWS = 40  # an enclosing function up to this long is sent whole
_LOOP_ROWS = 60  # else its innermost loop up to this long
_HELPER_ROWS = 40  # a called same-file helper up to this long is sent whole, else its signature
_LINE_PREFIX_CHARS = 6  # "1234 > |" style prefix added to every line
_SNIPPET_OVERHEAD_CHARS = 35  # "### lines a-b ()", the code fence and the blank line between snippets
_REASONS_CHARS = 40  # the typical "(selected lines; enclosing function `x`)" of a header
_MAX_REASONS = 3
_MERGE_GAP = 1  # a range this many lines from chosen ones is drawn in the same part, no marker
_MAX_CALL_SITES = 3
#: Import lines rank with the core definitions (what `nn`, `F`, `np` are), above call sites.
_IMPORT_SCORE = 61
#: Files under this many estimated tokens (and under the budget) are sent whole: at that size the
#: whole file costs little and every definition is in view.
SMALL_FILE_TOKENS = 2000
#: With a selection, candidates scoring below this are not relevant enough to send (unrelated
#: training loops, far-away findings), even when the budget would allow them.
MIN_SCORE_WITH_FOCUS = 45
#: Candidates scoring at least this much (the selection, its enclosing function or loop, findings
#: in the selection and what they name) are sent whenever the absolute budget allows.
MUST_SCORE = 88
#: Candidates from this score up (the must-include ones and the definitions the selected lines
#: themselves use) are exempt from the relative cap of large files: a large selection needs them.
UNCAPPED_SCORE = 70
#: Candidates from this score up are the core of the answer (the must-include ones and the
#: definitions the selected code refers to); rule docs give way to them under the cap.
CORE_SCORE = 60
#: Design decision: with a selection in a file longer than ``LARGE_FILE_LINES`` lines, the context
#: is also capped at ``LARGE_FILE_SHARE`` of the whole file's tokens. The snippets ranked past that
#: point are second-level definitions an engineer answering the question would not read either,
#: and each costs money and attention on every follow-up. The must-include candidates and the
#: definitions the selected lines use (score >= ``UNCAPPED_SCORE``) are exempt, so a long enclosing
#: function or a large selection still gets what it needs; whole-file questions are not capped.
LARGE_FILE_LINES = 300
LARGE_FILE_SHARE = 0.22
_TRAIN_WORDS = re.compile(r"\b(train\w*|loss|optimi[sz]\w*|lr|learning|gradient\w*|backward|step|epoch\w*|converg\w*|diverg\w*|nan|explod\w*)\b", re.I)
_EVAL_WORDS = re.compile(
    r"\b(eval\w*|valid\w*|test\w*|accura\w*|metric\w*|overfit\w*|generali[sz]\w*|inference|predict\w*|score"
    r"|model selection|early.stop\w*|best (model|checkpoint|epoch))\b",
    re.I,
)
_DATA_WORDS = re.compile(r"\b(data\w*|split\w*|leak\w*|loader\w*|batch\w*|shuffl\w*|preprocess\w*|scal\w*|feature\w*|augment\w*|transform\w*)\b", re.I)
#: Questions about what the model computes: its forward pass and layers are then worth sending.
_MODEL_WORDS = re.compile(
    r"\b(outputs?|logits?|loss(es)?|architectur\w*|layers?|forward|softmax|sigmoid|activations?|probabilit\w*"
    r"|head|network|dropout|batch.?norm\w*|embedding\w*|residual|conv\w*)\b",
    re.I,
)
#: Questions about the model's structure: its ``__init__`` layers are then worth sending too.
_LAYER_WORDS = re.compile(
    r"\b(architectur\w*|layers?|network|residual|conv\w*|batch.?norm\w*|embedding\w*|head|block\w*|capacity|depth|width)\b",
    re.I,
)
#: Rules about model outputs, loss pairing or the module's layers.
_MODEL_RULES = frozenset({"ML106", "ML501", "ML502", "ML503", "ML506", "ML507", "ML508", "ML802", "ML803", "ML804"})
#: Rules about evaluation passes and model selection.
_EVAL_RULES = frozenset({"ML107", "ML201", "ML202", "ML203", "ML204", "ML205"})
_IDENT = re.compile(r"(?<![.\w])([A-Za-z_]\w*)")
_BRIEF_ROWS = 3  # a construction statement up to this long is sent whole, else in brief
#: Keyword-argument lines of a long construction that decide how it trains or feeds data.
_DECISIVE_KWARG = re.compile(
    r"^\s*(lr|learning_rate|weight_decay|momentum|betas|shuffle|sampler|batch_sampler|batch_size|drop_last|reduction"
    r"|weight|pos_weight|label_smoothing|ignore_index|num_warmup_steps|num_training_steps|warmup\w*|t_max|step_size"
    r"|gamma|max_lr|enabled|dtype|init_scale)\s*=",
    re.I,
)
#: Statements of a helper that decide what its caller's model is doing: mode and grad switches.
_DECISIVE = re.compile(r"\.(eval|train)\(|\b(no_grad|inference_mode|set_grad_enabled|enable_grad)\b|requires_grad")


@dataclass(frozen=True)
class LineRange:
    """1-based, inclusive line range."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.start < 1 or self.end < self.start:
            raise ValueError(f"invalid line range {self.start}-{self.end}")

    def __str__(self) -> str:
        return str(self.start) if self.start == self.end else f"{self.start}-{self.end}"

    @classmethod
    def parse(cls, spec: str) -> LineRange:
        """``"42"`` or ``"40-58"``."""
        start, _, end = spec.partition("-")
        return cls(int(start), int(end or start))


@dataclass(frozen=True)
class Snippet:
    path: str
    start: int  # 1-based, inclusive
    end: int
    reasons: tuple[str, ...]
    text: str  # numbered, redacted lines
    #: The 1-based inclusive runs of lines shown, a ``...`` line between two runs; empty: all of
    #: ``start``-``end`` (blank lines are never shown; their numbers are skipped).
    parts: tuple[tuple[int, int], ...] = ()

    def shown(self) -> tuple[tuple[int, int], ...]:
        return self.parts or ((self.start, self.end),)

    def covers(self, line: int) -> bool:
        return any(a <= line <= b for a, b in self.shown())

    def render(self) -> str:
        # The path is said once in the message; the header names the lines and why they are here.
        where = f"line {self.start}" if self.start == self.end else f"lines {self.start}-{self.end}"
        label = "; ".join(self.reasons)
        return f"### {where} ({label})\n```python\n{self.text}\n```"


@dataclass
class ContextBundle:
    path: str
    focus: LineRange | None
    snippets: list[Snippet]
    findings: list[FindingNote]
    redactions: list[Redaction]
    whole_file: bool
    tokens: int  # estimate for the snippets and findings
    whole_file_tokens: int  # estimate for the whole numbered file
    budget: int
    truncated: bool = False  # the selection itself had to be cut to fit
    code_tokens: int = 0  # estimate for the snippets alone
    line_count: int = 0
    notes: list[str] = field(default_factory=list)
    #: The effective token limit: the budget, or the relative cap of a large file when lower.
    limit: int = 0

    def line_ranges(self) -> list[tuple[int, int]]:
        """The 1-based inclusive ranges of lines shown (left-out lines inside a snippet excluded)."""
        return [part for s in self.snippets for part in s.shown()]

    def covers(self, line: int) -> bool:
        return any(s.covers(line) for s in self.snippets)


@dataclass
class _Candidate:
    start: int  # 0-based, inclusive
    end: int
    score: float
    reason: str
    imports: frozenset[str] = frozenset()  # for import lines: the names they bind


def select_context(
    analysis: Any,
    focus: LineRange | None,
    question: str = "",
    budget_tokens: int = 6000,
    path: str | None = None,
    redacted: RedactedSource | None = None,
    small_file_tokens: int = SMALL_FILE_TOKENS,
    large_file_share: float | None = LARGE_FILE_SHARE,
) -> ContextBundle:
    """Choose, rank and cut the snippets sent for ``question`` about ``focus`` in ``analysis``.

    ``analysis`` is an :class:`ml_engineer.analysis.engine.AnalysisResult`. Files whose numbered
    text is under ``min(small_file_tokens, budget_tokens)`` are sent whole; for larger files only
    candidates relevant to the selection (score >= ``MIN_SCORE_WITH_FOCUS``) are sent, so the
    budget is a ceiling, not a target. With a selection in a file over ``LARGE_FILE_LINES`` lines
    the context is also capped at ``large_file_share`` of the whole file (``None``: no cap),
    except for the must-include snippets.
    """
    source = analysis.source
    display_path = path or analysis.path
    redacted = redacted or redact_source(source.text)
    lines = [line.rstrip("\r") for line in redacted.lines]
    n_lines = len(lines)
    if focus is not None:
        focus = LineRange(min(focus.start, n_lines), min(focus.end, n_lines))
    line_costs = [len(line) + _LINE_PREFIX_CHARS + 1 for line in lines]
    whole_file_tokens = estimate_chars(sum(line_costs) + _SNIPPET_OVERHEAD_CHARS)
    findings: list[Finding] = list(getattr(analysis, "findings", []))

    def finding_lines(f: Finding) -> tuple[int, int]:
        return source.line_of(f.span.start), source.line_of(max(f.span.start, f.span.end - 1))

    def in_focus(rows: tuple[int, int]) -> bool:
        return focus is not None and rows[0] + 1 <= focus.end and focus.start <= rows[1] + 1

    if whole_file_tokens <= min(small_file_tokens, budget_tokens * 0.9) or n_lines <= 1:
        notes = [finding_note(f, rows, in_focus(rows), whole_file=focus is None) for f in findings for rows in [finding_lines(f)]]
        notes_tokens = sum(estimate_tokens(n.render()) for n in notes)
        # Drop rule docs first if the findings do not fit next to the file.
        if whole_file_tokens + notes_tokens > budget_tokens:
            notes = [without_docs(n) if not n.in_focus else n for n in notes]
        snippet = Snippet(display_path, 1, n_lines, ("whole file",), number(lines, [(0, n_lines - 1)], _marker(focus)))
        code_tokens = estimate_tokens(snippet.render())
        tokens = code_tokens + sum(estimate_tokens(n.render()) for n in notes)
        return ContextBundle(
            display_path, focus, [snippet], notes, list(redacted.redactions), True, tokens, whole_file_tokens,
            budget_tokens, line_count=n_lines, code_tokens=code_tokens, limit=budget_tokens,
        )

    limit = budget_tokens
    if focus is not None and large_file_share is not None and n_lines > LARGE_FILE_LINES:
        limit = min(budget_tokens, int(large_file_share * whole_file_tokens))
    overhead = _SNIPPET_OVERHEAD_CHARS + _REASONS_CHARS
    selector = _Selector(analysis, lines, focus, question)
    candidates = selector.candidates()
    if focus is not None:
        candidates = [c for c in candidates if c.score >= MIN_SCORE_WITH_FOCUS]
    elided = _elided_rows(analysis, lines, focus, candidates, [finding_lines(f) for f in findings])
    # What a row costs as sent: left-out rows and blank rows (never printed) cost nothing here;
    # the ``...`` line a run of left-out rows becomes is counted where snippets join.
    line_costs = [0 if i in elided or not lines[i].strip() else cost for i, cost in enumerate(line_costs)]
    # Findings in the selection always go. Their rule docs are generic knowledge, the code is not:
    # when the docs would push out the definitions the selection uses, send "why" without the
    # "use instead" code, then the messages alone.
    focus_findings = [(f, rows) for f in findings for rows in [finding_lines(f)] if in_focus(rows)]
    core = [c for c in candidates if c.score >= CORE_SCORE]
    core += selector.import_candidates(_names_in_rows(lines, core))
    core_tokens = _estimate(_covered(core), line_costs, overhead)
    focus_notes: list[FindingNote] = []
    for level in ("full", "why", "none"):
        focus_notes = [finding_note(f, rows, True, docs=level) for f, rows in focus_findings]
        if core_tokens + sum(estimate_tokens(n.render()) for n in focus_notes) <= min(limit, budget_tokens * 0.9):
            break
    focus_notes_tokens = sum(estimate_tokens(n.render()) for n in focus_notes)
    code_budget = max(0, budget_tokens - focus_notes_tokens)
    code_limit = max(0, limit - focus_notes_tokens)
    chosen, truncated = _fit(candidates, line_costs, code_budget, focus, n_lines, code_limit, overhead)
    # The import lines of the names the chosen code uses, then again without those whose names
    # only lower-ranked code (pushed out by the imports) used.
    imports = selector.import_candidates(_names_in_rows(lines, chosen))
    for _ in range(2):
        if not imports:
            break
        chosen, truncated = _fit([*candidates, *imports], line_costs, code_budget, focus, n_lines, code_limit, overhead)
        used_names = _names_in_rows(lines, [c for c in chosen if not c.imports])
        kept = [c for c in imports if c.imports & used_names]
        if len(kept) == len(imports):
            break
        imports = kept  # an import pushed out the code that used it: fit again without it
    code_names = _names_in_rows(lines, [c for c in chosen if not c.imports])
    chosen = [c for c in chosen if not c.imports or c.imports & code_names]
    snippets = _render(chosen, lines, focus, display_path, elided)
    used = code_tokens = sum(estimate_tokens(s.render()) for s in snippets)
    final_notes = list(focus_notes)
    used += focus_notes_tokens
    # Other findings in the sent code: one-line summaries, nearest first, while they fit.
    chosen_rows = _covered(chosen)
    others: list[tuple[int, FindingNote]] = []
    for f in findings:
        rows = finding_lines(f)
        if not in_focus(rows) and any(r in chosen_rows for r in range(rows[0], rows[1] + 1)):
            distance = abs(rows[0] + 1 - focus.start) if focus is not None else 0
            others.append((distance, finding_note(f, rows, False, whole_file=focus is None)))
    for _distance, note in sorted(others, key=lambda item: item[0]):
        cost = estimate_tokens(note.render())
        if used + cost <= limit:
            final_notes.append(note)
            used += cost
    final_notes.sort(key=lambda n: n.line)
    sent_redactions = [r for r in redacted.redactions if any(s.covers(r.line) for s in snippets)]
    return ContextBundle(
        display_path, focus, snippets, final_notes, sent_redactions, False, used, whole_file_tokens, budget_tokens,
        truncated=truncated, line_count=n_lines, code_tokens=code_tokens, limit=limit,
    )


def _estimate(rows: set[int], line_costs: list[int], overhead: int) -> int:
    """Estimated tokens of ``rows`` rendered as snippets (one header per group of nearby lines)."""
    chars = 0
    previous = -(10**9)
    for row in sorted(rows):
        if row > previous + JOIN_GAP + 1:
            chars += overhead
        elif row > previous + _MERGE_GAP + 1:
            chars += MARKER_CHARS
        chars += line_costs[row]
        previous = row
    return estimate_chars(chars)


def _elided_rows(
    analysis: Any, lines: list[str], focus: LineRange | None, candidates: list[_Candidate], finding_rows: list[tuple[int, int]]
) -> set[int]:
    """Low-value rows (comments, docstrings, long print/logging statements) to leave out of the
    excerpts: never the selection, a finding's lines, or a candidate that is nothing else (a
    ``log(...)`` sent as where a result goes)."""
    tree = getattr(analysis, "tree", None)
    root = tree.root_node if tree is not None else None
    source = analysis.source

    def statement_end(row: int) -> int:
        if root is None:
            return row
        line = source.line_bytes(row)
        offset = source.line_start(row) + len(line) - len(line.lstrip())
        node = root.descendant_for_byte_range(offset, offset)
        return _end_row(_statement(node)) if node is not None else row

    low = low_value_rows(lines, definition_nodes(analysis.model), statement_end, root)
    if not low:
        return low
    protected: set[int] = set()
    if focus is not None:
        protected.update(range(focus.start - 1, focus.end))
    for first, last in finding_rows:
        protected.update(range(first, last + 1))
    for c in candidates:
        rows = range(c.start, c.end + 1)
        if all(r in low or not lines[r].strip() for r in rows):
            protected.update(rows)
    return low - protected


def _marker(focus: LineRange | None) -> Callable[[int], bool]:
    """Whether a 0-based row is in the selection (marked ``>``)."""
    if focus is None:
        return lambda _row: False
    return lambda row: focus.start <= row + 1 <= focus.end


def _names_in_rows(lines: list[str], chosen: list[_Candidate]) -> set[str]:
    """Identifiers written on the chosen lines (not after a dot, not in comments)."""
    names: set[str] = set()
    for row in _covered(chosen):
        names.update(_IDENT.findall(lines[row].split("#", 1)[0]))
    return names


# --- candidates ---------------------------------------------------------------------------------


class _Selector:
    def __init__(self, analysis: Any, lines: list[str], focus: LineRange | None, question: str) -> None:
        self.analysis = analysis
        self.model = analysis.model
        self.source = analysis.source
        self.lines = lines
        self.focus = focus
        self.question = question
        self.out: list[_Candidate] = []
        self.n_lines = len(lines)
        self.outer_loop: Node | None = None  # the loop around an enclosing inner loop
        self.focus_codes: set[str] = set()  # codes of the findings in the selection
        self.region_rows: range = range(0)  # the selection's enclosing function or loop, else the selection

    def add(self, start: int, end: int, score: float, reason: str) -> None:
        start = max(0, start)
        end = min(self.n_lines - 1, end)
        if end >= start:
            self.out.append(_Candidate(start, end, score, reason))

    def add_node(self, node: Node, score: float, reason: str) -> None:
        node = _with_decorators(node)
        self.add(node.start_point[0], _end_row(node), score, reason)

    def add_header(self, node: Node, score: float, reason: str) -> None:
        """A definition's or compound statement's first lines, up to the start of its body."""
        outer = _with_decorators(node)
        body = node.child_by_field_name("body")
        end = body.start_point[0] - 1 if body is not None and body.start_point[0] > node.start_point[0] else node.start_point[0]
        self.add(outer.start_point[0], end, score, reason)

    def candidates(self) -> list[_Candidate]:
        model = self.model
        focus = self.focus
        region_nodes: list[Node] = []
        # Findings first: their codes say what else the question needs.
        findings = []
        for finding in getattr(self.analysis, "findings", []):
            first = self.source.line_of(finding.span.start)
            last = self.source.line_of(max(finding.span.start, finding.span.end - 1))
            findings.append((finding, first, last))
            if focus is not None and first + 1 <= focus.end and focus.start <= last + 1:
                self.focus_codes.add(finding.code)
        wants_train = bool(_TRAIN_WORDS.search(self.question))
        wants_eval = bool(_EVAL_WORDS.search(self.question)) or bool(self.focus_codes & _EVAL_RULES)
        wants_data = bool(_DATA_WORDS.search(self.question))
        self.asked_model = focus is None or bool(_MODEL_WORDS.search(self.question))
        self.wants_model = self.asked_model or bool(self.focus_codes & _MODEL_RULES)
        self.wants_layers = focus is None or bool(_LAYER_WORDS.search(self.question))
        self.wants_forward = self.wants_model
        if focus is not None:
            f0, f1 = focus.start - 1, focus.end - 1
            self.add(f0, f1, 100, "selected lines")
            region = self._region(f0, f1)
            self.region_rows = range(f0, f1 + 1)
            if region is not None:
                self.add_node(region[0], 90, region[1])
                region_nodes.append(region[0])
                self.region_rows = range(min(f0, region[0].start_point[0]), max(f1, _end_row(region[0])) + 1)
            else:
                self.add(f0 - 3, f1 + 3, 90, "around the selection")
        # Whether an evaluation pass is right depends on what the model returns (logits or
        # probabilities): selecting one brings the forward pass in, below the direct references.
        self.eval_selected = any(
            _overlaps(p.node, n) or _contains(n, p.node) for p in getattr(model, "eval_passes", []) for n in region_nodes
        )
        self.wants_forward = self.wants_model or self.eval_selected
        for finding, first, last in findings:
            score = self._finding_score(first, last, region_nodes)
            self.add(first, last, score, f"{finding.code} finding")
            for related in getattr(finding, "related", ()):
                r_line = self.source.line_of(related.span.start)
                # What a finding in the selection names is must-include; for other findings, secondary.
                related_score = score - 5 if score >= 95 or focus is None else min(score - 5, 58)
                self.add(r_line, self.source.line_of(max(related.span.start, related.span.end - 1)), related_score, f"related to {finding.code}")
        # Definitions of what the selected lines use, then of what the rest of their function or
        # loop uses, then (whole-file questions only) one level down.
        focus_names: set[str] = set()
        focus_statements = self._focus_statements()
        for node in focus_statements:
            focus_names |= _names_in(node)
        # What the selected values are computed from, inside the enclosing function or loop:
        # `train_set` -> `train_tf` -> `build_transforms`.
        flow_names = self._local_dataflow(focus_names, region_nodes) - focus_names
        region_names: set[str] = set()
        for node in region_nodes:
            region_names |= _names_in(node)
        if self.outer_loop is not None:
            region_names |= _names_in(self.outer_loop)
        region_names -= focus_names
        used_names = focus_names | region_names
        focus_nodes = region_nodes or self._focus_statements()
        region_names -= flow_names
        definition_nodes = self._add_definitions(focus_names, base_score=72, exclude=focus_nodes)
        definition_nodes += self._add_definitions(flow_names, base_score=66, exclude=focus_nodes)
        definition_nodes += self._add_definitions(region_names, base_score=60, exclude=focus_nodes)
        if focus is None:
            second: set[str] = set()
            for node in definition_nodes:
                second |= _names_in(node)
            self._add_definitions(second - used_names, base_score=50, exclude=focus_nodes)
        if self.outer_loop is not None:
            self._add_outer_loop(self.outer_loop, region_nodes)
        for node in region_nodes:
            self._add_call_sites(node)
        self._add_sibling_calls(focus_statements, 64 if wants_eval else 56)
        # Training loops and evaluation passes: those that share entities with the selection matter,
        # unless the selection already sits in one of the same kind (or calls into it).
        entity_names = {name for name in used_names if model.entities.get(name)}
        in_training = any(_overlaps(loop.node, n) for loop in getattr(model, "training_loops", []) for n in region_nodes)
        in_eval = any(_overlaps(p.node, n) for p in getattr(model, "eval_passes", []) for n in region_nodes)
        for loop in getattr(model, "training_loops", []):
            node = self._loop_context_node(loop.node, loop.function)
            if focus is None:
                score = 70.0
            elif in_training or in_eval:
                score = 40
            else:
                shares = bool(entity_names & _names_in(node))
                score = (56 if shares else 40) + (8 if wants_train else 0)
            self.add_node(node, score, "training loop")
        for eval_pass in getattr(model, "eval_passes", []):
            node = self._loop_context_node(eval_pass.node, eval_pass.function)
            if focus is None:
                score = 64.0
            elif in_eval or not wants_eval:
                score = 40
            else:
                shares = bool(entity_names & _names_in(node))
                score = 58 if shares else 46
            self.add_node(node, score, "evaluation pass")
        if focus is None or wants_data:
            for name, entities in model.entities.items():
                for entity in entities:
                    if entity.kind in ("loader", "sklearn_transformer", "resampler"):
                        self.add_node(_statement(entity.assignment), 48 if focus is None else 45, f"{entity.kind} `{name}`")
        if focus is None:
            for info in model.classes.values():
                if info.is_model:
                    self._add_class(info, 68)
        return self.out

    def import_candidates(self, names: set[str]) -> list[_Candidate]:
        """The import lines binding any of ``names`` (one candidate per statement)."""
        by_node: dict[int, tuple[Node, set[str]]] = {}
        for record in self.model.imports.records:
            local = (record.local_name or "").split(".")[0]
            if local and local in names:
                stmt = _statement(record.node)
                by_node.setdefault(stmt.id, (stmt, set()))[1].add(local)
        out = []
        for stmt, bound in by_node.values():
            out.append(_Candidate(stmt.start_point[0], _end_row(stmt), _IMPORT_SCORE, "imports", frozenset(bound)))
        return out

    def _finding_score(self, first: int, last: int, region_nodes: list[Node]) -> float:
        if self.focus is None:
            return 80
        f0, f1 = self.focus.start - 1, self.focus.end - 1
        if first <= f1 and f0 <= last:
            return 95
        if any(n.start_point[0] <= first and last <= _end_row(n) for n in region_nodes):
            return 85
        distance = min(abs(first - f1), abs(f0 - last))
        if distance <= 10:
            return 55
        return 30

    def _anchor(self) -> Node | None:
        """A node at the selection, to resolve names to the binding in scope there."""
        if self.focus is None:
            return None
        offset = self.source.line_start(self.focus.start - 1)
        return self.analysis.tree.root_node.descendant_for_byte_range(offset, offset)

    def _focus_statements(self) -> list[Node]:
        """The statements that overlap the selected lines (not their whole enclosing block)."""
        if self.focus is None:
            return []
        f0, f1 = self.focus.start - 1, self.focus.end - 1
        line = self.source.line_bytes(f0)
        start = self.source.line_start(f0) + len(line) - len(line.lstrip())
        end = max(start, self.source.line_end(f1) - 1)
        node = self.analysis.tree.root_node.descendant_for_byte_range(start, end)
        if node is None:
            return []
        # Grow to the enclosing simple statement, but not to a compound statement bigger than the selection.
        while node.parent is not None and node.parent.type not in ("block", "module"):
            parent = node.parent
            if (parent.start_point[0] < f0 or _end_row(parent) > f1) and parent.type in _COMPOUND:
                break
            node = parent
        return _parts_within(node, f0, f1)

    def _region(self, f0: int, f1: int) -> tuple[Node, str] | None:
        """What encloses the selection: its function when short, else its innermost loop, else the
        top-level statement; ``None`` when all are too long (a window is used instead)."""
        root = self.analysis.tree.root_node
        start = self.source.line_start(f0)
        # Skip leading indentation so that the smallest node is the statement, not the block.
        line_text = self.source.line_bytes(f0)
        start += len(line_text) - len(line_text.lstrip())
        end = max(start, self.source.line_end(f1) - 1)
        node = root.descendant_for_byte_range(start, end)
        if node is None:
            return None
        function = None
        loops: list[Node] = []  # innermost first, inside the function
        statement = None
        current: Node | None = node
        while current is not None and current.type != "module":
            if current.type == "function_definition" and function is None:
                function = current
            if current.type in ("for_statement", "while_statement") and function is None:
                loops.append(current)
            if current.parent is not None and current.parent.type == "module":
                statement = current
            current = current.parent
        if function is not None and _rows(function) <= _FUNCTION_ROWS:
            return function, f"enclosing function `{_function_name(function)}`"
        for i, loop in enumerate(loops):
            # The innermost loop that holds the selection (the selected loop itself included).
            if _rows(loop) <= _LOOP_ROWS and loop.start_point[0] <= f0 and f1 <= _end_row(loop):
                if function is not None:
                    # The signature says where the loop lives and what it receives.
                    self.add_header(function, MUST_SCORE, f"function `{_function_name(function)}`")
                if i + 1 < len(loops):
                    self.outer_loop = loops[i + 1]
                return loop, "enclosing loop"
        if function is not None:
            return None  # a long function with no short loop: keep a window around the selection
        if statement is not None and _rows(statement) <= _LOOP_ROWS:
            return statement, "enclosing statement"
        return None

    def _add_outer_loop(self, outer: Node, region_nodes: list[Node]) -> None:
        """The epoch loop around the selected inner loop: its header and its own short statements
        (switching modes, evaluating, saving), not its other nested blocks."""
        self.add_header(outer, 70, "enclosing loop")
        body = outer.child_by_field_name("body")
        for stmt in body.named_children if body is not None else []:
            if any(_contains(stmt, n) for n in region_nodes) or stmt.type == "comment":
                continue
            if _rows(stmt) <= 6:
                self.add_node(stmt, 64, "enclosing loop")
            else:
                self.add_header(stmt, 60, "enclosing loop")

    def _add_call_sites(self, node: Node) -> None:
        """Where a selected function or class is called: the arguments it gets, and the loop around."""
        if node.type == "decorated_definition":
            node = node.child_by_field_name("definition") or node
        if node.type not in ("function_definition", "class_definition"):
            return
        name = _function_name(node).encode()
        if not name:
            return
        sites = 0
        for call in self.model.calls:
            callee = call.child_by_field_name("function")
            if callee is None or callee.type != "identifier" or callee.text != name or _contains(node, call):
                continue
            stmt = _statement(call)
            # Where a class is built says which hyperparameters it gets: it matters as much as
            # its layers to a question about the architecture.
            is_class_question = node.type == "class_definition" and self.wants_layers
            self.add_node(stmt, UNCAPPED_SCORE + 2 if is_class_question else 60, "call site" if not is_class_question else "instantiated")
            self._add_result_uses(stmt)
            self._add_loader_constructions(stmt, 58)
            loop = _enclosing_loop(call)
            if loop is not None:
                self.add_header(loop, 50, "loop around the call")
            sites += 1
            if sites >= _MAX_CALL_SITES:
                break

    def _local_dataflow(self, names: set[str], region_nodes: list[Node], depth: int = 2) -> set[str]:
        """Names read by the assignments, inside the region and before the selection, of ``names``
        (and of what those read, ``depth`` levels)."""
        if self.focus is None or not region_nodes:
            return set()
        f1 = self.focus.end - 1
        seen = set(names)
        frontier = set(names)
        for _ in range(depth):
            found: set[str] = set()
            for name in frontier:
                for assign in self.model.assignments.get(name, []):
                    stmt = _statement(assign)
                    if stmt.start_point[0] <= f1 and any(_contains(r, stmt) for r in region_nodes):
                        found |= _names_in(stmt)
            frontier = found - seen
            seen |= found
        return seen

    def _add_sibling_calls(self, focus_statements: list[Node], score: float) -> None:
        """Other calls, in the same function, of the same-file functions the selection calls:
        `evaluate(model, test_loader)` selected, `evaluate(model, valid_loader)` further down."""
        callees: set[bytes] = set()
        for stmt in focus_statements:
            for call in self.model.calls_in(stmt):
                callee = call.child_by_field_name("function")
                if callee is not None and callee.type == "identifier" and callee.text and callee.text.decode() in self.model.functions:
                    callees.add(callee.text)
        if not callees or not focus_statements:
            return
        scope = _enclosing_function(focus_statements[0])
        if scope is None:
            return
        for call in self.model.calls_in(scope):
            callee = call.child_by_field_name("function")
            if callee is not None and callee.type == "identifier" and callee.text in callees:
                if not any(_contains(stmt, call) for stmt in focus_statements):
                    self.add_node(_statement(call), score, f"also calls `{callee.text.decode()}`")
                    self._add_loader_constructions(_statement(call), score)

    def _add_result_uses(self, stmt: Node) -> None:
        """The next statements that use what ``stmt`` assigns (where a call's result goes)."""
        if stmt.type != "expression_statement" or not stmt.named_children or stmt.named_children[0].type != "assignment":
            return
        left = stmt.named_children[0].child_by_field_name("left")
        targets = _names_in(left) if left is not None else set()
        added = 0
        sibling = stmt.next_named_sibling
        for _ in range(4):
            if sibling is None or added >= 2:
                break
            if sibling.type != "comment" and targets & _names_in(sibling):
                self.add_node(sibling, 58, "uses the result")
                added += 1
            sibling = sibling.next_named_sibling

    def _loop_context_node(self, node: Node, function: Any) -> Node:
        """A loop's function when small enough, else the loop itself."""
        if function is not None and _rows(function.node) <= 40:
            return function.node
        return node

    def _add_definitions(self, names: Iterable[str], base_score: float, exclude: list[Node]) -> list[Node]:
        model = self.model
        added: list[Node] = []
        at = self._anchor()
        for name in sorted(names):
            found = model.entity(name, at) if at is not None else None
            for entity in [found] if found is not None else model.entities.get(name, [])[-1:]:
                stmt = _statement(entity.assignment)
                if any(_contains(x, stmt) for x in exclude):
                    continue
                bonus = 3 if entity.kind in ("model", "optimizer", "loss", "scheduler", "loader", "scaler") else 0
                if entity.kind == "loader" and not self._iterates(name):
                    bonus = -4  # only passed on (to an evaluation, say): its name says most of it
                self._add_construction(stmt, base_score + bonus, f"{entity.kind} `{name}`")
                added.append(stmt)
                qual = entity.qualname or ""
                local_class = model.classes.get(qual) or model.classes.get(qual.rsplit(".", 1)[-1])
                if local_class is not None:
                    added += self._add_class(local_class, base_score + 4)
            if not model.entities.get(name) and kind_from_name(name) is not None:
                # `scheduler = make_scheduler(...)`: named like an ML object, built by a helper.
                for assign in model.assignments.get(name, [])[-1:]:
                    stmt = _statement(assign)
                    if not any(_contains(x, stmt) for x in exclude):
                        self.add_node(stmt, base_score, f"{kind_from_name(name)} `{name}`")
                        added.append(stmt)
            info = model.functions.get(name)
            if info is not None and not any(_contains(x, info.node) for x in exclude):
                # First what the helper is and does to the model (signature, mode and grad
                # switches, what it returns), then its whole body when short.
                self._add_digest(info.node, base_score - 2, f"function `{name}`")
                if _rows(info.node) <= _HELPER_ROWS:
                    self.add_node(info.node, base_score - 10, f"function `{name}`")
                    added.append(info.node)
            cls = model.classes.get(name)
            if cls is not None and not any(_contains(x, cls.node) for x in exclude):
                # Model classes matter most; other classes (configs, meters) less.
                added += self._add_class(cls, base_score + 2 if cls.is_model else base_score - 28)
        return added

    def _iterates(self, name: str) -> bool:
        """Whether a ``for`` header in the selection or its region iterates ``name``."""
        pattern = re.compile(rf"^\s*(async\s+)?for\b.*\bin\b.*\b{re.escape(name)}\b")
        return any(pattern.match(self.lines[row]) for row in self.region_rows)

    def _add_construction(self, stmt: Node, score: float, reason: str) -> None:
        """A construction statement; when longer than ``_BRIEF_ROWS`` lines, its first line and the
        lines setting what decides training (``lr=``, ``shuffle=``, ...) at ``score``, and the whole
        statement lower (under the large-file share)."""
        if _rows(stmt) <= _BRIEF_ROWS:
            self.add_node(stmt, score, reason)
            return
        first = stmt.start_point[0]
        self.add(first, first, score, reason)
        for row in range(first + 1, _end_row(stmt) + 1):
            if _DECISIVE_KWARG.match(self.lines[row]):
                self.add(row, row, score, reason)
        self.add_node(stmt, min(score, UNCAPPED_SCORE) - 4, reason)

    def _add_signature_and_return(self, function: Node, score: float, reason: str) -> None:
        self.add_header(function, score, reason)
        body = function.child_by_field_name("body")
        returns = [c for c in body.named_children if c.type == "return_statement"] if body is not None else []
        if returns and _rows(returns[-1]) <= 2:
            self.add_node(returns[-1], score, reason)

    def _add_digest(self, function: Node, score: float, reason: str) -> None:
        """A function in brief: its decorators and signature, the statements that switch the
        model's mode or gradient tracking (``model.eval()``, ``with torch.no_grad():``), and its
        last ``return`` when short. Separate lines; the layout joins them with ``...``."""
        body = function.child_by_field_name("body")
        first, last = (body.start_point[0], _end_row(body)) if body is not None else (1, 0)
        decisive = [row for row in range(first, last + 1) if _DECISIVE.search(self.lines[row].split("#", 1)[0])]
        # A helper that switches nothing is known well enough by its call: its signature ranks lower.
        if not decisive:
            score -= 6
        self.add_header(function, score, reason)
        for row in decisive:
            self.add(row, row, score, reason)
        returns = [c for c in body.named_children if c.type == "return_statement"] if body is not None else []
        if returns and _rows(returns[-1]) <= 2:
            self.add_node(returns[-1], score - 1, reason)

    def _add_loader_constructions(self, stmt: Node, score: float) -> None:
        """The construction of each loader ``stmt`` iterates or passes: its first line (the
        dataset and, usually, the batch size), and the whole statement lower."""
        at = self._anchor()
        for name in sorted(_names_in(stmt)):
            entity = self.model.entity(name, at) if at is not None else None
            for found in [entity] if entity is not None else self.model.entities.get(name, [])[-1:]:
                if found.kind != "loader":
                    continue
                construction = _statement(found.assignment)
                if _contains(construction, stmt):
                    continue
                self.add(construction.start_point[0], construction.start_point[0], score, f"loader `{name}`")
                if _rows(construction) <= 8:
                    self.add_node(construction, score - 8, f"loader `{name}`")

    def _add_class(self, info: Any, score: float) -> list[Node]:
        """A class's header line; for a model class, with ``forward`` and ``__init__`` when the
        question is about what the model computes, else the header only."""
        node = info.node
        label = f"class `{info.name}`"
        if not info.is_model:
            if _rows(node) <= 15:
                self.add_node(node, score, label)
                return [node]
            self.add_header(node, score, label)
            return []
        self.add(_with_decorators(node).start_point[0], node.start_point[0], score, label)
        if not self.wants_forward:
            return []
        parts = []
        # The layers (`__init__`) matter most to architecture questions; forward to any question
        # about outputs or losses, and (lower) to the review of an evaluation pass.
        init_minus = 6 if self.wants_layers else 12
        for method_name, minus in (("forward", 2), ("call", 2), ("__call__", 2), ("__init__", init_minus),
                                   ("training_step", 10), ("validation_step", 12)):
            method = info.methods.get(method_name)
            if method is None or not (self.wants_model or method_name in ("forward", "call", "__call__")):
                continue
            method_label = f"{info.name}.{method_name}"
            if self.asked_model:
                self.add_node(method.node, score - minus, method_label)
            else:
                # Only a finding (or a selected evaluation pass) is about what the model returns:
                # its signature and last ``return`` first, the whole method under the share.
                if method_name in ("forward", "call", "__call__"):
                    self._add_signature_and_return(method.node, score - minus, method_label)
                self.add_node(method.node, min(score - minus, UNCAPPED_SCORE - 4), method_label)
            parts.append(method.node)
        return parts


# --- fitting to the budget ----------------------------------------------------------------------


def _fit(
    candidates: list[_Candidate],
    line_costs: list[int],
    budget_tokens: int,
    focus: LineRange | None,
    n_lines: int,
    limit_tokens: int | None = None,
    overhead: int = _SNIPPET_OVERHEAD_CHARS,
) -> tuple[list[_Candidate], bool]:
    """Best first: must-include candidates while the absolute budget allows, the others while
    ``limit_tokens`` (the budget, or the relative cap of a large file) allows."""
    budget_chars = budget_tokens * CHARS_PER_TOKEN
    limit_chars = min(budget_chars, limit_tokens * CHARS_PER_TOKEN) if limit_tokens is not None else budget_chars
    chosen: list[_Candidate] = []
    covered: set[int] = set()
    used = 0.0
    truncated = False
    # Highest score first; among equals, the smaller snippet first.
    for cand in sorted(candidates, key=lambda c: (-c.score, c.end - c.start)):
        new_lines = [i for i in range(cand.start, cand.end + 1) if i not in covered]
        if not new_lines:
            chosen.append(cand)  # adds its reason to a snippet already there
            continue
        cost = _cost(new_lines, line_costs, covered, overhead)
        ceiling = budget_chars if cand.score >= UNCAPPED_SCORE else limit_chars
        if used + cost > ceiling:
            if cand.score >= 100 and not chosen:
                # The selection alone is over budget: keep its first part.
                cand = _cut_to(cand, line_costs, budget_chars - overhead)
                truncated = True
                new_lines = list(range(cand.start, cand.end + 1))
                cost = sum(line_costs[i] for i in new_lines) + overhead
            elif cand.score >= 90 and focus is not None:
                # The enclosing function/loop is too long: a window around the selection instead.
                window = _window(cand, focus, line_costs, max(limit_chars, budget_chars * 0.25) - used - overhead, covered)
                if window is None:
                    continue
                cand = window
                new_lines = [i for i in range(cand.start, cand.end + 1) if i not in covered]
                cost = _cost(new_lines, line_costs, covered, overhead)
            else:
                continue
        chosen.append(cand)
        covered.update(new_lines)
        used += cost
    return chosen, truncated


def _cost(new_lines: list[int], line_costs: list[int], covered: set[int], overhead: int) -> float:
    """Characters added by ``new_lines``: the lines, plus a snippet header unless they are near
    lines already chosen (they then join that snippet, after a ``...`` line when not adjacent)."""
    lo, hi = new_lines[0], new_lines[-1]
    if any(i in covered for i in range(lo - _MERGE_GAP - 1, hi + _MERGE_GAP + 2)):
        extra = 0
    elif any(i in covered for i in range(lo - JOIN_GAP - 1, hi + JOIN_GAP + 2)):
        extra = MARKER_CHARS
    else:
        extra = overhead
    return sum(line_costs[i] for i in new_lines) + extra


def _cut_to(cand: _Candidate, line_costs: list[int], budget_chars: float) -> _Candidate:
    end = cand.start
    total = 0
    while end <= cand.end and total + line_costs[end] <= budget_chars:
        total += line_costs[end]
        end += 1
    return _Candidate(cand.start, max(cand.start, end - 1), cand.score, cand.reason + " (cut to the budget)")


def _window(
    cand: _Candidate, focus: LineRange, line_costs: list[int], budget_chars: float, covered: set[int]
) -> _Candidate | None:
    """Grow a window from the selection outwards inside ``cand`` while it fits."""
    lo, hi = focus.start - 1, focus.end - 1
    total = 0.0
    grew = True
    while grew:
        grew = False
        for nxt in (hi + 1, lo - 1):
            if cand.start <= nxt <= cand.end:
                cost = 0 if nxt in covered else line_costs[nxt]
                if total + cost <= budget_chars * 0.5:
                    total += cost
                    if nxt > hi:
                        hi = nxt
                    else:
                        lo = nxt
                    grew = True
    if lo == focus.start - 1 and hi == focus.end - 1:
        return None
    return _Candidate(lo, hi, cand.score, cand.reason + " (part)")


def _covered(chosen: list[_Candidate]) -> set[int]:
    lines: set[int] = set()
    for c in chosen:
        lines.update(range(c.start, c.end + 1))
    return lines


def _render(
    chosen: list[_Candidate], lines: list[str], focus: LineRange | None, path: str, elided: AbstractSet[int] = frozenset()
) -> list[Snippet]:
    """Lay the chosen rows out as snippets in file order (nearby ranges share one, with ``...``
    for the lines between), number their lines and label each with its best reasons."""
    shown = _covered(chosen) - elided
    snippets = []
    marked = _marker(focus)
    for start, end, parts in layout(shown, lines, elided):
        ordered: list[str] = []
        # What the code is (selected, enclosing, a definition) first; finding reasons repeat the
        # findings block and come last.
        for cand in sorted(chosen, key=lambda c: (c.reason.endswith(" finding") or c.reason.startswith("related to "), -c.score)):
            if cand.start <= end and start <= cand.end and any(r in shown for r in range(cand.start, cand.end + 1)):
                if cand.reason not in ordered:
                    ordered.append(cand.reason)
        snippets.append(
            Snippet(
                path, start + 1, end + 1, tuple(ordered[:_MAX_REASONS]), number(lines, parts, marked),
                tuple((a + 1, b + 1) for a, b in parts) if len(parts) > 1 else (),
            )
        )
    return snippets


# --- tree helpers -------------------------------------------------------------------------------------


def _names_in(node: Node) -> set[str]:
    """Names read under ``node``: identifiers and ``self.x`` chains (not attribute or keyword names)."""
    names: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        kind = current.type
        if kind == "identifier":
            if current.text:
                names.add(current.text.decode())
            continue
        if kind in ("string", "comment"):
            continue
        if kind == "attribute":
            obj = current.child_by_field_name("object")
            if obj is not None and obj.type == "identifier" and obj.text in (b"self", b"cls") and current.text:
                names.add(current.text.decode())
            if obj is not None:
                stack.append(obj)  # `x.attr`: `attr` is not a name in scope
            continue
        if kind == "keyword_argument":
            value = current.child_by_field_name("value")
            if value is not None:
                stack.append(value)
            continue
        stack.extend(current.named_children)
    return names


def _parts_within(node: Node, f0: int, f1: int) -> list[Node]:
    """The largest sub-nodes of ``node`` that lie within rows f0..f1 (a partly selected block)."""
    if f0 <= node.start_point[0] and _end_row(node) <= f1:
        return [node]
    parts: list[Node] = []
    for child in node.named_children:
        if child.start_point[0] > f1 or _end_row(child) < f0:
            continue
        parts += _parts_within(child, f0, f1)
    return parts


def _function_name(node: Node) -> str:
    name = node.child_by_field_name("name")
    return name.text.decode() if name is not None and name.text else ""


def _overlaps(a: Node, b: Node) -> bool:
    return a.start_byte < b.end_byte and b.start_byte < a.end_byte


def _statement(node: Node) -> Node:
    current = node
    while current.parent is not None and current.parent.type not in ("block", "module"):
        current = current.parent
    return current


def _with_decorators(node: Node) -> Node:
    parent = node.parent
    if parent is not None and parent.type == "decorated_definition":
        return parent
    return node


def _contains(outer: Node, inner: Node) -> bool:
    return outer.start_byte <= inner.start_byte and inner.end_byte <= outer.end_byte


def _end_row(node: Node) -> int:
    row = int(node.end_point[0])
    # A node ending at column 0 ends on the previous line (its trailing newline).
    if node.end_point[1] == 0 and row > node.start_point[0]:
        row -= 1
    return row


def _rows(node: Node) -> int:
    return _end_row(node) - int(node.start_point[0]) + 1


def _enclosing_loop(node: Node) -> Node | None:
    """The nearest ``for``/``while`` around ``node`` within its function."""
    current = node.parent
    while current is not None and current.type not in ("function_definition", "class_definition", "module"):
        if current.type in ("for_statement", "while_statement"):
            return current
        current = current.parent
    return None


def _enclosing_function(node: Node) -> Node | None:
    current = node.parent
    while current is not None and current.type != "function_definition":
        current = current.parent
    return current

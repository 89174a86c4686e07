"""Context selection: the few snippets of a file an ML engineer would read to answer a question.

Given the analysis of a file and a selected line range, candidates are, by decreasing weight:

1. the selected lines and what encloses them (the function, else the outermost loop, else the
   statement), cut around the selection when too long;
2. findings in and around the selection (with their related locations);
3. the definitions of what the selected code uses: the model class (``__init__`` and ``forward``),
   the optimizer / loss / scheduler / loader / scaler constructions, same-file helpers, the
   imports of the names used;
4. the training loop and evaluation pass that involve the same entities;
5. other findings, other training loops and evaluation passes.

Candidates are added best first while the estimated token count stays under the budget, merged
when they touch, and rendered in file order with every line prefixed by its 1-based number (lines
of the selection are marked with ``>``). Small files (under the budget) are sent whole. Secrets are
redacted before anything is rendered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tree_sitter import Node

from ..analysis.findings import Finding
from ..analysis.model import kind_from_name
from ..analysis.secrets import Redaction
from .redaction import RedactedSource, redact_source
from .tokens import estimate_chars, estimate_tokens

_COMPOUND = frozenset(
    {"function_definition", "class_definition", "decorated_definition", "for_statement", "while_statement",
     "if_statement", "with_statement", "try_statement", "module"}
)
_FUNCTION_ROWS = 40  # an enclosing function up to this long is sent whole
_LOOP_ROWS = 60  # else its innermost loop up to this long
_LINE_PREFIX_CHARS = 6  # "1234 > |" style prefix added to every line
_SNIPPET_OVERHEAD_CHARS = 50  # header line and code fence of each snippet
_MAX_DOCS_CHARS = 500
_MAX_OTHER_MESSAGE_CHARS = 160  # findings outside the selection: a shortened message, no docs
#: Files under this many estimated tokens (and under the budget) are sent whole: at that size the
#: whole file costs little and every definition is in view.
SMALL_FILE_TOKENS = 2000
#: With a selection, candidates scoring below this are not relevant enough to send (unrelated
#: training loops, far-away findings), even when the budget would allow them.
MIN_SCORE_WITH_FOCUS = 45  # rule documentation excerpt per finding
_TRAIN_WORDS = re.compile(r"\b(train\w*|loss|optimi[sz]\w*|lr|learning|gradient\w*|backward|step|epoch\w*|converg\w*|diverg\w*|nan|explod\w*)\b", re.I)
_EVAL_WORDS = re.compile(r"\b(eval\w*|valid\w*|test\w*|accura\w*|metric\w*|overfit\w*|generali[sz]\w*|inference|predict\w*|score)\b", re.I)
_DATA_WORDS = re.compile(r"\b(data\w*|split\w*|leak\w*|loader\w*|batch\w*|shuffl\w*|preprocess\w*|scal\w*|feature\w*)\b", re.I)


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

    def render(self) -> str:
        label = "; ".join(self.reasons)
        return f"### {self.path}:{self.start}-{self.end} ({label})\n```python\n{self.text}\n```"


@dataclass(frozen=True)
class FindingNote:
    """A finding of the static analyzer, as shown to the agent."""

    code: str
    name: str
    severity: str
    line: int
    end_line: int
    message: str
    docs: str  # excerpt of the rule documentation
    fix_title: str | None
    in_focus: bool

    def render(self) -> str:
        where = f"line {self.line}" if self.line == self.end_line else f"lines {self.line}-{self.end_line}"
        out = f"- {self.code} {self.name} ({self.severity}) at {where}: {self.message}"
        if self.fix_title:
            out += f" Suggested fix: {self.fix_title}."
        if self.docs:
            out += "\n  " + self.docs.replace("\n", "\n  ")
        return out


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

    def line_ranges(self) -> list[tuple[int, int]]:
        return [(s.start, s.end) for s in self.snippets]

    def covers(self, line: int) -> bool:
        return any(s.start <= line <= s.end for s in self.snippets)


@dataclass
class _Candidate:
    start: int  # 0-based, inclusive
    end: int
    score: float
    reason: str


def select_context(
    analysis: Any,
    focus: LineRange | None,
    question: str = "",
    budget_tokens: int = 6000,
    path: str | None = None,
    redacted: RedactedSource | None = None,
    small_file_tokens: int = SMALL_FILE_TOKENS,
) -> ContextBundle:
    """Choose, rank and cut the snippets sent for ``question`` about ``focus`` in ``analysis``.

    ``analysis`` is an :class:`ml_engineer.analysis.engine.AnalysisResult`. Files whose numbered
    text is under ``min(small_file_tokens, budget_tokens)`` are sent whole; for larger files only
    candidates relevant to the selection (score >= ``MIN_SCORE_WITH_FOCUS``) are sent, so the
    budget is a ceiling, not a target.
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

    if whole_file_tokens <= min(small_file_tokens, budget_tokens * 0.9) or n_lines <= 1:
        notes = [_note(f, finding_lines(f), focus, source) for f in findings]
        notes_tokens = sum(estimate_tokens(n.render()) for n in notes)
        # Drop rule docs first, then far findings, if the findings do not fit next to the file.
        if whole_file_tokens + notes_tokens > budget_tokens:
            notes = [_without_docs(n) if not n.in_focus else n for n in notes]
        snippet = Snippet(display_path, 1, n_lines, ("whole file",), _number(lines, 0, n_lines - 1, focus))
        code_tokens = estimate_tokens(snippet.render())
        tokens = code_tokens + sum(estimate_tokens(n.render()) for n in notes)
        return ContextBundle(
            display_path, focus, [snippet], notes, list(redacted.redactions), True, tokens, whole_file_tokens,
            budget_tokens, line_count=n_lines, code_tokens=code_tokens,
        )

    selector = _Selector(analysis, lines, focus, question)
    candidates = selector.candidates()
    if focus is not None:
        candidates = [c for c in candidates if c.score >= MIN_SCORE_WITH_FOCUS]
    chosen, truncated = _fit(candidates, line_costs, budget_tokens, focus, n_lines)
    # Findings whose lines were selected, with docs while they fit.
    chosen_lines = _covered(chosen)
    selected_notes: list[FindingNote] = []
    for f in findings:
        first, last = finding_lines(f)
        if any(line in chosen_lines for line in range(first, last + 1)):
            selected_notes.append(_note(f, (first, last), focus, source))
    snippets = _render(chosen, lines, focus, display_path)
    used = code_tokens = sum(estimate_tokens(s.render()) for s in snippets)
    final_notes: list[FindingNote] = []
    for note in sorted(selected_notes, key=lambda n: (not n.in_focus, n.line)):
        cost = estimate_tokens(note.render())
        if used + cost > budget_tokens:
            note = _without_docs(note)
            cost = estimate_tokens(note.render())
        if used + cost <= budget_tokens or note.in_focus:
            final_notes.append(note)
            used += cost
    final_notes.sort(key=lambda n: n.line)
    sent_redactions = [r for r in redacted.redactions if any(s.start <= r.line <= s.end for s in snippets)]
    return ContextBundle(
        display_path, focus, snippets, final_notes, sent_redactions, False, used, whole_file_tokens, budget_tokens,
        truncated=truncated, line_count=n_lines, code_tokens=code_tokens,
    )


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

    def add(self, start: int, end: int, score: float, reason: str) -> None:
        start = max(0, start)
        end = min(self.n_lines - 1, end)
        if end >= start:
            self.out.append(_Candidate(start, end, score, reason))

    def add_node(self, node: Node, score: float, reason: str) -> None:
        node = _with_decorators(node)
        self.add(node.start_point[0], _end_row(node), score, reason)

    def candidates(self) -> list[_Candidate]:
        model = self.model
        wants_train = bool(_TRAIN_WORDS.search(self.question))
        wants_eval = bool(_EVAL_WORDS.search(self.question))
        wants_data = bool(_DATA_WORDS.search(self.question))
        region_nodes: list[Node] = []
        if self.focus is not None:
            f0, f1 = self.focus.start - 1, self.focus.end - 1
            self.add(f0, f1, 100, "selected lines")
            region = self._region(f0, f1)
            if region is not None:
                self.add_node(region[0], 90, region[1])
                region_nodes.append(region[0])
            else:
                self.add(f0 - 3, f1 + 3, 90, "around the selection")
        # Findings: in the selection, in its region, nearby, elsewhere.
        for finding in getattr(self.analysis, "findings", []):
            first = self.source.line_of(finding.span.start)
            last = self.source.line_of(max(finding.span.start, finding.span.end - 1))
            score = self._finding_score(first, last, region_nodes)
            self.add(first, last, score, f"{finding.code} finding")
            for related in getattr(finding, "related", ()):
                r_line = self.source.line_of(related.span.start)
                self.add(r_line, self.source.line_of(max(related.span.start, related.span.end - 1)), score - 5, f"related to {finding.code}")
        # Definitions of what the selected lines use, then of what the rest of their function or
        # loop uses (entities and model classes only), then one level down.
        focus_names: set[str] = set()
        for node in self._focus_statements():
            focus_names |= _names_in(node)
        region_names: set[str] = set()
        for node in region_nodes:
            region_names |= _names_in(node)
        region_names -= focus_names
        used_names = focus_names | region_names
        focus_nodes = region_nodes or self._focus_statements()
        definition_nodes = self._add_definitions(focus_names, base_score=72, exclude=focus_nodes)
        definition_nodes += self._add_definitions(region_names, base_score=52, exclude=focus_nodes)
        second: set[str] = set()
        for node in definition_nodes:
            second |= _names_in(node)
        # One level down (what the model class and helpers use) only matters for whole-file questions.
        self._add_definitions(second - used_names, base_score=50 if self.focus is None else 40, exclude=focus_nodes)
        self._add_imports(used_names | second, score=66)
        # Training loops and evaluation passes: those that share entities with the selection matter,
        # unless the selection already sits in one of the same kind.
        entity_names = {name for name in used_names if model.entities.get(name)}
        in_training = any(_overlaps(loop.node, n) for loop in getattr(model, "training_loops", []) for n in region_nodes)
        in_eval = any(_overlaps(p.node, n) for p in getattr(model, "eval_passes", []) for n in region_nodes)
        called = {_function_name(n) for n in region_nodes if n.type == "function_definition"} - {""}
        for loop in getattr(model, "training_loops", []):
            node = self._loop_context_node(loop.node, loop.function)
            if self.focus is None:
                score = 70.0
            elif in_training:
                score = 40
            elif called & _names_in(loop.node):
                score = 62  # the loop calls the selected function
            elif in_eval:
                score = 44
            else:
                shares = bool(entity_names & _names_in(node))
                score = (56 if shares else 40) + (8 if wants_train else 0)
            self.add_node(node, score, "training loop")
        for eval_pass in getattr(model, "eval_passes", []):
            node = self._loop_context_node(eval_pass.node, eval_pass.function)
            if self.focus is None:
                score = 64.0
            elif in_eval:
                score = 40
            else:
                shares = bool(entity_names & _names_in(node))
                score = (44 if shares else 34) + (14 if wants_eval else 0)
            self.add_node(node, score, "evaluation pass")
        if self.focus is None or wants_data:
            for name, entities in model.entities.items():
                for entity in entities:
                    if entity.kind in ("loader", "sklearn_transformer", "resampler"):
                        self.add_node(_statement(entity.assignment), 48 if self.focus is None else 45, f"{entity.kind} `{name}`")
        if self.focus is None:
            for info in model.classes.values():
                if info.is_model:
                    self._add_class(info, 68)
            self._add_imports(set(model.imports.bindings), score=75)
        return self.out

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
        for loop in loops:
            if _rows(loop) <= _LOOP_ROWS and _rows(loop) > f1 - f0 + 1:
                if function is not None:
                    # The signature says where the loop lives and what it receives.
                    body = function.child_by_field_name("body")
                    header_end = body.start_point[0] - 1 if body is not None else function.start_point[0]
                    self.add(function.start_point[0], header_end, 88, f"function `{_function_name(function)}`")
                return loop, "enclosing loop"
        if function is not None:
            return None  # a long function with no short loop: keep a window around the selection
        if statement is not None and _rows(statement) <= _LOOP_ROWS:
            return statement, "enclosing statement"
        return None

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
                self.add_node(stmt, base_score + bonus, f"{entity.kind} `{name}`")
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
                if _rows(info.node) <= 80:
                    self.add_node(info.node, base_score - 10, f"function `{name}`")
                    added.append(info.node)
            cls = model.classes.get(name)
            if cls is not None and not any(_contains(x, cls.node) for x in exclude):
                # Model classes matter most; other classes (configs, meters) less.
                added += self._add_class(cls, base_score + 2 if cls.is_model else base_score - 28)
        return added

    def _add_class(self, info: Any, score: float) -> list[Node]:
        node = info.node
        label = f"class `{info.name}`"
        if _rows(node) <= 60:
            self.add_node(node, score, label)
            return [node]
        # A long class: its header, __init__ and forward (or call/__call__) are what matter.
        self.add(node.start_point[0], node.start_point[0], score, label)
        parts = [node]
        for method_name in ("__init__", "forward", "call", "__call__", "training_step", "validation_step"):
            method = info.methods.get(method_name)
            if method is not None:
                self.add_node(method.node, score - (0 if method_name in ("__init__", "forward", "call") else 6), f"{info.name}.{method_name}")
                parts.append(method.node)
        return parts[1:] or parts

    def _add_imports(self, names: set[str], score: float) -> None:
        roots = {n.split(".")[0] for n in names}
        for record in self.model.imports.records:
            if record.local_name is not None and record.local_name.split(".")[0] in roots:
                self.add_node(_statement(record.node), score, "imports")


# --- fitting to the budget ----------------------------------------------------------------------


def _fit(
    candidates: list[_Candidate], line_costs: list[int], budget_tokens: int, focus: LineRange | None, n_lines: int
) -> tuple[list[_Candidate], bool]:
    budget_chars = budget_tokens * 3.5
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
        cost = sum(line_costs[i] for i in new_lines) + _SNIPPET_OVERHEAD_CHARS
        if used + cost > budget_chars:
            if cand.score >= 100 and not chosen:
                # The selection alone is over budget: keep its first part.
                cand = _cut_to(cand, line_costs, budget_chars - _SNIPPET_OVERHEAD_CHARS)
                truncated = True
                new_lines = list(range(cand.start, cand.end + 1))
                cost = sum(line_costs[i] for i in new_lines) + _SNIPPET_OVERHEAD_CHARS
            elif cand.score >= 90 and focus is not None:
                # The enclosing function/loop is too long: a window around the selection instead.
                window = _window(cand, focus, line_costs, budget_chars - used - _SNIPPET_OVERHEAD_CHARS, covered)
                if window is None:
                    continue
                cand = window
                new_lines = [i for i in range(cand.start, cand.end + 1) if i not in covered]
                cost = sum(line_costs[i] for i in new_lines) + _SNIPPET_OVERHEAD_CHARS
            else:
                continue
        chosen.append(cand)
        covered.update(new_lines)
        used += cost
    return chosen, truncated


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


def _render(chosen: list[_Candidate], lines: list[str], focus: LineRange | None, path: str) -> list[Snippet]:
    """Merge chosen ranges that overlap or nearly touch, in file order, and number their lines."""
    intervals: list[tuple[int, int, list[tuple[float, str]]]] = []
    for c in sorted(chosen, key=lambda c: c.start):
        if intervals and c.start <= intervals[-1][1] + 2:
            start, end, reasons = intervals[-1]
            intervals[-1] = (start, max(end, c.end), [*reasons, (c.score, c.reason)])
        else:
            intervals.append((c.start, c.end, [(c.score, c.reason)]))
    snippets = []
    for start, end, reasons in intervals:
        ordered: list[str] = []
        for _score, reason in sorted(reasons, key=lambda r: -r[0]):
            if reason not in ordered:
                ordered.append(reason)
        snippets.append(Snippet(path, start + 1, end + 1, tuple(ordered[:4]), _number(lines, start, end, focus)))
    return snippets


def _number(lines: list[str], start: int, end: int, focus: LineRange | None) -> str:
    width = len(str(end + 1))
    out = []
    for i in range(start, end + 1):
        if not lines[i].strip() and start < i < end:
            continue  # blank lines carry nothing; the numbers show where they were
        mark = ">" if focus is not None and focus.start <= i + 1 <= focus.end else " "
        out.append(f"{i + 1:>{width}}{mark}| {lines[i]}".rstrip())
    return "\n".join(out)


# --- findings -------------------------------------------------------------------------------------


def _note(finding: Finding, lines: tuple[int, int], focus: LineRange | None, source: Any) -> FindingNote:
    first, last = lines
    in_focus = focus is not None and first + 1 <= focus.end and focus.start <= last + 1
    return FindingNote(
        code=finding.code,
        name=finding.name,
        severity=finding.severity,
        line=first + 1,
        end_line=last + 1,
        message=finding.message if in_focus or focus is None else _shorten(finding.message, _MAX_OTHER_MESSAGE_CHARS),
        docs=rule_docs_excerpt(finding.code) if in_focus else "",
        fix_title=finding.fix.title if finding.fix is not None else None,
        in_focus=in_focus,
    )


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _without_docs(note: FindingNote) -> FindingNote:
    return FindingNote(note.code, note.name, note.severity, note.line, note.end_line, note.message, "", note.fix_title, note.in_focus)


def rule_docs(code: str) -> str:
    """The full markdown documentation of a rule ('' when the rule or registry is unavailable)."""
    try:
        from ..analysis.rules.registry import get_rule
    except ImportError:
        return ""
    rule = get_rule(code)
    if rule is None:
        return ""
    docs = getattr(rule, "docs", "")
    return str(docs() if callable(docs) else docs or "")


def rule_docs_excerpt(code: str, limit: int = _MAX_DOCS_CHARS) -> str:
    """The *Why is this bad?* section of a rule's docs (else its start), compacted."""
    docs = rule_docs(code)
    if not docs:
        return ""
    match = re.search(r"#+\s*Why is this bad\?\s*\n(.*?)(?=\n#+\s|\Z)", docs, re.S | re.I)
    text = match.group(1) if match else docs
    return _shorten(re.sub(r"\s+", " ", text).strip(), limit)


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

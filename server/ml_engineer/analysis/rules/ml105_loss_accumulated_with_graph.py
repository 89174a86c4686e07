"""ML105 loss-accumulated-with-graph."""

from __future__ import annotations

import bisect
import re
import weakref
from collections.abc import Iterator
from functools import lru_cache

from tree_sitter import Node

from ..findings import Finding
from ..model import LoopInfo, SemanticModel, name_tokens, slice_by_start
from ..syntax import (
    call_arguments,
    call_method_name,
    call_receiver,
    dotted_name,
    enclosing_scope,
    string_value,
    text,
    unwrap,
)
from .base import Rule, RuleContext, make_fix, replace_node

_FUNCTIONAL_LOSSES = frozenset(
    {
        "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
        "binary_cross_entropy_with_logits", "kl_div", "cosine_embedding_loss", "margin_ranking_loss",
        "triplet_margin_loss", "ctc_loss", "poisson_nll_loss", "gaussian_nll_loss", "hinge_embedding_loss",
        "multilabel_margin_loss", "soft_margin_loss", "multilabel_soft_margin_loss", "multi_margin_loss",
    }
)
# Tensor methods whose result still carries the autograd graph.
_GRAPH_KEEPING_METHODS = frozenset({"mean", "sum", "float", "double", "squeeze", "view", "reshape", "clone", "mul", "div", "add"})
_DETACHING = frozenset({"item", "detach", "tolist", "numpy", "float", "int", "cpu", "data"})
_MAX_DEPTH = 4
_PLUS_OPERATOR = re.compile(rb"\+(?!=)")  # a `+` that is not the start of `+=`


class LossAccumulatedWithGraph(Rule):
    """## What it does
    Flags a running total or history built from the loss tensor itself inside a training loop:
    `total_loss += loss`, `running = running + loss`, `losses.append(loss)`, where `loss` comes
    from a loss function (or `outputs.loss`) and still has its autograd graph.

    ## Why is this bad?
    A tensor that requires grad remembers how it was computed. Adding it to a running total
    makes the total depend on every step's loss, so the graph of every iteration stays
    reachable and memory grows for the whole epoch (a classic cause of slowly creeping
    out-of-memory errors). Logging only needs the number.

    ## Example
    ```python
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        total_loss += loss
    ```

    ## Use instead
    ```python
        total_loss += loss.item()  # or loss.detach()
    ```
    Summing per-task losses into one tensor that is then backpropagated
    (`total = loss_a + loss_b; total.backward()`) is intended and not flagged, nor is
    accumulation under `torch.no_grad()`.

    ## Fix safety
    The fix appends `.detach()` to the loss in the accumulation: the total keeps its type,
    device and value but no longer references the graph. It is marked unsafe because code
    elsewhere might differentiate through the total on purpose (`torch.autograd.grad`).

    ## References
    - https://pytorch.org/docs/stable/notes/faq.html#my-model-reports-cuda-runtime-error-2-out-of-memory
    - https://pytorch.org/docs/stable/generated/torch.Tensor.detach.html
    """

    code = "ML105"
    name = "loss-accumulated-with-graph"
    severity = "warning"
    summary = "Running loss total built from the loss tensor keeps every step's graph alive"
    fix_availability = "sometimes"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        model = ctx.model
        if not model.calls_named(("backward",)):
            return  # `_in_training_context` needs a backward() somewhere in the file
        for node, accumulator, value in _accumulations(model):
            # Cheapest test first (all are pure).
            if not _in_training_context(model, node, accumulator) or model.grad_mode_at(node) == "no_grad":
                continue
            loss_ref = _loss_reference(model, value, node, 0)
            if loss_ref is None:
                continue
            if _backpropagated(model, node, accumulator):
                continue  # a multi-term loss summed before backward() is intended
            loss_text = text(loss_ref)
            fix = None
            if loss_ref.type in ("identifier", "attribute"):
                fix = make_fix(f"Accumulate `{loss_text}.detach()`", replace_node(loss_ref, f"{loss_text}.detach()"), safe=False)
            yield self.finding(
                node,
                f"`{loss_text}` accumulated into `{accumulator}` keeps the autograd graph of every step alive; "
                f"use `{loss_text}.item()` (or `.detach()`)",
                fix=fix,
            )


def _accumulations(model: SemanticModel) -> Iterator[tuple[Node, str, Node]]:
    """(statement or call, accumulator text, accumulated expression), where a training context is possible.

    Candidates are tested against `_may_train_at` before their parts are read from the tree: most
    totals (`correct += ...` in an evaluation loop) fail it, and `check` needs it anyway.
    """
    # The operator token lies inside the statement: a statement without its bytes is no
    # accumulation, decided by a bisect over the file's `+` positions instead of reading the tree.
    data = model.source.data
    for aug in _spanning(model.index.get("augassign", []), [match.start() for match in re.finditer(rb"\+=", data)]):
        if not _may_train_at(model, aug):
            continue
        operator = aug.child_by_field_name("operator")
        left, right = aug.child_by_field_name("left"), aug.child_by_field_name("right")
        if operator is not None and text(operator) == "+=" and left is not None and right is not None:
            yield aug, text(left), right
    for assign in _assignments_of_sums(model):
        if not _may_train_at(model, assign):
            continue
        left, right = assign.child_by_field_name("left"), unwrap(assign.child_by_field_name("right"))
        if left is None or right is None or right.type != "binary_operator":
            continue
        operator = right.child_by_field_name("operator")
        a, b = right.child_by_field_name("left"), right.child_by_field_name("right")
        if operator is None or text(operator) != "+" or a is None or b is None:
            continue
        target = text(left)
        if text(a) == target:
            yield assign, target, b
        elif text(b) == target:
            yield assign, target, a
    for call in model.calls_named(("append",)):
        if not _may_train_at(model, call):
            continue
        receiver = call_receiver(call)
        args = call_arguments(call)
        if receiver is not None and len(args) == 1:
            yield call, text(receiver), args[0]


def _assignments_of_sums(model: SemanticModel) -> list[Node]:
    """Assignments whose value is (in parentheses) a binary `+`, and maybe a few others, in document order,
    leaving out those `_may_train_at` rejects for being outside every backpropagating loop and function.

    Found from the file's `+` tokens (the operator of such a sum is one) up to the assignment, instead
    of reading every assignment: the caller still checks each one.
    """
    found: dict[int, Node] = {}
    root = model.root
    for match in _PLUS_OPERATOR.finditer(model.source.data):
        position = match.start()
        if not _inside_backpropagating_code(model, position, position + 1):
            continue  # nor is its assignment: the caller would drop it (`_may_train_at`)
        token = root.descendant_for_byte_range(position, position + 1)
        operation = token.parent if token is not None and token.type == "+" else None
        if operation is None or operation.type != "binary_operator":
            continue  # a `+` in a string, a comment or a unary `+x`
        parent = operation.parent
        while parent is not None and parent.type in ("parenthesized_expression", "await"):  # what `unwrap` strips
            parent = parent.parent
        if parent is not None and parent.type == "assignment":
            found[parent.id] = parent
    return sorted(found.values(), key=lambda node: node.start_byte)


def _spanning(nodes: list[Node], positions: list[int]) -> list[Node]:
    """The `nodes` (in order) that span at least one of the sorted byte `positions`."""
    if not positions:
        return []
    count = len(positions)
    bisect_left = bisect.bisect_left
    result = []
    for node in nodes:
        index = bisect_left(positions, node.start_byte)
        if index < count and positions[index] < node.end_byte:
            result.append(node)
    return result


def _loss_reference(model: SemanticModel, expr: Node | None, at: Node, depth: int) -> Node | None:
    """The part of `expr` that is a loss tensor still attached to the graph, if any."""
    expr = unwrap(expr)
    if expr is None or depth > _MAX_DEPTH:
        return None
    if expr.type == "binary_operator":
        for side in ("left", "right"):
            found = _loss_reference(model, expr.child_by_field_name(side), at, depth + 1)
            if found is not None:
                return found
        return None
    return expr if _is_loss_tensor(model, expr, at, depth) else None


def _is_loss_tensor(model: SemanticModel, expr: Node, at: Node, depth: int) -> bool:
    if depth > _MAX_DEPTH:
        return False
    expr = unwrap(expr) or expr
    if expr.type == "call":
        return _is_loss_call(model, expr, at, depth)
    if expr.type == "subscript":
        key = expr.child_by_field_name("subscript")
        return string_value(key) == "loss"
    if expr.type == "binary_operator":
        return _loss_reference(model, expr, at, depth + 1) is not None
    if expr.type not in ("identifier", "attribute"):
        return False
    name = dotted_name(expr)
    if name is None:
        return False
    if expr.type == "attribute" and name.rsplit(".", 1)[-1] == "loss" and not name.startswith("self."):
        return True  # `outputs.loss` of a Hugging Face model
    value_assign = _last_assignment(model, name, at)
    if value_assign is not None:
        value = value_assign.child_by_field_name("right")
        if value is None or model.grad_mode_at(value_assign) == "no_grad":
            return False
        if value_assign.type == "assignment" and len(_targets(value_assign)) == 1:
            if _is_loss_tensor(model, value, value_assign, depth + 1):
                return True
            if _detached(value):
                return False
    # Unpacked or passed in: trust it when it is named like a loss and backpropagated here.
    return "loss" in name_tokens(name) and _backward_on(model, name, enclosing_scope(at))


def _is_loss_call(model: SemanticModel, call: Node, at: Node, depth: int) -> bool:
    qual = model.qualname(call) or ""
    if qual.startswith("torch.nn.functional.") and qual.rsplit(".", 1)[-1] in _FUNCTIONAL_LOSSES:
        return True
    func = call.child_by_field_name("function")
    if func is None:
        return False
    if func.type in ("identifier", "attribute") and model.kind_of_node(func, call) == "loss":
        return True
    method = call_method_name(call)
    receiver = call_receiver(call)
    if func.type == "attribute" and receiver is not None and method in _GRAPH_KEEPING_METHODS:
        return _is_loss_tensor(model, receiver, at, depth + 1)
    helper = model.resolve_local_function(call)
    if helper is not None and depth < _MAX_DEPTH:
        for ret in model.nodes_in("return", helper.node):
            if model.enclosing_function(ret) is not helper or not ret.named_children:
                continue
            returned = ret.named_children[0]
            if returned.type in ("identifier", "attribute", "call") and _is_loss_tensor(model, returned, ret, depth + 1):
                return True
    return False


def _detached(value: Node) -> bool:
    """`loss.item()`, `loss.detach()`, `float(loss)`: plain numbers or tensors without a graph."""
    value = unwrap(value) or value
    if value.type != "call":
        return value.type in ("integer", "float", "string", "none", "list", "dictionary")
    return call_method_name(value) in _DETACHING


def _last_assignment(model: SemanticModel, name: str, at: Node) -> Node | None:
    """The assignment that last bound `name` before `at` in `at`'s scope (or at module level)."""
    assigns = model.assignments.get(name, [])
    scope = enclosing_scope(at)
    end = bisect.bisect_left([a.start_byte for a in assigns], at.start_byte)
    module_level: Node | None = None
    for assign in reversed(assigns[:end]):
        assign_scope = enclosing_scope(assign)
        if assign_scope.id == scope.id:
            return assign
        if module_level is None and assign_scope.id == model.root.id:
            module_level = assign
        if assign.start_byte < scope.start_byte and module_level is not None:
            break
    return module_level


def _targets(assign: Node) -> list[Node]:
    left = assign.child_by_field_name("left")
    if left is None:
        return []
    return list(left.named_children) if left.type in ("pattern_list", "tuple_pattern", "list_pattern") else [left]


def _in_training_context(model: SemanticModel, node: Node, accumulator: str) -> bool:
    """Inside a loop that backpropagates, or a per-step method keeping a total on `self`,
    for a `node` where `_may_train_at` holds (`_accumulations` yields no other).

    Inside loops both ask "does some loop backpropagate", already answered yes; outside every loop
    this one asks in addition for an accumulator on `self`.
    """
    return accumulator.startswith("self.") or bool(model.enclosing_loops(node))


def _may_train_at(model: SemanticModel, node: Node) -> bool:
    """Inside a loop that backpropagates, or a function that does (its totals on `self` are per-step)."""
    if not _inside_backpropagating_code(model, node.start_byte, node.end_byte):
        return False  # no such loop or function around the node (most candidates: one bisect)
    loops = model.enclosing_loops(node)
    if loops:
        return any(_backpropagates(model, loop) for loop in loops)
    function = model.enclosing_function(node)
    return function is not None and "backward" in function.effects


def _inside_backpropagating_code(model: SemanticModel, start: int, end: int) -> bool:
    """Is [start, end) inside a loop or function that calls backward (directly or through a helper)?

    `_may_train_at` can hold only there: the loop or function it finds contains the node. The ranges
    are merged once per file, so this costs a bisect instead of the loops around the node.
    """
    starts, ends = model.memo("ML105.backpropagating_ranges", lambda: _backpropagating_ranges(model))
    index = bisect.bisect_right(starts, start) - 1
    return index >= 0 and end <= ends[index]


def _backpropagating_ranges(model: SemanticModel) -> tuple[list[int], list[int]]:
    """The byte ranges of the loops and functions that backpropagate, merged where they overlap."""
    nodes = [loop.node for loop in model.loops if "backward" in loop.effect_kinds()]  # `_backpropagates`
    for function in model.index.get("function", []):
        info = model.function_for_node(function)
        if info is not None and "backward" in info.effects:
            nodes.append(function)
    starts: list[int] = []
    ends: list[int] = []
    for start, end in sorted((node.start_byte, node.end_byte) for node in nodes):
        if starts and start <= ends[-1]:
            ends[-1] = max(ends[-1], end)  # nested or overlapping: one range
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


def _backpropagates(model: SemanticModel, loop: LoopInfo) -> bool:
    """Does the loop call backward (directly or through a same-file helper)? Answered once per loop."""
    answers: dict[int, bool] = model.memo("ML105.loop_backpropagates", dict)
    key = loop.node.id
    if key not in answers:
        answers[key] = "backward" in loop.effect_kinds()
    return answers[key]


def _backpropagated(model: SemanticModel, node: Node, accumulator: str) -> bool:
    """Is the accumulator (or a value built from it) backpropagated in the same scope?"""
    root = accumulator.split(".")[0] if not accumulator.startswith("self.") else accumulator
    facts = _scope_facts(model, enclosing_scope(node))
    if not facts.backward_calls:
        return False  # nothing in the scope backpropagates, whatever the names
    names = {root}
    for targets in facts.targets_of_values_naming(root):
        names.update(targets)
    return any(_backward_on(model, name, facts.scope) for name in names)


class _ScopeFacts:
    """What `_backpropagated` reads of one scope, collected once per analysis (rules run per keystroke).

    Assignments are found from where a name occurs in the source bytes rather than by reading every
    assignment's value: in a file with syntax errors a scope can hold most of the file's assignments.
    """

    def __init__(self, model: SemanticModel, scope: Node):
        self.scope = scope
        self._data = model.source.data
        # source of every `.backward(...)` call in the scope
        backward_calls, starts = model.call_table("backward", lambda: ("backward",))
        self.backward_calls = [text(call) for call in slice_by_start(backward_calls, starts, scope)]
        self._every_assignment = model.index.get("assign", [])

    def targets_of_values_naming(self, name: str) -> Iterator[list[str]]:
        """The target texts of every assignment in the scope whose value mentions `name`, in order."""
        data = self._data
        as_bytes = _name_pattern_bytes(name) if name.isascii() else None
        as_text = _name_pattern(name)
        for assign in self._assignments_holding(name.encode()):
            value = assign.child_by_field_name("right")
            if value is None:
                continue
            source = data[value.start_byte : value.end_byte]
            # ASCII source and name: the bytes pattern matches where the text pattern would.
            found = as_bytes.search(source) if as_bytes is not None and source.isascii() else as_text.search(
                source.decode("utf-8", errors="replace")
            )
            if found:
                yield [text(target) for target in _targets(assign)]

    def _assignments_holding(self, spelled: bytes) -> list[Node]:
        """The assignments of the scope (`model.nodes_in("assign", scope)`, in order) whose text holds
        `spelled`: a superset of those whose value mentions the name (a match of the name in a value is
        an occurrence of its UTF-8 bytes there).

        From each occurrence in the scope: the last assignment starting at or before it and that one's
        assignment ancestors up to the scope. An assignment holding the occurrence that starts earlier
        holds the last one's start too, so the tree nests the last one inside it.
        """
        every = self._every_assignment
        data = self._data
        scope = self.scope
        scope_start, scope_end = scope.start_byte, scope.end_byte
        found: dict[int, int] = {}  # node id -> position in `every`
        position = data.find(spelled, scope_start, scope_end)
        while position >= 0:
            last = bisect.bisect_right(every, position, key=_start_byte) - 1
            if last >= 0 and every[last].start_byte >= scope_start:  # else none of the scope's starts before it
                self._add_holders(last, position, position + len(spelled), found)
            position = data.find(spelled, position + 1, scope_end)
        return [every[index] for index in sorted(found.values())]

    def _add_holders(self, last: int, start: int, end: int, found: dict[int, int]) -> None:
        """Add to `found` the assignments holding [start, end): `every[last]` and its assignment ancestors
        in the scope (and the same for assignments starting at the same byte, which valid code has not)."""
        every = self._every_assignment
        first = last
        first_start = every[last].start_byte
        while first > 0 and every[first - 1].start_byte == first_start:
            first -= 1
        scope = self.scope
        scope_id, scope_start, scope_end = scope.id, scope.start_byte, scope.end_byte
        for index in range(first, last + 1):
            node: Node | None = every[index]
            while node is not None and node.id != scope_id:
                if (
                    node.type == "assignment"
                    and node.id not in found
                    and scope_start <= node.start_byte <= start  # (inside the scope, as `nodes_in` has it)
                    and end <= node.end_byte <= scope_end
                ):
                    found[node.id] = index if node.id == every[index].id else _position_of(every, node)
                node = node.parent


def _start_byte(node: Node) -> int:
    return node.start_byte


def _position_of(nodes: list[Node], node: Node) -> int:
    """The index of `node` in `nodes` (sorted by start byte)."""
    index = bisect.bisect_left(nodes, node.start_byte, key=_start_byte)
    while nodes[index].id != node.id:
        index += 1
    return index


def _backward_on(model: SemanticModel, name: str, scope: Node) -> bool:
    pattern = _name_pattern(name)
    return any(pattern.search(source) for source in _scope_facts(model, scope).backward_calls)


_FACTS: weakref.WeakKeyDictionary[SemanticModel, dict[int, _ScopeFacts]] = weakref.WeakKeyDictionary()


def _scope_facts(model: SemanticModel, scope: Node) -> _ScopeFacts:
    per_scope = _FACTS.setdefault(model, {})
    facts = per_scope.get(scope.id)
    if facts is None:
        facts = per_scope[scope.id] = _ScopeFacts(model, scope)
    return facts


@lru_cache(maxsize=512)
def _name_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w.]){re.escape(name)}(?!\w)")


@lru_cache(maxsize=512)
def _name_pattern_bytes(name: str) -> re.Pattern[bytes]:
    """`_name_pattern` for ASCII text (`\\w` spelled out: the same set on ASCII)."""
    return re.compile(rb"(?<![A-Za-z0-9_.])" + re.escape(name.encode()) + rb"(?![A-Za-z0-9_])")

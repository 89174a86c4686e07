"""Shared questions the training-loop rules (ML101-ML111) ask about iterations and control flow."""

from __future__ import annotations

import bisect
import re

from tree_sitter import Node

from ..model import Effect, FunctionInfo, LoopInfo, SemanticModel
from ..nesting import Nesting
from ..source import Span
from ..syntax import call_arguments, dotted_name, is_inside, text

# Node types that start a new "iteration": what runs once per pass of a loop or per call.
_UNIT_TYPES = frozenset({"for_statement", "while_statement", "function_definition", "lambda", "module"})
STEP_KINDS = frozenset({"opt_step", "scaler_step"})
# Helpers from other files that clear gradients (`reset_grads(model)`, `clear_gradients()`).
_CLEARS_GRAD_NAME = re.compile(r"(zero|clear|reset|free)_?grad|grads?_?(zero|clear|reset)|_foreach_zero_")
# Method names that `SemanticModel.effect_of_call` turns into each effect kind (see `_compute_effect`):
# a rule that wants only some kinds iterates `model.calls_named(...)` of these instead of every call.
ZERO_GRAD_METHODS = frozenset({"zero_grad", "clear_grad", "clear_gradients", "zero_"})
STEP_METHODS = frozenset({"step"})  # opt_step, scaler_step, sched_step
BACKWARD_METHODS = frozenset({"backward"})
SCALER_UPDATE_METHODS = frozenset({"update"})


def iteration_unit(model: SemanticModel, node: Node) -> Node:
    """The innermost loop, function or module around `node`: one pass of it is one iteration."""
    if node.start_byte == node.end_byte:
        return _iteration_unit_by_walk(node)  # empty nodes (error recovery) at a unit's edge: ask the tree
    units = model.memo("_training.units", lambda: Nesting([*model.index.get("loop", []), *_functions_and_lambdas(model)]))
    innermost = units.innermost(node)
    return innermost if innermost is not None else model.root


def _iteration_unit_by_walk(node: Node) -> Node:
    parent = node.parent
    while parent is not None:
        if parent.type in _UNIT_TYPES:
            return parent
        parent = parent.parent
    return node


def _functions_and_lambdas(model: SemanticModel) -> list[Node]:
    return [*model.index.get("function", []), *model.index.get("lambda", [])]


def loop_header_span(loop: Node) -> Span:
    """The `for x in y` / `while cond` part of a loop, so the squiggle stays on one line."""
    body = loop.child_by_field_name("body")
    header_end = loop.end_byte
    for field_name in ("right", "condition"):
        part = loop.child_by_field_name(field_name)
        if part is not None:
            header_end = part.end_byte
            break
    if body is not None and header_end > body.start_byte:
        header_end = body.start_byte
    return Span(loop.start_byte, header_end)


def exclusive_branches(a: Node, b: Node) -> bool:
    """True when `a` and `b` sit in different branches of one if/elif/else or conditional expression."""
    parent = a.parent
    while parent is not None:
        if parent.type in ("if_statement", "conditional_expression") and is_inside(b, parent) and not is_inside(a, b):
            branch_a = _branch_of(a, parent)
            branch_b = _branch_of(b, parent)
            if branch_a is not None and branch_b is not None and branch_a != branch_b:
                return True
        parent = parent.parent
    return False


def _branch_of(node: Node, statement: Node) -> int | None:
    """Index of the branch of `statement` that contains `node`; None when it is in the condition."""
    condition = statement.child_by_field_name("condition")
    if statement.type == "conditional_expression":
        named = statement.named_children
        condition = named[1] if len(named) == 3 else None
    for index, child in enumerate(statement.named_children):
        if is_inside(node, child):
            if condition is not None and child.id == condition.id:
                return None
            return index
    return None


def step_target(effect: Effect) -> str | None:
    """The optimizer an optimizer step updates: `opt` for `opt.step()` and for `scaler.step(opt)`."""
    if effect.kind == "scaler_step":
        args = call_arguments(effect.call)
        return dotted_name(args[0]) if args else None
    return effect.receiver


def ordered_effects(model: SemanticModel, region: Node, kinds: frozenset[str] | None = None) -> list[Effect]:
    """Effects in `region` in document order; a same-file helper call yields its (unordered) kinds.

    With `kinds`, only effects of those kinds (the others are never built).
    """
    result: list[Effect] = []
    for call in model.effect_or_local_calls_in(region):
        effect = model.effect_of_call(call)
        if effect is not None:
            if kinds is None or effect.kind in kinds:
                result.append(effect)
            continue
        helper = model.resolve_local_function(call)
        if helper is not None and not is_inside(call, helper.node):
            for kind in sorted(helper.effects):
                if kinds is None or kind in kinds:
                    result.append(Effect(kind, call, None, via=helper))
    return result


def is_step(effect: Effect) -> bool:
    return effect.kind in STEP_KINDS


def clears_grads_in(model: SemanticModel, region: Node, seen: set[int] | None = None) -> bool:
    """Does `region` clear gradients: `zero_grad()`, `p.grad = None`, `p.grad.zero_()`, a helper that does?"""
    seen = seen if seen is not None else set()
    clearing_names = _clearing_names(model)
    local_names = model.local_function_names()
    for call in model.calls_in(region):
        # `method_name` is the attribute of an attribute callee and the text of an identifier one,
        # read from the model's table; other callees (`fns[0](p)`, `getattr(m, "zero_grad")()`) are
        # matched on their whole text, as written.
        name = model.method_name(call)
        if name is None:
            if _CLEARS_GRAD_NAME.search(text(call.child_by_field_name("function"))):
                return True
            continue
        if name in clearing_names:
            return True
        if name in ZERO_GRAD_METHODS:
            effect = model.effect_of_call(call)
            if effect is not None and effect.kind == "zero_grad":
                return True
        if name not in local_names:
            continue
        helper = model.resolve_local_function(call)
        if helper is not None and helper.node.id not in seen and not is_inside(call, helper.node):
            seen.add(helper.node.id)
            if "zero_grad" in helper.effects or clears_grads_in(model, helper.node, seen):
                return True
    data = model.source.data
    for capture in ("assign", "augassign"):
        for assign in model.nodes_in(capture, region):
            if data.find(b"grad", assign.start_byte, assign.end_byte) < 0:
                continue  # no `.grad` target can be written here
            left = assign.child_by_field_name("left")
            if left is not None and left.type == "attribute" and text(left.child_by_field_name("attribute")) == "grad":
                return True
    return False


def _clearing_names(model: SemanticModel) -> frozenset[str]:
    """The file's callee names that look like clearing gradients (`reset_grads`, `zero_grad`), found once."""
    return model.memo(
        "_training.clearing_names",
        lambda: frozenset(name for name in model.callee_names() if _CLEARS_GRAD_NAME.search(name)),
    )


def own_training_kinds(model: SemanticModel, loop: LoopInfo, nested: list[LoopInfo]) -> set[str]:
    """Effect kinds a loop performs itself, outside training loops nested in it."""
    kinds: set[str] = set()
    for effect in loop.effects:
        if not (nested and any(is_inside(effect.call, inner.node) for inner in nested)):
            kinds.add(effect.kind)
    for call, helper in loop.helper_calls:
        if not (nested and any(is_inside(call, inner.node) for inner in nested)) and _trains_per_call_cached(model, helper):
            kinds |= helper.effects
    return kinds


def nested_training_loops(model: SemanticModel, loop: LoopInfo) -> list[LoopInfo]:
    """The training loops inside `loop`, itself excluded: a bisect over their starts, not a scan."""
    loops = model.training_loops
    starts = model.memo("training_loop_starts", lambda: [other.node.start_byte for other in loops])
    node = loop.node
    lo = bisect.bisect_left(starts, node.start_byte)
    hi = bisect.bisect_left(starts, node.end_byte)
    return [other for other in loops[lo:hi] if other is not loop and is_inside(other.node, node)]


def _trains_per_call_cached(model: SemanticModel, helper: FunctionInfo) -> bool:
    return model.memo(("trains_per_call", helper.node.id), lambda: trains_per_call(model, helper, set()))


def trains_per_call(model: SemanticModel, helper: FunctionInfo, seen: set[str]) -> bool:
    """Does one call of `helper` run backward and step outside the helper's own loops?

    `train_one_epoch()` loops over batches itself (its loop is checked on its own); a
    `train_step()` does one update per call, so the loop calling it is the training loop.
    """
    if helper.qualname in seen:
        return False
    seen.add(helper.qualname)
    kinds: set[str] = set()
    # Without a loop in the helper no call of it sits in one of the helper's own loops: skip asking.
    has_loops = _has_loop_inside(model, helper.node)
    for call in model.effect_or_local_calls_in(helper.node):  # the only calls that can add kinds below
        if has_loops and _in_own_loop(model, call, helper):
            continue
        effect = model.effect_of_call(call)
        if effect is not None:
            kinds.add(effect.kind)
            continue
        callee = model.resolve_local_function(call)
        if callee is not None and callee is not helper and trains_per_call(model, callee, seen):
            kinds |= callee.effects
    return "backward" in kinds and bool(kinds & STEP_KINDS)


def _in_own_loop(model: SemanticModel, call: Node, function: FunctionInfo) -> bool:
    """`model.enclosing_loops(call) and model.enclosing_function(call) is function`, from the iteration unit.

    The loops `enclosing_loops` returns stop at the first function or lambda, so there is one exactly
    when the innermost loop/function/lambda around `call` is a loop; no function lies between that
    loop and `call`, so the loop's function is `call`'s.
    """
    unit = iteration_unit(model, call)
    if unit.type not in ("for_statement", "while_statement"):
        return False
    loop = model.loop_for(unit)
    if loop is None:  # not an indexed loop: ask the long way
        return bool(model.enclosing_loops(call)) and model.enclosing_function(call) is function
    return loop.function is function


def _has_loop_inside(model: SemanticModel, node: Node) -> bool:
    """Does a `for`/`while` loop start inside `node`?"""
    starts = model.memo("_training.loop_starts", lambda: [loop.start_byte for loop in model.index.get("loop", [])])
    return bisect.bisect_left(starts, node.start_byte) < bisect.bisect_left(starts, node.end_byte)


def function_of(model: SemanticModel, node: Node) -> FunctionInfo | None:
    return model.enclosing_function(node)

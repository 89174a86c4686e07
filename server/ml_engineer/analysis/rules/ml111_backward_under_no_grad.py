"""ML111 backward-under-no-grad."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from .. import known_apis as apis
from ..findings import Finding
from ..model import FunctionInfo, SemanticModel
from ..nesting import Nesting
from ..syntax import is_inside, text
from ._training import BACKWARD_METHODS
from .base import Rule, RuleContext


class BackwardUnderNoGrad(Rule):
    """## What it does
    Flags `backward()` called inside `with torch.no_grad():`, `with torch.inference_mode():`,
    `with torch.set_grad_enabled(False):` or a function decorated with one of them, directly or
    through a same-file helper.

    ## Why is this bad?
    Under these modes no autograd graph is recorded, so the loss has no `grad_fn` and
    `backward()` raises "element 0 of tensors does not require grad and does not have a
    grad_fn" (or, when only part of the graph was built inside the block, silently computes
    no gradient for that part).

    ## Example
    ```python
    with torch.no_grad():
        loss = criterion(model(x), y)
        loss.backward()
    ```

    ## Use instead
    ```python
    loss = criterion(model(x), y)
    loss.backward()
    ```
    A `with torch.enable_grad():` nested inside the block re-enables recording and is fine.

    ## Fix safety
    No automatic fix.

    ## References
    - https://pytorch.org/docs/stable/generated/torch.no_grad.html
    - https://pytorch.org/docs/stable/notes/autograd.html#locally-disabling-gradient-computation
    """

    code = "ML111"
    name = "backward-under-no-grad"
    severity = "error"
    summary = "`backward()` inside `torch.no_grad()` / `inference_mode()`"
    fix_availability = "never"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        model = ctx.model
        if not model.calls_named(("backward",)):
            return  # both checks below need a backward() call (directly or in a helper's effects)
        # Only calls named `backward` or like a same-file function that backpropagates can match below.
        for call in model.calls_named(BACKWARD_METHODS | _backpropagating_function_names(model)):
            effect = model.effect_of_call(call)
            if effect is not None and effect.kind == "backward":
                region = _disabling_region(model, call)
                if region is not None:
                    yield self.finding(
                        call,
                        f"`{text(call)}` runs with gradient recording disabled by `{_describe(region)}`: "
                        "the graph was not built, so there is nothing to backpropagate",
                        related=[ctx.related(region, "gradients disabled here")],
                    )
                continue
            helper = model.resolve_local_function(call)
            if helper is None or "backward" not in helper.effects or is_inside(call, helper.node):
                continue
            region = _disabling_region(model, call)
            if region is not None and _backward_follows_caller_mode(model, helper, set()):
                yield self.finding(
                    call,
                    f"`{text(call)}` calls `backward()` but runs under `{_describe(region)}`: no graph is "
                    "recorded for it to backpropagate",
                    related=[ctx.related(region, "gradients disabled here")],
                )


def _backpropagating_function_names(model: SemanticModel) -> set[str]:
    """Names of the same-file functions whose effects include backward.

    `resolve_local_function` answers one of `model.functions`, named like the call's method name:
    a call named otherwise resolves to no helper, or to one without backward.
    """
    return {info.name for info in model.functions.values() if "backward" in info.effects}


def _disabling_region(model: SemanticModel, node: Node) -> Node | None:
    """The `with`/decorated function that disables grad at `node`, within `node`'s own function."""
    if node.start_byte != node.end_byte and _no_grad_regions(model).innermost(node) is None:
        return None  # nothing around `node` turns gradients off: the walk below would find nothing
    parent = node.parent
    while parent is not None:
        if parent.type == "with_statement":
            mode = model.grad_mode_of_with(parent)
            if mode == "no_grad":
                return _with_header(parent)
            if mode == "enable_grad":
                return None
        elif parent.type in ("function_definition", "lambda"):
            info = model.function_for_node(parent)
            if info is not None and info.grad_mode == "no_grad":
                return parent.child_by_field_name("name") or parent
            return None  # the caller decides the mode of an undecorated function
        parent = parent.parent
    return None


def _no_grad_regions(model: SemanticModel) -> Nesting:
    """Every `with` statement and function of the file that turns gradients off, found once per file.

    Such a `with` has a `torch.no_grad()`-like call in its header, so only the statements around
    those calls (`model.calls_to`, not every call) are asked for their mode.
    """

    def compute() -> Nesting:
        regions: list[Node] = []
        asked: set[int] = set()
        for call in model.calls_to(apis.NO_GRAD_CONTEXTS | {apis.SET_GRAD_ENABLED}):
            parent = call.parent
            while parent is not None and parent.type != "with_statement":
                parent = parent.parent
            if parent is not None and parent.id not in asked:
                asked.add(parent.id)
                if model.grad_mode_of_with(parent) == "no_grad":
                    regions.append(parent)
        for function in model.index.get("function", []):
            info = model.function_for_node(function)
            if info is not None and info.grad_mode == "no_grad":
                regions.append(function)
        return Nesting(regions)

    return model.memo("ML111.no_grad_regions", compute)


def _backward_follows_caller_mode(model: SemanticModel, helper: FunctionInfo, seen: set[str]) -> bool:
    """Does the helper reach a `backward()` without switching grad mode itself?"""
    if helper.qualname in seen or helper.grad_mode is not None:
        return False
    seen.add(helper.qualname)
    body = helper.node.child_by_field_name("body")
    if body is None:
        return False
    for call in model.effect_or_local_calls_in(body):  # the only calls that can be or reach a backward()
        if model.enclosing_function(call) is not helper:
            continue
        if _mode_inside_function(model, call) is not None:
            continue
        effect = model.effect_of_call(call)
        if effect is not None and effect.kind == "backward":
            return True
        callee = model.resolve_local_function(call)
        if callee is not None and "backward" in callee.effects and _backward_follows_caller_mode(model, callee, seen):
            return True
    return False


def _mode_inside_function(model: SemanticModel, node: Node) -> str | None:
    parent = node.parent
    while parent is not None and parent.type not in ("function_definition", "lambda"):
        if parent.type == "with_statement":
            mode = model.grad_mode_of_with(parent)
            if mode is not None:
                return mode
        parent = parent.parent
    return None


def _with_header(with_node: Node) -> Node:
    clause = next((c for c in with_node.named_children if c.type == "with_clause"), None)
    return clause if clause is not None else with_node


def _describe(region: Node) -> str:
    if region.type == "with_clause":
        return f"with {text(region)}"
    return f"the decorator of {text(region)}()"

"""ML110 amp-scaler-update-missing."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from ..findings import Finding
from ..model import Effect, SemanticModel
from ..syntax import text
from ._training import SCALER_UPDATE_METHODS
from .base import Rule, RuleContext


class AmpScalerUpdateMissing(Rule):
    """## What it does
    Flags `scaler.step(optimizer)` in a training loop (or a step helper) where `scaler.update()`
    is never called in the same iteration.

    ## Why is this bad?
    `GradScaler.update()` adjusts the loss scale after each step and resets the scaler's
    per-step state. Without it the scale never shrinks after an overflow (steps keep being
    skipped) nor grows, and the next `scaler.step()` raises "step() has already been called
    since the last update()" in recent PyTorch versions.

    ## Example
    ```python
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    ```

    ## Use instead
    ```python
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    ```

    ## Fix safety
    No automatic fix.

    ## References
    - https://pytorch.org/docs/stable/amp.html#gradient-scaling
    - https://pytorch.org/docs/stable/notes/amp_examples.html
    """

    code = "ML110"
    name = "amp-scaler-update-missing"
    severity = "error"
    summary = "`scaler.step()` without `scaler.update()` in the same iteration"
    fix_availability = "never"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        model = ctx.model
        # only `step` calls can be scaler steps
        steps = [e for e in map(model.effect_of_call, model.calls_named(("step",))) if e is not None and e.kind == "scaler_step"]
        if not steps:
            return
        updated = {  # only `update` calls can be scaler updates
            effect.receiver
            for effect in map(model.effect_of_call, model.calls_named(SCALER_UPDATE_METHODS))
            if effect is not None and effect.kind == "scaler_update"
        }
        for step in steps:
            if not self._missing_update(model, step, updated):
                continue
            scaler = step.receiver or "scaler"
            yield self.finding(
                step.call,
                f"`{text(step.call)}` is never followed by `{scaler}.update()` in this iteration: the loss "
                "scale is never adjusted and the next step fails; call it right after the step",
            )

    @staticmethod
    def _missing_update(model: SemanticModel, step: Effect, updated: set[str | None]) -> bool:
        loops = model.enclosing_loops(step.call)
        if loops:
            return "scaler_update" not in loops[0].effect_kinds()
        function = model.enclosing_function(step.call)
        if function is None or "scaler_update" in function.effects:
            return function is None and step.receiver not in updated
        # A step helper: the loops that call it may update after the call.
        callers = _callers(model).get(function.node.id, [])
        if callers:
            return not any(
                loops and "scaler_update" in loops[0].effect_kinds()
                for loops in (model.enclosing_loops(call) for call in callers)
            )
        return step.receiver not in updated


def _callers(model: SemanticModel) -> dict[int, list[Node]]:
    """Calls of each same-file function (by its node id), in document order: resolved once per file
    instead of once per step helper."""

    def compute() -> dict[int, list[Node]]:
        result: dict[int, list[Node]] = {}
        for call in model.local_function_calls():
            callee = model.resolve_local_function(call)
            if callee is not None:
                result.setdefault(callee.node.id, []).append(call)
        return result

    return model.memo("ML110.callers", compute)

"""ML104 scheduler-before-optimizer."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from ..findings import Finding
from ..known_apis import PLATEAU_SCHEDULERS
from ..model import Effect
from ..syntax import call_arguments, dotted_name, has_splat_arguments, keyword_arguments, text
from ._training import STEP_KINDS, exclusive_branches, is_step, iteration_unit, ordered_effects, step_target
from .base import Rule, RuleContext


class SchedulerBeforeOptimizer(Rule):
    """## What it does
    Flags `scheduler.step()` called before `optimizer.step()` in the same iteration, including
    a per-epoch scheduler stepped at the top of the epoch loop, before that epoch's training.

    ## Why is this bad?
    Since PyTorch 1.1 a learning-rate scheduler must be stepped after the optimizer. Stepping it
    first skips the first value of the schedule: warm-up starts one step late, step decays
    happen one epoch early, and PyTorch warns "Detected call of `lr_scheduler.step()` before
    `optimizer.step()`".

    ## Example
    ```python
    for epoch in range(epochs):
        scheduler.step()
        train_one_epoch(model, optimizer, loader)
    ```

    ## Use instead
    ```python
    for epoch in range(epochs):
        train_one_epoch(model, optimizer, loader)
        scheduler.step()
    ```
    `ReduceLROnPlateau.step(val_loss)` after validation is not affected.

    ## Fix safety
    No automatic fix: the call has to move past the training code of the iteration.

    ## References
    - https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate
    """

    code = "ML104"
    name = "scheduler-before-optimizer"
    severity = "warning"
    summary = "`scheduler.step()` before `optimizer.step()` skips the first learning-rate value"
    fix_availability = "never"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        model = ctx.model
        data = model.source.data
        for call in model.calls_named(("step",)):  # only `step` calls can be scheduler steps
            effect = model.effect_of_call(call)
            if effect is None or effect.kind != "sched_step":
                continue
            if not data.startswith(b"()", call.end_byte - 2) and (
                call_arguments(call) or keyword_arguments(call) or has_splat_arguments(call)
            ):  # (a call ending in `()` has no arguments: spare reading them)
                continue  # metric (ReduceLROnPlateau) or explicit epoch: not the ordering pitfall
            scheduler = model.entity(effect.receiver, call) if effect.receiver else None
            if scheduler is not None and scheduler.qualname in PLATEAU_SCHEDULERS:
                continue
            optimizer = _scheduled_optimizer(scheduler.node) if scheduler is not None else None
            unit = iteration_unit(model, call)
            if unit.type not in ("for_statement", "while_statement", "function_definition"):
                continue
            region = unit.child_by_field_name("body") or unit
            steps = [e for e in ordered_effects(model, region, STEP_KINDS) if self._matches(e, optimizer)]
            if any(e.call.start_byte < call.start_byte for e in steps):
                continue  # the optimizer already stepped in this iteration
            later = next((e for e in steps if e.call.start_byte > call.end_byte and not exclusive_branches(call, e.call)), None)
            if later is None:
                continue
            target = (step_target(later) if later.via is None else None) or optimizer or "the optimizer"
            where = f"`{text(later.call)}`" if later.via is None else f"`{text(later.call)}` (which steps the optimizer)"
            yield self.finding(
                call,
                f"`{text(call)}` runs before {where} in the same iteration: the first learning-rate value "
                f"is skipped; step the scheduler after `{target}.step()`",
                related=[ctx.related(later.call, "the optimizer step that should come first")],
            )

    @staticmethod
    def _matches(effect: Effect, optimizer: str | None) -> bool:
        if not is_step(effect):
            return False
        if optimizer is None or effect.via is not None:
            return True
        target = step_target(effect)
        return target is None or target == optimizer


def _scheduled_optimizer(constructor: Node | None) -> str | None:
    if constructor is None or constructor.type != "call":
        return None
    positional = call_arguments(constructor)
    first = positional[0] if positional else keyword_arguments(constructor).get("optimizer")
    return dotted_name(first) if first is not None else None

"""ML102 zero-grad-after-backward."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..findings import Finding
from ..model import Effect
from ..syntax import text
from ._training import (
    BACKWARD_METHODS,
    STEP_METHODS,
    ZERO_GRAD_METHODS,
    exclusive_branches,
    is_step,
    iteration_unit,
    step_target,
)
from .base import Rule, RuleContext


class ZeroGradAfterBackward(Rule):
    """## What it does
    Flags `zero_grad()` called between `backward()` and the optimizer `step()` of the same
    iteration.

    ## Why is this bad?
    `backward()` stores the gradients in `.grad`; `zero_grad()` wipes them (or sets them to
    `None`) before `step()` can use them. The optimizer then updates with zero or no gradients:
    the model does not learn (with momentum or weight decay it may even drift), yet the loop
    runs without any error.

    ## Example
    ```python
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    ```

    ## Use instead
    ```python
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    ```

    ## Fix safety
    No automatic fix: moving the call may need the surrounding logic (accumulation, several
    optimizers) to be understood first.

    ## References
    - https://pytorch.org/docs/stable/generated/torch.optim.Optimizer.zero_grad.html
    - https://pytorch.org/tutorials/beginner/basics/optimization_tutorial.html
    """

    code = "ML102"
    name = "zero-grad-after-backward"
    severity = "error"
    summary = "`zero_grad()` between `backward()` and `step()` wipes the gradients before the update"
    fix_availability = "never"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        model = ctx.model
        if not model.calls_named(("backward",)):
            return  # a finding needs a backward() before the zero_grad()
        units: dict[int, list[Effect]] = {}
        # Only calls named like these methods can have the four effect kinds below.
        for call in model.calls_named(ZERO_GRAD_METHODS | BACKWARD_METHODS | STEP_METHODS):
            effect = model.effect_of_call(call)
            if effect is not None and effect.kind in ("zero_grad", "backward", "opt_step", "scaler_step"):
                units.setdefault(iteration_unit(model, call).id, []).append(effect)
        for effects in units.values():
            for index, zero in enumerate(effects):
                if zero.kind != "zero_grad":
                    continue
                finding = self._check_zero(ctx, zero, effects[:index], effects[index + 1 :])
                if finding is not None:
                    yield finding

    def _check_zero(self, ctx: RuleContext, zero: Effect, before: list[Effect], after: list[Effect]) -> Finding | None:
        step = None
        for effect in after:
            if effect.kind == "backward":
                return None  # fresh gradients are computed again before the step
            if is_step(effect) and self._same_parameters(ctx, zero, effect):
                step = effect
                break
        if step is None or exclusive_branches(zero.call, step.call):
            return None
        backward = None
        for effect in reversed(before):
            if is_step(effect) and self._same_parameters(ctx, zero, effect):
                return None  # this backward already had its step
            if effect.kind == "backward":
                backward = effect
                break
        if backward is None or exclusive_branches(backward.call, zero.call):
            return None
        optimizer = step_target(step) or "the optimizer"
        return self.finding(
            zero.call,
            f"`{text(zero.call)}` runs after `{text(backward.call)}` and before `{text(step.call)}`: the "
            f"gradients are wiped before `{optimizer}` uses them; clear them before `backward()` or after `step()`",
            related=[
                ctx.related(backward.call, "gradients computed here"),
                ctx.related(step.call, "the update that now sees no gradients"),
            ],
        )

    @staticmethod
    def _same_parameters(ctx: RuleContext, zero: Effect, step: Effect) -> bool:
        """Does this `zero_grad()` clear what this step updates? (GANs clear one optimizer, step another.)"""
        target = step_target(step)
        if zero.receiver is None or target is None:
            return True
        if zero.receiver == target:
            return True
        # `model.zero_grad()` / `self.zero_grad()` clears every parameter of the model: it matters
        # when the stepped optimizer holds that model's parameters (or we cannot tell).
        if zero.receiver != "self" and ctx.model.kind_of_name(zero.receiver, zero.call) != "model":
            return False
        optimizer = ctx.model.entity(target, step.call)
        if optimizer is None or optimizer.kind != "optimizer" or zero.receiver == "self":
            return True
        return re.search(rf"(?<![\w.]){re.escape(zero.receiver)}\b", text(optimizer.node)) is not None

"""ML101 zero-grad-missing."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from ..findings import Finding
from ..syntax import text
from ._training import (
    clears_grads_in,
    is_step,
    loop_header_span,
    nested_training_loops,
    own_training_kinds,
    step_target,
)
from .base import Rule, RuleContext


class ZeroGradMissing(Rule):
    """## What it does
    Flags a training loop that calls `backward()` and an optimizer `step()` on every iteration
    but never clears the gradients (`optimizer.zero_grad()`, `model.zero_grad()`,
    `p.grad = None`, a helper that does one of these).

    ## Why is this bad?
    PyTorch adds new gradients to whatever is already stored in `.grad`. Without clearing them,
    each step applies the sum of all gradients computed so far: the effective learning rate
    grows every iteration and training diverges or stalls, usually without any error.
    Clearing once per epoch, outside the batch loop, has the same problem within an epoch.

    ## Example
    ```python
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    ```

    ## Use instead
    ```python
    for x, y in loader:
        optimizer.zero_grad(set_to_none=True)
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    ```
    Gradient accumulation (clearing only every `k` steps, next to the conditional `step()`) is
    deliberate and not flagged.

    ## Fix safety
    No automatic fix: where to clear depends on whether gradients are accumulated on purpose.

    ## References
    - https://pytorch.org/docs/stable/generated/torch.optim.Optimizer.zero_grad.html
    - https://pytorch.org/tutorials/recipes/recipes/zeroing_out_gradients.html
    """

    code = "ML101"
    name = "zero-grad-missing"
    severity = "error"
    summary = "Training loop never clears gradients, so they accumulate across steps"
    fix_availability = "never"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        model = ctx.model
        loops = model.training_loops
        for loop in loops:
            nested = nested_training_loops(model, loop)
            kinds = own_training_kinds(model, loop, nested)
            if "backward" not in kinds or not kinds & {"opt_step", "scaler_step"}:
                continue  # the per-iteration work happens in a nested loop, which is checked itself
            if clears_grads_in(model, loop.node):
                continue
            backward = next((e for e in loop.effects if e.kind == "backward"), None)
            step = next((e for e in loop.effects if is_step(e)), None)
            helper_call = next((call for call, helper in loop.helper_calls if "backward" in helper.effects), None)
            related = []
            if backward is not None:
                related.append(ctx.related(backward.call, "gradients computed here add to the previous ones"))
            if step is not None:
                related.append(ctx.related(step.call, "the optimizer applies the accumulated sum here"))
            if backward is not None and step is not None:
                what = f"calls `{_short(backward.call)}` and `{_short(step.call)}`"
            elif helper_call is not None:
                what = f"trains through `{_short(helper_call)}`"
            else:
                what = "calls backward() and an optimizer step"
            optimizer = (step_target(step) if step is not None else None) or "optimizer"
            yield self.finding(
                loop.node,
                f"this loop {what} but never clears gradients: they accumulate across iterations; "
                f"call `{optimizer}.zero_grad()` once per iteration",
                related=related,
                span=loop_header_span(loop.node),
            )


def _short(node: Node) -> str:
    """Source of a call on one line, shortened for messages."""
    source = " ".join(text(node).split())
    return source if len(source) <= 60 else source[:57] + "..."

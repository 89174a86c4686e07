"""ML502 sigmoid-before-bce-with-logits."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import Finding
from ._outputs import LOSS_LABELS, fed_outputs, loss_related, short
from .base import Rule, RuleContext


class SigmoidBeforeBceWithLogits(Rule):
    """## What it does
    Flags `sigmoid` output fed to `nn.BCEWithLogitsLoss` or
    `F.binary_cross_entropy_with_logits`, directly, through a variable, or from a model whose last
    layer is `nn.Sigmoid`.

    ## Why is this bad?
    `BCEWithLogitsLoss` applies the sigmoid itself (in a numerically stable form). Given
    probabilities, it squashes them a second time into the range 0.5-0.73: the loss can never
    reach zero, gradients are tiny, and the classifier trains badly without any error.

    ## Example
    ```python
    criterion = nn.BCEWithLogitsLoss()
    loss = criterion(torch.sigmoid(model(x)), y)
    ```

    ## Use instead
    ```python
    criterion = nn.BCEWithLogitsLoss()
    loss = criterion(model(x), y)
    ```

    ## Fix safety
    No automatic fix: the sigmoid may also serve other callers of the model.

    ## References
    - https://pytorch.org/docs/stable/generated/torch.nn.BCEWithLogitsLoss.html
    - https://pytorch.org/docs/stable/generated/torch.nn.functional.binary_cross_entropy_with_logits.html
    """

    code = "ML502"
    name = "sigmoid-before-bce-with-logits"
    severity = "error"
    summary = "Sigmoid output fed to BCEWithLogitsLoss, which applies sigmoid itself"
    fix_availability = "never"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        for loss, output in fed_outputs(ctx.model, "bce_with_logits", {"sigmoid"}):
            yield self.finding(
                loss.call,
                f"`{loss.label}` ({LOSS_LABELS[loss.kind]}) receives `{short(loss.input)}`, sigmoid "
                f"probabilities from {output.via}; the loss applies sigmoid itself: pass the raw logits",
                related=loss_related(ctx.related, loss, output),
            )

"""ML503 bce-on-logits."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import Finding
from ._outputs import LOSS_LABELS, fed_outputs, loss_related, short
from .base import Rule, RuleContext


class BceOnLogits(Rule):
    """## What it does
    Flags `nn.BCELoss` / `F.binary_cross_entropy` fed raw outputs: the output of a linear (or
    convolution) layer, or of a model whose `forward` ends in one, with no sigmoid in between.
    The rule only reports when it can see that the input is raw; an output it cannot trace is not
    reported.

    ## Why is this bad?
    `BCELoss` expects probabilities in [0, 1]. Raw logits outside that range make it raise a
    CUDA device-side assert or a "all elements of input should be between 0 and 1" error; logits
    that happen to fall inside the range give a meaningless loss.

    ## Example
    ```python
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(16, 1)

        def forward(self, x):
            return self.fc(x)

    loss = nn.BCELoss()(Net()(x), y)
    ```

    ## Use instead
    ```python
    loss = nn.BCEWithLogitsLoss()(Net()(x), y)  # or apply torch.sigmoid before BCELoss
    ```

    ## Fix safety
    No automatic fix: switching to `BCEWithLogitsLoss` or adding a sigmoid are both valid, and
    the choice depends on how the model is used for prediction.

    ## References
    - https://pytorch.org/docs/stable/generated/torch.nn.BCELoss.html
    - https://pytorch.org/docs/stable/generated/torch.nn.BCEWithLogitsLoss.html
    """

    code = "ML503"
    name = "bce-on-logits"
    severity = "warning"
    summary = "BCELoss fed raw logits instead of probabilities"
    fix_availability = "never"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        for loss, output in fed_outputs(ctx.model, "bce", {"raw"}):
            yield self.finding(
                loss.call,
                f"`{loss.label}` ({LOSS_LABELS[loss.kind]}) receives `{short(loss.input)}`, raw outputs "
                f"of {output.via} with no sigmoid: use BCEWithLogitsLoss, or apply torch.sigmoid first",
                related=loss_related(ctx.related, loss, output),
            )

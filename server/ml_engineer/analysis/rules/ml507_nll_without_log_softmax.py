"""ML507 nll-without-log-softmax."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import Finding
from ._outputs import LOSS_LABELS, fed_outputs, loss_related, short
from .base import Rule, RuleContext


class NllWithoutLogSoftmax(Rule):
    """## What it does
    Flags `nn.NLLLoss` / `F.nll_loss` fed `softmax` probabilities or raw outputs of a linear
    layer (or of a model whose `forward` ends in one). `log_softmax` output, and `torch.log` of a
    softmax, are what the loss expects and are not reported.

    ## Why is this bad?
    `NLLLoss` does no normalisation: it picks `-input[target]` and averages. With probabilities
    the "loss" is minus a probability (bounded in [-1, 0]), with raw logits it rewards growing the
    target logit without bound; either way the model trains toward the wrong objective and no
    error is raised.

    ## Example
    ```python
    loss = F.nll_loss(F.softmax(logits, dim=1), target)
    ```

    ## Use instead
    ```python
    loss = F.nll_loss(F.log_softmax(logits, dim=1), target)
    # or: F.cross_entropy(logits, target)
    ```

    ## Fix safety
    No automatic fix: the right change (`log_softmax` in the model, or `CrossEntropyLoss`)
    depends on what the model's other callers expect.

    ## References
    - https://pytorch.org/docs/stable/generated/torch.nn.NLLLoss.html
    - https://pytorch.org/docs/stable/generated/torch.nn.functional.log_softmax.html
    """

    code = "ML507"
    name = "nll-without-log-softmax"
    severity = "error"
    summary = "NLLLoss fed probabilities or raw logits instead of log-probabilities"
    fix_availability = "never"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        for loss, output in fed_outputs(ctx.model, "nll", {"softmax", "raw"}):
            what = "softmax probabilities" if output.kind == "softmax" else "raw logits"
            yield self.finding(
                loss.call,
                f"`{loss.label}` ({LOSS_LABELS[loss.kind]}) receives `{short(loss.input)}`, {what} from "
                f"{output.via}; NLLLoss needs log-probabilities: use log_softmax, or CrossEntropyLoss on "
                "the logits",
                related=loss_related(ctx.related, loss, output),
            )

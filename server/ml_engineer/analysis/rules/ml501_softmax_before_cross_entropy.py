"""ML501 softmax-before-cross-entropy."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import Finding
from ._outputs import LOSS_LABELS, fed_outputs, loss_related, short
from .base import Rule, RuleContext


class SoftmaxBeforeCrossEntropy(Rule):
    """## What it does
    Flags probabilities fed to `nn.CrossEntropyLoss` or `F.cross_entropy`: the output of `softmax`
    or `log_softmax`, directly, through a variable, or from a model whose last layer is
    `nn.Softmax` (a same-file `nn.Module` whose `forward` returns a softmax, or an
    `nn.Sequential` ending in `nn.Softmax`).

    ## Why is this bad?
    `CrossEntropyLoss` expects raw, unnormalised logits and applies `log_softmax` itself. Feeding
    it softmax probabilities applies softmax twice: the loss is squashed into a narrow range, its
    gradients shrink as the model grows confident, and training stalls at a worse accuracy with
    no error. Feeding it `log_softmax` output is redundant (the result equals the loss on the
    logits) and shows the model and loss disagree on who normalises; use `NLLLoss` for
    log-probabilities.

    ## Example
    ```python
    criterion = nn.CrossEntropyLoss()
    probs = F.softmax(model(x), dim=1)
    loss = criterion(probs, y)
    ```

    ## Use instead
    ```python
    criterion = nn.CrossEntropyLoss()
    logits = model(x)
    loss = criterion(logits, y)
    probs = logits.softmax(dim=1)  # for reporting only
    ```

    ## Fix safety
    No automatic fix: removing the softmax changes what the model returns to every other caller.

    ## References
    - https://pytorch.org/docs/stable/generated/torch.nn.CrossEntropyLoss.html
    - https://pytorch.org/docs/stable/generated/torch.nn.functional.cross_entropy.html
    """

    code = "ML501"
    name = "softmax-before-cross-entropy"
    severity = "error"
    summary = "Probabilities fed to CrossEntropyLoss, which applies log-softmax itself"
    fix_availability = "never"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        for loss, output in fed_outputs(ctx.model, "cross_entropy", {"softmax", "log_softmax"}):
            fed = short(loss.input)
            if output.kind == "softmax":
                message = (
                    f"`{loss.label}` ({LOSS_LABELS[loss.kind]}) receives `{fed}`, softmax probabilities "
                    f"from {output.via}; cross-entropy applies log-softmax itself, so softmax runs twice: "
                    "pass the raw logits"
                )
            else:
                message = (
                    f"`{loss.label}` ({LOSS_LABELS[loss.kind]}) receives `{fed}`, log-softmax output from "
                    f"{output.via}; cross-entropy normalises again: pass raw logits, or use NLLLoss for "
                    "log-probabilities"
                )
            yield self.finding(loss.call, message, related=loss_related(ctx.related, loss, output))

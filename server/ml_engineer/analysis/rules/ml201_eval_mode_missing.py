"""ML201 eval-mode-missing."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..findings import Finding
from ..model import EvalPass, SemanticModel
from ..syntax import text
from ._eval import (
    applies,
    called_model_names,
    eval_once_never_trained,
    mode_before,
    pretrained_in_eval_mode,
    real_passes,
    short,
    torch_model_calls,
)
from .base import Rule, RuleContext

# Layers whose behaviour depends on train/eval mode.
_MODE_LAYERS = re.compile(r"Dropout|dropout|BatchNorm|batch_norm|InstanceNorm|SyncBatchNorm|StochasticDepth|DropPath|drop_path")


class EvalModeMissing(Rule):
    """## What it does
    Flags an evaluation pass, a function named like `evaluate`/`validate`/`test`/`predict`/`infer`,
    a `torch.no_grad()`/`torch.inference_mode()` block or a function under that decorator that runs
    a model, when the model is not
    put in evaluation mode (`model.eval()` or `model.train(False)`) in that function, before the
    block, or by the callers before they call the function.

    ## Why is this bad?
    `no_grad` only turns off gradient tracking; it does not change how layers behave. In training
    mode dropout still zeroes activations at random and batch-norm normalises with the statistics
    of the current batch (and updates its running averages with evaluation data). Validation scores
    become noisy and pessimistic, predictions change from call to call, and batch-norm statistics
    drift towards the evaluation set. When the model is a same-file module with no dropout or
    normalisation layers the finding is informational only.

    Not reported: Lightning `validation_step`/`test_step`/`predict_step` (the trainer switches
    modes), Hugging Face models loaded with `from_pretrained` and never switched to training mode
    (they start in eval mode), inference-only files that call `eval()` once where the model is
    loaded (a serving handler) and never switch it back, pytest test functions, and `no_grad` code
    that runs inside the training step (metrics on the training batch, teacher targets).

    ## Example
    ```python
    def evaluate(model, loader):
        with torch.no_grad():
            return sum((model(x).argmax(1) == y).sum().item() for x, y in loader)
    ```

    ## Use instead
    ```python
    def evaluate(model, loader):
        model.eval()
        with torch.no_grad():
            return sum((model(x).argmax(1) == y).sum().item() for x, y in loader)
    ```

    ## Fix safety
    No automatic fix: where to call `eval()` (and `train()` again afterwards) depends on the loop.

    ## References
    - https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.eval
    - https://pytorch.org/docs/stable/notes/autograd.html#locally-disable-grad-doc
    """

    code = "ML201"
    name = "eval-mode-missing"
    severity = "warning"
    summary = "Evaluation pass runs the model without model.eval()"
    fix_availability = "never"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        model = ctx.model
        if not applies(model):
            return
        for eval_pass in real_passes(model, skip=_switches_to_eval_itself):
            info = eval_pass.function
            calls = torch_model_calls(model, eval_pass.node, include_generate=True)
            if not calls:
                continue
            if eval_pass.kind == "no_grad_block" and any(
                e.kind == "eval_mode" for e in model.effects_in(eval_pass.node)
            ):
                continue
            if mode_before(model, eval_pass.node if eval_pass.kind == "no_grad_block" else calls[0]) == "eval":
                continue
            names = called_model_names(model, calls)
            if pretrained_in_eval_mode(model, names) or eval_once_never_trained(model, calls):
                continue
            first = calls[0]
            where = f"`{info.name}`" if eval_pass.kind == "function" and info is not None else "this no_grad block"
            finding = self.finding(
                first,
                f"{where} runs `{short(first)}` without `eval()` here or in its callers: dropout stays active "
                "and batch-norm uses batch statistics; call `model.eval()` first",
            )
            if _known_mode_free(model, names):
                finding = finding.with_severity("info")
            yield finding


def _switches_to_eval_itself(eval_pass: EvalPass) -> bool:
    """An evaluation function that calls `eval()` itself (directly or through a helper): never reported.

    Tested first, before the training-step tests of `real_passes` and the model calls, which cost more.
    """
    info = eval_pass.function
    return eval_pass.kind == "function" and info is not None and "eval_mode" in info.effects


def _known_mode_free(model: SemanticModel, names: set[str]) -> bool:
    """Every model called is a same-file module built only from torch.nn layers, none mode-dependent."""
    if not names:
        return False
    for name in names:
        entity = model.entity(name)
        if entity is None or entity.qualname is None:
            return False
        local = model.classes.get(entity.qualname)
        if local is not None:
            init = local.methods.get("__init__")
            if init is None or _MODE_LAYERS.search(text(local.node)):
                return False
            scope = init.node
        elif entity.qualname == "torch.nn.Sequential" and not _MODE_LAYERS.search(text(entity.node)):
            scope = entity.node
        else:
            return False
        for call in model.calls_in(scope):
            qual = model.qualname(call) or ""
            callee = text(call.child_by_field_name("function"))
            # Sub-modules from elsewhere (a torchvision backbone, a helper) may hide such layers.
            if not (qual.startswith("torch.nn.") or callee.startswith("super") or callee in ("range", "len", "int")):
                return False
    return True

"""ML202 no-grad-missing."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from ..findings import Finding
from ..model import CallTable, FunctionInfo, SemanticModel
from ..syntax import call_method_name
from ._eval import (
    MODE_METHODS,
    applies,
    calls_within,
    in_lightning_module,
    short,
    torch_model_calls,
    torch_model_calls_between,
    trains_here,
    under_no_grad,
)
from .base import Rule, RuleContext

# Calls that show the code needs gradients on purpose (adversarial examples, saliency, Grad-CAM).
_NEEDS_GRAD = frozenset({"backward", "grad", "requires_grad_", "enable_grad", "vjp", "jacobian", "hessian"})


class NoGradMissing(Rule):
    """## What it does
    Flags evaluation code that runs a PyTorch model with gradient tracking on: a function named like
    `evaluate`/`validate`/`test`/`predict`/`infer`, or code after `model.eval()`, that calls the
    model outside `torch.no_grad()` / `torch.inference_mode()`, without such a decorator, and
    without its callers wrapping the call.

    ## Why is this bad?
    `model.eval()` changes how dropout and batch-norm behave; it does not stop autograd. Every
    forward pass still records the graph and keeps the intermediate activations alive for a backward
    pass that never comes, so evaluation takes several times the memory it needs (often the cause of
    out-of-memory errors that appear only during validation) and runs slower.

    Not reported: `@torch.no_grad()` / `@torch.inference_mode()` on the function, a `no_grad`
    block in every caller, Lightning `validation_step`/`test_step`/`predict_step` (Lightning
    disables gradients), Hugging Face `generate` (it runs under `no_grad` itself), pytest test
    functions, and code that needs gradients on purpose (it calls `backward`, `torch.autograd.grad`
    or `requires_grad_`, as adversarial and saliency code does).

    ## Example
    ```python
    def evaluate(model, loader):
        model.eval()
        return [model(x).argmax(1) for x, _ in loader]
    ```

    ## Use instead
    ```python
    @torch.no_grad()
    def evaluate(model, loader):
        model.eval()
        return [model(x).argmax(1) for x, _ in loader]
    ```

    ## Fix safety
    No automatic fix: a caller might backpropagate through the returned tensors.

    ## References
    - https://pytorch.org/docs/stable/generated/torch.no_grad.html
    - https://pytorch.org/docs/stable/generated/torch.autograd.grad_mode.inference_mode.html
    """

    code = "ML202"
    name = "no-grad-missing"
    severity = "warning"
    summary = "Evaluation runs the model with gradient tracking on"
    fix_availability = "never"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        model = ctx.model
        if not applies(model):
            return
        reported_functions: set[int] = set()
        for eval_pass in model.eval_passes:
            info = eval_pass.function
            if eval_pass.kind != "function" or info is None or in_lightning_module(model, info):
                continue
            reported_functions.add(info.node.id)
            calls = self._unguarded(model, info.node, info)
            if calls:
                yield self._finding(calls, f"`{info.name}`")
        # Code after `model.eval()` outside any evaluation-named function.
        for call in model.calls_named(("eval", "train")):  # the only calls that switch to eval mode
            effect = model.effect_of_call(call)
            if effect is None or effect.kind != "eval_mode":
                continue
            function = model.enclosing_function(call)
            if function is not None and (function.node.id in reported_functions or in_lightning_module(model, function)):
                continue
            calls = self._after_eval(model, call, function)
            if calls:
                if function is not None:
                    reported_functions.add(function.node.id)
                yield self._finding(calls, f"code after `{short(call)}`")

    def _finding(self, calls: list[Node], where: str) -> Finding:
        first = calls[0]
        return self.finding(
            first,
            f"{where} runs `{short(first)}` with gradient tracking on: every forward pass keeps its graph "
            "and activations; wrap it in `torch.no_grad()` / `torch.inference_mode()` or decorate the function",
        )

    @staticmethod
    def _unguarded(model: SemanticModel, scope: Node, function: FunctionInfo | None) -> list[Node]:
        if function is not None and function.grad_mode is not None:
            return []
        if _needs_grad(model, scope):
            return []
        return [
            call
            for call in torch_model_calls(model, scope, include_generate=False)
            if model.enclosing_function(call) is function and not under_no_grad(model, call) and not trains_here(model, call)
        ]

    def _after_eval(self, model: SemanticModel, eval_call: Node, function: FunctionInfo | None) -> list[Node]:
        scope = function.node if function is not None else model.root
        if function is not None and function.grad_mode is not None:
            return []
        end = scope.end_byte
        # The first call after `eval()` that switches back to train mode or needs gradients decides.
        # Only calls named `train`/`eval` can switch (`effect_of_call`), only calls named like a
        # same-file function resolve to a helper, and `_NEEDS_GRAD` is a set of names: every other
        # call of the scope (in a file with syntax errors, often the whole module) is passed over.
        for call in calls_within(_deciding_calls(model), scope, after=eval_call.end_byte):
            if model.enclosing_function(call) is not function:
                continue
            effect = model.effect_of_call(call)
            helper = model.resolve_local_function(call)
            helper_effects = helper.effects if helper is not None and helper is not function else set()
            if (effect is not None and effect.kind == "train_mode") or "train_mode" in helper_effects:
                end = call.start_byte
                break
            if call_method_name(call) in _NEEDS_GRAD or "backward" in helper_effects:
                return []  # gradients are wanted after eval(): saliency, adversarial examples
        return [
            call
            for call in torch_model_calls_between(model, scope, eval_call.end_byte, end, function)
            if not under_no_grad(model, call)
            and not trains_here(model, call)
        ]


def _deciding_calls(model: SemanticModel) -> CallTable:
    """The calls `_after_eval` can stop at: mode switches (effects and helpers) and gradient uses."""
    return model.call_table("ML202.deciding", lambda: MODE_METHODS | _NEEDS_GRAD | model.local_function_names())


def _needs_grad(model: SemanticModel, scope: Node) -> bool:
    return next(calls_within(model.call_table("ML202.needs_grad", lambda: _NEEDS_GRAD), scope), None) is not None

"""ML508 softmax-dim-missing."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from ..findings import Finding, Fix
from ..syntax import (
    call_arguments,
    call_receiver,
    has_splat_arguments,
    keyword_arguments,
    text,
)
from .base import Rule, RuleContext, insert_after, make_fix

# Functions whose `dim` is the second parameter, and layers whose `dim` is the first.
_FUNCTIONS = frozenset(
    {
        "torch.nn.functional.softmax",
        "torch.nn.functional.log_softmax",
        "torch.nn.functional.softmin",
        "torch.softmax",
        "torch.log_softmax",
    }
)
_LAYERS = frozenset({"torch.nn.Softmax", "torch.nn.LogSoftmax", "torch.nn.Softmin"})
_TENSOR_METHODS = frozenset({"softmax", "log_softmax"})


class SoftmaxDimMissing(Rule):
    """## What it does
    Flags `F.softmax(x)`, `F.log_softmax(x)`, `F.softmin(x)`, `torch.softmax(x)`, `nn.Softmax()`,
    `nn.LogSoftmax()` and `x.softmax()` called without a `dim` (or with `dim=None`).

    ## Why is this bad?
    Without `dim`, PyTorch guesses it from the number of dimensions of the input (dim 0 for 0-D,
    1-D and 3-D input, dim 1 otherwise) and emits a deprecation warning. The guess normalises
    over the batch for 3-D input (e.g. `[batch, seq, classes]`), silently mixing samples; and the
    same line behaves differently when the input shape changes.

    ## Example
    ```python
    probs = F.softmax(logits)
    self.act = nn.LogSoftmax()
    ```

    ## Use instead
    ```python
    probs = F.softmax(logits, dim=-1)
    self.act = nn.LogSoftmax(dim=-1)
    ```

    ## Fix safety
    The fix adds `dim=-1` and is unsafe: it matches the implicit choice for 1-D and 2-D input
    (the common `[batch, classes]` case) but not for 3-D input (implicit dim 0) or 4-D input such
    as `[N, C, H, W]` segmentation maps (implicit dim 1, where you want `dim=1`). Check the shape.

    ## References
    - https://pytorch.org/docs/stable/generated/torch.nn.functional.softmax.html
    - https://pytorch.org/docs/stable/generated/torch.nn.Softmax.html
    """

    code = "ML508"
    name = "softmax-dim-missing"
    severity = "warning"
    summary = "Softmax without an explicit `dim` relies on a deprecated guess"
    fix_availability = "sometimes"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        uses_torch = ctx.model.uses_framework("torch")
        for call in ctx.model.calls_named([name for name in ctx.model.callee_names() if "softm" in name.lower()]):
            method = ctx.model.method_name(call)
            if method is None or "softm" not in method.lower():
                continue
            qual = ctx.model.qualname(call)
            if qual in _FUNCTIONS:
                dim_position = 1
            elif qual in _LAYERS or (qual is None and method in _TENSOR_METHODS and call_receiver(call) is not None and uses_torch):
                dim_position = 0
            else:
                continue
            if has_splat_arguments(call):
                continue
            keywords = keyword_arguments(call)
            positional = call_arguments(call)
            if len(positional) > dim_position:
                continue
            dim = keywords.get("dim")
            if dim is not None and dim.type != "none":
                continue
            label = text(call.child_by_field_name("function"))
            yield self.finding(
                call,
                f"`{label}(...)` without `dim`: PyTorch guesses the dimension from the input's rank "
                "(dim 0 for 1-D and 3-D input), which is deprecated and often normalises over the batch; "
                "pass `dim=` explicitly",
                fix=_add_dim_fix(call, positional, dim_position) if dim is None else None,
            )


def _add_dim_fix(call: Node, positional: list[Node], dim_position: int) -> Fix | None:
    args = call.child_by_field_name("arguments")
    if args is None:
        return None
    if dim_position == 1 and positional:
        edit = insert_after(positional[0], ", dim=-1")
    elif dim_position == 0 and not positional:
        has_other = any(child.type == "keyword_argument" for child in args.named_children)
        opening = args.children[0]
        edit = insert_after(opening, "dim=-1, " if has_other else "dim=-1")
    else:
        return None
    return make_fix("Add `dim=-1` (check the input's shape)", edit, safe=False)

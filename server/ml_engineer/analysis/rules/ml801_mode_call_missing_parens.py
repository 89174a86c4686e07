"""ML801 mode-call-missing-parens."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from ..findings import Finding
from ..model import SemanticModel, name_tokens
from ..syntax import dotted_name, text
from .base import Rule, RuleContext, insert_after, make_fix

# Method -> receiver kinds for which a bare reference is certainly a forgotten call.
_METHODS: dict[str, frozenset[str]] = {
    "eval": frozenset({"model"}),
    "train": frozenset({"model"}),
    "zero_grad": frozenset({"optimizer", "model"}),
    "step": frozenset({"optimizer", "scheduler"}),
    "backward": frozenset({"loss_tensor"}),
}
_SUFFIXES = tuple(name.encode() for name in _METHODS)
_LAST_BYTES = frozenset(suffix[-1] for suffix in _SUFFIXES)  # b"l", b"n", b"d", b"p" as ints


class ModeCallMissingParens(Rule):
    """## What it does
    Flags `model.eval`, `model.train`, `optimizer.zero_grad`, `optimizer.step`,
    `scheduler.step` or `loss.backward` written as a statement on its own, without `()`.

    ## Why is this bad?
    Without parentheses the statement only looks the method up and throws it away: the model
    stays in its previous mode, the gradients are not cleared, no step or backward pass
    happens. Python raises no error, so the training or evaluation silently runs wrong.

    ## Example
    ```python
    model.eval
    with torch.no_grad():
        preds = model(x)
    ```

    ## Use instead
    ```python
    model.eval()
    with torch.no_grad():
        preds = model(x)
    ```
    Passing the bound method somewhere (`callbacks.append(model.eval)`, `fn = opt.step`) is a
    reference, not a statement, and is not flagged.

    ## Fix safety
    The fix adds `()`. It is safe: the bare statement has no effect, so calling the method is
    the only meaning it can have been written for.

    ## References
    - https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.eval
    - https://pytorch.org/docs/stable/generated/torch.optim.Optimizer.zero_grad.html
    """

    code = "ML801"
    name = "mode-call-missing-parens"
    severity = "error"
    summary = "Method such as `model.eval` used as a statement without `()` does nothing"
    fix_availability = "always"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        model = ctx.model
        data = model.source.data
        for statement in model.index.get("statement", []):
            end = statement.end_byte
            # A bare `x.eval` statement ends with the method's name (its last byte first: one index
            # and a set lookup turn away most statements, ending in `)`, before the suffix test).
            if end == 0 or data[end - 1] not in _LAST_BYTES or not data.endswith(_SUFFIXES, 0, end):
                continue
            named = statement.named_children
            if len(named) != 1 or named[0].type != "attribute":
                continue
            attribute = named[0]
            method = text(attribute.child_by_field_name("attribute"))
            kinds = _METHODS.get(method)
            receiver = attribute.child_by_field_name("object")
            if kinds is None or receiver is None:
                continue
            if _receiver_kind(model, receiver, attribute) not in kinds:
                continue
            yield self.finding(
                attribute,
                f"`{text(attribute)}` without `()` does nothing: the method is looked up but never called; "
                f"write `{text(attribute)}()`",
                fix=make_fix(f"Call `{text(attribute)}()`", insert_after(attribute, "()"), safe=True),
            )


def _receiver_kind(model: SemanticModel, receiver: Node, at: Node) -> str | None:
    dotted = dotted_name(receiver)
    if dotted == "self":
        owner = model.enclosing_class(at)
        return "model" if owner is not None and owner.is_model else None
    kind = model.kind_of_node(receiver, at)
    if kind is None and dotted is not None and "loss" in name_tokens(dotted):
        return "loss_tensor"  # `loss`, `total_loss`, `d_loss`: loss tensors (loss *functions* are kind "loss")
    return kind

"""ML801 mode-call-missing-parens."""

from __future__ import annotations

import re
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
# Where a bare `x.eval` statement can end, in a tree without errors: the method's whole name, then
# only spaces before a line break, a comment, `;`, a line continuation or the end of the file (bytes
# of non-ASCII whitespace count as spaces). One pattern per name, each starting with the name: the
# regex engine skips from one to the next (a leading look-behind would make it try every position),
# and most files hold few such places, whose statements are then the only ones read.
_BARE_NAME_ENDS = [
    re.compile(suffix + rb"(?<![A-Za-z0-9_]" + suffix + rb")(?=[ \t\x0b\x0c\x80-\xff]*(?:[#;\r\n\\]|\Z))")
    for suffix in _SUFFIXES
]


# Any whole-word occurrence of a method name (ASCII word boundaries: a superset of the identifiers),
# one pattern per name starting with the name, for the reason given above.
_NAMES_ANYWHERE = [re.compile(suffix + rb"(?<![A-Za-z0-9_]" + suffix + rb")(?![A-Za-z0-9_])") for suffix in _SUFFIXES]


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
        for statement in _statements_ending_in_a_name(model):
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


def _statements_ending_in_a_name(model: SemanticModel) -> Iterator[Node]:
    """The expression statements ending with one of the method names, in document order (a superset
    of the bare `x.eval` statements: the caller checks the rest)."""
    data = model.source.data
    root = model.root
    if root.has_error:
        # Error recovery can end a statement anywhere, not only at a line's end: start from every
        # whole-word occurrence of a method name instead, and keep the statements it ends.
        found: dict[int, Node] = {}
        for start, end in (match.span() for pattern in _NAMES_ANYWHERE for match in pattern.finditer(data)):
            name = root.descendant_for_byte_range(start, end)
            if name is None or name.type != "identifier" or name.start_byte != start or name.end_byte != end:
                continue  # inside a string or comment, or part of a longer name
            attribute = name.parent
            owner = attribute.parent if attribute is not None and attribute.type == "attribute" else None
            if owner is not None and owner.type == "expression_statement" and data.endswith(_SUFFIXES, 0, owner.end_byte):
                found[owner.id] = owner
        yield from sorted(found.values(), key=lambda statement: statement.start_byte)
        return
    # A bare statement's method name is an identifier whose attribute is the whole statement.
    places = sorted(match.span() for pattern in _BARE_NAME_ENDS for match in pattern.finditer(data))
    for start, end in places:
        name = root.descendant_for_byte_range(start, end)
        attribute = name.parent if name is not None and name.type == "identifier" else None
        owner = attribute.parent if attribute is not None and attribute.type == "attribute" else None
        if owner is not None and owner.type == "expression_statement" and owner.end_byte == end:
            yield owner


def _receiver_kind(model: SemanticModel, receiver: Node, at: Node) -> str | None:
    dotted = dotted_name(receiver)
    if dotted == "self":
        owner = model.enclosing_class(at)
        return "model" if owner is not None and owner.is_model else None
    kind = model.kind_of_node(receiver, at)
    if kind is None and dotted is not None and "loss" in name_tokens(dotted):
        return "loss_tensor"  # `loss`, `total_loss`, `d_loss`: loss tensors (loss *functions* are kind "loss")
    return kind

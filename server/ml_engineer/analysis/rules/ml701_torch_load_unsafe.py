"""ML701 torch-load-unsafe."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from ..findings import Finding, Fix
from ..model import SemanticModel
from ..syntax import (
    argument,
    assignment_targets,
    call_method_name,
    enclosing_scope,
    has_splat_arguments,
    keyword_arguments,
    root_identifier,
    text,
    unwrap,
)
from .base import Rule, RuleContext, insert_after, make_fix

_LOADERS = frozenset({"torch.load", "torch.serialization.load"})


class TorchLoadUnsafe(Rule):
    """## What it does
    Flags `torch.load(...)` without `weights_only=True`, whether the argument is missing or
    explicitly `False`.

    ## Why is this bad?
    Without `weights_only=True`, `torch.load` unpickles the file, and unpickling runs whatever
    code the file says to run: a checkpoint downloaded from a hub, a shared drive or a pull
    request can execute commands on your machine. PyTorch 2.6 made `weights_only=True` the
    default, but code that omits it still unpickles everything on older versions, and an explicit
    `weights_only=False` always does. When you trust the file and really need to unpickle
    arbitrary objects, say so with `# noqa: ML701`.

    ## Example
    ```python
    model.load_state_dict(torch.load("checkpoint.pt"))
    ```

    ## Use instead
    ```python
    model.load_state_dict(torch.load("checkpoint.pt", weights_only=True))
    ```

    ## Fix safety
    The fix adds `weights_only=True` only where the loaded object is visibly a state dict: passed
    straight to `load_state_dict`, or bound to a name that is then passed to `load_state_dict`.
    That fix is safe: state dicts hold only tensors and plain containers, which the restricted
    unpickler accepts. Where the result is a checkpoint dict indexed for its state dicts
    (`ckpt["model"]`), the fix is unsafe, since other entries (an `argparse.Namespace`, a custom
    object) would be rejected. Where a whole pickled model is loaded, no fix is offered: the
    restricted loader cannot rebuild it.

    ## References
    - https://pytorch.org/docs/stable/generated/torch.load.html
    - https://pytorch.org/docs/stable/notes/serialization.html#weights-only
    """

    code = "ML701"
    name = "torch-load-unsafe"
    severity = "warning"
    summary = "`torch.load` without `weights_only=True` unpickles arbitrary code"
    fix_availability = "sometimes"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        for call in ctx.model.calls_to(_LOADERS):
            if has_splat_arguments(call):
                continue
            weights_only = keyword_arguments(call).get("weights_only")
            if weights_only is not None and weights_only.type != "false":
                continue  # True, or chosen by a variable
            label = text(call.child_by_field_name("function"))
            if weights_only is not None:
                yield self.finding(
                    call,
                    f"`{label}(..., weights_only=False)` unpickles the file and can run arbitrary code from it; "
                    "load a state dict with `weights_only=True`, or mark a trusted file with `# noqa: ML701`",
                )
                continue
            usage = state_dict_usage(ctx.model, call)
            fix: Fix | None = None
            if usage is not None:
                fix = _add_weights_only(call, safe=usage == "state_dict")
            yield self.finding(
                call,
                f"`{label}(...)` without `weights_only=True` unpickles the file (the default before torch 2.6) "
                "and can run arbitrary code from it; pass `weights_only=True`",
                fix=fix,
            )


def state_dict_usage(model: SemanticModel, call: Node) -> str | None:
    """'state_dict' when the loaded object goes to `load_state_dict` whole, 'checkpoint' when indexed."""
    parent = call.parent
    while parent is not None and parent.type == "parenthesized_expression":
        parent = parent.parent
    if parent is not None and parent.type == "subscript" and parent.child_by_field_name("value") == call:
        return "checkpoint" if _feeds_load_state_dict(parent) else None
    if _feeds_load_state_dict(call):
        return "state_dict"
    if parent is None or parent.type != "assignment" or unwrap(parent.child_by_field_name("right")) != call:
        return None
    targets = assignment_targets(parent)
    if len(targets) != 1 or targets[0].type != "identifier":
        return None
    name = text(targets[0])
    scope = enclosing_scope(parent)
    best: str | None = None
    for later in model.calls_in(scope):
        if later.start_byte <= parent.end_byte or call_method_name(later) != "load_state_dict":
            continue
        if enclosing_scope(later).id != scope.id:
            continue
        arg = unwrap(argument(later, 0, "state_dict"))
        if arg is None:
            continue
        if arg.type == "identifier" and text(arg) == name:
            best = "state_dict" if best is None else best
        elif arg.type in ("subscript", "call") and text(root_identifier(arg)) == name:
            best = "checkpoint"
    return best


def _feeds_load_state_dict(node: Node) -> bool:
    parent = node.parent
    while parent is not None and parent.type == "parenthesized_expression":
        node, parent = parent, parent.parent
    if parent is None or parent.type != "argument_list":
        return False
    outer = parent.parent
    if outer is None or outer.type != "call" or call_method_name(outer) != "load_state_dict":
        return False
    return argument(outer, 0, "state_dict") == node


def _add_weights_only(call: Node, safe: bool) -> Fix | None:
    args = call.child_by_field_name("arguments")
    if args is None:
        return None
    last = next((c for c in reversed(args.named_children) if c.type != "comment"), None)
    if last is None:
        return None
    return make_fix("Add `weights_only=True`", insert_after(last, ", weights_only=True"), safe=safe)

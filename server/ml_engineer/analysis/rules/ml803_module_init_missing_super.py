"""ML803 module-init-missing-super."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from ..findings import Finding
from ..model import FunctionInfo, SemanticModel, slice_by_start
from ..syntax import call_arguments, call_method_name, call_receiver, dotted_name, text, unwrap
from ._modules import may_define_torch_modules
from .base import Rule, RuleContext


class ModuleInitMissingSuper(Rule):
    """## What it does
    Flags an `nn.Module` subclass whose `__init__` assigns attributes (`self.fc = ...`) before
    calling `super().__init__()`, or never calls it.

    ## Why is this bad?
    `nn.Module.__init__` creates the registries for parameters, buffers, sub-modules and
    hooks. Assigning a layer before it runs raises "cannot assign module before
    Module.__init__() call"; never calling it breaks every later use of the module
    (`AttributeError: ... has no attribute '_modules'`). Plain attributes set first happen to
    work today, but the order is fragile and the first layer added later fails.

    ## Example
    ```python
    class Net(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(4, 2)
            super().__init__()
    ```

    ## Use instead
    ```python
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)
    ```

    ## Fix safety
    No automatic fix: the `super().__init__()` call may need arguments.

    ## References
    - https://pytorch.org/docs/stable/generated/torch.nn.Module.html
    - https://pytorch.org/tutorials/beginner/examples_nn/polynomial_module.html
    """

    code = "ML803"
    name = "module-init-missing-super"
    severity = "error"
    summary = "`nn.Module` subclass assigns attributes before (or without) `super().__init__()`"
    fix_availability = "never"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        model = ctx.model
        if not may_define_torch_modules(model):
            return
        for owner in model.classes.values():
            init = owner.methods.get("__init__")
            if not owner.is_torch_module or init is None:
                continue
            body = init.node.child_by_field_name("body")
            if body is None:
                continue
            super_call = next((c for c in _init_calls_in(model, body) if _is_base_init(model, c, init)), None)
            # With a base initialiser, only an assignment up to it can be reported: look no further.
            first_assign = _first_self_assignment(model, body, init, super_call.start_byte if super_call is not None else None)
            if super_call is not None:
                if first_assign is None or first_assign.start_byte > super_call.start_byte:
                    continue
                yield self.finding(
                    first_assign,
                    f"`{text(first_assign.child_by_field_name('left'))}` is assigned before "
                    f"`{text(super_call)}` in `{owner.name}.__init__`: `nn.Module` is not initialised yet; "
                    "call `super().__init__()` first",
                    related=[ctx.related(super_call, "the base initialiser runs only here")],
                )
                continue
            anchor = first_assign if first_assign is not None else init.node.child_by_field_name("name") or init.node
            yield self.finding(
                anchor,
                f"`{owner.name}.__init__` never calls `super().__init__()`: the module's parameter and "
                "sub-module registries are never created",
            )


def _is_base_init(model: SemanticModel, call: Node, init: FunctionInfo) -> bool:
    """`super().__init__(...)`, `super(Net, self).__init__()`, `nn.Module.__init__(self)`, `Base.__init__(self)`."""
    if call_method_name(call) != "__init__" or model.enclosing_function(call) is not init:
        return False
    receiver = unwrap(call_receiver(call))
    if receiver is None:
        return False
    if receiver.type == "call" and text(receiver.child_by_field_name("function")) == "super":
        return True
    args = call_arguments(call)
    return bool(args) and text(args[0]) == "self" and dotted_name(receiver) is not None


def _init_calls_in(model: SemanticModel, body: Node) -> list[Node]:
    """Calls named `__init__` in `body`, in order: the only ones `_is_base_init` accepts."""
    calls, starts = model.call_table("ML803.init_calls", lambda: ("__init__",))
    return slice_by_start(calls, starts, body)


def _first_self_assignment(model: SemanticModel, body: Node, init: FunctionInfo, until: int | None = None) -> Node | None:
    """The first `self.x = ...` of `init` in `body`; with `until`, among those starting at or before it."""
    data = model.source.data
    for assign in model.nodes_in("assign", body):
        if until is not None and assign.start_byte > until:
            return None  # (document order: every later one starts after it too)
        if not data.startswith(b"self", assign.start_byte):
            continue  # the target, which starts the assignment, is no `self.x`
        if model.enclosing_function(assign) is not init:
            continue
        left = assign.child_by_field_name("left")
        if left is not None and left.type == "attribute" and text(left.child_by_field_name("object")) == "self":
            return assign
    return None

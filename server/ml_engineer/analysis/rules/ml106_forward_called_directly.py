"""ML106 forward-called-directly."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import Edit, Finding
from ..syntax import dotted_name, text, unwrap
from .base import Rule, RuleContext, make_fix


class ForwardCalledDirectly(Rule):
    """## What it does
    Flags `model.forward(x)` / `self.encoder.forward(x)`, calling a module's `forward` method
    instead of calling the module itself.

    ## Why is this bad?
    `nn.Module.__call__` does more than run `forward`: it runs forward pre-hooks and hooks
    (used by pruning, quantization observers, `torch.utils.hooks`, profilers, FSDP/DDP
    wrappers, PEFT adapters, feature extraction) and backward hooks. Calling `forward`
    directly silently skips all of them, so wrapped or instrumented models behave
    differently from what the rest of the code expects.

    ## Example
    ```python
    logits = model.forward(x)
    ```

    ## Use instead
    ```python
    logits = model(x)
    ```
    `super().forward(x)` inside a subclass's own `forward` is the normal way to extend a
    module and is not flagged.

    ## Fix safety
    The fix removes `.forward`. It is unsafe: any hooks registered on the module start running,
    which is the point, but changes behaviour.

    ## References
    - https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.forward
    - https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.register_forward_hook
    """

    code = "ML106"
    name = "forward-called-directly"
    severity = "warning"
    summary = "`module.forward(x)` skips the module's hooks; call `module(x)`"
    fix_availability = "always"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        model = ctx.model
        for call in model.calls_named(("forward",)):
            func = call.child_by_field_name("function")
            if func is None or func.type != "attribute" or text(func.child_by_field_name("attribute")) != "forward":
                continue
            receiver = unwrap(func.child_by_field_name("object"))
            if receiver is None or receiver.type not in ("identifier", "attribute", "subscript"):
                continue  # `super().forward(x)`, `super(Net, self).forward(x)`
            dotted = dotted_name(receiver)
            if dotted == "self" or dotted in model.classes or (dotted and dotted.rsplit(".", 1)[-1][:1].isupper()):
                continue  # own method or an explicit base-class call `nn.Module.forward(self, x)`
            if not model.is_model_ref(receiver):
                continue
            name = text(receiver)
            fix = make_fix(f"Call `{name}(...)` instead", Edit(receiver.end_byte, func.end_byte, ""), safe=False)
            yield self.finding(
                call,
                f"`{name}.forward(...)` bypasses `{name}.__call__`, so its forward/backward hooks do not run; "
                f"call `{name}(...)`",
                fix=fix,
            )

"""ML804 functional-dropout-always-on."""

from __future__ import annotations

import re
from collections.abc import Iterator

from tree_sitter import Node

from ..findings import Edit, Finding, Fix
from ..model import FunctionInfo, SemanticModel
from ..syntax import call_arguments, has_splat_arguments, keyword_arguments, text
from .base import Rule, RuleContext, make_fix

_DROPOUTS = frozenset(
    {
        "torch.nn.functional.dropout",
        "torch.nn.functional.dropout1d",
        "torch.nn.functional.dropout2d",
        "torch.nn.functional.dropout3d",
        "torch.nn.functional.alpha_dropout",
        "torch.nn.functional.feature_alpha_dropout",
    }
)


class FunctionalDropoutAlwaysOn(Rule):
    """## What it does
    Flags `F.dropout(x, p)` (and `dropout1d/2d/3d`, `alpha_dropout`, `feature_alpha_dropout`)
    in a module's `forward` (or a method it calls) without a `training=` argument.

    ## Why is this bad?
    The functional form does not know the module's mode: its `training` argument defaults to
    `True`. `model.eval()` therefore does not switch it off, and evaluation and inference keep
    dropping activations at random, giving noisy, worse and non-reproducible predictions.

    ## Example
    ```python
    def forward(self, x):
        return self.fc2(F.dropout(F.relu(self.fc1(x)), p=0.5))
    ```

    ## Use instead
    ```python
    def forward(self, x):
        return self.fc2(F.dropout(F.relu(self.fc1(x)), p=0.5, training=self.training))
    ```
    or an `nn.Dropout(0.5)` sub-module, which follows `train()`/`eval()`. A literal
    `training=True` forces dropout on in every mode and is flagged too, unless the module says it
    does Monte Carlo dropout (MC / Bayesian / uncertainty in its names or docstring).

    ## Fix safety
    The fix adds `training=self.training`. It is unsafe only in the sense that it changes
    evaluation outputs: dropout stops being applied in eval mode, which is what the fix is for.

    ## References
    - https://pytorch.org/docs/stable/generated/torch.nn.functional.dropout.html
    - https://pytorch.org/docs/stable/generated/torch.nn.Dropout.html
    """

    code = "ML804"
    name = "functional-dropout-always-on"
    severity = "error"
    summary = "`F.dropout` in `forward` without `training=self.training` stays on in eval mode"
    fix_availability = "always"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        model = ctx.model
        dropouts = model.calls_to(_DROPOUTS)
        forward_reachable = _forward_reachable(model) if dropouts else set()
        for call in dropouts:
            function = model.enclosing_function(call)
            if function is None or function.qualname not in forward_reachable:
                continue
            forced = _literal_true_training(call)
            if forced is not None:
                if not _monte_carlo_intent(function):
                    yield self.finding(
                        call,
                        f"`{_short(call)}` forces dropout on (`training=True`) in `{function.qualname}`: it stays on "
                        "after `model.eval()`, so evaluation is noisy; pass `training=self.training` or use `nn.Dropout`",
                        fix=make_fix("Pass `training=self.training`", Edit(forced.start_byte, forced.end_byte, "self.training"), safe=False),
                    )
                continue
            if "training" in keyword_arguments(call) or len(call_arguments(call)) >= 3 or has_splat_arguments(call):
                continue
            yield self.finding(
                call,
                f"`{_short(call)}` ignores `{function.owner.name if function.owner else 'the module'}`'s "
                "train/eval mode (training defaults to True): dropout stays on at evaluation; pass "
                "`training=self.training` or use `nn.Dropout`",
                fix=_add_training_argument(call),
            )


def _forward_reachable(model: SemanticModel) -> set[str]:
    """Qualnames of `forward` methods of torch modules and the same-class methods they call."""
    reachable: set[str] = set()
    pending: list[FunctionInfo] = [
        info.methods["forward"] for info in model.classes.values() if info.is_torch_module and "forward" in info.methods
    ]
    while pending:
        info = pending.pop()
        if info.qualname in reachable:
            continue
        reachable.add(info.qualname)
        for callee in info.callees:
            target = model.functions.get(callee)
            if target is not None and target.owner is not None and target.owner is info.owner:
                pending.append(target)
    return reachable


def _literal_true_training(call: Node) -> Node | None:
    """The literal `True` passed as `training` (keyword or third positional argument), if any."""
    value = keyword_arguments(call).get("training")
    if value is None:
        positional = call_arguments(call)
        value = positional[2] if len(positional) >= 3 else None
    return value if value is not None and value.type == "true" else None


# Monte Carlo dropout keeps dropout on at inference on purpose; such code says so in its names or docs.
_MC_INTENT = re.compile(r"monte.?carlo|mc.?dropout|(^|[^a-z])mc([^a-z]|$)|bayes|uncertaint|stochastic", re.IGNORECASE)


def _monte_carlo_intent(function: FunctionInfo) -> bool:
    owner = function.owner
    scope = owner.node if owner is not None else function.node
    return bool(_MC_INTENT.search(text(scope)))


def _add_training_argument(call: Node) -> Fix | None:
    args = call.child_by_field_name("arguments")
    if args is None or args.type != "argument_list":
        return None
    closing = args.end_byte - 1
    separator = ", " if args.named_children else ""
    if args.named_children and text(args).rstrip(")").rstrip().endswith(","):
        separator = " "
    return make_fix("Pass `training=self.training`", Edit(closing, closing, f"{separator}training=self.training"), safe=False)


def _short(node: Node) -> str:
    source = " ".join(text(node).split())
    return source if len(source) <= 60 else source[:57] + "..."

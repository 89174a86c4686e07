"""ML113 requires-grad-typo."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..findings import Finding
from ..syntax import text
from .base import Rule, RuleContext, make_fix, replace_node

_TYPOS = frozenset({"require_grad", "requires_grads", "require_grads", "requiresgrad", "requires_gradient", "require_gradient"})
# Any typo in the source bytes (an attribute named like one is spelt there): most files have none,
# and then no assignment needs reading. (A literal prefix: the scan jumps from `require` to `require`.)
_TYPO_TEXT = re.compile(rb"require(?:" + b"|".join(re.escape(typo[len("require") :].encode()) for typo in sorted(_TYPOS)) + rb")")


class RequiresGradTypo(Rule):
    """## What it does
    Flags assignments to a misspelt `requires_grad` attribute, such as `p.require_grad = False`.

    ## Why is this bad?
    Tensors accept arbitrary new Python attributes, so the misspelling silently creates a new
    attribute and leaves `requires_grad` untouched: the layers you meant to freeze keep training,
    the optimizer keeps updating them, and memory use stays as high as before.

    ## Example
    ```python
    for p in model.backbone.parameters():
        p.require_grad = False
    ```

    ## Use instead
    ```python
    for p in model.backbone.parameters():
        p.requires_grad = False  # or p.requires_grad_(False)
    ```

    ## Fix safety
    The fix renames the attribute to `requires_grad`. It is safe: the misspelt attribute has no
    effect in PyTorch, and the fix gives the assignment the meaning it was written for.

    ## References
    - https://pytorch.org/docs/stable/notes/autograd.html#setting-requires-grad
    """

    code = "ML113"
    name = "requires-grad-typo"
    severity = "error"
    summary = "Misspelt `requires_grad` attribute silently does nothing"
    fix_availability = "always"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        if _TYPO_TEXT.search(ctx.source.data) is None:
            return
        for assign in ctx.model.index.get("assign", []):
            left = assign.child_by_field_name("left")
            if left is None or left.type != "attribute":
                continue
            attr = left.child_by_field_name("attribute")
            if attr is None or text(attr) not in _TYPOS:
                continue
            owner = text(left.child_by_field_name("object"))
            fix = make_fix("Rename to `requires_grad`", replace_node(attr, "requires_grad"), safe=True)
            yield self.finding(
                left,
                f"`{owner}.{text(attr)}` is a typo of `requires_grad`: it creates a new attribute and "
                f"`{owner}` still trains",
                fix=fix,
            )

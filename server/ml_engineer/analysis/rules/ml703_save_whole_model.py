"""ML703 save-whole-model."""

from __future__ import annotations

import re
from collections.abc import Iterator

from tree_sitter import Node

from ..findings import Finding
from ..model import SemanticModel, kind_from_name
from ..syntax import argument, call_method_name, dotted_name, statement_of, text, unwrap
from .base import Rule, RuleContext, insert_after, make_fix

_SAVERS = frozenset({"torch.save", "torch.serialization.save"})
# Names that look like a model's but hold its metadata.
_METADATA_SUFFIX = re.compile(
    r"_(name|names|path|paths|dir|file|filename|type|id|cfg|config|args|kwargs|version|str|key|kind|class|params|state|"
    r"state_dict|sd|weights|ckpt|checkpoint|dict|info|summary|out|output|outputs)$",
    re.IGNORECASE,
)


class SaveWholeModel(Rule):
    """## What it does
    Flags `torch.save(model, path)`, where the first argument is the module itself (or a dict
    entry holding the module) rather than its `state_dict()`.

    ## Why is this bad?
    Saving a module pickles the object, which records the import path of its class and of every
    sub-module: the file only loads where the same code sits at the same module path, breaks
    after refactoring, and needs `weights_only=False` (unpickling arbitrary code) to load. A
    state dict holds only tensors, loads with `weights_only=True`, and survives code changes.

    ## Example
    ```python
    torch.save(model, "model.pt")
    ```

    ## Use instead
    ```python
    torch.save(model.state_dict(), "model.pt")
    # later: model = Net(); model.load_state_dict(torch.load("model.pt", weights_only=True))
    ```

    ## Fix safety
    The fix saves `model.state_dict()` instead. It is unsafe: the code that loads the file must
    change to rebuild the model and call `load_state_dict`.

    ## References
    - https://pytorch.org/tutorials/beginner/saving_loading_models.html
    - https://pytorch.org/docs/stable/notes/serialization.html
    """

    code = "ML703"
    name = "save-whole-model"
    severity = "info"
    summary = "`torch.save(model)` pickles the module instead of its state dict"
    fix_availability = "always"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        for call in ctx.model.calls_to(_SAVERS):
            obj = unwrap(argument(call, 0, "obj"))
            if obj is None:
                continue
            if obj.type == "dictionary":
                for pair in obj.named_children:
                    if pair.type != "pair":
                        continue
                    value = unwrap(pair.child_by_field_name("value"))
                    if value is not None and _is_module(ctx.model, value, strict=True):
                        yield self._report(value, f"`{text(value)}` stored in the dict saved by `torch.save`")
            elif _is_module(ctx.model, obj, strict=False):
                yield self._report(obj, f"`torch.save({text(obj)}, ...)`")

    def _report(self, node: Node, what: str) -> Finding:
        fix = make_fix("Save the `state_dict()`", insert_after(node, ".state_dict()"), safe=False)
        return self.finding(
            node,
            f"{what} pickles the whole module, which only loads with the same code at the same import path "
            f"and needs unsafe unpickling; save `{text(node)}.state_dict()`",
            fix=fix,
        )


def _is_module(model: SemanticModel, node: Node, strict: bool) -> bool:
    dotted = dotted_name(node)
    if dotted is None:
        return False
    last = dotted.rsplit(".", 1)[-1]
    if _METADATA_SUFFIX.search(last):
        return False
    value = model.value_of(dotted, statement_of(node))
    if value is not None:
        value = unwrap(value)
        if value is not None and value.type != "call":
            return model.kind_of_node(value) == "model" if value.type in ("identifier", "attribute") else False
        if value is not None and call_method_name(value) in ("state_dict", "to_dict", "dict", "copy", "deepcopy"):
            return False
    entity = model.entity(dotted, node)
    if entity is not None:
        return entity.kind == "model"
    if value is not None:
        return model.kind_of_expression(value)[0] == "model"
    if strict:
        return last in ("model", "net", "network", "module") or (dotted.startswith("self.") and last in ("model", "net"))
    return kind_from_name(dotted) == "model"

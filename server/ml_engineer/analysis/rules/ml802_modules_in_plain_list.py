"""ML802 modules-in-plain-list."""

from __future__ import annotations

import re
from collections.abc import Iterator

from tree_sitter import Node

from ..findings import Finding
from ..model import ClassInfo, SemanticModel
from ..syntax import call_arguments, call_method_name, call_receiver, dotted_name, text, unwrap
from ._modules import class_of, is_module_constructor, may_define_torch_modules
from .base import Rule, RuleContext, make_fix, replace_node

_LIST_TYPES = frozenset({"list", "tuple", "list_comprehension"})
_DICT_TYPES = frozenset({"dictionary", "dictionary_comprehension"})
# Values `_module_evidence` can find layers in: containers, and a local name bound to one.
_CONTAINER_VALUE_TYPES = _LIST_TYPES | _DICT_TYPES | {"identifier"}
_REGISTERING = frozenset({"add_module", "register_module", "ModuleList", "ModuleDict", "Sequential", "ParameterList"})


class ModulesInPlainList(Rule):
    """## What it does
    Flags sub-layers kept in a plain Python `list`, `tuple` or `dict` attribute of an
    `nn.Module` (`self.layers = [nn.Linear(...) for _ in range(n)]`, or an empty list that
    `nn.Conv2d(...)` layers are appended to).

    ## Why is this bad?
    `nn.Module` only registers sub-modules assigned directly as attributes or held in
    `nn.ModuleList` / `nn.ModuleDict` / `nn.Sequential`. Layers in a plain container are
    invisible to it: `model.parameters()` does not return them (the optimizer never trains
    them), `model.to(device)` does not move them, `state_dict()` does not save them, and
    `model.eval()` does not switch them.

    ## Example
    ```python
    self.blocks = [nn.Linear(d, d) for _ in range(depth)]
    ```

    ## Use instead
    ```python
    self.blocks = nn.ModuleList([nn.Linear(d, d) for _ in range(depth)])
    ```
    Lists of plain values (sizes, names) and lists that only point at sub-modules already
    registered as attributes are fine.

    ## Fix safety
    The fix wraps a list in `nn.ModuleList(...)` or a dict in `nn.ModuleDict(...)` (only for
    list/dict displays and comprehensions). It is unsafe: the layers then appear in
    `parameters()` and `state_dict()`, which changes the optimizer's parameter set and the
    checkpoint keys (old checkpoints lack them).

    ## References
    - https://pytorch.org/docs/stable/generated/torch.nn.ModuleList.html
    - https://pytorch.org/docs/stable/generated/torch.nn.ModuleDict.html
    """

    code = "ML802"
    name = "modules-in-plain-list"
    severity = "error"
    summary = "Layers in a plain list/dict attribute are not registered with the module"
    fix_availability = "sometimes"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        model = ctx.model
        if not may_define_torch_modules(model):
            return
        # Only assignments in a method of an nn.Module class can be reported (`class_of` below).
        data = model.source.data
        for assign in _assignments_in_modules(model):
            if not data.startswith(b"self", assign.start_byte):
                continue  # the target, which starts the assignment, is no `self.x`
            value = unwrap(assign.child_by_field_name("right"))
            if value is None or value.type not in _CONTAINER_VALUE_TYPES:
                continue  # most `self.x = nn.Linear(...)`: the target is not read
            left = assign.child_by_field_name("left")
            if left is None or left.type != "attribute":
                continue
            target = dotted_name(left)
            if target is None or not target.startswith("self.") or target.count(".") != 1:
                continue
            owner = class_of(model, assign)
            if owner is None or not owner.is_torch_module:
                continue
            evidence = self._module_evidence(model, owner, target, value, assign)
            if evidence is None or _registered_elsewhere(model, owner, target, value):
                continue
            container = "dict" if value.type in _DICT_TYPES else "list"
            fix = None
            if value.type in _LIST_TYPES - {"tuple"} or value.type in _DICT_TYPES:
                wrapper = "ModuleDict" if container == "dict" else "ModuleList"
                prefix = _nn_prefix(model)
                if prefix is not None:
                    fix = make_fix(
                        f"Wrap in `{prefix}{wrapper}`", replace_node(value, f"{prefix}{wrapper}({text(value)})"), safe=False
                    )
            yield self.finding(
                assign,
                f"`{target}` holds layers in a plain {container}: they are not registered, so "
                f"`parameters()`, `.to(device)` and `state_dict()` miss them; use "
                f"`nn.{'ModuleDict' if container == 'dict' else 'ModuleList'}`",
                related=[ctx.related(evidence, "layer created here")] if evidence is not value else [],
                fix=fix,
            )

    def _module_evidence(
        self, model: SemanticModel, owner: ClassInfo, target: str, value: Node, assign: Node
    ) -> Node | None:
        """A layer constructor that ends up in the container, or None."""
        found = _constructor_in_container(model, value)
        if found is not None:
            return found
        if value.type in ("list", "dictionary") and not value.named_children:
            return _appended_constructor(model, owner.node, target)
        if value.type == "identifier":
            function = model.enclosing_function(assign)
            if function is None:
                return None
            local = model.value_of(text(value), assign)
            local = unwrap(local)
            if local is None:
                return None
            found = _constructor_in_container(model, local)
            if found is not None:
                return found
            if local.type in ("list", "dictionary"):
                return _appended_constructor(model, function.node, text(value))
        return None


def _constructor_in_container(model: SemanticModel, value: Node) -> Node | None:
    elements: list[Node | None]
    if value.type in ("list", "tuple"):
        elements = list(value.named_children)
    elif value.type == "list_comprehension":
        body = value.child_by_field_name("body")
        elements = [body] if body is not None else []
    elif value.type == "dictionary":
        elements = [pair.child_by_field_name("value") for pair in value.named_children if pair.type == "pair"]
    elif value.type == "dictionary_comprehension":
        body = value.child_by_field_name("body")
        elements = [body.child_by_field_name("value")] if body is not None and body.type == "pair" else []
    else:
        return None
    for element in elements:
        if element is not None and is_module_constructor(model, element):
            return element
    return None


def _appended_constructor(model: SemanticModel, scope: Node, container: str) -> Node | None:
    """`container.append(nn.Linear(...))` / `container[k] = nn.Linear(...)` inside `scope`."""
    for call in model.calls_in(scope):
        if call_method_name(call) in ("append", "insert", "extend") and dotted_name(call_receiver(call)) == container:
            for arg in call_arguments(call):
                if is_module_constructor(model, arg) or _constructor_in_container(model, unwrap(arg) or arg) is not None:
                    return call
    for assign in model.nodes_in("assign", scope):
        left = assign.child_by_field_name("left")
        if left is not None and left.type == "subscript" and dotted_name(left.child_by_field_name("value")) == container:
            if is_module_constructor(model, assign.child_by_field_name("right")):
                return assign
    return None


def _registered_elsewhere(model: SemanticModel, owner: ClassInfo, target: str, value: Node) -> bool:
    """Is the container (or its contents) handed to `nn.ModuleList`/`add_module` in the class?"""
    names = {target}
    if value.type == "identifier":
        names.add(text(value))
    pattern = re.compile("|".join(rf"(?<![\w.]){re.escape(name)}(?!\w)" for name in names))
    for call in model.calls_in(owner.node):
        method = call_method_name(call)
        if method in ("add_module", "register_module"):
            return True
        if method in _REGISTERING and pattern.search(text(call.child_by_field_name("arguments"))):
            return True
    return False


def _assignments_in_modules(model: SemanticModel) -> list[Node]:
    """The assignments inside the nn.Module classes, in document order, each once.

    Classes nest or are apart: the outermost module classes, in order, hold every such assignment,
    and their slices of the index follow one another.
    """
    classes = sorted(
        ((info.node.start_byte, -info.node.end_byte, info.node) for info in model.classes.values() if info.is_torch_module),
        key=lambda entry: entry[:2],
    )
    assigns: list[Node] = []
    covered_until = -1
    for start, negative_end, node in classes:
        if start < covered_until:
            continue  # nested in a module class taken already
        covered_until = -negative_end
        assigns.extend(model.nodes_in("assign", node))
    return assigns


def _nn_prefix(model: SemanticModel) -> str | None:
    """How this file spells `torch.nn.` (`nn.`, `torch.nn.`), for the fix; None if not importable."""
    for local, qual in model.imports.bindings.items():
        if qual == "torch.nn":
            return f"{local}."
    for local, qual in model.imports.bindings.items():
        if qual == "torch":
            return f"{local}.nn."
    return None

"""Shared questions about `nn.Module` subclasses (ML802-ML804): what builds a sub-module."""

from __future__ import annotations

import re

from tree_sitter import Node

from .. import known_apis as apis
from ..model import ClassInfo, SemanticModel
from ..syntax import call_method_name, text, unwrap

_TORCH_NN_CLASS = re.compile(r"^torch\.nn\.(modules\.[\w.]+\.)?[A-Z]\w*$")
_NOT_MODULES = frozenset({"torch.nn.Parameter", "torch.nn.parameter.Parameter", "torch.nn.Buffer", "torch.nn.parameter.Buffer"})
# Names of classes from other files that are modules by convention (`Block(dim)`, `ResidualLayer(...)`).
_MODULE_LIKE_NAME = re.compile(
    r"(Block|Layer|Conv\w*|Attention|Encoder|Decoder|Net|Module|MLP|Head|Embedding|Stage|Cell|Unit|Bottleneck|Expert)$"
)
_DEVICE_METHODS = frozenset({"to", "cuda", "cpu", "float", "half", "double", "bfloat16", "requires_grad_"})


def is_module_constructor(model: SemanticModel, node: Node | None) -> bool:
    """Does `node` build a new `nn.Module` (`nn.Linear(...)`, `Block(...)`, `resnet18()`)?"""
    node = unwrap(node)
    while node is not None and node.type == "call" and call_method_name(node) in _DEVICE_METHODS:
        func = node.child_by_field_name("function")
        inner = func.child_by_field_name("object") if func is not None and func.type == "attribute" else None
        if inner is None or inner.type != "call":
            break
        node = inner
    if node is None or node.type != "call":
        return False
    qual = model.qualname(node)
    func = node.child_by_field_name("function")
    local = text(func)
    if local in model.classes:
        return model.classes[local].is_torch_module
    if qual is None:
        return False
    if qual in _NOT_MODULES:
        return False
    if _TORCH_NN_CLASS.match(qual) or apis.is_model_constructor(qual):
        return True
    last = qual.rsplit(".", 1)[-1]
    return not qual.startswith(("torch.", "numpy.", "builtins.")) and last[:1].isupper() and bool(_MODULE_LIKE_NAME.search(last))


def torch_module_classes(model: SemanticModel) -> list[ClassInfo]:
    return [info for info in model.classes.values() if info.is_torch_module]


def class_of(model: SemanticModel, node: Node) -> ClassInfo | None:
    """The class whose method (directly) contains `node`."""
    function = model.enclosing_function(node)
    return function.owner if function is not None else None

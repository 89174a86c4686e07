"""Shared questions about `nn.Module` subclasses (ML802-ML804): what builds a sub-module."""

from __future__ import annotations

import re

from tree_sitter import Node

from .. import known_apis as apis
from ..imports import _CANONICAL_PREFIXES
from ..model import ClassInfo, SemanticModel
from ..syntax import call_method_name, text, unwrap

_TORCH_NN_CLASS = re.compile(r"^torch\.nn\.(modules\.[\w.]+\.)?[A-Z]\w*$")
_NOT_MODULES = frozenset({"torch.nn.Parameter", "torch.nn.parameter.Parameter", "torch.nn.Buffer", "torch.nn.parameter.Buffer"})
# Names of classes from other files that are modules by convention (`Block(dim)`, `ResidualLayer(...)`).
_MODULE_LIKE_NAME = re.compile(
    r"(Block|Layer|Conv\w*|Attention|Encoder|Decoder|Net|Module|MLP|Head|Embedding|Stage|Cell|Unit|Bottleneck|Expert)$"
)
_BASE_ROOTS = frozenset(base.split(".")[0] for base in apis.TORCH_MODULE_BASES)
_TORCH_MODULE_IMPORT_ROOTS = _BASE_ROOTS | frozenset(
    prefix.split(".")[0] for prefix, replacement in _CANONICAL_PREFIXES if replacement.split(".")[0] in _BASE_ROOTS
)
_DEVICE_METHODS = frozenset({"to", "cuda", "cpu", "float", "half", "double", "bfloat16", "requires_grad_"})


def may_define_torch_modules(model: SemanticModel) -> bool:
    """Can a class of the file be an `nn.Module` (`ClassInfo.is_torch_module`)? Only when it imports
    from a root of `known_apis.TORCH_MODULE_BASES` (or a spelling `canonical()` maps onto one), as
    bases resolve through imports, or spells one of those bases in full (an unresolved base keeps its text)."""
    if any(record.module.split(".")[0] in _TORCH_MODULE_IMPORT_ROOTS for record in model.imports.records):
        return True
    return any(base.encode() in model.source.data for base in apis.TORCH_MODULE_BASES)


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

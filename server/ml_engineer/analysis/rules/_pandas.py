"""Evidence that an expression holds a pandas object, a NumPy array or a torch tensor.

Shared by the data-preparation rules (ML504, ML901, ML902, ML906). Evidence is a pandas/NumPy/
torch constructor or reader somewhere up the chain of plain assignments, a pandas-only accessor
(`.loc`, `.iloc`, `.str`), or a name people only give to data frames (`df`, `train_df`). A name
such as `data` or `config` is not evidence on its own.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from ..model import SemanticModel
from ..syntax import call_method_name, call_receiver, dotted_name, statement_of, unwrap

_MAX_DEPTH = 16  # one step per `df = df[...]` re-binding: cleaning scripts chain many
_DF_NAME = re.compile(r"^(df|pdf|sdf)$|^df_\w+$|_df$|^dataframe$|_dataframe$|^df\d+$", re.IGNORECASE)
_PANDAS_ACCESSORS = frozenset({"loc", "iloc", "at", "iat", "str", "dt", "cat"})
# Methods that return a NumPy array from a pandas object or an array.
_TO_NUMPY = frozenset({"to_numpy", "values"})
_TORCH_NOT_TENSORS = re.compile(
    r"^torch\.(device|dtype|load|save|compile|no_grad|enable_grad|inference_mode|manual_seed|set_\w+|is_\w+|get_\w+|"
    r"use_\w+|autocast|cuda|backends|jit|distributed|hub|onnx|utils|nn|optim|amp)\b"
)


_DF_COLLECTION = re.compile(r"(dfs|frames|_dict|_list|_map|_paths?|_files?|_names?|_cols?|_columns)$", re.IGNORECASE)


def is_df_name(dotted: str) -> bool:
    """`df`, `train_df`, `df_clean`, `self.df`; not collections of frames (`dfs`, `df_dict`)."""
    last = dotted.rsplit(".", 1)[-1]
    return bool(_DF_NAME.search(last)) and not _DF_COLLECTION.search(last)


def framework_of(model: SemanticModel, node: Node | None, depth: int = 0) -> str | None:
    """'pandas' | 'numpy' | 'torch' when the expression visibly holds such an object, else None."""
    node = unwrap(node)
    if node is None or depth > _MAX_DEPTH:
        return None
    if node.type == "subscript":
        return framework_of(model, node.child_by_field_name("value"), depth)  # a child node: no cycle to guard
    if node.type == "attribute":
        attr = node.child_by_field_name("attribute")
        attr_name = attr.text.decode() if attr is not None and attr.text is not None else ""
        obj = node.child_by_field_name("object")
        if attr_name in ("loc", "iloc"):
            return "pandas"  # only pandas (and pandas look-alikes) index this way
        if attr_name in _PANDAS_ACCESSORS:
            return "pandas" if framework_of(model, obj, depth + 1) == "pandas" else None
        qual = model.qualname(node)
        if qual is not None and not (dotted_name(node) or "").startswith("self."):
            return None  # a module attribute such as np.nan
        if attr_name in _TO_NUMPY and framework_of(model, obj, depth + 1) == "pandas":
            return "numpy"
    if node.type in ("identifier", "attribute"):
        dotted = dotted_name(node)
        if dotted is None:
            if node.type == "attribute":
                return _column_of(model, node, depth)
            return None
        if is_df_name(dotted):
            return "pandas"
        value = model.value_of(dotted, statement_of(node))
        if value is not None:
            return framework_of(model, value, depth + 1)
        if node.type == "attribute":
            return _column_of(model, node, depth)
        return None
    if node.type == "call":
        qual = model.qualname(node)
        if qual is not None:
            root = qual.split(".")[0]
            if root == "pandas":
                return "pandas"
            if root == "numpy" and not qual.startswith(("numpy.random.seed", "numpy.isnan", "numpy.any", "numpy.all")):
                return "numpy"
            if root == "torch" and not _TORCH_NOT_TENSORS.match(qual):
                return "torch"
            return None
        receiver = call_receiver(node)
        if receiver is None:
            return None
        inner = framework_of(model, receiver, depth + 1)
        if inner == "pandas" and call_method_name(node) in _TO_NUMPY:
            return "numpy"
        return inner
    return None


def _column_of(model: SemanticModel, node: Node, depth: int) -> str | None:
    """`df.age` is a Series when `df` is a data frame."""
    obj = node.child_by_field_name("object")
    return "pandas" if framework_of(model, obj, depth + 1) == "pandas" else None


def is_pandas(model: SemanticModel, node: Node | None) -> bool:
    return framework_of(model, node) == "pandas"

"""ML902 result-discarded."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from ..findings import Edit, Finding, Fix
from ..model import SemanticModel
from ..syntax import (
    argument,
    call_method_name,
    call_receiver,
    dotted_name,
    keyword_argument_node,
    root_identifier,
    text,
    unwrap,
)
from ._pandas import framework_of
from ._test_code import inside_expecting_block, inside_test_function
from .base import Rule, RuleContext, make_fix

# Method names only data-frame libraries use: the name itself says what the receiver is.
_FRAME_METHODS = frozenset(
    {
        "dropna", "fillna", "drop_duplicates", "sort_values", "sort_index", "reset_index", "set_index", "astype",
        "rename_axis", "add_prefix", "add_suffix", "interpolate", "ffill", "bfill",
    }
)
# Methods that many objects have: reported only on visible pandas / NumPy receivers.
_PANDAS_METHODS = frozenset(
    {"drop", "rename", "replace", "clip", "round", "where", "mask", "query", "assign", "reindex", "merge", "join",
     "transpose", "abs", "strip", "lower", "upper", "apply_along_axis"}
)
_NUMPY_METHODS = frozenset({"reshape", "flatten", "squeeze", "clip", "round", "transpose", "astype", "ravel"})
# Tensor methods that return a new tensor (on an nn.Module, `.to()` and friends work in place).
_TENSOR_METHODS = frozenset({"to", "cuda", "cpu", "float", "half", "double", "long", "int", "bfloat16", "detach"})
# Functions whose only effect is their result.
_PURE_FUNCTIONS = frozenset(
    {
        "numpy.append", "numpy.delete", "numpy.insert", "numpy.reshape", "numpy.sort", "numpy.concatenate",
        "numpy.clip", "numpy.round", "numpy.around", "numpy.squeeze", "numpy.transpose", "numpy.nan_to_num",
        "numpy.where", "pandas.concat", "pandas.merge", "pandas.to_datetime", "pandas.to_numeric",
        "pandas.get_dummies",
    }
)
_FRAME_ROOTS = ("pandas", "numpy", "polars", "pyspark", "modin", "dask", "cudf")

_CHECKED_METHODS = _FRAME_METHODS | _PANDAS_METHODS | _NUMPY_METHODS | _TENSOR_METHODS


class ResultDiscarded(Rule):
    """## What it does
    Flags a bare statement that calls a pandas/NumPy method or function which returns a new
    object and leaves its input alone: `df.dropna()`, `df.fillna(0)`, `df.drop(columns=...)`,
    `df.rename(...)`, `df.sort_values(...)`, `arr.astype(...)`, `np.append(arr, x)`,
    `pd.concat([...])`, and `tensor.to(device)` on a tensor. Method names used by many objects
    (`drop`, `replace`, `reshape`, ...) are reported only when the receiver is visibly a
    DataFrame, Series or array.

    Not reported: calls with `inplace=True` (or a variable `inplace=`) or NumPy's `out=`;
    `module.to(device)` on an `nn.Module` (which moves the module in place); and, in notebooks
    and `# %%` cell scripts, the last statement of a cell, which Jupyter displays (a bare
    `df.dropna()` there is a look at the result, not a lost one). Display-only calls such as
    `df.head()` in the middle of a cell are not this rule's concern.

    ## Why is this bad?
    These calls do not modify the object they are called on; their result is the cleaned,
    converted or moved copy. Dropped on the floor, the code reads as if the data were cleaned
    while the original, unchanged data flows on: NaNs reach the model, the column is still there,
    the batch stays on the CPU.

    ## Example
    ```python
    df.dropna()
    df.drop(columns=["id"])
    x.to(device)
    ```

    ## Use instead
    ```python
    df = df.dropna()
    df = df.drop(columns=["id"])
    x = x.to(device)
    ```

    ## Fix safety
    The fix assigns the result back to the receiver (`df = df.dropna()`). It is unsafe: it
    changes the data every later line sees, which is the intent but may surface other problems
    (fewer rows, new dtypes), and it rebinds the name rather than mutating a shared object.

    ## References
    - https://pandas.pydata.org/docs/user_guide/copy_on_write.html
    - https://pandas.pydata.org/docs/reference/api/pandas.DataFrame.dropna.html
    - https://pytorch.org/docs/stable/generated/torch.Tensor.to.html
    """

    code = "ML902"
    name = "result-discarded"
    severity = "warning"
    summary = "Result of a non-inplace pandas/NumPy/tensor operation is discarded"
    fix_availability = "sometimes"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        model = ctx.model
        has_frames = any(model.uses_framework(root) for root in _FRAME_ROOTS)
        for statement, call in _call_statements(model, [*model.calls_to(_PURE_FUNCTIONS), *model.calls_named(_CHECKED_METHODS)]):
            qual = model.qualname(call)
            if (qual not in _PURE_FUNCTIONS) if qual is not None else (model.method_name(call) not in _CHECKED_METHODS):
                continue  # `_discarded_target` would say None: skip the argument reads
            if keyword_argument_node(call, "out") is not None:
                continue
            inplace = keyword_argument_node(call, "inplace")
            inplace_value = inplace.child_by_field_name("value") if inplace is not None else None
            if inplace is not None and (inplace_value is None or inplace_value.type != "false"):
                continue  # inplace=True, or decided by a variable
            target = _discarded_target(model, call, has_frames)
            if target is None:
                continue
            if model.is_last_statement_of_cell(statement):
                continue  # Jupyter displays it
            if inside_expecting_block(model, statement) or inside_test_function(model, statement):
                continue  # called for the exception or warning it raises, or as a smoke test
            what = text(call.child_by_field_name("function"))
            fix = _assign_back(call, target)
            yield self.finding(
                call,
                f"`{what}(...)` returns a new object and leaves `{text(target)}` unchanged; the result is "
                f"discarded: assign it (`{text(target)} = {what}(...)`)",
                fix=fix,
            )


def _call_statements(model: SemanticModel, calls: list[Node]) -> list[tuple[Node, Node]]:
    """(statement, call) for the expression statements that are just one of `calls` (parentheses
    aside), in document order: the statements the check reads, found from the calls it cares about."""
    found: dict[int, tuple[Node, Node]] = {}
    data = model.source.data
    anywhere = model.root.has_error  # error recovery can build a statement after any byte
    for call in calls:
        if not (anywhere or _may_start_statement(data, call)):
            continue  # `y = x.to(d)`, `f(a, df.drop(...))`: no need to climb (`Node.parent` walks down from the root)
        statement = call.parent
        while statement is not None and statement.type in ("parenthesized_expression", "await"):
            statement = statement.parent
        if statement is None or statement.type != "expression_statement" or statement.id in found:
            continue
        named = statement.named_children
        if len(named) == 1 and unwrap(named[0]) == call:
            found[statement.id] = (statement, call)
    return sorted(found.values(), key=lambda pair: pair[0].start_byte)


# What can come right before the call of an expression statement, spaces aside, in a tree without
# errors: a line break or the start of the file, `;`, the `:` of `if x: df.dropna()`, the `(` of
# `(df.dropna())`, the `t` of `await`. (Bytes of non-ASCII whitespace count too.)
_STATEMENT_OPENERS = frozenset(b"\n\r;:(t")
_SPACES = frozenset(b" \t\x0c")


def _may_start_statement(data: bytes, call: Node) -> bool:
    position = call.start_byte - 1
    while position >= 0 and data[position] in _SPACES:
        position -= 1
    return position < 0 or data[position] in _STATEMENT_OPENERS or data[position] >= 0x80


def _discarded_target(model: SemanticModel, call: Node, has_frames: bool) -> Node | None:
    """The name the caller probably meant to update, when the call's result is pure and dropped."""
    qual = model.qualname(call)
    if qual is not None:
        if qual in _PURE_FUNCTIONS:
            first = unwrap(argument(call, 0))
            if qual == "numpy.where" and argument(call, 2) is None:
                return None
            return first if first is not None and dotted_name(first) is not None else call
        return None
    method = call_method_name(call)
    receiver = unwrap(call_receiver(call))
    if method is None or receiver is None:
        return None
    root = root_identifier(receiver)
    if root is None or text(root) in ("self", "cls", "super") or text(root) in model.imports.bindings:
        return None
    framework = framework_of(model, receiver)
    if method in _FRAME_METHODS and (framework in ("pandas", "numpy") or (framework is None and has_frames)):
        return _strip_accessor(receiver)
    if method in _PANDAS_METHODS and framework == "pandas":
        return _strip_accessor(receiver)
    if method in _NUMPY_METHODS and framework == "numpy":
        return receiver
    if method in _TENSOR_METHODS and (framework == "torch" or _is_batch_from_loader(model, receiver)):
        if model.kind_of_node(receiver, call) == "model":
            return None
        return receiver
    return None


def _strip_accessor(receiver: Node) -> Node:
    """`df["name"].str` -> `df["name"]`: the `.str` accessor is not what gets reassigned."""
    if receiver.type == "attribute" and text(receiver.child_by_field_name("attribute")) in ("str", "dt", "cat"):
        inner = receiver.child_by_field_name("object")
        if inner is not None:
            return inner
    return receiver


def _is_batch_from_loader(model: SemanticModel, receiver: Node) -> bool:
    """`x` in `for x, y in train_loader:` (also through `enumerate`/`tqdm`)."""
    if receiver.type != "identifier":
        return False
    name = text(receiver)
    parent = receiver.parent
    while parent is not None and parent.type not in ("function_definition", "module"):
        if parent.type == "for_statement":
            left = parent.child_by_field_name("left")
            if left is not None and name in _bound_names(left):
                iterable = unwrap(parent.child_by_field_name("right"))
                while iterable is not None and iterable.type == "call" and call_method_name(iterable) in ("enumerate", "tqdm", "iter"):
                    iterable = unwrap(argument(iterable, 0))
                return iterable is not None and model.kind_of_node(iterable, parent) == "loader"
        parent = parent.parent
    return False


def _bound_names(pattern: Node) -> set[str]:
    if pattern.type == "identifier":
        return {text(pattern)}
    names: set[str] = set()
    for child in pattern.named_children:
        names |= _bound_names(child)
    return names


def _assign_back(call: Node, target: Node) -> Fix | None:
    if target.id == call.id or target.type not in ("identifier", "attribute", "subscript"):
        return None
    if target.type == "subscript" and dotted_name(target.child_by_field_name("value")) is None:
        return None
    return make_fix(
        f"Assign the result back to `{text(target)}`",
        Edit(call.start_byte, call.start_byte, f"{text(target)} = "),
        safe=False,
    )

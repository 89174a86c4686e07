"""ML504 nan-equality."""

from __future__ import annotations

import re
from collections.abc import Iterator

from tree_sitter import Node

from ..findings import Finding, Fix
from ..model import SemanticModel
from ..syntax import call_arguments, string_value, text, unwrap
from ._pandas import framework_of
from .base import Rule, RuleContext, make_fix, replace_node

_NAN_CONSTANTS = {
    "numpy.nan": "numpy",
    "numpy.NaN": "numpy",
    "numpy.NAN": "numpy",
    "math.nan": "math",
    "torch.nan": "torch",
}
_NAN_CONSTRUCTORS = {"numpy.float64": "numpy", "numpy.float32": "numpy", "numpy.double": "numpy"}
# Both NaN spellings `nan_origin` knows name it in the source: the attribute (`np.nan`, `math.nan`)
# ends with it and the constructor argument (`float("nan")`) holds it. A comparison without these
# three letters, in any case, cannot compare with NaN (most comparisons: skip their tree reads).
_NAN_TEXT = re.compile(rb"[nN][aA][nN]")
_PRIMARY = frozenset({"identifier", "attribute", "subscript", "call", "parenthesized_expression"})


class NanEquality(Rule):
    """## What it does
    Flags `==` and `!=` comparisons with NaN: `x == np.nan`, `x != float("nan")`,
    `df[col] == np.nan`, `math.nan`, `torch.nan`, on either side.

    ## Why is this bad?
    NaN is not equal to anything, itself included. `x == np.nan` is always False and
    `x != np.nan` always True, element-wise for arrays, Series and tensors too: a filter for
    missing values selects nothing, a guard never triggers, and no error is raised.

    ## Example
    ```python
    missing = df[df["age"] == np.nan]
    if loss != float("nan"):
        ...
    ```

    ## Use instead
    ```python
    missing = df[df["age"].isna()]
    if not math.isnan(loss):
        ...
    ```

    ## Fix safety
    The fix uses `.isna()` / `.notna()` when the operand is visibly a pandas object, and the
    `isnan` of the module the NaN came from otherwise (`np.isnan`, `torch.isnan`, `math.isnan`),
    negated for `!=`. It is safe for pandas objects and for `== np.nan` rewritten to `np.isnan`.
    Other rewrites are unsafe: `math.isnan` and `torch.isnan` reject arrays and floats
    respectively, and `~np.isnan(...)` fails on object-dtype data. No fix is offered when the
    needed module is not imported.

    ## References
    - https://numpy.org/doc/stable/reference/generated/numpy.isnan.html
    - https://pandas.pydata.org/docs/reference/api/pandas.isna.html
    - https://docs.python.org/3/library/math.html#math.isnan
    """

    code = "ML504"
    name = "nan-equality"
    severity = "error"
    summary = "Comparison with NaN is always False (`==`) or always True (`!=`)"
    fix_availability = "sometimes"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        data = ctx.source.data
        for compare in ctx.model.index.get("compare", []):
            if _NAN_TEXT.search(data, compare.start_byte, compare.end_byte) is None:
                continue
            operands = compare.named_children
            operators = [child.type for child in compare.children if not child.is_named]
            if len(operands) != 2 or operators not in (["=="], ["!="]):
                continue
            left, right = operands
            origin = nan_origin(ctx.model, right)
            other = left
            if origin is None:
                origin = nan_origin(ctx.model, left)
                other = right
            if origin is None or nan_origin(ctx.model, other) is not None:
                continue
            op = operators[0]
            always = "False" if op == "==" else "True"
            fix = _fix(ctx.model, compare, other, origin, op)
            suggestion = f"; use `{fix.edits[0].new_text}`" if fix is not None else "; use an isnan/isna check"
            yield self.finding(
                compare,
                f"`{text(compare)}` is always {always}: NaN never equals anything, itself included"
                f"{suggestion}",
                fix=fix,
            )


def nan_origin(model: SemanticModel, node: Node) -> str | None:
    """The module a NaN literal comes from ('numpy', 'math', 'torch', 'builtins'), else None."""
    node = unwrap(node) or node
    if node.type == "attribute":
        return _NAN_CONSTANTS.get(model.qualname(node) or "")
    if node.type == "call":
        args = call_arguments(node)
        if len(args) != 1:
            return None
        value = string_value(args[0])
        if value is None or value.strip().lower() not in ("nan", "+nan", "-nan"):
            return None
        func = node.child_by_field_name("function")
        if func is not None and func.type == "identifier" and text(func) == "float" and model.qualname(func) is None:
            return "builtins"
        return _NAN_CONSTRUCTORS.get(model.qualname(node) or "")
    return None


def _alias(model: SemanticModel, module: str) -> str | None:
    for local, target in model.imports.bindings.items():
        if target == module:
            return local
    return None


def _fix(model: SemanticModel, compare: Node, other: Node, origin: str, op: str) -> Fix | None:
    operand = text(other)
    if framework_of(model, other) == "pandas":
        if other.type not in _PRIMARY:
            operand = f"({operand})"
        method = "isna" if op == "==" else "notna"
        return make_fix(f"Use `.{method}()`", replace_node(compare, f"{operand}.{method}()"), safe=True)
    preferred = [origin] if origin in ("numpy", "torch", "math") else []
    preferred += [m for m in ("numpy", "math") if m not in preferred]
    for module in preferred:
        alias = _alias(model, module)
        if alias is None:
            continue
        if module == "math":
            new = f"math_alias.isnan({operand})".replace("math_alias", alias)
            new = new if op == "==" else f"not {new}"
        else:
            new = f"{alias}.isnan({operand})"
            new = new if op == "==" else f"~{new}"
        safe = op == "==" and module == origin == "numpy"
        return make_fix(f"Use `{alias}.isnan`", replace_node(compare, new), safe=safe)
    return None

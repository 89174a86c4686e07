"""ML901 chained-assignment."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from ..findings import Finding, Fix
from ..syntax import assignment_targets, string_value, text, unwrap
from ._pandas import framework_of
from ._test_code import inside_expecting_block
from .base import Rule, RuleContext, make_fix, replace_node

_INDEXERS = frozenset({"loc", "iloc", "at", "iat"})


class ChainedAssignment(Rule):
    """## What it does
    Flags assignments through two indexing steps on a pandas object: `df["a"]["b"] = v`,
    `df[mask]["col"] = v`, `df.loc[m]["c"] = v`, `df["col"].iloc[0] = v`. It only reports when
    the base is visibly a DataFrame or Series (built by pandas, indexed with `.loc`/`.iloc`, or
    named like one: `df`, `train_df`); nested dicts such as `config["a"]["b"] = 1` are fine.

    ## Why is this bad?
    The first indexing step may return a copy; the assignment then updates that temporary copy
    and the original frame is unchanged. Pandas warns (`SettingWithCopyWarning`) only in some
    cases, and under Copy-on-Write (opt-in in pandas 2, the default in pandas 3) such an
    assignment never updates the original.

    ## Example
    ```python
    df[df["age"] < 0]["age"] = np.nan
    ```

    ## Use instead
    ```python
    df.loc[df["age"] < 0, "age"] = np.nan
    ```

    ## Fix safety
    Where the row and column keys can be told apart (`df.loc[rows][col]`, `df[rows]["col"]`,
    `df["col"][row]`) the fix rewrites the target to one `.loc[rows, col]` step. It is unsafe:
    `.loc` selects by label, so an integer position used with a non-default index selects a
    different row.

    ## References
    - https://pandas.pydata.org/docs/user_guide/indexing.html#returning-a-view-versus-a-copy
    - https://pandas.pydata.org/docs/user_guide/copy_on_write.html
    """

    code = "ML901"
    name = "chained-assignment"
    severity = "warning"
    summary = "Chained indexing assignment writes to a temporary copy"
    fix_availability = "sometimes"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        assigns = ctx.model.index.get("assign", []) + ctx.model.index.get("augassign", [])
        data = ctx.source.data
        for assign in assigns:
            if data.count(b"[", assign.start_byte, assign.end_byte) < 2:
                continue  # a chained target (`a[x][y]`, `a[x].loc[y]`) alone holds two brackets
            if assign.type == "assignment":
                targets = assignment_targets(assign)
            else:
                left = assign.child_by_field_name("left")
                targets = [left] if left is not None else []
            for target in targets:
                if target.type != "subscript":
                    continue
                base = _chained_base(ctx, target)
                if base is None or inside_expecting_block(ctx.model, assign):
                    continue  # (a test that expects the chained-assignment error)
                yield self.finding(
                    target,
                    f"`{text(target)} = ...` is chained indexing: the first step may return a copy, so "
                    f"`{text(base)}` is not updated; index once with `.loc[rows, column]`",
                    fix=_fix(target),
                )


def _chained_base(ctx: RuleContext, target: Node) -> Node | None:
    """The frame a chained target starts from, when it is visibly pandas."""
    inner = unwrap(target.child_by_field_name("value"))
    if inner is None:
        return None
    if inner.type == "attribute":
        attr = text(inner.child_by_field_name("attribute"))
        obj = unwrap(inner.child_by_field_name("object"))
        # `df["col"].iloc[0] = v`: the indexer applies to a column taken out first.
        if attr in _INDEXERS and obj is not None and obj.type == "subscript":
            base = obj.child_by_field_name("value")
            if framework_of(ctx.model, base) == "pandas":
                return base
        return None
    if inner.type != "subscript":
        return None
    base = unwrap(inner.child_by_field_name("value"))
    if base is None:
        return None
    if base.type == "attribute" and text(base.child_by_field_name("attribute")) in ("at", "iat"):
        return None
    if framework_of(ctx.model, base) != "pandas":
        return None
    return base


def _single_key(subscript: Node) -> Node | None:
    keys = subscript.children_by_field_name("subscript")
    return keys[0] if len(keys) == 1 else None


def _fix(target: Node) -> Fix | None:
    inner = unwrap(target.child_by_field_name("value"))
    outer_key = _single_key(target)
    if inner is None or inner.type != "subscript" or outer_key is None:
        return None
    inner_key = _single_key(inner)
    base = unwrap(inner.child_by_field_name("value"))
    if inner_key is None or base is None:
        return None
    if base.type == "attribute" and text(base.child_by_field_name("attribute")) == "loc":
        frame = text(base.child_by_field_name("object"))
        rows, column = inner_key, outer_key
    elif base.type == "attribute" and text(base.child_by_field_name("attribute")) in _INDEXERS:
        return None
    elif string_value(inner_key) is not None:
        frame, rows, column = text(base), outer_key, inner_key
    elif string_value(outer_key) is not None and inner_key.type not in ("list", "string", "slice"):
        frame, rows, column = text(base), inner_key, outer_key
    else:
        return None
    new = f"{frame}.loc[{text(rows)}, {text(column)}]"
    return make_fix("Index once with `.loc[rows, column]`", replace_node(target, new), safe=False)

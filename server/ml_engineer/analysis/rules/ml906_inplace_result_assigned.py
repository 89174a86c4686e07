"""ML906 inplace-result-assigned."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from ..findings import Edit, Finding, Fix
from ..syntax import assignment_targets, call_method_name, call_receiver, keyword_argument_node, text, unwrap
from ._test_code import asserted_none_later
from .base import Rule, RuleContext, make_fix, replace_node

# pandas methods that accept `inplace=` and return None when it is True.
INPLACE_METHODS = frozenset(
    {
        "dropna", "fillna", "drop", "rename", "sort_values", "sort_index", "reset_index", "set_index", "replace",
        "drop_duplicates", "interpolate", "ffill", "bfill", "where", "mask", "query", "clip", "eval", "rename_axis",
        "set_axis", "astype", "pad", "backfill", "update", "insert",
    }
)


# pandas 3.0 (PDEP-8) returns the object itself from these when `inplace=True`; earlier versions
# return None. The other methods above still return None in pandas 3.
RETURNS_SELF_SINCE_PANDAS_3 = frozenset({"replace", "fillna", "ffill", "bfill", "interpolate", "where", "mask", "clip"})


def inplace_keyword(call: Node) -> Node | None:
    """The `inplace=True` keyword of a pandas-style method call, else None."""
    if call.type != "call" or call_method_name(call) not in INPLACE_METHODS or call_receiver(call) is None:
        return None
    keyword = keyword_argument_node(call, "inplace")
    if keyword is None:
        return None
    value = keyword.child_by_field_name("value")
    return keyword if value is not None and value.type == "true" else None


class InplaceResultAssigned(Rule):
    """## What it does
    Flags the result of a pandas method called with `inplace=True` being assigned or returned:
    `df = df.dropna(inplace=True)`, `x = df.fillna(0, inplace=True)`, `return df.drop(..., inplace=True)`.

    ## Why is this bad?
    With `inplace=True`, pandas modifies the object and returns `None`. Assigning the result
    replaces your data frame with `None`; the next line fails with
    `'NoneType' object has no attribute ...`, or worse, `None` is passed on silently.

    Versions differ: since pandas 3.0 (PDEP-8), `fillna`, `replace`, `ffill`, `bfill`,
    `interpolate`, `where`, `mask` and `clip` return the object itself with `inplace=True`, so for
    those the assignment only breaks on pandas 2.x and earlier (still the most installed); `dropna`,
    `drop`, `drop_duplicates`, `rename`, `sort_values`, `reset_index`, `set_index` and the others
    return `None` in every version. Code that assigns the result works on one major version only.

    ## Example
    ```python
    df = df.dropna(inplace=True)
    ```

    ## Use instead
    ```python
    df = df.dropna()          # or, as a bare statement:
    df.dropna(inplace=True)
    ```

    ## Fix safety
    When the assignment target is the object the method was called on (`df = df.dropna(inplace=True)`),
    the fix drops the assignment and keeps the in-place call; this is safe. When the target is a
    column (`df["a"] = df["a"].fillna(0, inplace=True)`), the fix removes `inplace=True` instead,
    since an in-place call on an extracted column does not update the frame under Copy-on-Write;
    also safe. When the target is another name, dropping the assignment leaves that name unbound
    or stale, so that fix is unsafe.

    ## References
    - https://pandas.pydata.org/docs/reference/api/pandas.DataFrame.dropna.html
    - https://pandas.pydata.org/docs/user_guide/copy_on_write.html
    """

    code = "ML906"
    name = "inplace-result-assigned"
    severity = "error"
    summary = "Result of an `inplace=True` call (always None) is assigned"
    fix_availability = "sometimes"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        data = ctx.source.data
        if b"inplace" not in data:
            return  # no call passes `inplace=` in this file
        for assign in ctx.model.index.get("assign", []):
            if data.find(b"inplace", assign.start_byte, assign.end_byte) == -1:
                continue  # nor in this assignment: skip its tree reads
            right = assign.child_by_field_name("right")
            value = unwrap(right)
            if value is None or right is None or right.type == "assignment":
                continue
            keyword = inplace_keyword(value)
            if keyword is None:
                continue
            targets = assignment_targets(assign)
            target_text = ", ".join(text(t) for t in targets)
            if len(targets) == 1 and asserted_none_later(ctx.model, target_text, assign):
                continue  # a test of the in-place API itself
            method = call_method_name(value)
            yield self.finding(
                assign,
                f"`{method}(..., inplace=True)` returns None{_version_note(method)}, so `{target_text}` becomes "
                f"None; either call it as a bare statement or drop `inplace=True` and keep the assignment",
                fix=_fix(assign, targets, value, keyword),
            )
        for ret in ctx.model.index.get("return", []):
            if data.find(b"inplace", ret.start_byte, ret.end_byte) == -1:
                continue
            value = unwrap(ret.named_children[0]) if ret.named_children else None
            if value is None:
                continue
            keyword = inplace_keyword(value)
            if keyword is None:
                continue
            yield self.finding(
                ret,
                f"`{call_method_name(value)}(..., inplace=True)` returns None{_version_note(call_method_name(value))}, "
                "so this returns None; drop `inplace=True` to return the new object",
                fix=make_fix("Remove `inplace=True`", _remove_keyword(keyword), safe=False),
            )


def _version_note(method: str | None) -> str:
    return " (before pandas 3.0)" if method in RETURNS_SELF_SINCE_PANDAS_3 else ""


def _fix(assign: Node, targets: list[Node], call: Node, keyword: Node) -> Fix | None:
    if len(targets) != 1:
        return None
    target = targets[0]
    receiver = call_receiver(call)
    if receiver is None:
        return None
    same = text(target) == text(receiver)
    if same and target.type == "subscript":
        return make_fix("Remove `inplace=True`", _remove_keyword(keyword), safe=True)
    return make_fix("Keep the in-place call, drop the assignment", replace_node(assign, text(call)), safe=same)


def _remove_keyword(keyword: Node) -> Edit:
    previous = keyword.prev_named_sibling
    if previous is not None:
        return Edit(previous.end_byte, keyword.end_byte, "")
    following = keyword.next_named_sibling
    if following is not None:
        return Edit(keyword.start_byte, following.start_byte, "")
    return Edit(keyword.start_byte, keyword.end_byte, "")

"""ML906 inplace-result-assigned."""

from __future__ import annotations

import bisect
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
        assigns, returns = _holders_of_inplace_keywords(ctx.model.root, data)
        for assign in _in_index_order(ctx.model.index.get("assign", []), assigns):
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
        for ret in _in_index_order(ctx.model.index.get("return", []), returns):
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


# What `unwrap` strips between an assignment's (or a return's) value and the call it holds.
_WRAPPERS = frozenset({"parenthesized_expression", "await"})


def _holders_of_inplace_keywords(root: Node, data: bytes) -> tuple[list[Node], list[Node]]:
    """The assignments and returns whose value is (unwrapped) a call with an `inplace=` keyword, and
    maybe a few others: a superset of those `check` reports, found from the bytes `inplace` instead of
    reading every assignment and return of the file.

    A reported keyword's name is an `inplace` identifier; its parents are the keyword argument, the
    argument list and the call, then only `_WRAPPERS` up to the value, whose parent is the statement.
    """
    assigns: dict[int, Node] = {}
    returns: dict[int, Node] = {}
    position = data.find(b"inplace")
    while position >= 0:
        name = root.descendant_for_byte_range(position, position + len(b"inplace"))
        keyword = name.parent if name is not None and name.type == "identifier" else None
        arguments = keyword.parent if keyword is not None and keyword.type == "keyword_argument" else None
        value = arguments.parent if arguments is not None else None
        if value is not None and value.type == "call":
            holder = value.parent
            while holder is not None and holder.type in _WRAPPERS:
                holder = holder.parent
            if holder is not None and holder.type == "assignment":
                assigns[holder.id] = holder
            elif holder is not None and holder.type == "return_statement":
                returns[holder.id] = holder
        position = data.find(b"inplace", position + 1)
    return list(assigns.values()), list(returns.values())


def _in_index_order(indexed: list[Node], nodes: list[Node]) -> list[Node]:
    """`[node for node in indexed if node in nodes]` (by id), `indexed` being sorted by start byte."""
    wanted = {node.id for node in nodes}
    found = []
    for start in sorted({node.start_byte for node in nodes}):
        index = bisect.bisect_left(indexed, start, key=_start_byte)
        while index < len(indexed) and indexed[index].start_byte == start:
            if indexed[index].id in wanted:
                found.append(indexed[index])
            index += 1
    return found


def _start_byte(node: Node) -> int:
    return node.start_byte


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

"""Recognising test code, where some training-script rules do not apply.

Test suites call methods for their side effects (`with pytest.raises(...): df.dropna(axis=5)`)
and assert what in-place calls return (`assert df.fillna(0, inplace=True) is None`); flagging
those teaches nothing. Found by running `check` over the test suites of pandas and scikit-learn
(benchmarks/library_check.py).
"""

from __future__ import annotations

import os
import re

from tree_sitter import Node

from ..model import SemanticModel
from ..syntax import text

# Context managers that expect the body to raise or warn.
_EXPECTING_CONTEXT = re.compile(
    r"(^|\.)(raises\w*|warns\w*|deprecated_call|assert_produces_warning|assertRaises\w*|assertWarns\w*|"
    r"catch_warnings|expect_\w+|assert_raises\w*|assert_warns\w*)$"
)



def is_test_module(model: SemanticModel) -> bool:
    """A pytest/unittest module: named like one, or importing a test framework."""
    base = os.path.basename(model.path)
    if base.startswith("test_") or base.endswith("_test.py") or base == "conftest.py":
        return True
    return model.uses_framework("pytest") or model.uses_framework("unittest")


def inside_expecting_block(model: SemanticModel, node: Node) -> bool:
    """True inside `with pytest.raises(...)` / `pytest.warns` / `self.assertRaises(...)` and the like."""
    parent = node.parent
    while parent is not None and parent.type not in ("function_definition", "module"):
        if parent.type == "with_statement":
            clause = next((child for child in parent.named_children if child.type == "with_clause"), None)
            if clause is not None and any(
                _EXPECTING_CONTEXT.search(text(call.child_by_field_name("function"))) for call in model.calls_in(clause)
            ):
                return True
        parent = parent.parent
    return False


def asserted_none_later(model: SemanticModel, name: str, after: Node) -> bool:
    """`result = ...; assert result is None` (or `is df`) in the same scope: the return value is what
    is being tested, as in pandas' own suite across the pandas 3.0 change of in-place returns."""
    container = model.scope_of(after)
    pattern = re.compile(rb"assert\s+" + re.escape(name.encode()) + rb"\s+is\s+(?:None\b|[A-Za-z_])")
    data = model.source.data
    return pattern.search(data, after.end_byte, container.end_byte) is not None


def inside_test_function(model: SemanticModel, node: Node) -> bool:
    """In a test module, inside a `test_*` function or at module level (typing checks, smoke
    scripts); helper functions of a test module are ordinary code."""
    if not is_test_module(model):
        return False
    function = model.enclosing_function(node)
    if function is None:
        return True
    while function is not None:
        if function.name.startswith("test"):
            return True
        function = model.enclosing_function(function.node)
    return False

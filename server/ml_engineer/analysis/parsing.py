"""tree-sitter parsing: one parser, one combined query compiled lazily, one pass over the tree."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import lru_cache
from operator import attrgetter

import tree_sitter_python
from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

# Every node kind the semantic model indexes. One query means one traversal in C, instead of a
# Python walk over every node (the walk alone costs more than the parse on large files).
_INDEX_QUERY = """
(import_statement) @import
(import_from_statement) @import
(class_definition) @class
(function_definition) @function
(call) @call
(assignment) @assign
(augmented_assignment) @augassign
(for_statement) @loop
(while_statement) @loop
(with_statement) @with
(comparison_operator) @compare
(return_statement) @return
(lambda) @lambda
"""

_local = threading.local()
_start_byte = attrgetter("start_byte")
_end_byte = attrgetter("end_byte")


@lru_cache(maxsize=1)
def python_language() -> Language:
    return Language(tree_sitter_python.language())


@lru_cache(maxsize=1)
def index_query() -> Query:
    return Query(python_language(), _INDEX_QUERY)


def _parser() -> Parser:
    # Parser objects are not thread-safe; the language server analyses in worker threads.
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = Parser(python_language())
        _local.parser = parser
    return parser


def parse(data: bytes, old_tree: Tree | None = None) -> Tree:
    if old_tree is not None:
        return _parser().parse(data, old_tree)
    return _parser().parse(data)


def index_nodes(root: Node) -> dict[str, list[Node]]:
    """Capture name -> nodes in document order, for every kind in the index query.

    Nodes starting at the same byte (only calls: `a.f().g()`) come inner first: tree-sitter
    orders such captures by memory address, which differs from one parse to the next.
    """
    captures = QueryCursor(index_query()).captures(root)
    for name in [name for name in captures if name.startswith("_")]:
        del captures[name]  # predicate helpers, not index entries
    for nodes in captures.values():
        nodes.sort(key=_start_byte)
    calls = captures.get("call")
    if calls:
        starts = [call.start_byte for call in calls]
        if len(set(starts)) != len(starts):
            _order_ties_inner_first(calls, starts)
    return captures


def _order_ties_inner_first(nodes: list[Node], starts: list[int]) -> None:
    run = 0
    for position in range(1, len(nodes) + 1):
        if position == len(nodes) or starts[position] != starts[run]:
            if position - run > 1:
                nodes[run:position] = sorted(nodes[run:position], key=_end_byte)
            run = position


def walk(node: Node) -> Iterator[Node]:
    """Pre-order walk of named descendants (small subtrees only; big ones use the index)."""
    cursor = node.walk()
    visited_children = False
    while True:
        if not visited_children:
            if cursor.node is not None and cursor.node.is_named:
                yield cursor.node
            if cursor.goto_first_child():
                continue
        if cursor.goto_next_sibling():
            visited_children = False
        elif cursor.goto_parent():
            visited_children = True
            if cursor.node == node:
                return
        else:
            return

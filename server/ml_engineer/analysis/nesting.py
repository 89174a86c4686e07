"""Nested ranges (scopes, loops, `with` statements) indexed for "what is around this node?".

Tree-sitter nodes nest by byte range, so the indexed nodes around a node are found by a bisect on
start bytes and a climb through precomputed parents, instead of a walk up `node.parent` (a new
Node object per step, each found by descending from the root).
"""

from __future__ import annotations

import bisect

from tree_sitter import Node


class Nesting:
    """Indexed nodes (loops, functions, `with` statements, ...) in document order, outer first, each with
    the position of the indexed node around it: the ancestors of a node among them are a bisect and a
    short climb away, instead of a walk up `node.parent` (a new Node object per step)."""

    def __init__(self, nodes: list[Node]):
        # Each node's range is read once (a property call each), then sorted as plain tuples.
        keyed = sorted((node.start_byte, -node.end_byte, position) for position, node in enumerate(nodes))
        self.nodes = [nodes[position] for _start, _end, position in keyed]
        self.starts = [start for start, _end, _position in keyed]
        self.ends = [-end for _start, end, _position in keyed]
        self.parents: list[int] = []
        stack: list[int] = []
        for position, end in enumerate(self.ends):
            while stack and not (self.starts[position] < self.ends[stack[-1]] and end <= self.ends[stack[-1]]):
                stack.pop()
            self.parents.append(stack[-1] if stack else -1)
            stack.append(position)

    def innermost(self, node: Node) -> Node | None:
        """The innermost indexed node strictly around `node` (never `node` itself), if any.

        Ranges nest like the tree, so this is `node`'s nearest indexed ancestor; an empty node may
        sit at the edge of one without being inside it, so callers walk the tree for those.
        """
        start, end = node.start_byte, node.end_byte
        starts, ends, parents = self.starts, self.ends, self.parents
        position = bisect.bisect_right(starts, start) - 1
        while position >= 0:
            if end <= ends[position] and (starts[position] < start or end < ends[position]):
                return self.nodes[position]
            position = parents[position]
        return None

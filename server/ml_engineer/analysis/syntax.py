"""Small, pure helpers over tree-sitter nodes, so rules never poke at raw grammar details."""

from __future__ import annotations

import re
from collections.abc import Iterator

from tree_sitter import Node

SCOPE_TYPES = frozenset({"function_definition", "class_definition", "module", "lambda"})
LOOP_TYPES = frozenset({"for_statement", "while_statement"})
COMPREHENSION_TYPES = frozenset(
    {"list_comprehension", "set_comprehension", "dictionary_comprehension", "generator_expression"}
)


def text(node: Node | None) -> str:
    if node is None:
        return ""
    raw = node.text  # builds a new bytes object each time: read it once
    if raw is None:
        return ""
    return raw.decode("utf-8", errors="replace")


# `a.b.c` written plainly (no spaces, comments or keyword atoms): the text is the dotted name.
_PLAIN_DOTTED = re.compile(rb"(?!(?:True|False|None)\b)[A-Za-z_]\w*(?:\.(?!(?:True|False|None)\b)[A-Za-z_]\w*)+")


def dotted_name(node: Node | None) -> str | None:
    """`a.b.c` for identifier/attribute chains, `None` for anything else (calls, subscripts)."""
    if node is None:
        return None
    kind = node.type  # read once: most names are plain identifiers
    if kind == "identifier":
        return text(node)
    if kind != "attribute":
        return None
    if not node.has_error:
        raw = node.text
        if raw is not None and _PLAIN_DOTTED.fullmatch(raw):
            return raw.decode()  # one read instead of a child lookup per link
    parts: list[str] = []
    while node is not None:
        if node.type == "identifier":
            parts.append(text(node))
            return ".".join(reversed(parts))
        if node.type == "attribute":
            attr = node.child_by_field_name("attribute")
            parts.append(text(attr))
            node = node.child_by_field_name("object")
            continue
        return None
    return None


def root_identifier(node: Node | None) -> Node | None:
    """The leftmost identifier of an attribute/call/subscript chain (`a` in `a.b(c)[0].d`)."""
    while node is not None:
        if node.type == "identifier":
            return node
        if node.type == "attribute":
            node = node.child_by_field_name("object")
        elif node.type == "call":
            node = node.child_by_field_name("function")
        elif node.type == "subscript":
            node = node.child_by_field_name("value")
        elif node.type == "parenthesized_expression":
            node = node.named_children[0] if node.named_children else None
        else:
            return None
    return None


def call_function(call: Node) -> Node | None:
    return call.child_by_field_name("function")


def call_method_name(call: Node) -> str | None:
    """`step` for `opt.step()`, `softmax` for `F.softmax(x)`, `print` for `print(x)`."""
    func = call.child_by_field_name("function")
    if func is None:
        return None
    if func.type == "attribute":
        return text(func.child_by_field_name("attribute"))
    if func.type == "identifier":
        return text(func)
    return None


def call_receiver(call: Node) -> Node | None:
    """`opt` for `opt.step()`, `self.opt` for `self.opt.step()`; None for plain function calls."""
    func = call.child_by_field_name("function")
    if func is not None and func.type == "attribute":
        return func.child_by_field_name("object")
    return None


def call_arguments(call: Node) -> list[Node]:
    """Positional argument nodes (not keywords, not *args/**kwargs)."""
    args = call.child_by_field_name("arguments")
    if args is None or args.type != "argument_list":
        return []
    return [
        child
        for child in args.named_children
        if child.type not in ("keyword_argument", "list_splat", "dictionary_splat", "comment")
    ]


def keyword_arguments(call: Node) -> dict[str, Node]:
    """Keyword name -> value node."""
    args = call.child_by_field_name("arguments")
    result: dict[str, Node] = {}
    if args is None:
        return result
    for child in args.named_children:
        if child.type == "keyword_argument":
            name = child.child_by_field_name("name")
            value = child.child_by_field_name("value")
            if name is not None and value is not None:
                result[text(name)] = value
    return result


def keyword_argument_node(call: Node, name: str) -> Node | None:
    """The whole `name=value` node (for fixes that replace or delete it)."""
    args = call.child_by_field_name("arguments")
    if args is None:
        return None
    for child in args.named_children:
        if child.type == "keyword_argument" and text(child.child_by_field_name("name")) == name:
            return child
    return None


def has_splat_arguments(call: Node) -> bool:
    args = call.child_by_field_name("arguments")
    if args is None:
        return False
    return any(child.type in ("list_splat", "dictionary_splat") for child in args.named_children)


def argument(call: Node, position: int, keyword: str | None = None) -> Node | None:
    """The argument at `position` or given as `keyword=`."""
    if keyword is not None:
        value = keyword_arguments(call).get(keyword)
        if value is not None:
            return value
    positional = call_arguments(call)
    if 0 <= position < len(positional):
        return positional[position]
    return None


def ancestors(node: Node) -> Iterator[Node]:
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def enclosing(node: Node, types: frozenset[str] | set[str]) -> Node | None:
    for parent in ancestors(node):
        if parent.type in types:
            return parent
    return None


def enclosing_scope(node: Node) -> Node:
    """The function, class, lambda or module whose scope `node` belongs to."""
    for parent in ancestors(node):
        if parent.type in SCOPE_TYPES:
            return parent
    return node if node.type == "module" else _root(node)


def _root(node: Node) -> Node:
    while node.parent is not None:
        node = node.parent
    return node


def is_inside(node: Node, container: Node) -> bool:
    return container.start_byte <= node.start_byte and node.end_byte <= container.end_byte


def statement_of(node: Node) -> Node:
    """The simple or compound statement that contains `node` (itself if it is one)."""
    # Each `Node.parent` read walks down from the root: read each parent once.
    current = node
    parent = current.parent
    while parent is not None and parent.type not in ("block", "module"):
        current = parent
        parent = current.parent
    return current


def body_of(node: Node) -> Node | None:
    """The block of a def/class/loop/with/if."""
    return node.child_by_field_name("body")


def string_value(node: Node | None) -> str | None:
    """The literal value of a plain (non f-) string node, else None."""
    if node is None or node.type != "string":
        return None
    parts = []
    for child in node.named_children:
        if child.type == "interpolation":
            return None
        if child.type == "string_content":
            parts.append(text(child))
    return "".join(parts)


def is_true(node: Node | None) -> bool:
    return node is not None and node.type == "true"


def is_false(node: Node | None) -> bool:
    return node is not None and node.type == "false"


def assignment_targets(assign: Node) -> list[Node]:
    """Target nodes of `a = b`, `a, b = c`, `a = b = c`, `a: T = b`."""
    targets: list[Node] = []
    node: Node | None = assign
    while node is not None and node.type == "assignment":
        left = node.child_by_field_name("left")
        if left is not None:
            if left.type in ("pattern_list", "tuple_pattern", "list_pattern"):
                targets.extend(c for c in left.named_children)
            else:
                targets.append(left)
        right = node.child_by_field_name("right")
        node = right if right is not None and right.type == "assignment" else None
    return targets


def assignment_parts(assign: Node) -> tuple[list[Node], Node | None]:
    """`(assignment_targets(assign), assignment_value(assign))` in one descent of the chain."""
    targets: list[Node] = []
    node = assign
    while True:
        left = node.child_by_field_name("left")
        if left is not None:
            if left.type in ("pattern_list", "tuple_pattern", "list_pattern"):
                targets.extend(left.named_children)
            else:
                targets.append(left)
        right = node.child_by_field_name("right")
        if right is None or right.type != "assignment":
            return targets, right
        node = right


def assignment_value(assign: Node) -> Node | None:
    node = assign
    while node.type == "assignment":
        right = node.child_by_field_name("right")
        if right is None:
            return None
        if right.type != "assignment":
            return right
        node = right
    return None


def unwrap(node: Node | None) -> Node | None:
    """Strip parentheses and `await`."""
    while node is not None and node.type in ("parenthesized_expression", "await"):
        named = node.named_children
        node = named[0] if named else None
    return node


def comment_text_after(node: Node) -> str:
    """Trailing comment on the node's last line, if any (for 'explained' look-alikes)."""
    sibling = node.next_sibling
    while sibling is not None and sibling.start_point.row == node.end_point.row:
        if sibling.type == "comment":
            return text(sibling)
        sibling = sibling.next_sibling
    return ""


def function_name(func: Node) -> str:
    return text(func.child_by_field_name("name"))


def decorators(func: Node) -> list[Node]:
    parent = func.parent
    if parent is None or parent.type != "decorated_definition":
        return []
    return [child for child in parent.named_children if child.type == "decorator"]


def parameter_names(func: Node) -> list[str]:
    params = func.child_by_field_name("parameters")
    names: list[str] = []
    if params is None:
        return names
    for child in params.named_children:
        if child.type == "identifier":
            names.append(text(child))
        elif child.type in ("default_parameter", "typed_default_parameter"):
            names.append(text(child.child_by_field_name("name")))
        elif child.type == "typed_parameter":
            ident = next((c for c in child.named_children if c.type == "identifier"), None)
            if ident is not None:
                names.append(text(ident))
    return names

"""ML807 jax-prng-key-reused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from tree_sitter import Node

from ..findings import Finding
from ..model import FunctionInfo, SemanticModel
from ..syntax import (
    argument,
    assignment_targets,
    call_method_name,
    call_receiver,
    dotted_name,
    keyword_arguments,
    text,
    unwrap,
)
from .base import Rule, RuleContext

# jax.random functions that do not consume their key (they make or inspect one).
_NOT_CONSUMING = frozenset({"PRNGKey", "key", "fold_in", "key_data", "wrap_key_data", "key_impl", "clone", "default_prng_impl"})
# Calls whose result is a (set of) fresh key(s).
_KEY_MAKERS = frozenset({"PRNGKey", "key", "split", "fold_in", "clone", "wrap_key_data"})
_KEY_PARAM = re.compile(r"^(key|rng|prng|prng_key|subkey|sub_key|rng_key|keys|rngs)$|_(key|rng)$|^(rng|key)_\w+$")
_MODEL_RNG_METHODS = frozenset({"init", "init_with_output"})
# Transforms whose result is called with the wrapped function's own arguments: `jax.grad(loss_fn)(p, x, key)`.
_TRANSFORMS = frozenset(
    {"jax.jit", "jax.grad", "jax.value_and_grad", "jax.vmap", "jax.pmap", "jax.checkpoint", "jax.remat",
     "equinox.filter_jit", "equinox.filter_grad", "equinox.filter_value_and_grad"}
)
_DEAD_ENDS = frozenset({"return_statement", "raise_statement", "continue_statement", "break_statement"})
_NESTED_SCOPES = frozenset({"function_definition", "class_definition", "decorated_definition", "lambda"})
_COMPREHENSIONS = frozenset({"list_comprehension", "set_comprehension", "dictionary_comprehension", "generator_expression"})


@dataclass
class _Use:
    call: Node
    key: str


@dataclass
class _Scope:
    """Per-function facts: which expressions are PRNG keys, and which uses were already reported."""

    keys: set[str] = field(default_factory=set)


class JaxPrngKeyReused(Rule):
    """## What it does
    Flags a `jax.random` key passed to a second random call without being split in between:
    `jax.random.normal(key, ...)` then `jax.random.uniform(key, ...)`, `model.init(key, x)` then
    `jax.random.normal(key, ...)`, a key used again after `jax.random.split(key)` without
    rebinding it, or a key used inside a loop (or comprehension) that is not re-split on every
    iteration. Same-file helpers that consume a key parameter count as a use, also when
    called through `jax.grad` / `jax.value_and_grad` / `jax.jit` / `jax.vmap`. Re-binding
    (`key, subkey = jax.random.split(key)`) and `jax.random.fold_in(key, i)` are fine.

    ## Why is this bad?
    JAX random functions are pure: the same key always gives the same numbers. Reusing a key
    makes two "independent" draws identical or correlated: dropout masks repeat every step, noise
    equals the initial weights, every loop iteration samples the same batch. Nothing errors.

    ## Example
    ```python
    key = jax.random.PRNGKey(0)
    w = jax.random.normal(key, (3, 3))
    b = jax.random.normal(key, (3,))
    ```

    ## Use instead
    ```python
    key = jax.random.PRNGKey(0)
    key, w_key, b_key = jax.random.split(key, 3)
    w = jax.random.normal(w_key, (3, 3))
    b = jax.random.normal(b_key, (3,))
    ```

    ## Fix safety
    No automatic fix: where to split and how to thread the new key depends on the program.

    ## References
    - https://jax.readthedocs.io/en/latest/random-numbers.html
    - https://jax.readthedocs.io/en/latest/jax.random.html
    """

    code = "ML807"
    name = "jax-prng-key-reused"
    severity = "warning"
    summary = "The same JAX PRNG key feeds two random calls"
    fix_availability = "never"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        model = ctx.model
        if not model.uses_framework("jax"):
            return
        checker = _Checker(model)
        checker.run()
        for call, message, first in checker.reports.values():
            related = [ctx.related(first, "the key was used here first")] if first is not None else []
            yield self.finding(call, message, related=related)


class _Checker:
    def __init__(self, model: SemanticModel):
        self.model = model
        self.reports: dict[int, tuple[Node, str, Node | None]] = {}
        self.helper_params: dict[str, set[int]] = {}
        self._scope = _Scope()

    # --- driver ------------------------------------------------------------------------------

    def run(self) -> None:
        functions = [f for f in self.model.functions.values()]
        # Which parameters each same-file helper consumes (two rounds reach helpers of helpers).
        for _ in range(2):
            for info in functions:
                self.helper_params[info.qualname] = self._consumed_params(info)
        self.reports.clear()
        self._analyse_scope(self.model.root, None)
        for info in functions:
            body = info.node.child_by_field_name("body")
            if body is not None:
                self._analyse_scope(body, info)

    def _consumed_params(self, info: FunctionInfo) -> set[int]:
        body = info.node.child_by_field_name("body")
        if body is None:
            return set()
        saved = dict(self.reports)
        self._scope = self._scope_facts(body, info)
        consumed: set[int] = set()
        params = info.params[1:] if info.owner is not None and info.params[:1] in (["self"], ["cls"]) else info.params
        for call in self._own_calls(body):
            for use in self._uses(call):
                if use.key in params and not self._rebound_before(use.key, body, call):
                    consumed.add(params.index(use.key))
        self.reports = saved
        return consumed

    def _rebound_before(self, name: str, body: Node, call: Node) -> bool:
        """`rng = jax.random.fold_in(rng, step)` before the use: the helper draws from a derived key."""
        for assign in self.model.assignments.get(name, []):
            if body.start_byte <= assign.start_byte < call.start_byte:
                return True
        return False

    def _analyse_scope(self, body: Node, info: FunctionInfo | None) -> None:
        self._scope = self._scope_facts(body, info)
        if not self._scope.keys:
            return
        self._block(body, {}, in_loop=False)

    def _scope_facts(self, body: Node, info: FunctionInfo | None) -> _Scope:
        scope = _Scope()
        if info is not None:
            scope.keys |= {p for p in info.params if _KEY_PARAM.search(p)}
        for assign in self.model.nodes_in("assign", body):
            if self._owner_scope(assign) != body:
                continue
            value = unwrap(assign.child_by_field_name("right"))
            if value is not None and self._makes_key(value):
                for target in assignment_targets(assign):
                    name = dotted_name(target)
                    if name is not None:
                        scope.keys.add(name)
        for call in self._own_calls(body):
            qual = self.model.qualname(call) or ""
            if qual.startswith("jax.random.") and qual.rsplit(".", 1)[-1] not in _NOT_CONSUMING:
                first = unwrap(argument(call, 0, "key"))
                name = _key_text(first)
                if name is not None:
                    scope.keys.add(name.split("[")[0])
        return scope

    def _makes_key(self, value: Node) -> bool:
        while value.type == "subscript":
            inner = unwrap(value.child_by_field_name("value"))
            if inner is None:
                return False
            value = inner
        if value.type != "call":
            return False
        qual = self.model.qualname(value) or ""
        return qual.startswith("jax.random.") and qual.rsplit(".", 1)[-1] in _KEY_MAKERS

    def _owner_scope(self, node: Node) -> Node:
        parent = node.parent
        while parent is not None:
            if parent.type == "function_definition":
                return parent.child_by_field_name("body") or parent
            if parent.type == "module":
                return parent
            parent = parent.parent
        return node

    def _own_calls(self, node: Node) -> list[Node]:
        """Calls in `node` that run now: not inside nested functions, classes or lambdas."""
        result = []
        for call in self.model.calls_in(node):
            parent = call.parent
            deferred = False
            while parent is not None and parent.id != node.id:
                if parent.type in _NESTED_SCOPES:
                    deferred = True
                    break
                parent = parent.parent
            if not deferred:
                result.append(call)
        return result

    # --- uses --------------------------------------------------------------------------------

    def _uses(self, call: Node) -> list[_Use]:
        """Keys a call consumes."""
        qual = self.model.qualname(call) or ""
        keys = self._scope.keys
        uses: list[_Use] = []
        if qual.startswith("jax.random."):
            if qual.rsplit(".", 1)[-1] in _NOT_CONSUMING:
                return []
            name = _key_text(unwrap(argument(call, 0, "key")))
            return [_Use(call, name)] if name is not None else []
        method = call_method_name(call)
        if method in _MODEL_RNG_METHODS and call_receiver(call) is not None:
            name = _key_text(unwrap(argument(call, 0, "rngs")))
            if name is not None and name.split("[")[0] in keys:
                uses.append(_Use(call, name))
        rngs = keyword_arguments(call).get("rngs")
        if rngs is not None:
            rngs = unwrap(rngs)
            candidates = [rngs] if rngs is not None and rngs.type != "dictionary" else [
                pair.child_by_field_name("value") for pair in (rngs.named_children if rngs is not None else [])
                if pair.type == "pair"
            ]
            for candidate in candidates:
                name = _key_text(unwrap(candidate))
                if name is not None and name.split("[")[0] in keys:
                    uses.append(_Use(call, name))
        helper = self._local_helper(call)
        if helper is not None:
            consumed = self.helper_params.get(helper.qualname, set())
            params = helper.params[1:] if helper.owner is not None and helper.params[:1] in (["self"], ["cls"]) else helper.params
            keywords = keyword_arguments(call)
            for index in sorted(consumed):
                arg = argument(call, index, params[index] if index < len(params) else None)
                if arg is None and index < len(params):
                    arg = keywords.get(params[index])
                name = _key_text(unwrap(arg))
                if name is not None and name.split("[")[0] in keys:
                    uses.append(_Use(call, name))
        return uses

    def _local_helper(self, call: Node) -> FunctionInfo | None:
        """The same-file function a call runs, directly or through a JAX transform of it."""
        helper = self.model.resolve_local_function(call)
        func = call.child_by_field_name("function")
        if helper is None and func is not None and func.type == "call" and self.model.qualname(func) in _TRANSFORMS:
            wrapped = unwrap(argument(func, 0, "fun"))
            if wrapped is not None and wrapped.type == "identifier":
                helper = self.model.functions.get(text(wrapped))
        return helper

    # --- flow --------------------------------------------------------------------------------

    def _block(self, block: Node, state: dict[str, Node], in_loop: bool) -> dict[str, Node] | None:
        """Process statements in order; returns the state after, or None when the block always exits."""
        for statement in block.named_children:
            if statement.type == "comment":
                continue
            result = self._statement(statement, state, in_loop)
            if result is None:
                return None
            state = result
        return state

    def _statement(self, node: Node, state: dict[str, Node], in_loop: bool) -> dict[str, Node] | None:
        kind = node.type
        if kind in _NESTED_SCOPES:
            return state
        if kind == "if_statement":
            self._events(node.child_by_field_name("condition"), state, in_loop)
            outcomes: list[dict[str, Node]] = []
            has_else = False
            branches: list[Node | None] = [node.child_by_field_name("consequence")]
            for alternative in node.children_by_field_name("alternative"):
                if alternative.type == "elif_clause":
                    self._events(alternative.child_by_field_name("condition"), state, in_loop)
                    branches.append(alternative.child_by_field_name("consequence"))
                else:
                    has_else = True
                    branches.append(alternative.child_by_field_name("body"))
            for branch in branches:
                if branch is None:
                    continue
                result = self._block(branch, dict(state), in_loop)
                if result is not None:
                    outcomes.append(result)
            if not has_else:
                outcomes.append(state)
            if not outcomes:
                return None
            return _merge(outcomes)
        if kind in ("for_statement", "while_statement"):
            header = node.child_by_field_name("right") if kind == "for_statement" else node.child_by_field_name("condition")
            self._events(header, state, in_loop)
            body = node.child_by_field_name("body")
            if body is None:
                return state
            loop_targets = _bound_names(node.child_by_field_name("left")) if kind == "for_statement" else set()
            first = self._block(body, _rebind(dict(state), loop_targets), in_loop)
            second_start = _rebind(dict(first if first is not None else state), loop_targets)
            second = self._block(body, second_start, True)
            loop_else = node.child_by_field_name("alternative")
            after = _merge([s for s in (state, first, second) if s is not None])
            else_body = loop_else.child_by_field_name("body") if loop_else is not None else None
            if else_body is not None:
                after = self._block(else_body, after, in_loop) or after
            return after
        if kind in ("with_statement", "try_statement"):
            for child in node.named_children:
                if child.type == "block":
                    result = self._block(child, state, in_loop)
                    if result is None:
                        return None
                    state = result
                elif child.type in ("with_clause",):
                    self._events(child, state, in_loop)
                elif child.type in ("except_clause", "finally_clause", "else_clause"):
                    inner = next((c for c in child.named_children if c.type == "block"), None)
                    if inner is not None:
                        state = self._block(inner, dict(state), in_loop) or state
            return state
        if kind in ("decorated_definition", "class_definition", "function_definition"):
            return state
        self._events(node, state, in_loop)
        if kind in _DEAD_ENDS:
            return None
        if kind == "expression_statement" and node.named_children:
            inner = node.named_children[0]
            if inner.type in ("assignment", "augmented_assignment"):
                targets: set[str] = set()
                for target in assignment_targets(inner) if inner.type == "assignment" else [inner.child_by_field_name("left")]:
                    if target is not None:
                        targets |= _bound_names(target)
                state = _rebind(state, targets)
        return state

    def _events(self, node: Node | None, state: dict[str, Node], in_loop: bool) -> None:
        if node is None:
            return
        for call in self._own_calls(node):
            for use in self._uses(call):
                self._consume(use, state, in_loop, node)

    def _consume(self, use: _Use, state: dict[str, Node], in_loop: bool, statement: Node) -> None:
        comprehension = _enclosing_comprehension(use.call, statement)
        if comprehension is not None and use.key.split("[")[0] not in _comprehension_names(comprehension):
            self._report(use, f"`{use.key}` is used on every iteration of this comprehension without a split: "
                              "each iteration draws the same numbers; split it into one key per item", None)
        previous = state.get(use.key)
        if previous is not None and (previous.id != use.call.id or in_loop):
            what = _label(previous)
            if in_loop and previous.start_byte >= use.call.start_byte:
                message = (f"`{use.key}` is used on every loop iteration without being split: each iteration "
                           f"draws the same numbers; split it inside the loop (`{use.key}, sub = jax.random.split({use.key})`)")
            else:
                message = (f"`{use.key}` was already used by `{what}`: the same key gives the same random numbers; "
                           f"split it first (`{use.key}, sub = jax.random.split({use.key})`)")
            self._report(use, message, previous if previous.id != use.call.id else None)
        if previous is None:
            state[use.key] = use.call

    def _report(self, use: _Use, message: str, first: Node | None) -> None:
        self.reports.setdefault(use.call.id, (use.call, message, first))


def _key_text(node: Node | None) -> str | None:
    """`key`, `self.rng`, `keys[0]`: the key expressions the checker tracks."""
    if node is None:
        return None
    if node.type in ("identifier", "attribute"):
        return dotted_name(node)
    if node.type == "subscript":
        base = dotted_name(node.child_by_field_name("value"))
        index = node.child_by_field_name("subscript")
        if base is not None and index is not None and index.type == "integer":
            return f"{base}[{text(index)}]"
    return None


def _label(call: Node) -> str:
    func = text(call.child_by_field_name("function"))
    return f"{func}(...)"


def _rebind(state: dict[str, Node], names: set[str]) -> dict[str, Node]:
    if not names:
        return state
    return {key: call for key, call in state.items() if key.split("[")[0] not in names}


def _merge(states: list[dict[str, Node]]) -> dict[str, Node]:
    merged: dict[str, Node] = {}
    for state in states:
        for key, call in state.items():
            merged.setdefault(key, call)
    return merged


def _bound_names(pattern: Node | None) -> set[str]:
    if pattern is None:
        return set()
    dotted = dotted_name(pattern)
    if dotted is not None:
        return {dotted}
    if pattern.type == "subscript":
        base = dotted_name(pattern.child_by_field_name("value"))
        return {base} if base is not None else set()
    names: set[str] = set()
    for child in pattern.named_children:
        names |= _bound_names(child)
    return names


def _enclosing_comprehension(call: Node, limit: Node) -> Node | None:
    parent = call.parent
    while parent is not None and parent.id != limit.id:
        if parent.type in _COMPREHENSIONS:
            return parent
        parent = parent.parent
    return None


def _comprehension_names(comprehension: Node) -> set[str]:
    names: set[str] = set()
    for clause in comprehension.named_children:
        if clause.type == "for_in_clause":
            names |= _bound_names(clause.child_by_field_name("left"))
    return names

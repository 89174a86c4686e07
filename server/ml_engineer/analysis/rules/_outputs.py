"""What a PyTorch expression outputs (probabilities, log-probabilities, raw logits) and which loss eats it.

Shared by the loss-family rules (ML501, ML502, ML503, ML507). The tracing is deliberately
conservative: it follows plain assignments in the same scope, `self.x` attributes assigned once in
the class, `nn.Sequential` containers and same-file `nn.Module.forward` methods. Anything it cannot
see through is `None` (unknown), which every rule treats as "stay quiet".
"""

from __future__ import annotations

import bisect
import re
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tree_sitter import Node

from ..findings import Related
from ..imports import canonical
from ..model import FunctionInfo, SemanticModel
from ..syntax import (
    argument,
    assignment_targets,
    assignment_value,
    call_arguments,
    call_method_name,
    call_receiver,
    dotted_name,
    has_splat_arguments,
    is_inside,
    keyword_arguments,
    statement_of,
    text,
    unwrap,
)

_MAX_DEPTH = 8

# Functional / tensor-level activations, by qualified name.
_FUNCTION_KINDS: dict[str, str] = {
    "torch.nn.functional.softmax": "softmax",
    "torch.softmax": "softmax",
    "torch.special.softmax": "softmax",
    "torch.nn.functional.log_softmax": "log_softmax",
    "torch.log_softmax": "log_softmax",
    "torch.special.log_softmax": "log_softmax",
    "torch.sigmoid": "sigmoid",
    "torch.nn.functional.sigmoid": "sigmoid",
    "torch.special.expit": "sigmoid",
    "torch.nn.functional.linear": "raw",
}
# Tensor methods that are activations: `logits.softmax(dim=-1)`.
_METHOD_KINDS = {"softmax": "softmax", "log_softmax": "log_softmax", "sigmoid": "sigmoid"}
# Layers, by constructor.
_LAYER_KINDS: dict[str, str] = {
    "torch.nn.Softmax": "softmax",
    "torch.nn.LogSoftmax": "log_softmax",
    "torch.nn.Sigmoid": "sigmoid",
    "torch.nn.Linear": "raw",
    "torch.nn.LazyLinear": "raw",
    "torch.nn.Bilinear": "raw",
    "torch.nn.Conv1d": "raw",
    "torch.nn.Conv2d": "raw",
    "torch.nn.Conv3d": "raw",
}
# Methods/functions that keep the meaning of their input (shape, dtype, device changes).
_PASSTHROUGH_METHODS = frozenset(
    {"squeeze", "unsqueeze", "view", "view_as", "reshape", "flatten", "float", "double", "half", "to", "cuda",
     "cpu", "contiguous", "type", "permute", "transpose", "clamp", "clip", "squeeze_", "reshape_as"}
)
_PASSTHROUGH_FUNCTIONS = frozenset({"torch.squeeze", "torch.unsqueeze", "torch.flatten", "torch.reshape", "torch.clamp", "torch.clip"})
_LOG_FUNCTIONS = frozenset({"torch.log"})
# Functions that join tensors of one meaning into one: `torch.cat(step_logits, dim=1)`.
_JOIN_FUNCTIONS = frozenset({"torch.cat", "torch.concat", "torch.concatenate", "torch.stack"})
_TUPLE_TYPES = frozenset({"tuple", "expression_list", "pattern_list", "tuple_pattern"})
# Wrappers that return the module they wrap.
_WRAPPERS = frozenset(
    {"torch.compile", "torch.nn.DataParallel", "torch.nn.parallel.DataParallel",
     "torch.nn.parallel.DistributedDataParallel", "torch.distributed.fsdp.FullyShardedDataParallel"}
)
_MOVE_METHODS = frozenset({"to", "cuda", "cpu", "float", "half", "double", "train", "eval", "requires_grad_"})

# Loss consumers: kind -> display name.
LOSS_FUNCTIONS: dict[str, str] = {
    "torch.nn.functional.cross_entropy": "cross_entropy",
    "torch.nn.functional.binary_cross_entropy_with_logits": "bce_with_logits",
    "torch.nn.functional.binary_cross_entropy": "bce",
    "torch.nn.functional.nll_loss": "nll",
}
LOSS_CLASSES: dict[str, str] = {
    "torch.nn.CrossEntropyLoss": "cross_entropy",
    "torch.nn.BCEWithLogitsLoss": "bce_with_logits",
    "torch.nn.BCELoss": "bce",
    "torch.nn.NLLLoss": "nll",
}
# The last identifier of every spelling of a loss (`nn.CrossEntropyLoss`, `F.nll_loss`), aliases aside.
_LOSS_LEAVES = frozenset(qual.rsplit(".", 1)[-1] for qual in (*LOSS_FUNCTIONS, *LOSS_CLASSES))
# Pieces the loss leaves share (`Loss` ends every class, `cross_entropy` is inside the BCE functions):
# one scan of the text per piece finds every leaf holding it, instead of one scan per leaf. Each leaf
# is looked for through the first piece it holds, at that piece's first offset in it.
_LOSS_PIECES = (b"Loss", b"cross_entropy", b"nll_loss")


def _group_by_piece(leaves: frozenset[str]) -> dict[bytes, list[tuple[str, bytes, int]]]:
    """Piece -> (leaf, its bytes, the piece's offset in it) for the leaves looked for through it."""
    grouped: dict[bytes, list[tuple[str, bytes, int]]] = {piece: [] for piece in _LOSS_PIECES}
    for leaf in sorted(leaves):
        spelled = leaf.encode()
        piece = next(piece for piece in _LOSS_PIECES if piece in spelled)  # every leaf holds one
        grouped[piece].append((leaf, spelled, spelled.index(piece)))
    return grouped


_LEAVES_BY_PIECE = _group_by_piece(_LOSS_LEAVES)


@dataclass(frozen=True)
class Output:
    """What an expression holds, and the node that made it so (for related information)."""

    kind: str  # softmax | log_softmax | sigmoid | raw
    producer: Node
    via: str  # short description: "F.softmax(...)", "Net.forward", "nn.Sequential"


@dataclass(frozen=True)
class LossCall:
    call: Node
    kind: str  # cross_entropy | bce_with_logits | bce | nll
    input: Node
    definition: Node | None  # the constructor call, when the loss is an object defined elsewhere
    label: str  # what the user calls it: "criterion", "F.cross_entropy"


def short(node: Node, limit: int = 40) -> str:
    value = " ".join(text(node).split())
    return value if len(value) <= limit else value[: limit - 3] + "..."


class OutputTracer:
    """Answers "what does this expression output?" for one semantic model."""

    def __init__(self, model: SemanticModel):
        # Weak: the tracer is memoised on the model, and a strong reference back would make the
        # model a reference cycle that only the cyclic GC frees.
        self._model_ref = weakref.ref(model)
        self._class_kinds: dict[tuple[str, int | None], Output | None] = {}
        self._function_kinds: dict[tuple[int, int | None], Output | None] = {}
        self._parameter_kinds: dict[tuple[int, str], Output | None] = {}
        self._call_sites: dict[int, list[Node]] | None = None
        self._loss_calls: list[LossCall] | None = None
        self._attribute_values: dict[tuple[int, str], Node | None] = {}

    @property
    def model(self) -> SemanticModel:
        model = self._model_ref()
        if model is None:  # pragma: no cover - the tracer is only reachable through its model
            raise ReferenceError("the semantic model of this tracer is gone")
        return model

    # --- definitions -------------------------------------------------------------------------

    def self_attribute_value(self, dotted: str, at: Node) -> Node | None:
        """The single value assigned to `self.x` inside the class enclosing `at`."""
        owner = self.model.enclosing_class(at)
        if owner is None:
            return None
        return self.class_attribute_value(owner.node, dotted)

    def class_attribute_value(self, class_node: Node, dotted: str) -> Node | None:
        key = (class_node.id, dotted)
        if key not in self._attribute_values:
            self._attribute_values[key] = self._class_attribute_value(class_node, dotted)
        return self._attribute_values[key]

    def _class_attribute_value(self, class_node: Node, dotted: str) -> Node | None:
        every = self.model.assignments.get(dotted, [])
        # Assignments are in document order: only look at the ones inside the class.
        lo = bisect.bisect_left(every, class_node.start_byte, key=lambda a: a.start_byte)
        hi = bisect.bisect_left(every, class_node.end_byte, key=lambda a: a.start_byte)
        assigns = [a for a in every[lo:hi] if is_inside(a, class_node)]
        if len(assigns) != 1:
            return None
        right = assigns[0].child_by_field_name("right")
        if right is None or right.type == "assignment":
            return None
        left = assigns[0].child_by_field_name("left")
        if left is None or dotted_name(left) != dotted:
            return None
        return right

    def value_of(self, dotted: str, use: Node) -> Node | None:
        """The value bound to `dotted` where `use` reads it (None when it comes from a parameter)."""
        if dotted.startswith("self."):
            return self.self_attribute_value(dotted, use)
        statement = statement_of(use)
        value = self.model.value_of(dotted, statement)
        if value is None:
            return None
        scope = self.model.scope_of(use)
        if self.model.scope_of(value).id != scope.id and scope.type == "function_definition":
            info = self.model.function_for_node(scope)
            if info is not None and dotted.split(".")[0] in info.params:
                return None  # a parameter shadows the module-level name
        return value

    def module_definition(self, node: Node | None, use: Node, depth: int = 0) -> Node | None:
        """The constructor call (or same-file class instantiation) a module reference stands for."""
        node = unwrap(node)
        if node is None or depth > _MAX_DEPTH:
            return None
        if node.type == "conditional_expression":
            return _agreeing_definition([self.module_definition(b, b, depth + 1) for b in _branches(node)])
        if node.type == "call":
            func = node.child_by_field_name("function")
            method = call_method_name(node)
            if func is not None and func.type == "attribute" and method in _MOVE_METHODS:
                return self.module_definition(func.child_by_field_name("object"), use, depth + 1)
            if self.model.qualname(node) in _WRAPPERS:
                return self.module_definition(argument(node, 0, "model"), use, depth + 1)
            return node
        dotted = dotted_name(node)
        if dotted is None:
            return None
        if self.model.qualname(node) is not None and not dotted.startswith("self."):
            return node  # an imported function such as F.cross_entropy
        value = self.value_of(dotted, use)
        if value is None:
            value = self._entity_value(dotted, use)
        if value is None:
            arguments = self._parameter_arguments(dotted, use)
            if not arguments:
                return self._class_named_like(dotted, use)
            return _agreeing_definition([self.module_definition(a, a, depth + 1) for a in arguments])
        return self.module_definition(value, value, depth + 1)

    def _entity_value(self, dotted: str, use: Node) -> Node | None:
        """A binding `value_of` misses (e.g. made inside a `with` or `if` at module level), same scope only."""
        if dotted.startswith("self."):
            return None
        entity = self.model.entity(dotted, use)
        if entity is None or entity.assignment.start_byte > use.start_byte:
            return None
        if self.model.scope_of(entity.assignment).id != self.model.scope_of(use).id:
            return None
        return entity.node

    # --- outputs -----------------------------------------------------------------------------

    def output_of(self, expr: Node | None, depth: int = 0, element: int | None = None) -> Output | None:
        """What `expr` holds; with `element`, what its `element`-th item holds (a tuple-returning forward)."""
        expr = unwrap(expr)
        if expr is None or depth > _MAX_DEPTH:
            return None
        if expr.type in _TUPLE_TYPES:
            items = expr.named_children
            if element is None or element >= len(items) or any(i.type == "list_splat" for i in items[: element + 1]):
                return None
            return self.output_of(items[element], depth + 1)
        if expr.type == "conditional_expression":
            return _agreeing_output([self.output_of(b, depth + 1, element) for b in _branches(expr)])
        if expr.type == "subscript":
            value = expr.child_by_field_name("value")
            index = expr.child_by_field_name("subscript")
            if element is None and index is not None and index.type == "integer" and index.text is not None:
                picked = self.output_of(value, depth + 1, int(index.text))
                if picked is not None:
                    return picked
            return self.output_of(value, depth + 1) if element is None else None
        if expr.type in ("identifier", "attribute"):
            dotted = dotted_name(expr)
            if dotted is None or (self.model.qualname(expr) is not None and not dotted.startswith("self.")):
                return None
            value = self.value_of(dotted, expr)
            if value is not None:
                return self.output_of(value, depth + 1, element)
            if element is not None or "." in dotted:
                return None
            unpacked = self.model.unpacked_value(dotted, statement_of(expr))
            if unpacked is not None:
                return self.output_of(unpacked[0], depth + 1, unpacked[1])
            return self._parameter_output(dotted, expr, depth)
        if expr.type != "call":
            return None
        qual = self.model.qualname(expr)
        if element is not None:
            return self._module_call_output(expr, depth, element) if qual is None else None
        if qual in _JOIN_FUNCTIONS:
            return self._joined_output(argument(expr, 0, "tensors"), depth)
        if qual in _FUNCTION_KINDS:
            return Output(_FUNCTION_KINDS[qual], expr, short(expr))
        if qual in _PASSTHROUGH_FUNCTIONS:
            return self.output_of(argument(expr, 0, "input"), depth + 1)
        if qual in _LOG_FUNCTIONS:
            return self._log_of(argument(expr, 0, "input"), expr, depth)
        method = call_method_name(expr)
        receiver = call_receiver(expr)
        module_output = self._module_call_output(expr, depth)
        if module_output is not None:
            return module_output
        if receiver is not None and qual is None:
            if method in _METHOD_KINDS:
                return Output(_METHOD_KINDS[method], expr, short(expr))
            if method in _PASSTHROUGH_METHODS:
                return self.output_of(receiver, depth + 1)
            if method == "log":
                return self._log_of(receiver, expr, depth)
        return None

    def _log_of(self, inner: Node | None, expr: Node, depth: int) -> Output | None:
        inner_output = self.output_of(inner, depth + 1)
        if inner_output is not None and inner_output.kind == "softmax":
            return Output("log_softmax", expr, short(expr))
        return None

    def _module_call_output(self, call: Node, depth: int, element: int | None = None) -> Output | None:
        func = call.child_by_field_name("function")
        if func is None:
            return None
        if func.type == "identifier" and text(func) == "self":
            owner = self.model.enclosing_class(call)
            return self.class_output(owner.name, element) if owner is not None else None
        if func.type == "attribute" and call_method_name(call) == "forward":
            func = func.child_by_field_name("object")
        elif func.type == "identifier" or (func.type == "attribute" and text(func.child_by_field_name("object")) == "self"):
            helper = self.model.resolve_local_function(call)
            if helper is not None:
                return self.function_output(helper.node, element)  # `self.step(...)`, `head_probs(x)`
        definition = self.module_definition(func, call)
        if definition is None:
            return None
        return self.module_output(definition, depth + 1, element)

    def module_output(self, definition: Node, depth: int = 0, element: int | None = None) -> Output | None:
        """What calling the module built by `definition` returns (its `element`-th item, when given)."""
        if definition.type == "class_definition":
            return self.class_output(text(definition.child_by_field_name("name")), element)
        if depth > _MAX_DEPTH or definition.type != "call":
            return None
        qual = self.model.qualname(definition)
        func = definition.child_by_field_name("function")
        if element is not None:
            return self.class_output(text(func), element) if qual is None and func is not None and func.type == "identifier" else None
        if qual in _LAYER_KINDS:
            return Output(_LAYER_KINDS[qual], definition, short(definition))
        if qual == "torch.nn.Sequential":
            args = definition.child_by_field_name("arguments")
            last = args.named_children[-1] if args is not None and args.named_children else None
            last = unwrap(last)
            if last is not None and last.type == "list_splat":
                last = self._last_appended_layer(last, definition)
            if last is None or last.type in ("list_splat", "dictionary_splat", "keyword_argument", "comment"):
                return None
            layer = self.module_definition(last, last, depth + 1)
            inner = self.module_output(layer, depth + 1) if layer is not None else None
            if inner is None:
                return None
            return Output(inner.kind, inner.producer, "the last layer of nn.Sequential")
        if qual is None and func is not None and func.type == "identifier":
            return self.class_output(text(func))
        return None

    def _last_appended_layer(self, splat: Node, sequential: Node) -> Node | None:
        """`layers.append(nn.Linear(h, 1))` as the last change to `layers` before `nn.Sequential(*layers)`,
        made unconditionally (not in a loop or branch) in the same function: the container's last layer."""
        inner = splat.named_children[0] if splat.named_children else None
        name = dotted_name(inner) if inner is not None else None
        if name is None:
            return None
        function = self.model.enclosing_function(sequential)
        scope = function.node if function is not None else self.model.root
        body = scope.child_by_field_name("body") if function is not None else scope
        last: Node | None = None
        for call in self.model.calls_in(scope):
            if call.start_byte >= sequential.start_byte:
                break
            receiver = call_receiver(call)
            if receiver is not None and dotted_name(receiver) == name and call_method_name(call) in (
                "append", "extend", "insert", "pop", "clear", "reverse", "sort"
            ):
                last = call
        if last is None or call_method_name(last) != "append" or self.model.enclosing_function(last) is not function:
            return None
        statement = statement_of(last)
        if statement is None or statement.parent is None or body is None or statement.parent.id != body.id:
            return None
        # `layers += [...]` / `layers = ...` after the append changes the last layer.
        after = self.model.source.data[last.end_byte : sequential.start_byte]
        if re.search(rb"(?<![\w.])" + re.escape(name.encode()) + rb"\s*(\+=|=[^=]|\[)", after):
            return None
        args = call_arguments(last)
        return args[0] if len(args) == 1 else None

    def class_output(self, class_name: str, element: int | None = None) -> Output | None:
        key = (class_name, element)
        if key in self._class_kinds:
            return self._class_kinds[key]
        self._class_kinds[key] = None  # recursion guard
        result = self._compute_class_output(class_name, set(), element)
        self._class_kinds[key] = result
        return result

    def _compute_class_output(self, class_name: str, seen: set[str], element: int | None) -> Output | None:
        info = self.model.classes.get(class_name)
        if info is None or not info.is_torch_module or class_name in seen:
            return None
        seen.add(class_name)
        forward = info.methods.get("forward")
        if forward is None:
            for base in info.bases:
                if base in self.model.classes:
                    return self._compute_class_output(base, seen, element)
            return None
        return self.function_output(forward.node, element)

    def function_output(self, function: Node, element: int | None = None) -> Output | None:
        """What a same-file function or method returns, when every `return` agrees."""
        key = (function.id, element)
        if key in self._function_kinds:
            return self._function_kinds[key]
        self._function_kinds[key] = None  # recursion guard
        info = self.model.function_for_node(function)
        outputs: list[Output | None] = []
        for ret in self.model.nodes_in("return", function):
            if self.model.enclosing_function(ret) is not info:
                continue
            value = ret.named_children[0] if ret.named_children else None
            outputs.append(self.output_of(value, 1, element) if value is not None else None)
        result = _agreeing_output(outputs)
        self._function_kinds[key] = result
        return result

    def _parameter_output(self, name: str, use: Node, depth: int) -> Output | None:
        """A parameter's output: what every same-file call site passes for it, when they agree."""
        info = self.model.enclosing_function(use)
        if info is None or name not in info.params:
            return None
        key = (info.node.id, name)
        if key not in self._parameter_kinds:
            self._parameter_kinds[key] = None  # recursion guard
            arguments = self._parameter_arguments(name, use)
            outputs = [self.output_of(a, depth + 1) for a in arguments]
            self._parameter_kinds[key] = _agreeing_output(outputs)
        return self._parameter_kinds[key]

    def _parameter_arguments(self, name: str, use: Node) -> list[Node]:
        """The argument every same-file call of `use`'s function passes as parameter `name` ([] if unknown)."""
        info = self.model.enclosing_function(use)
        if info is None or name not in info.params or "." in name:
            return []
        if self._rebound_before(name, info.node, use):
            return []  # rebound inside the function before this use
        position = info.params.index(name)
        if info.owner is not None and "staticmethod" not in info.decorator_names:
            position -= 1  # `self` / `cls`
        arguments = []
        for call in self._sites_of(info.node):
            if has_splat_arguments(call):
                return []
            value = argument(call, position, name) if position >= 0 else None
            if value is None:
                return []  # default value used: unknown
            arguments.append(value)
        return arguments

    def _class_named_like(self, name: str, use: Node) -> Node | None:
        """For a parameter of a function nobody in the file calls (`def train(encoder, decoder)`), the
        one same-file nn.Module class whose name contains the parameter's name (`AttnDecoderRNN`)."""
        info = self.model.enclosing_function(use)
        if info is None or name not in info.params or len(name) < 3 or self._sites_of(info.node):
            return None
        if self._rebound_before(name, info.node, use):
            return None
        needle = name.lower().replace("_", "")
        modules = self.model.memo(
            "outputs.torch_module_classes",
            lambda: [(c.name.lower(), c.node) for c in self.model.classes.values() if c.is_torch_module],
        )
        matches = [node for lowered, node in modules if needle in lowered]
        return matches[0] if len(matches) == 1 else None

    def _rebound_before(self, name: str, function: Node, use: Node) -> bool:
        """Is `name` assigned inside `function` before `use`? Bisects the bindings (document order)."""
        assigns = self.model.assignments.get(name)
        if not assigns:
            return False
        starts = self.model.memo(("outputs.assignment_starts", name), lambda: [a.start_byte for a in assigns])
        index = bisect.bisect_left(starts, function.start_byte)
        return index < len(assigns) and assigns[index].start_byte < use.start_byte

    def _helper_calls(self) -> list[tuple[Node, FunctionInfo]]:
        return self.model.memo("outputs.helper_calls", lambda: self.model.helper_calls_in(self.model.root))

    def _sites_of(self, function: Node) -> list[Node]:
        if self._call_sites is None:
            sites: dict[int, list[Node]] = {}
            for call, helper in self._helper_calls():
                sites.setdefault(helper.node.id, []).append(call)
            self._call_sites = sites
        return self._call_sites.get(function.id, [])

    def _joined_output(self, tensors: Node | None, depth: int) -> Output | None:
        """`torch.cat([a, b])` / `torch.cat(steps)` where `steps` is a list filled by `steps.append(x)`."""
        tensors = unwrap(tensors)
        if tensors is None:
            return None
        if tensors.type in ("list", "tuple"):
            return _agreeing_output([self.output_of(item, depth + 1) for item in tensors.named_children])
        if tensors.type != "identifier":
            return None
        name = text(tensors)
        start = self.value_of(name, tensors)
        if start is None or start.type != "list":
            return None
        scope = self.model.scope_of(tensors)
        items = list(start.named_children)
        for call in self.model.calls_in(scope):
            if call.start_byte >= tensors.start_byte:
                break
            receiver = call_receiver(call)
            if call_method_name(call) == "append" and receiver is not None and text(receiver) == name:
                if self.model.scope_of(call).id != scope.id:
                    return None
                items.append(argument(call, 0, None))  # type: ignore[arg-type]
            elif call_method_name(call) in ("extend", "insert") and receiver is not None and text(receiver) == name:
                return None
        if not items or any(item is None for item in items):
            return None
        return _agreeing_output([self.output_of(item, depth + 1) for item in items])

    # --- losses ------------------------------------------------------------------------------

    def loss_calls(self) -> list[LossCall]:
        """Every call of a loss in the file (computed once per file, shared by the loss rules)."""
        if self._loss_calls is None:
            self._loss_calls = self._find_loss_calls()
        return self._loss_calls

    def _find_loss_calls(self) -> list[LossCall]:
        found: list[LossCall] = []
        if not self.model.uses_framework("torch"):
            return found
        for call in self._loss_call_candidates():
            loss = self.loss_call(call)
            if loss is not None:
                found.append(loss)
        return found

    def _loss_call_candidates(self) -> Iterator[Node]:
        """Every call `loss_call` can accept, in document (`model.calls`) order, without a look at every call.

        A named call is a loss only when its name is one of `_loss_names()` (a loss function, or a name
        a loss can flow into). A call without a name (its callee neither a name nor an attribute) has
        no qualified name either, so it is a loss only as `nn.CrossEntropyLoss()(x, y)`: a callee
        that is itself a loss constructor, whose qualified name keeps the last name written (or an
        import alias of a loss), both in `_loss_names()`. Such a call is the parent of a named
        candidate and starts where it starts; the index puts it right after it (same-start calls
        come inner first, and no other call can start there and end between the two).
        """
        for call in self.model.calls_named(self._loss_names()):
            yield call
            parent = call.parent
            if parent is not None and parent.type == "call" and parent.start_byte == call.start_byte:
                function = parent.child_by_field_name("function")
                if function is not None and function.id == call.id:
                    yield parent  # nameless: not among the named candidates

    def loss_call(self, call: Node) -> LossCall | None:
        func = call.child_by_field_name("function")
        if func is None:
            return None
        qual = self.model.qualname(call)
        definition: Node | None
        if qual in LOSS_FUNCTIONS:
            kind: str | None = LOSS_FUNCTIONS[qual]
            definition = None
        elif func.type == "call":
            kind = LOSS_CLASSES.get(self.model.qualname(func) or "")
            definition = func
        elif func.type in ("identifier", "attribute") and (qual is None or text(func).startswith("self.")):
            if self.model.method_name(call) not in self.model.assigned_last_names():
                return None  # no bound name ends like the callee: `dotted` below cannot be bound either
            dotted = dotted_name(func)
            if dotted is None or dotted not in self.model.assignments:
                return None  # `x.view(...)`: nothing bound under that name, so not a loss object
            if self.model.method_name(call) not in self._loss_names():
                return None  # no loss can flow into a name spelled like this callee
            definition = self.module_definition(func, call)
            if definition is None:
                return None
            def_qual = self.model.qualname(definition) or ""
            if definition.type == "call":
                kind = LOSS_CLASSES.get(def_qual)
            else:
                kind = LOSS_FUNCTIONS.get(def_qual)
                definition = None
        else:
            return None
        if kind is None:
            return None
        first = argument(call, 0, "input")
        if first is None:
            return None
        label = text(func) if func.type != "call" else short(func)
        return LossCall(call, kind, first, definition, label)

    # --- which names can hold a loss -----------------------------------------------------------

    def _loss_names(self) -> frozenset[str]:
        return self.model.memo("outputs.loss_names", self._compute_loss_names)

    def _compute_loss_names(self) -> frozenset[str]:
        """Last identifiers of the names a loss object or loss function can flow into (a superset).

        `module_definition` reaches a loss only through the right side of an assignment to the
        callee's name or an argument passed for its parameter; that right side or argument then
        spells a loss, or a name that can hold one. So spread the spellings forward from the losses
        (text search, then the `module_definition` shape check) until nothing new is found, and
        trace only callees named like the result instead of every call of an assigned name.
        """
        model = self.model
        names = set(_LOSS_LEAVES)
        names.update(local for local, target in model.imports.bindings.items() if canonical(target) in _LOSS_QUALNAMES)
        assigns = model.index.get("assign", [])
        assign_starts = model.memo("outputs.assign_starts", lambda: [a.start_byte for a in assigns])
        sites = [(call, helper) for call, helper in self._helper_calls() if helper.params and not has_splat_arguments(call)]
        fresh = set(names)
        while fresh:
            positions = sorted(p for name in fresh for p in self._name_positions(name))
            fresh = set()
            for assign in _assignments_around(assigns, assign_starts, positions):
                targets = assignment_targets(assign)
                value = unwrap(assignment_value(assign))
                if value is None:
                    continue
                if len(targets) == 1:
                    reaches = self._may_define_loss(value, names, 0)  # `module_definition(value)`
                else:  # the model binds tuple targets to the arguments of `accelerator.prepare(...)`
                    reaches = value.type == "call" and call_method_name(value) in ("prepare", "initialize") and any(
                        self._may_define_loss(arg, names, 0) for arg in call_arguments(value)
                    )
                if reaches:
                    for target in targets:
                        dotted = dotted_name(target)
                        if dotted is not None:
                            fresh.add(dotted.rsplit(".", 1)[-1])
            for call, helper in sites:
                args = call.child_by_field_name("arguments")
                if args is None or not _any_within(positions, args.start_byte, args.end_byte):
                    continue
                # `_parameter_arguments`: the argument at the parameter's position (after `self`) or keyword
                shift = 1 if helper.owner is not None and "staticmethod" not in helper.decorator_names else 0
                passed = list(keyword_arguments(call).items())
                passed += [(helper.params[i + shift], arg) for i, arg in enumerate(call_arguments(call)) if i + shift < len(helper.params)]
                for param, arg in passed:
                    if param not in names and self._may_define_loss(arg, names, 0):
                        fresh.add(param)
            fresh -= names
            names |= fresh
        return frozenset(names)

    def _name_positions(self, name: str) -> list[int]:
        """`_word_positions` of `name`, from the shared scan when it is a loss leaf."""
        data = self.model.source.data
        if name not in _LOSS_LEAVES:
            return _word_positions(data, name.encode())
        end = len(name)
        return [start for start in loss_leaf_occurrences(self.model)[name] if _is_whole_word(data, start, start + end)]

    def _may_define_loss(self, node: Node | None, names: set[str], depth: int) -> bool:
        """Could `module_definition(node)` end at a loss, given the names that may hold one?"""
        node = unwrap(node)
        if node is None or depth > _MAX_DEPTH:
            return False
        if node.type == "conditional_expression":
            return any(self._may_define_loss(b, names, depth + 1) for b in _branches(node))
        if node.type == "call":
            func = node.child_by_field_name("function")
            qual = self.model.qualname(node)
            if func is not None and func.type == "attribute" and call_method_name(node) in _MOVE_METHODS:
                return self._may_define_loss(func.child_by_field_name("object"), names, depth + 1)
            if qual in _WRAPPERS:
                return self._may_define_loss(argument(node, 0, "model"), names, depth + 1)
            return qual in LOSS_CLASSES
        dotted = dotted_name(node)
        if dotted is None:
            return False
        qual = self.model.qualname(node)
        if qual is not None and not dotted.startswith("self."):
            return qual in LOSS_FUNCTIONS
        return dotted.rsplit(".", 1)[-1] in names


_LOSS_QUALNAMES = frozenset((*LOSS_FUNCTIONS, *LOSS_CLASSES))


def _is_word_byte(byte: int) -> bool:
    return byte >= 0x80 or byte == 0x5F or 0x30 <= byte <= 0x39 or 0x41 <= byte <= 0x5A or 0x61 <= byte <= 0x7A


def _is_whole_word(data: bytes, start: int, end: int) -> bool:
    """Is `data[start:end]` not part of a longer identifier?"""
    return not (start and _is_word_byte(data[start - 1])) and not (end < len(data) and _is_word_byte(data[end]))


def _word_positions(data: bytes, word: bytes) -> list[int]:
    """Start bytes of `word` as a whole identifier in `data` (strings and comments included)."""
    size = len(word)
    return [found for found in _occurrences(data, word) if _is_whole_word(data, found, found + size)]


def _occurrences(data: bytes, word: bytes) -> list[int]:
    """Start bytes of every occurrence of `word` in `data`, overlapping ones included."""
    positions = []
    found = data.find(word)
    while found >= 0:
        positions.append(found)
        found = data.find(word, found + 1)
    return positions


def loss_leaf_occurrences(model: SemanticModel) -> dict[str, list[int]]:
    """Start bytes of every occurrence of each loss leaf (`CrossEntropyLoss`, `nll_loss`, ...) in the
    source, part of a longer word or not, in order: found once per file from `_LOSS_PIECES` (three
    scans of the text instead of one per leaf), for `may_feed` of every loss rule and `_loss_names`."""

    def scan() -> dict[str, list[int]]:
        data = model.source.data
        found: dict[str, list[int]] = {leaf: [] for leaf in _LOSS_LEAVES}
        for piece, leaves in _LEAVES_BY_PIECE.items():
            for position in _occurrences(data, piece):
                for leaf, spelled, offset in leaves:
                    start = position - offset
                    if start >= 0 and data.startswith(spelled, start):
                        found[leaf].append(start)
        return found

    return model.memo("outputs.loss_leaf_occurrences", scan)


def _any_within(positions: list[int], start: int, end: int) -> bool:
    index = bisect.bisect_left(positions, start)
    return index < len(positions) and positions[index] < end


def _assignments_around(assigns: list[Node], starts: list[int], positions: list[int]) -> list[Node]:
    """Assignments whose right side holds one of `positions` (sorted), each once, in order."""
    found: dict[int, Node] = {}
    for position in positions:
        index = bisect.bisect_right(starts, position) - 1
        # Only a chained `a = b = c` nests assignments: its members are consecutive here.
        while index >= 0 and assigns[index].end_byte > position:
            assign = assigns[index]
            right = assign.child_by_field_name("right")
            if right is not None and right.start_byte <= position:
                found.setdefault(assign.id, assign)
            index -= 1
    return list(found.values())


def _branches(conditional: Node) -> list[Node]:
    """The value branches of `a if cond else b`, leaving out a literal `None`."""
    named = conditional.named_children
    if len(named) != 3:
        return []
    return [branch for branch in (named[0], named[2]) if branch.type != "none"]


def _agreeing_output(outputs: list[Output | None]) -> Output | None:
    """The output when every candidate is known and of one kind (the last one, for related info)."""
    if not outputs or any(o is None for o in outputs) or len({o.kind for o in outputs if o is not None}) != 1:
        return None
    return outputs[-1]


def _agreeing_definition(definitions: list[Node | None]) -> Node | None:
    """The module definition when every candidate is built by the same constructor."""
    if not definitions or any(d is None for d in definitions):
        return None
    callees = {text(d.child_by_field_name("function")) if d.type == "call" else d.id for d in definitions if d is not None}
    return definitions[0] if len(callees) == 1 else None


LOSS_LABELS = {
    "cross_entropy": "CrossEntropyLoss",
    "bce_with_logits": "BCEWithLogitsLoss",
    "bce": "BCELoss",
    "nll": "NLLLoss",
}


def _leaves(qualnames: dict[str, str], kinds: set[str]) -> set[str]:
    return {qual.rsplit(".", 1)[-1] for qual, kind in qualnames.items() if kind in kinds}


def may_feed(model: SemanticModel, loss_kind: str, output_kinds: set[str]) -> bool:
    """Can the file hold a `loss_kind` loss fed an output of `output_kinds`? Not when its text spells
    no such loss or no producer of such an output: every loss and producer is found through a name
    the source spells (the last name of a table entry above, also in the import of an alias), and
    `log(softmax)` / `nn.Sequential` only pass on what a producer made."""
    data = model.source.data
    losses = _leaves(LOSS_FUNCTIONS, {loss_kind}) | _leaves(LOSS_CLASSES, {loss_kind})
    kinds = output_kinds | ({"softmax"} if "log_softmax" in output_kinds else set())
    producers = _leaves(_FUNCTION_KINDS, kinds) | _leaves(_LAYER_KINDS, kinds) | {m for m, k in _METHOD_KINDS.items() if k in kinds}
    # (`name in data` for the losses, read from the scan the loss rules share)
    occurrences = loss_leaf_occurrences(model)
    return any(occurrences[name] for name in losses) and any(name.encode() in data for name in producers)


def tracer_for(model: SemanticModel) -> OutputTracer:
    """One tracer (and its per-class cache) per analysed file, shared by the loss rules.

    Kept in the model's own memo: a module-level weak map leaked every model, because the tracer
    holds a strong reference back to its key.
    """
    return model.memo("_outputs.tracer", lambda: OutputTracer(model))


def loss_related(rule_ctx_related: Callable[[Node, str], Related], loss: LossCall, output: Output) -> list[Related]:
    """Related locations for a loss finding: where the input was produced, where the loss was built."""
    related = [rule_ctx_related(output.producer, f"{output.kind.replace('_', '-')} output produced here ({output.via})")]
    if loss.definition is not None and loss.definition.id != loss.call.child_by_field_name("function").id:  # type: ignore[union-attr]
        related.append(rule_ctx_related(loss.definition, f"{LOSS_LABELS[loss.kind]} created here"))
    return related


def fed_outputs(model: SemanticModel, loss_kind: str, output_kinds: set[str]) -> Iterator[tuple[LossCall, Output]]:
    """Every `loss_kind` loss call whose input is an output of one of `output_kinds` (the shared
    question of ML501/502/503/507; each rule only words the finding)."""
    if not may_feed(model, loss_kind, output_kinds):
        return  # the file spells no such loss or no producer of such an output
    tracer = tracer_for(model)
    for loss in tracer.loss_calls():
        if loss.kind != loss_kind:
            continue
        output = tracer.output_of(loss.input)
        if output is not None and output.kind in output_kinds:
            yield loss, output

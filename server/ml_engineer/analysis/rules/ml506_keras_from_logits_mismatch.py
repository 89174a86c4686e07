"""ML506 keras-from-logits-mismatch."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Node

from ..findings import Finding, Fix
from ..model import SemanticModel
from ..syntax import (
    argument,
    call_method_name,
    call_receiver,
    dotted_name,
    enclosing_scope,
    keyword_argument_node,
    keyword_arguments,
    statement_of,
    string_value,
    text,
    unwrap,
)
from .base import Rule, RuleContext, insert_after, make_fix, replace_node

_SEQUENTIAL = frozenset({"keras.Sequential", "keras.models.Sequential"})
_FUNCTIONAL = frozenset({"keras.Model", "keras.models.Model"})
_LOSS_STRINGS = {
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
    "categorical_crossentropy": "CategoricalCrossentropy",
    "binary_crossentropy": "BinaryCrossentropy",
}
_LOSS_CLASSES = frozenset(
    {"SparseCategoricalCrossentropy", "CategoricalCrossentropy", "BinaryCrossentropy", "BinaryFocalCrossentropy",
     "CategoricalFocalCrossentropy"}
)
_ACTIVATION_FUNCTIONS = {
    "keras.activations.softmax": "softmax",
    "keras.activations.sigmoid": "sigmoid",
    "keras.activations.linear": "linear",
    "tensorflow.nn.softmax": "softmax",
    "tensorflow.nn.sigmoid": "sigmoid",
    "tensorflow.math.sigmoid": "sigmoid",
    "tensorflow.sigmoid": "sigmoid",
}
_MAX_DEPTH = 6


@dataclass(frozen=True)
class LossSpec:
    name: str  # "SparseCategoricalCrossentropy"
    from_logits: bool
    flag_node: Node | None  # the `from_logits=` keyword, when given
    call: Node | None  # the loss constructor, when the loss is an object


@dataclass(frozen=True)
class OutputLayer:
    activation: str  # softmax | sigmoid | linear
    node: Node


class KerasFromLogitsMismatch(Rule):
    """## What it does
    Flags a Keras model compiled with a cross-entropy loss that disagrees with its output layer:
    an output `Dense(..., activation="softmax"|"sigmoid")` (or a final `Softmax`/`Activation`
    layer) compiled with `from_logits=True`, or a linear output (no activation,
    `activation=None`, `"linear"`) compiled with `SparseCategoricalCrossentropy()`,
    `CategoricalCrossentropy()`, `BinaryCrossentropy()` or their string names without
    `from_logits=True`. Sequential models (list or `.add(...)`) and functional models whose
    output layer can be traced are checked; anything else is left alone.

    ## Why is this bad?
    `from_logits` tells the loss whether the model outputs logits or probabilities. With
    softmax outputs and `from_logits=True`, softmax is applied twice and gradients collapse; with
    linear outputs and `from_logits=False`, Keras treats arbitrary scores as probabilities
    (clipping them into [eps, 1-eps]): the loss is wrong and training stalls, without an error.

    ## Example
    ```python
    model = keras.Sequential([layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ```

    ## Use instead
    ```python
    model = keras.Sequential([layers.Dense(64, activation="relu"), layers.Dense(10)])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ```

    ## Fix safety
    Where the loss is an object, the fix makes `from_logits` match the output layer (set it to
    `False` for a softmax/sigmoid output, add `from_logits=True` for a linear one). It is unsafe:
    changing the output layer instead is equally valid and keeps `predict()` returning what
    callers expect. String losses get no fix.

    ## References
    - https://keras.io/api/losses/probabilistic_losses/
    - https://www.tensorflow.org/tutorials/quickstart/beginner
    """

    code = "ML506"
    name = "keras-from-logits-mismatch"
    severity = "error"
    summary = "Keras loss `from_logits` disagrees with the model's output activation"
    fix_availability = "sometimes"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        model = ctx.model
        if not (model.uses_framework("keras") or model.uses_framework("tensorflow") or model.uses_framework("tf_keras")):
            return
        for call in model.calls:
            if call_method_name(call) != "compile":
                continue
            receiver = call_receiver(call)
            name = dotted_name(receiver) if receiver is not None else None
            loss_node = unwrap(argument(call, 1, "loss"))
            if name is None or loss_node is None:
                continue
            loss = _loss_spec(model, loss_node, call, 0)
            if loss is None:
                continue
            output = _output_layer(model, name, call)
            if output is None:
                continue
            if output.activation in ("softmax", "sigmoid") and loss.from_logits:
                fix = None
                if loss.flag_node is not None:
                    value = loss.flag_node.child_by_field_name("value")
                    if value is not None:
                        fix = make_fix("Set `from_logits=False`", replace_node(value, "False"), safe=False)
                yield self.finding(
                    loss_node,
                    f"`{name}` ends in a {output.activation} layer but `{loss.name}` is told `from_logits=True`: "
                    f"the {output.activation} is applied twice; drop the output activation or use from_logits=False",
                    related=[ctx.related(output.node, f"{output.activation} output layer of `{name}`")],
                    fix=fix,
                )
            elif output.activation == "linear" and not loss.from_logits:
                yield self.finding(
                    loss_node,
                    f"`{name}` ends in a linear layer (raw logits) but `{loss.name}` expects probabilities "
                    "(from_logits=False): pass `from_logits=True` or add the output activation",
                    related=[ctx.related(output.node, f"linear output layer of `{name}`")],
                    fix=_add_from_logits(loss),
                )


def _add_from_logits(loss: LossSpec) -> Fix | None:
    if loss.call is None or loss.flag_node is not None:
        return None
    args = loss.call.child_by_field_name("arguments")
    if args is None:
        return None
    last = next((c for c in reversed(args.named_children) if c.type != "comment"), None)
    if last is None:
        edit = insert_after(args.children[0], "from_logits=True")
    else:
        edit = insert_after(last, ", from_logits=True")
    return make_fix("Add `from_logits=True`", edit, safe=False)


def _last_part(qual: str | None) -> str:
    return (qual or "").rsplit(".", 1)[-1]


def _loss_spec(model: SemanticModel, node: Node, at: Node, depth: int) -> LossSpec | None:
    if depth > _MAX_DEPTH:
        return None
    literal = string_value(node)
    if literal is not None:
        name = _LOSS_STRINGS.get(literal.strip().lower())
        return LossSpec(name, False, None, None) if name is not None else None
    if node.type in ("identifier", "attribute"):
        qual = model.qualname(node)
        if qual is not None:
            if qual.startswith("keras.losses.") and _last_part(qual) in _LOSS_STRINGS:
                return LossSpec(_LOSS_STRINGS[_last_part(qual)], False, None, None)
            return None
        dotted = dotted_name(node)
        value = unwrap(model.value_of(dotted, statement_of(at))) if dotted is not None else None
        return _loss_spec(model, value, value, depth + 1) if value is not None else None
    if node.type != "call":
        return None
    qual = model.qualname(node)
    if qual is None or not qual.startswith("keras.") or _last_part(qual) not in _LOSS_CLASSES:
        return None
    keyword = keyword_argument_node(node, "from_logits")
    if keyword is None:
        if any(c.type == "dictionary_splat" for c in (node.child_by_field_name("arguments") or node).named_children):
            return None
        return LossSpec(_last_part(qual), False, None, node)
    value = keyword.child_by_field_name("value")
    if value is None or value.type not in ("true", "false"):
        return None  # decided by a variable
    return LossSpec(_last_part(qual), value.type == "true", keyword, node)


def _output_layer(model: SemanticModel, name: str, compile_call: Node) -> OutputLayer | None:
    built = _model_value(model, name, compile_call, 0)
    if built is None:
        return None
    value, assign_scope_node = built
    qual = model.qualname(value)
    if qual in _SEQUENTIAL:
        last: Node | None = None
        layers = unwrap(argument(value, 0, "layers"))
        if layers is not None:
            if layers.type != "list" or not layers.named_children:
                return None
            last = layers.named_children[-1]
        added = _last_added_layer(model, name, value, compile_call, assign_scope_node)
        if added is False:
            return None
        if isinstance(added, Node):
            last = added
        return _layer_output(model, unwrap(last), 0) if last is not None else None
    if qual in _FUNCTIONAL:
        outputs = unwrap(argument(value, 1, "outputs"))
        return _tensor_output(model, outputs, 0)
    return None


def _model_value(model: SemanticModel, name: str, at: Node, depth: int) -> tuple[Node, Node] | None:
    """The `Sequential(...)` / `Model(...)` call `name` holds at `at` (following one local builder)."""
    if depth > 2:
        return None
    value = unwrap(model.value_of(name, statement_of(at)))
    element: int | None = None
    if value is None:
        unpacked = model.unpacked_value(name, statement_of(at))  # `model, base = build_model()`
        if unpacked is not None:
            value, element = unwrap(unpacked[0]), unpacked[1]
    if value is None or value.type != "call":
        return None
    if element is None and model.qualname(value) in _SEQUENTIAL | _FUNCTIONAL:
        return value, at
    helper = model.resolve_local_function(value)
    if helper is None:
        return None
    returns = [r for r in model.nodes_in("return", helper.node) if model.enclosing_function(r) is helper]
    if len(returns) != 1 or not returns[0].named_children:
        return None
    returned = unwrap(returns[0].named_children[0])
    if returned is not None and element is not None:
        items = returned.named_children if returned.type in ("expression_list", "tuple") else []
        returned = unwrap(items[element]) if element < len(items) else None
    if returned is None:
        return None
    if returned.type == "call" and model.qualname(returned) in _SEQUENTIAL | _FUNCTIONAL:
        return returned, returns[0]
    inner = dotted_name(returned)
    return _model_value(model, inner, returns[0], depth + 1) if inner is not None else None


def _last_added_layer(model: SemanticModel, name: str, value: Node, until: Node, scope_at: Node) -> Node | bool | None:
    """The last `name.add(layer)` between construction and `until`; False when layers are popped."""
    scope = enclosing_scope(value)
    last: Node | None = None
    end = until.start_byte if enclosing_scope(until).id == scope.id else scope.end_byte
    for call in model.calls_in(scope):
        if call.start_byte <= value.end_byte or call.start_byte >= end:
            continue
        receiver = call_receiver(call)
        if receiver is None or dotted_name(receiver) != name:
            continue
        method = call_method_name(call)
        if method == "pop":
            return False
        if method == "add":
            last = argument(call, 0, "layer")
    return last


def _tensor_output(model: SemanticModel, node: Node | None, depth: int) -> OutputLayer | None:
    """The layer that produced a functional-API tensor: `layers.Dense(10)(x)`."""
    if node is None or depth > _MAX_DEPTH:
        return None
    if node.type == "identifier":
        value = model.value_of(text(node), statement_of(node))
        return _tensor_output(model, unwrap(value), depth + 1)
    if node.type != "call":
        return None
    func = unwrap(node.child_by_field_name("function"))
    if func is None:
        return None
    if func.type == "call":
        return _layer_output(model, func, depth + 1)
    if func.type == "identifier":
        layer = unwrap(model.value_of(text(func), statement_of(node)))
        return _layer_output(model, layer, depth + 1)
    return None


def _layer_output(model: SemanticModel, layer: Node | None, depth: int) -> OutputLayer | None:
    if layer is None or depth > _MAX_DEPTH:
        return None
    if layer.type == "identifier":
        return _layer_output(model, unwrap(model.value_of(text(layer), statement_of(layer))), depth + 1)
    if layer.type != "call":
        return None
    qual = model.qualname(layer)
    if qual is None or not qual.startswith("keras."):
        return None
    kind = _last_part(qual)
    if kind == "Softmax":
        return OutputLayer("softmax", layer)
    if kind == "Dense":
        args = keyword_arguments(layer)
        activation = args.get("activation", argument(layer, 1))
        found = _activation(model, activation)
        return OutputLayer(found, layer) if found is not None else None
    if kind == "Activation":
        found = _activation(model, argument(layer, 0, "activation"))
        return OutputLayer(found, layer) if found is not None else None
    return None


def _activation(model: SemanticModel, node: Node | None) -> str | None:
    if node is None or node.type == "none":
        return "linear"
    literal = string_value(node)
    if literal is not None:
        lowered = literal.strip().lower()
        return lowered if lowered in ("softmax", "sigmoid", "linear") else None
    return _ACTIVATION_FUNCTIONS.get(model.qualname(node) or "")

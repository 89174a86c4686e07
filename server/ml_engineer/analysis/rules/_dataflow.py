"""Data-flow helpers shared by the leakage rules (ML301, ML302, ML303, ML305).

The leakage rules follow data through one scope (a script's module level, or one function's body):
which names a fitted preprocessor's output flows into, which names come out of a train/test
split, and which calls consume data for a split or a cross-validation. The tracking is by name
(`X_scaled = scaler.fit_transform(X)` taints `X_scaled`; `df[cols] = ...` taints `df`) and in
document order, which is how scripts and notebooks run.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field

from tree_sitter import Node

from ..model import SemanticModel, name_tokens, split_of_name
from ..parsing import walk
from ..syntax import (
    assignment_targets,
    assignment_value,
    call_arguments,
    call_method_name,
    call_receiver,
    dotted_name,
    keyword_arguments,
    root_identifier,
    statement_of,
    text,
    unwrap,
)

SPLIT_FUNCTIONS = frozenset({"sklearn.model_selection.train_test_split", "sklearn.cross_validation.train_test_split"})
# Functions that cross-validate: the data argument is `X` (positional index 1).
CV_FUNCTIONS = frozenset(
    {
        "sklearn.model_selection.cross_val_score",
        "sklearn.model_selection.cross_validate",
        "sklearn.model_selection.cross_val_predict",
        "sklearn.model_selection.learning_curve",
        "sklearn.model_selection.validation_curve",
        "sklearn.model_selection.permutation_test_score",
    }
)
# Estimators whose `.fit(X, y)` cross-validates internally.
CV_SEARCHERS = frozenset(
    {
        "sklearn.model_selection.GridSearchCV",
        "sklearn.model_selection.RandomizedSearchCV",
        "sklearn.model_selection.HalvingGridSearchCV",
        "sklearn.model_selection.HalvingRandomSearchCV",
        "sklearn.experimental.enable_halving_search_cv.HalvingGridSearchCV",
        "sklearn.feature_selection.RFECV",
        "sklearn.feature_selection.SequentialFeatureSelector",
    }
)
# Preprocessors whose fit learns nothing from the rows (or that encode the target, not features).
STATELESS_OR_TARGET_ENCODERS = frozenset(
    {
        "FunctionTransformer",
        "PolynomialFeatures",
        "Binarizer",
        "Normalizer",
        "HashingVectorizer",
        "FeatureHasher",
        "LabelEncoder",
        "LabelBinarizer",
        "MultiLabelBinarizer",
        "MissingIndicator",
    }
)
# Names of targets / labels: encoding or transforming them before a split is not feature leakage.
_TARGET_TOKENS = frozenset({"y", "target", "targets", "label", "labels", "lbl", "class", "classes"})
# Accessors that keep the identity of the data (`X_test.values`, `df.to_numpy()`).
_DATA_ACCESSORS = frozenset({"values", "to_numpy", "reshape", "astype", "copy", "toarray", "todense", "T", "array"})


@dataclass
class Consumer:
    """A call that splits or cross-validates data."""

    call: Node
    kind: str  # "split" | "cv"
    data: list[Node]  # the data arguments


@dataclass
class ScopeFlow:
    """Splits and cross-validations of one scope, plus the names derived from split outputs."""

    scope: Node
    consumers: list[Consumer] = field(default_factory=list)
    # To compute `split_derived`; weak, because the flow is cached on the model itself (a strong
    # reference would make the model a reference cycle, freed only by the cyclic GC).
    model_ref: weakref.ref[SemanticModel] | None = field(default=None, repr=False)
    _split_derived: dict[str, int] | None = field(default=None, repr=False)

    @property
    def split_derived(self) -> dict[str, int]:
        """Name -> byte offset where it became split data.

        Computed on first use: most questions (`X_train` is split data by its name, does the scope
        cross-validate at all) need only the consumers, and the data flow costs a tree walk per
        assignment that mentions a split output.
        """
        if self._split_derived is None:
            model = self.model_ref() if self.model_ref is not None else None
            self._split_derived = _split_derived(model, self.scope, self.consumers) if model is not None else {}
        return self._split_derived


def identifiers_in(node: Node | None) -> set[str]:
    """Variable names read by an expression (attribute names and keyword names excluded)."""
    names: set[str] = set()
    if node is None:
        return names
    if node.type == "identifier":
        return {text(node)}
    for child in walk(node):
        if child.type != "identifier":
            continue
        parent = child.parent
        if parent is not None and parent.type == "attribute" and parent.child_by_field_name("attribute") == child:
            continue
        if parent is not None and parent.type == "keyword_argument" and parent.child_by_field_name("name") == child:
            continue
        names.add(text(child))
    return names


def target_roots(assign: Node) -> set[str]:
    """Root variable names an assignment writes (`df` for `df["a"] = ...`, `X` for `X = ...`)."""
    roots: set[str] = set()
    for target in assignment_targets(assign):
        if target.type in ("list_splat_pattern",):
            target = target.named_children[0] if target.named_children else target
        ident = root_identifier(target)
        if ident is not None and text(ident) != "self":
            roots.add(text(ident))
        elif target.type == "attribute":
            dotted = dotted_name(target)
            if dotted:
                roots.add(dotted)
    return roots


def assignment_of(call: Node) -> Node | None:
    """The assignment whose value holds `call` (`X_s = pd.DataFrame(scaler.fit_transform(X))`)."""
    statement = statement_of(call)
    if statement.type != "expression_statement" or not statement.named_children:
        return None
    assign = statement.named_children[0]
    if assign.type != "assignment":
        return None
    value = assignment_value(assign)
    if value is None or not (value.start_byte <= call.start_byte and call.end_byte <= value.end_byte):
        return None
    return assign


def data_name(node: Node | None) -> str | None:
    """The variable a data argument reads: `X_test` for `X_test.values`, `test_df[cols]`, `X_test.to_numpy()`."""
    node = unwrap(node)
    while node is not None:
        if node.type == "subscript":
            node = node.child_by_field_name("value")
        elif node.type == "call":
            func = node.child_by_field_name("function")
            if func is None or func.type != "attribute" or call_method_name(node) not in _DATA_ACCESSORS:
                return None
            node = func.child_by_field_name("object")
        elif node.type == "attribute" and text(node.child_by_field_name("attribute")) in _DATA_ACCESSORS:
            node = node.child_by_field_name("object")
        else:
            break
    return dotted_name(node)


def split_of_data_name(name: str) -> str | None:
    """Split named by a data variable, None when the name mixes splits (`X_trainval`, `X_train_val`)."""
    last = name.rsplit(".", 1)[-1]
    tokens = set(name_tokens(last))
    split = split_of_name(last)
    if split is None:
        return None
    if split in ("val", "test") and tokens & {"train", "training", "tr", "trn", "trainval", "full", "all"}:
        return None
    return split


def is_target_name(name: str) -> bool:
    tokens = name_tokens(name.rsplit(".", 1)[-1])
    return bool(tokens) and (tokens[0] in _TARGET_TOKENS or tokens[-1] in _TARGET_TOKENS)


def receiver_qualname(model: SemanticModel, call: Node) -> str | None:
    """Qualified name of the constructor behind a method call's receiver (`scaler` -> StandardScaler).

    Remembered per call: ML204, the split/CV consumers and the preprocessor fits ask about the same
    `fit` calls.
    """
    cache: dict[int, str | None] = model.memo("_dataflow.receiver_qualnames", dict)
    key = call.id
    if key not in cache:
        cache[key] = _receiver_qualname(model, call)
    return cache[key]


def _receiver_qualname(model: SemanticModel, call: Node) -> str | None:
    receiver = unwrap(call_receiver(call))
    if receiver is None:
        return None
    if receiver.type == "call":
        return model.qualname(receiver)
    dotted = dotted_name(receiver)
    if dotted is None:
        return None
    entity = model.entity(dotted, call)
    if entity is not None and entity.qualname is not None:
        return entity.qualname
    value = unwrap(model.value_of(dotted, call))
    if value is not None and value.type == "call":
        return model.qualname(value)
    return None


def scope_assignments(model: SemanticModel, scope: Node) -> list[Node]:
    """Assignments made directly in `scope`, in document order (computed once per scope).

    Only the assignments inside the scope's byte range are looked at: the rules ask about a few
    scopes (those holding a fit or a split), not about every function of a large file.
    """
    by_scope: dict[int, list[Node]] = model.memo("_dataflow.assignments_by_scope", dict)
    assigns = by_scope.get(scope.id)
    if assigns is None:
        scope_id = scope.id
        assigns = by_scope[scope_id] = [
            assign for assign in model.nodes_in("assign", scope) if model.scope_id_of_assignment(assign) == scope_id
        ]
    return assigns


def _mentions_any(data: bytes, node: Node, names: Iterable[str]) -> bool:
    """Can `node` read or write one of `names`? False only when no name occurs in its source text.

    Every identifier `identifiers_in` or `assignment_targets` finds is a piece of the node's text;
    a name holding U+FFFD (decoded from invalid UTF-8) is not, so it always counts.
    """
    chunk = data[node.start_byte : node.end_byte]
    return any("\ufffd" in name or name.encode() in chunk for name in names)


def propagate(model: SemanticModel, seeds: Iterable[str], start: int, scope: Node) -> dict[str, int]:
    """Names that hold data derived from `seeds` after byte `start`, with where each got tainted.

    A plain re-assignment from untainted data (`X = df.drop(...)` with `df` clean) clears the name.
    """
    tainted: dict[str, int] = {name: start for name in seeds}
    data = model.source.data
    for assign in scope_assignments(model, scope):
        if assign.start_byte < start:
            continue
        # Neither branch below changes anything for an assignment that names no tainted variable
        # (most of them): skip its tree walk.
        if not _mentions_any(data, assign, tainted):
            continue
        value = assignment_value(assign)
        if value is None:
            continue
        reads = identifiers_in(value)
        roots = target_roots(assign)
        if reads & tainted.keys():
            for root in roots:
                tainted.setdefault(root, assign.start_byte)
        else:
            for target in assignment_targets(assign):
                if target.type == "identifier" and text(target) in tainted and tainted[text(target)] < assign.start_byte:
                    del tainted[text(target)]
    return tainted


def scope_flow(model: SemanticModel, scope: Node) -> ScopeFlow:
    """Consumers (splits, cross-validations) of a scope and the names derived from split outputs."""
    cache: dict[int, ScopeFlow] = model.__dict__.setdefault("_ml3xx_scope_flows", {})
    if scope.id in cache:
        return cache[scope.id]
    flow = ScopeFlow(scope, list(_consumers_by_scope(model).get(scope.id, ())), weakref.ref(model))
    cache[scope.id] = flow
    return flow


def _split_derived(model: SemanticModel, scope: Node, consumers: list[Consumer]) -> dict[str, int]:
    """Names holding a split's outputs (or derived from them) in `scope`, with where each became one."""
    split_seeds: dict[str, int] = {}
    for consumer in consumers:
        call = consumer.call
        assign = assignment_of(consumer.call)
        if consumer.kind == "split" and assign is not None:
            for root in target_roots(assign):
                split_seeds.setdefault(root, call.end_byte)
        # `for train_idx, test_idx in kf.split(X)`: the loop targets index the folds.
        loop = consumer.call.parent
        while loop is not None and loop.type in ("call", "argument_list", "parenthesized_expression"):
            loop = loop.parent
        if loop is not None and loop.type == "for_statement":
            for name in identifiers_in(loop.child_by_field_name("left")):
                split_seeds.setdefault(name, call.end_byte)
    derived: dict[str, int] = {}
    if split_seeds:
        first = min(split_seeds.values())
        derived = propagate(model, split_seeds, first, scope)
        for name, offset in split_seeds.items():
            derived[name] = offset
    return derived


def _consumers_by_scope(model: SemanticModel) -> dict[int, list[Consumer]]:
    """Every split and cross-validation of the file, grouped by `scope_of` id, in document order.

    Found once per file among the calls `_consumer` can accept (train_test_split and the CV
    functions by qualified name, `fit` and `split` by method name) instead of per scope among all
    of its calls.
    """

    def compute() -> dict[int, list[Consumer]]:
        by_name = model.calls_to(SPLIT_FUNCTIONS | CV_FUNCTIONS)
        resolved = {call.id for call in by_name}
        names = {"fit", "split"} | {model.method_name(call) or "" for call in by_name}
        by_scope: dict[int, list[Consumer]] = {}
        for call in model.calls_named(names):  # document order, as `calls_in` lists them
            if call.id not in resolved and model.method_name(call) not in ("fit", "split"):
                continue
            consumer = _consumer(model, call)
            if consumer is not None:
                by_scope.setdefault(model.scope_of(call).id, []).append(consumer)
        return by_scope

    return model.memo("_dataflow.consumers_by_scope", compute)


def _consumer(model: SemanticModel, call: Node) -> Consumer | None:
    qual = model.qualname(call)
    if qual in SPLIT_FUNCTIONS:
        return Consumer(call, "split", call_arguments(call))
    if qual in CV_FUNCTIONS:
        positional = call_arguments(call)
        data = keyword_arguments(call).get("X") or (positional[1] if len(positional) > 1 else None)
        return Consumer(call, "cv", [data]) if data is not None else None
    method = model.method_name(call)
    if method == "fit" and receiver_qualname(model, call) in CV_SEARCHERS:
        positional = call_arguments(call)
        data = keyword_arguments(call).get("X") or (positional[0] if positional else None)
        return Consumer(call, "cv", [data]) if data is not None else None
    if method == "split" and call_receiver(call) is not None:
        owner = receiver_qualname(model, call) or ""
        if owner.startswith("sklearn.model_selection.") and owner.rsplit(".", 1)[-1].endswith(("Fold", "Split", "KFold")):
            positional = call_arguments(call)
            data = keyword_arguments(call).get("X") or (positional[0] if positional else None)
            return Consumer(call, "cv", [data]) if data is not None else None
    return None


def is_split_data(flow: ScopeFlow, node: Node, at: int) -> bool:
    """Does the data expression read a split (by name, or derived from a split's output before `at`)?"""
    # The tests by name first: they need no data flow (`flow.split_derived`, computed on demand).
    names = identifiers_in(node)
    if any(split_of_name(name) is not None for name in names):
        return True
    dotted = data_name(node)
    if dotted is not None and split_of_name(dotted) is not None:
        return True
    derived = flow.split_derived
    return any((offset := derived.get(name)) is not None and offset <= at for name in names)


def consumers_reading(flow: ScopeFlow, tainted: dict[str, int], after: int, kinds: tuple[str, ...]) -> list[Consumer]:
    result = []
    for consumer in flow.consumers:
        if consumer.kind not in kinds or consumer.call.start_byte < after:
            continue
        for data in consumer.data:
            names = identifiers_in(data)
            if any(name in tainted and tainted[name] <= consumer.call.start_byte for name in names):
                result.append(consumer)
                break
    return result


# ---------------------------------------------------------------------------------------------
# Preprocessor fits


@dataclass
class PreprocessorFit:
    """`scaler.fit(X)` / `X_s = scaler.fit_transform(X)` on a learned preprocessor."""

    call: Node
    method: str  # "fit" | "fit_transform"
    receiver: str | None  # dotted receiver text, None for `StandardScaler().fit_transform(X)`
    data: Node
    qualname: str
    scope: Node


def preprocessor_fits(model: SemanticModel) -> list[PreprocessorFit]:
    cached = model.__dict__.get("_ml3xx_preprocessor_fits")
    if cached is not None:
        return cached
    fits: list[PreprocessorFit] = []
    for call in model.calls_named(("fit", "fit_transform")):
        method = model.method_name(call)
        receiver_node = call_receiver(call)
        if method is None or receiver_node is None:
            continue
        qual = receiver_qualname(model, call)
        if qual is None or not _is_learned_preprocessor(qual, method):
            continue
        positional = call_arguments(call)
        kwargs = keyword_arguments(call)
        data = positional[0] if positional else (kwargs.get("X") or kwargs.get("raw_documents"))
        if data is None:
            continue
        name = data_name(data)
        if name is not None and is_target_name(name):
            continue
        receiver = dotted_name(unwrap(receiver_node))
        if receiver is None and method == "fit":
            # `selector = SelectKBest(k=10).fit(X, y)`: fit returns the estimator itself.
            assign = assignment_of(call)
            targets = assignment_targets(assign) if assign is not None else []
            if len(targets) == 1 and assign is not None and assignment_value(assign) == call:
                receiver = dotted_name(targets[0])
        fits.append(PreprocessorFit(call, method, receiver, data, qual, model.scope_of(call)))
    model.__dict__["_ml3xx_preprocessor_fits"] = fits
    return fits


def _is_learned_preprocessor(qual: str, method: str) -> bool:
    from .. import known_apis as apis

    last = qual.rsplit(".", 1)[-1]
    if last in STATELESS_OR_TARGET_ENCODERS:
        return False
    if apis.is_sklearn_transformer(qual):
        return True
    # A pipeline/ColumnTransformer used as a transformer: `fit_transform`, or `fit` of a column transformer.
    if qual in apis.PIPELINE_NAMES:
        return method == "fit_transform" or "compose" in qual or "FeatureUnion" in qual or "make_union" in qual
    return False


def transform_calls(model: SemanticModel, fit: PreprocessorFit) -> list[Node]:
    """Later `receiver.transform(...)` calls of the same fitted preprocessor, in its scope."""
    if fit.receiver is None:
        return []
    result = []
    transforms = model.memo("_dataflow.transform_calls", lambda: model.calls_named(("transform",)))
    scope_end = fit.scope.end_byte
    for call in transforms:  # those of `model.calls_in(fit.scope)`, in the same order
        if call.start_byte <= fit.call.end_byte or call.start_byte >= scope_end or call.end_byte > scope_end:
            continue
        if dotted_name(unwrap(call_receiver(call))) == fit.receiver and model.scope_of(call).id == fit.scope.id:
            result.append(call)
    return result


def output_names(call: Node) -> set[str]:
    assign = assignment_of(call)
    return target_roots(assign) if assign is not None else set()

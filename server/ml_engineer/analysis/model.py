"""The semantic model: what the file means to an ML engineer.

Built once per analysis from the tree-sitter index; rules ask it questions ("which loops train?",
"what kind of thing is `opt`?", "what does `train_one_epoch` do when called?") instead of
re-walking the tree.
"""

from __future__ import annotations

import bisect
import re
import weakref
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, TypeVar

from tree_sitter import Node, Tree

from . import known_apis as apis
from .entity_table import EntityTable
from .imports import FRAMEWORK_ROOTS, ImportTable, canonical
from .nesting import Nesting
from .parsing import index_nodes
from .source import SourceText
from .syntax import (
    assignment_parts,
    assignment_targets,
    assignment_value,
    call_arguments,
    call_method_name,
    call_receiver,
    decorators,
    dotted_name,
    enclosing_scope,
    function_name,
    keyword_arguments,
    parameter_names,
    text,
    unwrap,
)

# ---------------------------------------------------------------------------------------------
# Names


_TOKEN_SPLIT = re.compile(r"[_\W\d]+|(?<=[a-z])(?=[A-Z])")
_TEST_TOKENS = frozenset({"test", "testing", "tst", "te", "holdout"})
_VAL_TOKENS = frozenset({"val", "valid", "validation", "dev", "eval", "evaluation", "vl", "va"})
_TRAIN_TOKENS = frozenset({"train", "training", "tr", "trn"})


def name_tokens(name: str) -> list[str]:
    return [token.lower() for token in _TOKEN_SPLIT.split(name) if token]


def split_of_name(name: str) -> str | None:
    """'train' | 'val' | 'test' | None, from a variable name such as `X_test` or `valLoader`."""
    tokens = name_tokens(name.rsplit(".", 1)[-1])
    if "holdout" in name.lower():
        return "test"
    for token in tokens:
        if token in _TEST_TOKENS:
            return "test"
    for token in tokens:
        if token in _VAL_TOKENS:
            return "val"
    for token in tokens:
        if token in _TRAIN_TOKENS:
            return "train"
    return None


_NAME_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("scaler", re.compile(r"^(grad_?)?scaler$|^amp_?scaler$|^scaler_?amp$")),
    ("scheduler", re.compile(r"sched|^lr_?policy$")),
    ("optimizer", re.compile(r"^(opt|optim|optimizer|optimiser|optimizers|opts)(_\w+)?$|_(opt|optim|optimizer|optimiser)$")),
    ("loss", re.compile(r"^(criterion|criteria|loss_?fn|loss_?func|loss_?function|loss_?fct|loss_?module|loss_?obj)$")),
    ("loader", re.compile(r"loader$|^(train|val|valid|test|eval)_?dl$|^dl_\w+$|^dataloader")),
    (
        "model",
        re.compile(
            r"^(model|net|network|encoder|decoder|classifier|backbone|generator|discriminator|student|teacher|"
            r"policy|critic|actor|autoencoder|vae|gan|unet|cnn|rnn|lstm|mlp|transformer|ddp_model|base_model|"
            r"module)(_\w+)?$|_(model|net|network|classifier)$"
        ),
    ),
)


# Names about an object rather than the object: `model_path`, `optimizer_cfg`, `load_model`,
# `build_optimizer`. Loss names are exact (`loss_fn`), so they are checked before this.
_NOT_THE_OBJECT = re.compile(
    r"_(paths?|names?|dirs?|directory|files?|filename|cfg|config|conf|configs|type|types|ids?|url|uri|args|kwargs|"
    r"params|parameters|hparams|state|states|state_dict|sd|weights|ckpt|checkpoint|outputs?|outs?|preds?|"
    r"predictions?|logits|losses|scores?|metrics?|version|size|dim|card|info|kind|class|cls|str|key|spec|fn|func|"
    r"factory|builder|registry|level|lr|repo|tag|dict|list|fns|kw)$"
    r"|^_*(load|build|get|create|make|init|initialize|save|setup|set|construct|export|prepare|wrap|freeze|"
    r"unfreeze|compile|print|log|count|unwrap|copy|clone|update|sync|convert|quantize|prune|is|has|num)_"
)


@lru_cache(maxsize=4096)
def kind_from_name(name: str) -> str | None:
    last = name.rsplit(".", 1)[-1].lower()
    for kind, pattern in _NAME_KINDS:
        if pattern.search(last):
            if kind != "loss" and _NOT_THE_OBJECT.search(last):
                return None
            return kind
    return None


# ---------------------------------------------------------------------------------------------
# Data


@dataclass
class Entity:
    """A name bound to an ML object: `opt = torch.optim.AdamW(...)`."""

    name: str  # dotted target text: "opt", "self.model"
    kind: str  # model | optimizer | loss | scheduler | scaler | loader | sklearn_transformer | sklearn_estimator | pipeline | resampler
    node: Node  # the value expression
    qualname: str | None  # constructor's qualified name, or the same-file class name
    assignment: Node
    split: str | None = None


@dataclass
class ClassInfo:
    node: Node
    name: str
    bases: list[str]  # resolved qualified names, or same-file class names
    methods: dict[str, FunctionInfo] = field(default_factory=dict)
    is_torch_module: bool = False
    is_model: bool = False  # any framework's model base (torch, keras, flax, lightning)


@dataclass
class FunctionInfo:
    node: Node
    name: str
    qualname: str  # "Trainer.fit" or "train_one_epoch"
    # The class a method belongs to, held weakly: the class lists its methods, and a strong
    # reference both ways would be a cycle (its nodes, and so the whole tree, freed only by the GC).
    owner_ref: weakref.ref[ClassInfo] | None
    decorator_names: list[str]
    effects: set[str] = field(default_factory=set)  # effects of calls made directly in the body
    callees: set[str] = field(default_factory=set)  # qualnames of same-file functions called
    grad_mode: str | None = None  # "no_grad" | "enable_grad" from a decorator

    @property
    def owner(self) -> ClassInfo | None:
        return self.owner_ref() if self.owner_ref is not None else None

    @cached_property
    def params(self) -> list[str]:
        # Read on demand: rules ask for the parameters of a few functions, not of all of them.
        return parameter_names(self.node)


@dataclass
class Effect:
    """A call that matters to training-loop rules, in document order."""

    kind: str  # backward | opt_step | scaler_step | sched_step | zero_grad | scaler_update | train_mode | eval_mode | unscale | clip
    call: Node
    receiver: str | None  # dotted receiver text, when there is one
    via: FunctionInfo | None = None  # set when the effect happens inside a same-file helper


@dataclass
class LoopInfo:
    node: Node
    function: FunctionInfo | None
    effects: list[Effect]  # direct effects in the loop (nested loops included), document order
    helper_calls: list[tuple[Node, FunctionInfo]]  # same-file helpers called in the loop
    _kinds: dict[bool, frozenset[str]] = field(default_factory=dict, repr=False, compare=False)

    def effect_kinds(self, include_helpers: bool = True) -> set[str]:
        # Rules ask per node; effects and helper summaries are final once the loop exists.
        kinds = self._kinds.get(include_helpers)
        if kinds is None:
            found = {effect.kind for effect in self.effects}
            if include_helpers:
                for _call, helper in self.helper_calls:
                    found |= helper.effects
            kinds = self._kinds[include_helpers] = frozenset(found)
        return set(kinds)


@dataclass
class EvalPass:
    node: Node  # function_definition or with_statement
    kind: str  # "function" | "no_grad_block"
    function: FunctionInfo | None


# ---------------------------------------------------------------------------------------------
# The model


_EVAL_FUNCTION = re.compile(
    r"^_*(eval|evaluate|evaluation|valid|validate|validation|val|test|predict|prediction|infer|inference|"
    r"run_eval|run_validation|run_test|compute_metrics|score)(_|$)|_(eval|evaluate|evaluation|validate|validation|"
    r"val|test|predict|prediction|inference|infer)$"
)
_SEED_CALL = re.compile(
    r"(^|\.)(manual_seed|manual_seed_all|seed|set_seed|seed_everything|set_random_seed|PRNGKey|default_rng|"
    r"use_deterministic_algorithms)$"
)
# Every method name `_compute_effect` gives a kind to.
_EFFECT_METHODS = frozenset({
    "backward", "step", "zero_grad", "clear_grad", "clear_gradients", "zero_", "update", "train", "eval", "unscale_",
    "clip_grad_norm_", "clip_grad_value_", "clip_grad_norm", "clip_gradients",
})


def _possessive(pattern: bytes) -> re.Pattern[bytes]:
    """Compile a pattern written with possessive `*+`/`++` quantifiers (Python 3.11+).

    The byte patterns below run once per call or assignment of a file; where giving characters
    back can never lead to a match (an identifier is never followed by an identifier character),
    possessive quantifiers spare the regex engine its backtracking (~1/3 of the match time).
    Python 3.10 has no possessive quantifiers: there the plain form, which matches the same, is used.
    """
    try:
        return re.compile(pattern)
    except re.error:
        return re.compile(pattern.replace(b"*+", b"*").replace(b"++", b"+"))


_HEAD_IDENTIFIER = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
# `a.b` written plainly (no spaces; no keyword atoms, which are no identifiers): its text is its dotted name.
_PLAIN_DOTTED_BYTES = rb"(?!(?:True|False|None)\b)[A-Za-z_][A-Za-z0-9_]*+(?:\.(?!(?:True|False|None)\b)[A-Za-z_][A-Za-z0-9_]*+)*+"
# `name = ...`, `self.x: T = ...`, `a, b.c = ...`: assignment targets that are plain dotted names (group 1).
_PLAIN_TARGETS = _possessive(
    rb"(" + _PLAIN_DOTTED_BYTES + rb"(?:[ \t]*+,[ \t]*+" + _PLAIN_DOTTED_BYTES + rb")*+)[ \t]*+[=:]"
)
_PLAIN_CALLEE = _possessive(rb"(?:[A-Za-z_][A-Za-z0-9_]*+[ \t]*+\.[ \t]*+)*+([A-Za-z_][A-Za-z0-9_]*+)[ \t]*+\(")
# `def name(` / `async def name[T](`: a function's name, ASCII and whole (group 1).
_DEF_NAME = _possessive(rb"(?:async[ \t]++)?def[ \t]++([A-Za-z_][A-Za-z0-9_]*+)(?![\x80-\xff])")
_DOTTED_TEXT = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_CELL_MARKER = re.compile(rb"^(?:# %%|#%%|# In\[)", re.MULTILINE)
_T = TypeVar("_T")
CallTable = tuple[list[Node], list[int]]  # calls in document order (as `calls_in` gives them), their start bytes
_UNRESOLVED = object()  # not in a cache yet (None is an answer)
_MODEL_METHODS = frozenset({"generate", "forward", "predict", "predict_on_batch"})  # `model.generate(...)` runs the model
_MOVE_METHODS = frozenset({"to", "cuda", "cpu", "float", "half", "double", "bfloat16", "train", "eval", "requires_grad_"})
_SEMANTIC_TABLES = frozenset({
    "classes", "functions", "_functions_by_node", "_local_calls", "_local_starts", "assignments",
    "_assignments_by_scope", "_scope_of_assign", "entities",
})


class SemanticModel:
    def __init__(self, source: SourceText, tree: Tree, path: str = "<stdin>", cell_starts: list[int] | None = None):
        self.source = source
        self.tree = tree
        self.path = path
        self.root = tree.root_node
        self.index = index_nodes(self.root)
        self.imports = ImportTable.build(self.index.get("import", []))
        self.calls: list[Node] = self.index.get("call", [])
        self._call_starts = [call.start_byte for call in self.calls]
        # Every call's callee name, computed once for the model and all rules (`method_name`,
        # `calls_named`); narrow call lists then let per-function and per-loop work skip ordinary calls.
        self._call_names = self._callee_names()
        self._call_positions = {call.id: position for position, call in enumerate(self.calls)}
        self._calls_by_name: dict[str, list[int]] = {}
        for position, called in enumerate(self._call_names):
            if called is not None:
                self._calls_by_name.setdefault(called, []).append(position)
        self._effect_calls = self.calls_named(_EFFECT_METHODS)
        self._effect_starts = [call.start_byte for call in self._effect_calls]
        self._qualname_cache: dict[int, str | None] = {}
        self._resolved_names: dict[str, str | None] = {}  # dotted text -> qualified name
        self._memo: dict[Hashable, Any] = {}
        self._starts: dict[int, list[int]] = {}  # id(list of nodes or entities) -> their start bytes
        self._build_scopes()
        self.cell_starts = cell_starts if cell_starts is not None else self._script_cell_starts()
        self._effect_cache: dict[int, Effect | None] = {}
        self._local_targets: dict[int, FunctionInfo | None] = {}  # call id -> `resolve_local_function`
        # While an assignment is being classified: its start byte. Lookups then see only the
        # bindings made before it (see `entity_table`).
        self._horizon: int | None = None
        # Classes, functions, bindings, entities and effect summaries are built together on first
        # use (`__getattr__`): a file no rule asks about (no ML code) pays only for the parse and index.

    # Built by `_build_semantics` on first access.
    classes: dict[str, ClassInfo]
    functions: dict[str, FunctionInfo]
    _functions_by_node: dict[int, FunctionInfo]
    _local_calls: list[Node]
    _local_starts: list[int]
    assignments: dict[str, list[Node]]
    _assignments_by_scope: dict[str, dict[int, list[Node]]]  # name -> scope id -> assignments (on demand)
    _scope_of_assign: dict[int, int]
    entities: EntityTable

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes not set yet: the lazily built tables above. Not guarded by a
        # lock: a model is used by one thread at a time (the analysis worker, then the LSP loop).
        if name in _SEMANTIC_TABLES and "_scope_of_assign" not in self.__dict__:
            self._build_semantics()
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _build_semantics(self) -> None:
        # Every table exists (empty) before any is filled, so the builders' own lookups
        # (`kind_of_name` while classifying, `effect_of_call` while summarising) never re-enter.
        self.classes = {}
        self.functions = {}
        self._functions_by_node = {}
        self._local_calls = []
        self._local_starts = []
        self.assignments = {}
        self._assignments_by_scope = {}
        self._scope_of_assign = {}
        self.entities = EntityTable(
            self.assignments, self.index.get("assign", []), self.scope_id_of_assignment, self._classify_assignment
        )
        self._build_classes_and_functions()
        self._local_calls = self.local_function_calls()
        self._local_starts = [call.start_byte for call in self._local_calls]
        self._build_assignments()
        self._build_function_summaries()

    # --- basics ------------------------------------------------------------------------------

    def node_text(self, node: Node | None) -> str:
        return text(node)

    def qualname(self, node: Node | None) -> str | None:
        """Resolved qualified name of an expression or of a call's callee (cached per node)."""
        if node is None:
            return None
        key = node.id
        cached = self._qualname_cache.get(key, _UNRESOLVED)
        if cached is not _UNRESOLVED:
            return cached  # type: ignore[return-value]
        # A name resolves only through an import binding of its head identifier, which starts where
        # the expression (or the call's callee) starts: reject most calls without reading the tree.
        data = self.source.data
        head = _HEAD_IDENTIFIER.match(data, node.start_byte)
        if (
            head is not None
            and not self.imports.star_modules
            and (head.end() == len(data) or data[head.end()] < 0x80)  # an ASCII identifier, whole
            and head.group().decode() not in self.imports.bindings
        ):
            result = None
        else:
            # A plain `a.b.c` callee: its source text is its dotted name (resolved once per name).
            target = node.child_by_field_name("function") if node.type == "call" else node
            if target is not None and target.type in ("identifier", "attribute") and _DOTTED_TEXT.fullmatch(data, target.start_byte, target.end_byte):
                dotted = data[target.start_byte : target.end_byte].decode()
                if dotted not in self._resolved_names:
                    self._resolved_names[dotted] = self.imports.resolve_dotted(dotted)
                result = self._resolved_names[dotted]
            else:
                result = self.imports.resolve(node)
        self._qualname_cache[key] = result
        return result

    def memo(self, key: Hashable, compute: Callable[[], _T]) -> _T:
        """A value computed once per analysed file and shared by every rule asking with `key`."""
        value = self._memo.get(key, _UNRESOLVED)
        if value is _UNRESOLVED:
            value = self._memo[key] = compute()
        return value

    def _build_scopes(self) -> None:
        # Scope nodes in document order with their parent scope: `scope_of` is then a bisect plus
        # a short climb, instead of a walk up `node.parent` (a new Node object per step).
        scopes = Nesting([*self.index.get("function", []), *self.index.get("class", []), *self.index.get("lambda", [])])
        self._scope_nodes = scopes.nodes
        self._scope_starts = scopes.starts
        self._scope_ends = scopes.ends
        self._scope_parents = scopes.parents
        self._scope_types = [node.type for node in scopes.nodes]
        self._scope_ids = [node.id for node in scopes.nodes]

    def scope_of(self, node: Node) -> Node:
        """The function, class, lambda or module whose scope `node` belongs to (`syntax.enclosing_scope`)."""
        start, end = node.start_byte, node.end_byte
        if start == end:
            return enclosing_scope(node)  # empty nodes (error recovery) at a scope's edge: ask the tree
        position = self._scope_position(start, end)
        return self._scope_nodes[position] if position >= 0 else self.root

    def _scope_position(self, start: int, end: int) -> int:
        """Index in `_scope_nodes` of the innermost scope strictly around [start, end), -1 for the module."""
        position = bisect.bisect_left(self._scope_starts, start) - 1
        ends = self._scope_ends
        while position >= 0:
            if end <= ends[position] and start < ends[position]:
                return position
            position = self._scope_parents[position]
        return -1

    def _enclosing_scope_of_type(self, node: Node, scope_type: str) -> int | None:
        """Index of the innermost `scope_type` scope around `node`; -1 when none; None for empty nodes."""
        start, end = node.start_byte, node.end_byte
        if start == end:
            return None
        position = self._scope_position(start, end)
        while position >= 0 and self._scope_types[position] != scope_type:
            position = self._scope_parents[position]
        return position

    def _starts_of(self, nodes: list[Node]) -> list[int]:
        # Only the model's own lists, which only grow, are passed here: id() and length identify them.
        if not nodes:
            return []
        starts = self._starts.get(id(nodes))
        if starts is None or len(starts) != len(nodes):
            starts = self._starts[id(nodes)] = [node.start_byte for node in nodes]
        return starts

    def calls_in(self, node: Node) -> list[Node]:
        """Calls inside `node`, in document order (from the index, no tree walk)."""
        return slice_by_start(self.calls, self._call_starts, node)

    def nodes_in(self, capture: str, node: Node) -> list[Node]:
        nodes = self.index.get(capture, [])
        return slice_by_start(nodes, self._starts_of(nodes), node)

    @cached_property
    def is_ml_file(self) -> bool:
        return any(record.module.split(".")[0] in FRAMEWORK_ROOTS for record in self.imports.records)

    def uses_framework(self, root: str) -> bool:
        return self.imports.imports_module(root)

    # --- classes and functions ---------------------------------------------------------------

    def _build_classes_and_functions(self) -> None:
        for node in self.index.get("class", []):
            name = text(node.child_by_field_name("name"))
            bases: list[str] = []
            superclasses = node.child_by_field_name("superclasses")
            if superclasses is not None:
                for base in superclasses.named_children:
                    if base.type == "keyword_argument":
                        continue
                    resolved = self.imports.resolve(base)
                    bases.append(resolved or text(base))
            self.classes.setdefault(name, ClassInfo(node=node, name=name, bases=bases))
        # Inheritance through same-file classes: `class Net(Base)` where `Base(nn.Module)`.
        for class_info in self.classes.values():
            class_info.is_torch_module = self._inherits(class_info, apis.TORCH_MODULE_BASES, set())
            class_info.is_model = class_info.is_torch_module or self._inherits(class_info, apis.MODULE_BASES, set())

        # The class each name denotes, by node: a method's owner is the class around it only when
        # that class is the one its name denotes (the first of that name).
        classes_by_node = {info.node.id: info for info in self.classes.values()}
        data = self.source.data
        for node in self.index.get("function", []):
            # function_definition -> block -> class_definition, with decorated_definition in between
            # for `@torch.no_grad()` / `@staticmethod` methods.
            parent = node.parent
            decorated = parent if parent is not None and parent.type == "decorated_definition" else None
            if decorated is not None:
                parent = decorated.parent
            owner_node = parent.parent if parent is not None else None
            owner = None
            if owner_node is not None and owner_node.type == "class_definition":
                owner = classes_by_node.get(owner_node.id)
            plain = _DEF_NAME.match(data, node.start_byte)
            name = plain.group(1).decode() if plain is not None else function_name(node)
            qualname = f"{owner.name}.{name}" if owner is not None else name
            decorator_names = []
            grad_mode = None
            for decorator in decorators(node) if decorated is not None else ():
                expr = decorator.named_children[0] if decorator.named_children else None
                resolved = self.qualname(expr) or text(expr)
                decorator_names.append(resolved)
                if resolved in apis.NO_GRAD_CONTEXTS:
                    grad_mode = "no_grad"
                elif resolved in apis.ENABLE_GRAD_CONTEXTS:
                    grad_mode = "enable_grad"
            info = FunctionInfo(
                node=node,
                name=name,
                qualname=qualname,
                owner_ref=weakref.ref(owner) if owner is not None else None,
                decorator_names=decorator_names,
                grad_mode=grad_mode,
            )
            self._functions_by_node[node.id] = info
            if owner is not None:
                owner.methods.setdefault(name, info)
            # Nested or redefined functions: the first top-level definition wins the name.
            self.functions.setdefault(qualname, info)

    def _inherits(self, info: ClassInfo, targets: frozenset[str], seen: set[str]) -> bool:
        if info.name in seen:
            return False
        seen.add(info.name)
        for base in info.bases:
            if base in targets:
                return True
            local = self.classes.get(base)
            if local is not None and self._inherits(local, targets, seen):
                return True
        return False

    def _callee_names(self) -> list[str | None]:
        """`call_method_name` of every call (parallel to `self.calls`), reading names from the source bytes."""
        data = self.source.data
        names: list[str | None] = []
        append = names.append
        starts = self._call_starts
        last = len(starts) - 1
        for position, call in enumerate(self.calls):
            start = starts[position]
            # A call no other call starts with (not `a.f().g()`) whose text opens `a.b.name(` has
            # `name` as its callee: read it from the bytes instead of two child lookups.
            if (position == 0 or starts[position - 1] != start) and (position == last or starts[position + 1] != start):
                plain = _PLAIN_CALLEE.match(data, start)
                if plain is not None:
                    append(plain.group(1).decode())
                    continue
            func = call.child_by_field_name("function")
            kind = func.type if func is not None else None
            if kind == "attribute":
                func = func.child_by_field_name("attribute")  # type: ignore[union-attr]
                append(data[func.start_byte : func.end_byte].decode("utf-8", errors="replace") if func is not None else "")
            elif kind == "identifier":
                append(data[func.start_byte : func.end_byte].decode("utf-8", errors="replace"))  # type: ignore[union-attr]
            else:
                append(None)
        return names

    def method_name(self, call: Node) -> str | None:
        """`syntax.call_method_name(call)` (`step` for `opt.step()`), from the per-file table when indexed."""
        position = self._call_positions.get(call.id)
        return self._call_names[position] if position is not None else call_method_name(call)

    def calls_named(self, names: Iterable[str]) -> list[Node]:
        """Calls whose `method_name` is one of `names`, in `self.calls` (document) order."""
        positions: list[int] = []
        for name in names:
            positions.extend(self._calls_by_name.get(name, ()))
        positions.sort()
        calls = self.calls
        return [calls[position] for position in positions]

    def callee_names(self) -> Collection[str]:
        """Every `method_name` some call in the file has (for rules that match names by pattern)."""
        return self._calls_by_name.keys()

    def calls_to(self, qualnames: Collection[str]) -> list[Node]:
        """Calls whose `qualname` is one of `qualnames`, in document order, without resolving every call.

        A resolved callee keeps the last name the user wrote (`nn.functional.dropout` -> `dropout`),
        unless that name is itself an import alias (`from torch.nn.functional import dropout as drop`):
        only calls named like a last name or such an alias are resolved.
        """
        names = {qual.rsplit(".", 1)[-1] for qual in qualnames}
        names.update(local for local, target in self.imports.bindings.items() if canonical(target) in qualnames)
        return [call for call in self.calls_named(names) if self.qualname(call) in qualnames]

    def effect_calls(self) -> list[Node]:
        """Calls named like an effect (`backward`, `step`, ...): every call `effect_of_call` may give one, in order."""
        return self.calls_named(_EFFECT_METHODS)

    def local_function_names(self) -> frozenset[str]:
        """Names of the same-file functions and methods: the only names `resolve_local_function` resolves."""
        return self.memo("local_function_names", lambda: frozenset(info.name for info in self._functions_by_node.values()))

    def local_function_calls(self) -> list[Node]:
        """Calls named like a same-file function: every call `resolve_local_function` may resolve, in order."""
        return self.calls_named(self.local_function_names())

    def effect_or_local_calls_in(self, region: Node) -> list[Node]:
        """`calls_in(region)` narrowed to the calls that can matter to training-loop reasoning.

        `effect_of_call` gives an effect only to calls named like an effect method, and
        `resolve_local_function` resolves only calls named like a same-file function: skipping
        every other call keeps the answers of a walk over the effects and helpers, and their order.
        """
        calls, starts = self.call_table("effect_or_local", lambda: _EFFECT_METHODS | self.local_function_names())
        return slice_by_start(calls, starts, region)

    def call_table(self, key: Hashable, names: Callable[[], Iterable[str]]) -> CallTable:
        """`calls_named(names())` with their start bytes, built once per file under `key`: a narrow
        call list that rules and the model cut to a range with `slice_by_start` / `start_bounds`."""

        def build() -> CallTable:
            calls = self.calls_named(names())  # document order, no repeats
            return calls, [call.start_byte for call in calls]

        return self.memo(("call_table", key), build)

    def assigned_last_names(self) -> frozenset[str]:
        """The last name of every assigned dotted name (`fc` for `self.fc = ...`)."""
        return self.memo("assigned_last_names", lambda: frozenset(name.rsplit(".", 1)[-1] for name in self.assignments))

    def enclosing_function(self, node: Node) -> FunctionInfo | None:
        position = self._enclosing_scope_of_type(node, "function_definition")
        if position is not None:
            return self._functions_by_node.get(self._scope_ids[position]) if position >= 0 else None
        parent = node.parent
        while parent is not None:
            if parent.type == "function_definition":
                return self._functions_by_node.get(parent.id)
            parent = parent.parent
        return None

    def function_for_node(self, node: Node) -> FunctionInfo | None:
        return self._functions_by_node.get(node.id)

    def enclosing_class(self, node: Node) -> ClassInfo | None:
        position = self._enclosing_scope_of_type(node, "class_definition")
        if position is not None:
            if position < 0:
                return None
            return self.classes.get(text(self._scope_nodes[position].child_by_field_name("name")))
        parent = node.parent
        while parent is not None:
            if parent.type == "class_definition":
                return self.classes.get(text(parent.child_by_field_name("name")))
            parent = parent.parent
        return None

    def resolve_local_function(self, call: Node) -> FunctionInfo | None:
        """The same-file function or method a call invokes (`helper(x)`, `self.helper(x)`)."""
        # Asked for the same calls by the function summaries, every loop around them and rules.
        key = call.id
        found = self._local_targets.get(key, _UNRESOLVED)
        if found is _UNRESOLVED:
            found = self._local_targets[key] = self._resolve_local_function(call)
        return found  # type: ignore[return-value]

    def _resolve_local_function(self, call: Node) -> FunctionInfo | None:
        func = call.child_by_field_name("function")
        if func is None:
            return None
        if func.type == "identifier":
            return self.functions.get(text(func))
        if func.type == "attribute":
            obj = func.child_by_field_name("object")
            attr = text(func.child_by_field_name("attribute"))
            if obj is not None and obj.type == "identifier" and text(obj) in ("self", "cls"):
                owner = self.enclosing_class(call)
                while owner is not None:
                    if attr in owner.methods:
                        return owner.methods[attr]
                    owner = next((self.classes[b] for b in owner.bases if b in self.classes), None)
        return None

    # --- assignments and entities ------------------------------------------------------------

    def _build_assignments(self) -> None:
        # Bindings only: what each assignment binds is classified on demand (`entity_table`).
        data = self.source.data
        assignments = self.assignments
        every = self.index.get("assign", [])
        # An assignment without syntax errors in it that no other assignment starts inside (not
        # `a = b = c`, whose right side is one) and whose text opens `name =`, `a.b: T =` or
        # `a, b.c =` binds exactly those dotted names: read them from the bytes instead of two
        # child lookups and a dotted-name read per target. Start bytes and matches are read in
        # bulk: cheaper than per-assignment property reads in the loop. (While the user types, the
        # file often has an error somewhere: only the assignments holding one take the slow path.)
        starts = [assign.start_byte for assign in every]
        match = _PLAIN_TARGETS.match
        if self.root.has_error:
            plains = [None if assign.has_error else match(data, start) for assign, start in zip(every, starts, strict=True)]
        else:
            plains = [match(data, start) for start in starts]
        starts.append(len(data))  # the last assignment has no successor inside it
        for position, assign in enumerate(every):
            plain = plains[position]
            if plain is not None and starts[position + 1] >= assign.end_byte:
                targets = plain.group(1)
                if b"," not in targets:
                    assignments.setdefault(targets.decode(), []).append(assign)
                else:
                    for target in targets.split(b","):
                        assignments.setdefault(target.strip(b" \t").decode(), []).append(assign)
                continue
            left = assign.child_by_field_name("left")
            right = assign.child_by_field_name("right")
            names: list[str | None]
            if left is None or (right is not None and right.type == "assignment"):
                names = [dotted_name(target) for target in assignment_targets(assign)]  # `a = b = c`
            elif left.type == "identifier":
                # `name = value`, most assignments: the name is the source text.
                names = [data[left.start_byte : left.end_byte].decode("utf-8", errors="replace")]
            elif left.type in ("pattern_list", "tuple_pattern", "list_pattern"):
                names = [dotted_name(target) for target in left.named_children]
            else:
                names = [dotted_name(left)]
            for name in names:
                if name is not None:
                    assignments.setdefault(name, []).append(assign)

    def _classify_assignment(self, assign: Node) -> list[Entity]:
        """The entities `assign` binds, judged with only the bindings made before it in view."""
        targets, value = assignment_parts(assign)
        if value is None:
            return []
        saved, self._horizon = self._horizon, assign.start_byte
        try:
            if len(targets) != 1:
                return self._classify_tuple(targets, value, assign)
            dotted = dotted_name(targets[0])
            found = self._classify(dotted, value, assign) if dotted is not None else None
            return [found] if found is not None else []
        finally:
            self._horizon = saved

    def scope_id_of_assignment(self, assign: Node) -> int:
        """`scope_of(assign).id`, computed once per assignment (only for the assignments lookups reach)."""
        scope_id = self._scope_of_assign.get(assign.id)
        if scope_id is None:
            scope_id = self._scope_of_assign[assign.id] = self.scope_of(assign).id
        return scope_id

    def _assignments_in_scope(self, name: str, scope_id: int) -> list[Node]:
        """Assignments binding `name` made in the scope `scope_id` (grouped per name on first use)."""
        by_scope = self._assignments_by_scope.get(name)
        if by_scope is None:
            by_scope = self._assignments_by_scope[name] = {}
            for assign in self.assignments.get(name, ()):
                by_scope.setdefault(self.scope_id_of_assignment(assign), []).append(assign)
        return by_scope.get(scope_id, [])

    def _classify(self, name: str, value: Node, assign: Node) -> Entity | None:
        value = unwrap(value) or value
        kind, qualname = self.kind_of_expression(value)
        if kind is None:
            return None
        split = split_of_name(name) if kind == "loader" else None
        if kind == "loader" and split is None and value.type == "call":
            positional = call_arguments(value)
            dataset = positional[0] if positional else keyword_arguments(value).get("dataset")
            if dataset is not None:
                split = split_of_name(text(dataset))
        return Entity(name, kind, value, qualname, assign, split)

    def _classify_tuple(self, targets: list[Node], value: Node, assign: Node) -> list[Entity]:
        # `model, opt, loader = accelerator.prepare(model, opt, loader)` keeps each kind.
        value = unwrap(value) or value
        func = value.child_by_field_name("function") if value.type == "call" else None
        if func is not None and func.type == "identifier" and text(func) in self.functions:
            return self._classify_unpacked_factory(value, assign, self.functions[text(func)])
        if value.type != "call" or call_method_name(value) not in ("prepare", "initialize"):
            return []
        args_node = value.child_by_field_name("arguments")
        args = [a for a in args_node.named_children if a.type != "keyword_argument"] if args_node is not None else []
        found: list[Entity] = []
        for target, arg in zip(targets, args, strict=False):
            target_name = dotted_name(target)
            arg_name = dotted_name(arg)
            if target_name is None or arg_name is None:
                continue
            kind = self.kind_of_name(arg_name, assign)
            if kind is not None:
                split = split_of_name(target_name) if kind == "loader" else None
                found.append(Entity(target_name, kind, arg, None, assign, split))
        return found

    def _classify_unpacked_factory(self, value: Node, assign: Node, factory: FunctionInfo) -> list[Entity]:
        # `tokenizer, encoder = load_text_encoder()` where the helper returns `tok, enc`.
        left = assign.child_by_field_name("left")
        if left is None or left.type not in ("pattern_list", "tuple_pattern"):
            return []
        found: list[Entity] = []
        for position, target in enumerate(left.named_children):
            target_name = dotted_name(target)
            if target_name is None:
                break  # starred or nested targets shift positions
            kind, qual = self._returned_kind(factory, position)
            if kind is not None:
                split = split_of_name(target_name) if kind == "loader" else None
                found.append(Entity(target_name, kind, value, qual, assign, split))
        return found

    def kind_of_expression(self, value: Node) -> tuple[str | None, str | None]:
        """Classify a value expression (usually a constructor call)."""
        value = unwrap(value) or value
        if value.type == "conditional_expression":
            return self._kind_of_conditional(value)
        # Peel `.to(device)`, `.cuda()`, `torch.compile(m)`, `DDP(m)` wrappers down to the constructor.
        while value.type == "call":
            # The callee node only for `.to()`-like names: most constructors are not wrappers.
            func = value.child_by_field_name("function") if self.method_name(value) in _MOVE_METHODS else None
            if func is not None and func.type == "attribute":
                inner = func.child_by_field_name("object")
                if inner is not None and inner.type == "call":
                    value = inner
                    continue
                if inner is not None:
                    dotted = dotted_name(inner)
                    if dotted is not None:
                        kind = self.kind_of_name(dotted, value)
                        if kind == "model":
                            return "model", None
                break
            qual = self.qualname(value)
            if qual in ("torch.compile", "torch.nn.parallel.DistributedDataParallel", "torch.nn.DataParallel",
                        "torch.distributed.fsdp.FullyShardedDataParallel", "torch.nn.parallel.DataParallel"):
                args = value.child_by_field_name("arguments")
                first = args.named_children[0] if args is not None and args.named_children else None
                if first is not None and first.type == "call":
                    value = first
                    continue
                return "model", qual
            break
        if value.type != "call":
            return None, None
        qual = self.qualname(value)
        func = value.child_by_field_name("function") if qual is None else None
        if func is not None:
            local = text(func)
            info = self.classes.get(local)
            if info is not None and info.is_model:
                return "model", local
            if func.type == "attribute" and text(func.child_by_field_name("attribute")) == "from_pretrained":
                owner = text(func.child_by_field_name("object"))
                if owner in self.classes and self.classes[owner].is_model:
                    return "model", owner
            if func.type == "identifier" and local in self.functions:
                return self._returned_kind(self.functions[local])  # `model = build_model(cfg)`
            return None, None
        if qual is None:
            return None, None
        return _kind_of_qualname(qual)

    def _returned_kind(self, info: FunctionInfo, element: int | None = None) -> tuple[str | None, str | None]:
        """Kind of what a same-file factory returns (its `element`-th item), when every `return` agrees."""
        key = ("returned_kind", info.node.id, element, self._horizon)
        if key in self._memo:
            return self._memo[key]
        self._memo[key] = (None, None)  # recursion guard
        kinds: list[tuple[str | None, str | None]] = []
        for ret in self.nodes_in("return", info.node):
            if self.enclosing_function(ret) is not info:
                continue  # a nested function's return
            value = unwrap(ret.named_children[0]) if ret.named_children else None
            if value is not None and element is not None:
                items = value.named_children if value.type in ("expression_list", "tuple") else []
                value = unwrap(items[element]) if element < len(items) and items[element].type != "list_splat" else None
            dotted = dotted_name(value) if value is not None else None
            if value is None:
                kinds.append((None, None))
            elif dotted is not None:
                found = self.entity(dotted, ret)
                kinds.append((found.kind, found.qualname) if found is not None else (None, None))
            else:
                kinds.append(self.kind_of_expression(value))
        result: tuple[str | None, str | None] = (None, None)
        if kinds and all(k[0] is not None and k[0] == kinds[0][0] for k in kinds):
            result = kinds[0]
        self._memo[key] = result
        return result

    def _kind_of_conditional(self, value: Node) -> tuple[str | None, str | None]:
        # `Encoder(...) if use_chars else None`: the kind both branches agree on, `None` aside.
        branches = [value.named_children[0], value.named_children[-1]] if len(value.named_children) == 3 else []
        kinds = [self.kind_of_expression(branch) for branch in branches if branch.type != "none"]
        if kinds and all(kind[0] is not None and kind[0] == kinds[0][0] for kind in kinds):
            return kinds[0]
        return None, None

    def entity(self, name: str, at: Node | None = None) -> Entity | None:
        """The entity bound to dotted `name`, preferring the closest preceding binding in scope."""
        if name not in self.assignments:
            return None
        table, horizon = self.entities, self._horizon
        candidates, starts, count = table.visible(name, horizon)
        if not count:
            return None
        if at is None or count == 1:
            return candidates[count - 1]
        position = at.start_byte
        chosen = _last_before(*table.visible_in_scope(name, self.scope_of(at).id, horizon), position)
        if chosen is not None:
            return chosen
        return (
            _last_before(*table.visible_in_scope(name, self.root.id, horizon), position)
            or _last_before(candidates, starts, count, position)
            or candidates[0]
        )

    def kind_of_name(self, name: str, at: Node | None = None) -> str | None:
        """Entity kind of a dotted name: from its binding, else from what people call such names."""
        found = self.entity(name, at)
        if found is not None:
            return found.kind
        if name in self.functions:
            return None  # a same-file function such as `train_model(...)` is not the object it names
        return kind_from_name(name)

    def kind_of_node(self, node: Node | None, at: Node | None = None) -> str | None:
        if node is None:
            return None
        node = unwrap(node)
        if node is None:
            return None
        dotted = dotted_name(node)
        if dotted is not None:
            return self.kind_of_name(dotted, at or node)
        return self.kind_of_expression(node)[0]

    def is_model_ref(self, node: Node | None) -> bool:
        """Does `node` name a model (`model`, `self.net`, an instance of a same-file nn.Module)?"""
        return self.kind_of_node(node) == "model"

    def split_of(self, node: Node | None) -> str | None:
        """Split (train/val/test) served by the data named by `node`: loader entity or name."""
        if node is None:
            return None
        dotted = dotted_name(unwrap(node))
        if dotted is None:
            return None
        found = self.entity(dotted, node)
        if found is not None and found.split is not None:
            return found.split
        return split_of_name(dotted)

    def value_of(self, name: str, at: Node) -> Node | None:
        """Value last assigned to dotted `name` before `at`, in `at`'s scope, else at module level."""
        if name not in self.assignments:
            return None
        scope_id = self.scope_of(at).id
        chosen = self._last_node_before(self._assignments_in_scope(name, scope_id), at.start_byte)
        if chosen is None and scope_id != self.root.id:
            chosen = self._last_node_before(self._assignments_in_scope(name, self.root.id), at.start_byte)
        if chosen is None:
            return None
        targets = assignment_targets(chosen)
        if len(targets) != 1:
            return None
        return assignment_value(chosen)

    def unpacked_value(self, name: str, at: Node) -> tuple[Node, int] | None:
        """`(value, i)` when `name` was last bound before `at` as the i-th plain target of `a, b = value`."""
        if name not in self.assignments:
            return None
        scope_id = self.scope_of(at).id
        chosen = self._last_node_before(self._assignments_in_scope(name, scope_id), at.start_byte)
        if chosen is None and scope_id != self.root.id:
            chosen = self._last_node_before(self._assignments_in_scope(name, self.root.id), at.start_byte)
        left = chosen.child_by_field_name("left") if chosen is not None else None
        value = assignment_value(chosen) if chosen is not None else None
        if left is None or value is None or left.type not in ("pattern_list", "tuple_pattern"):
            return None
        names = [text(target) if target.type == "identifier" else None for target in left.named_children]
        if None in names or names.count(name) != 1 or value.type in ("expression_list", "tuple"):
            return None  # starred/nested targets, or `a, b = b, a`
        return value, names.index(name)

    # --- effects, summaries and loops --------------------------------------------------------

    def _last_node_before(self, nodes: list[Node], position: int) -> Node | None:
        if not nodes:
            return None
        index = bisect.bisect_left(self._starts_of(nodes), position)
        return nodes[index - 1] if index else None

    def effect_of_call(self, call: Node) -> Effect | None:
        key = call.id
        if key not in self._effect_cache:
            self._effect_cache[key] = self._compute_effect(call)
        return self._effect_cache[key]

    def _compute_effect(self, call: Node) -> Effect | None:
        method = self.method_name(call)
        if method not in _EFFECT_METHODS:
            return None  # most calls: skip the receiver lookups below
        receiver = call_receiver(call)
        receiver_text = dotted_name(receiver) if receiver is not None else None
        kind: str | None = None
        if method == "backward" and receiver is not None:
            kind = "backward"
        elif method == "step" and receiver is not None:
            receiver_kind = self._kind_of_receiver(receiver, receiver_text, call)
            if receiver_kind == "scheduler":
                kind = "sched_step"
            elif receiver_kind == "scaler":
                kind = "scaler_step"
            elif receiver_kind == "optimizer":
                kind = "opt_step"
        elif method in ("zero_grad", "clear_grad", "clear_gradients") or (method == "zero_" and receiver_text is not None and re.search(r"\.grad(\.data)?$", receiver_text)):
            kind = "zero_grad"
        elif method == "update" and receiver is not None and self._kind_of_receiver(receiver, receiver_text, call) == "scaler":
            kind = "scaler_update"
        elif method in ("train", "eval") and receiver is not None:
            if self._is_model_receiver(receiver, receiver_text, call):
                args = call.child_by_field_name("arguments")
                first = args.named_children[0] if args is not None and args.named_children else None
                if method == "train" and first is not None and text(first) in ("False", "mode=False"):
                    kind = "eval_mode"
                else:
                    kind = "train_mode" if method == "train" else "eval_mode"
        elif method == "unscale_":
            kind = "unscale"
        elif method in ("clip_grad_norm_", "clip_grad_value_", "clip_grad_norm", "clip_gradients"):
            kind = "clip"
        if kind is None:
            return None
        return Effect(kind, call, receiver_text)

    def _kind_of_receiver(self, receiver: Node, dotted: str | None, at: Node) -> str | None:
        """`kind_of_node(receiver, at)` given `dotted = dotted_name(receiver)` (the name decides when there is one)."""
        return self.kind_of_name(dotted, at) if dotted is not None else self.kind_of_node(receiver, at)

    def _is_model_receiver(self, receiver: Node, dotted: str | None, at: Node) -> bool:
        """Is the receiver of a `train()`/`eval()` call a model? `dotted` is `dotted_name(receiver)`."""
        if dotted == "self":
            owner = self.enclosing_class(at)
            return owner is not None and owner.is_model
        if dotted is not None:
            # Unknown names: `trainer.train()` (HF Trainer) is not a mode switch; `x.eval()` rarely is.
            return self.kind_of_name(dotted, at) == "model"
        # `model.module.train()` / `self.models[0].eval()` forms
        return self.kind_of_node(receiver, at) == "model"

    def effects_in(self, node: Node) -> list[Effect]:
        effects = []
        for call in slice_by_start(self._effect_calls, self._effect_starts, node):
            effect = self.effect_of_call(call)
            if effect is not None:
                effects.append(effect)
        return effects

    def _build_function_summaries(self) -> None:
        # One sweep over the effect and helper calls, crediting every function whose body holds the
        # call (nested functions' calls count for the functions around them too), instead of
        # slicing the calls once per function.
        body_starts: dict[int, int] = {}
        for info in self._functions_by_node.values():
            body = info.node.child_by_field_name("body")
            if body is not None:
                body_starts[info.node.id] = body.start_byte
        around: dict[int, list[tuple[int, FunctionInfo]]] = {}  # innermost scope -> its functions
        for call in self._effect_calls:
            effect = self.effect_of_call(call)
            if effect is not None:
                start = call.start_byte
                for body_start, info in self._functions_around(call, body_starts, around):
                    if body_start <= start:
                        info.effects.add(effect.kind)
        for call in self._local_calls:
            helper = self.resolve_local_function(call)
            if helper is None or _is_inside(call, helper.node):
                continue
            start = call.start_byte
            for body_start, info in self._functions_around(call, body_starts, around):
                if body_start <= start and helper is not info:
                    info.callees.add(helper.qualname)
        # Transitive closure, so `fit()` -> `train_epoch()` -> `zero_grad` is visible from `fit`:
        # rounds over the functions in order until nothing changes (at most 10), each function
        # taking its callees' effects; functions calling no same-file function never change.
        callers = [
            (info, [target for target in map(self.functions.get, list(info.callees)) if target is not None])
            for info in self._functions_by_node.values()
            if info.callees
        ]
        changed = True
        rounds = 0
        while changed and rounds < 10:
            changed = False
            rounds += 1
            for info, targets in callers:
                effects = info.effects
                for target in targets:
                    before = len(effects)
                    effects |= target.effects
                    if len(effects) != before:
                        changed = True

    def _functions_around(
        self, call: Node, body_starts: dict[int, int], cache: dict[int, list[tuple[int, FunctionInfo]]]
    ) -> list[tuple[int, FunctionInfo]]:
        """(body start, function) of every function around `call`, innermost first (shared per scope).

        The caller keeps those whose body starts at or before the call (not a default argument's call).
        """
        start, end = call.start_byte, call.end_byte
        if start == end:
            return []
        position = self._scope_position(start, end)
        found = cache.get(position)
        if found is None:
            found = cache[position] = []
            while position >= 0:
                if self._scope_types[position] == "function_definition":
                    node_id = self._scope_ids[position]
                    body_start = body_starts.get(node_id)
                    info = self._functions_by_node.get(node_id)
                    if body_start is not None and info is not None:
                        found.append((body_start, info))
                position = self._scope_parents[position]
        return found

    def helper_calls_in(self, node: Node) -> list[tuple[Node, FunctionInfo]]:
        result = []
        for call in slice_by_start(self._local_calls, self._local_starts, node):
            helper = self.resolve_local_function(call)
            if helper is not None and not _is_inside(call, helper.node):
                result.append((call, helper))
        return result

    @cached_property
    def loops(self) -> list[LoopInfo]:
        result = []
        for node in self.index.get("loop", []):
            result.append(
                LoopInfo(
                    node=node,
                    function=self.enclosing_function(node),
                    effects=self.effects_in(node),
                    helper_calls=self.helper_calls_in(node),
                )
            )
        return result

    @cached_property
    def training_loops(self) -> list[LoopInfo]:
        """Loops that call backward and an optimizer step, directly or through same-file helpers."""
        if "backward" not in self._calls_by_name:
            return []  # no call anywhere can be a backward effect: spare building the loops
        return [loop for loop in self.loops if _trains(loop.effect_kinds())]

    def innermost_training_loops(self) -> list[LoopInfo]:
        """Training loops with no training loop nested inside them (the per-batch loops)."""
        loops = self.training_loops
        result = []
        for loop in loops:
            nested = any(other is not loop and _is_inside(other.node, loop.node) for other in loops)
            if not nested:
                result.append(loop)
        return result

    @cached_property
    def _loops_by_id(self) -> dict[int, LoopInfo]:
        return {loop.node.id: loop for loop in self.loops}

    def loop_for(self, node: Node) -> LoopInfo | None:
        return self._loops_by_id.get(node.id)

    def enclosing_loops(self, node: Node) -> list[LoopInfo]:
        """Loops containing `node`, innermost first, stopping at a function boundary."""
        start, end = node.start_byte, node.end_byte
        if start != end:
            return self._enclosing_loops_indexed(start, end)
        result = []
        parent = node.parent
        while parent is not None and parent.type not in ("function_definition", "lambda"):
            if parent.type in ("for_statement", "while_statement"):
                loop = self.loop_for(parent)
                if loop is not None:
                    result.append(loop)
            parent = parent.parent
        return result

    @cached_property
    def _loop_nesting(self) -> tuple[list[int], list[int], list[int]]:
        """Start bytes, end bytes and enclosing-loop position (-1: none) of the indexed loops, in order."""
        nesting = Nesting([loop.node for loop in self.loops])  # loops start at distinct bytes: `self.loops` order
        return nesting.starts, nesting.ends, nesting.parents

    def _enclosing_loops_indexed(self, start: int, end: int) -> list[LoopInfo]:
        # The `node.parent` walk without the tree: ancestors loops are the loop starting last at or
        # before `start` and its enclosing loops that contain [start, end) (an identical range is the
        # node itself); the first function or lambda around the node bounds the climb.
        starts, ends, parents = self._loop_nesting
        boundary = self._scope_position(start, end)
        while boundary >= 0 and self._scope_types[boundary] not in ("function_definition", "lambda"):
            boundary = self._scope_parents[boundary]
        boundary_start = self._scope_starts[boundary] if boundary >= 0 else -1
        result = []
        position = bisect.bisect_right(starts, start) - 1
        while position >= 0 and starts[position] > boundary_start:
            if end <= ends[position] and (starts[position] < start or end < ends[position]):
                result.append(self.loops[position])
            position = parents[position]
        return result

    # --- gradient mode -----------------------------------------------------------------------

    def grad_mode_at(self, node: Node) -> str | None:
        """'no_grad' | 'enable_grad' from the innermost enclosing `with` or decorated function."""
        parent = node.parent
        while parent is not None:
            if parent.type == "with_statement":
                mode = self.grad_mode_of_with(parent)
                if mode is not None:
                    return mode
            elif parent.type == "function_definition":
                info = self._functions_by_node.get(parent.id)
                if info is not None and info.grad_mode is not None:
                    return info.grad_mode
            parent = parent.parent
        return None

    def grad_mode_of_with(self, with_node: Node) -> str | None:
        # Asked again for the same statements by eval passes, ML111 and every `grad_mode_at` climb.
        return self.memo(("grad_mode_of_with", with_node.id), lambda: self._grad_mode_of_with(with_node))

    def _grad_mode_of_with(self, with_node: Node) -> str | None:
        clause = next((c for c in with_node.named_children if c.type == "with_clause"), None)
        if clause is None:
            return None
        for item in clause.named_children:
            value = item.child_by_field_name("value") or (item.named_children[0] if item.named_children else None)
            if value is not None and value.type == "as_pattern":
                value = value.named_children[0] if value.named_children else None
            if value is None or value.type != "call":
                continue
            qual = self.qualname(value)
            if qual in apis.NO_GRAD_CONTEXTS:
                return "no_grad"
            if qual in apis.ENABLE_GRAD_CONTEXTS:
                return "enable_grad"
            if qual == apis.SET_GRAD_ENABLED:
                args = value.child_by_field_name("arguments")
                first = args.named_children[0] if args is not None and args.named_children else None
                if first is not None and first.type == "false":
                    return "no_grad"
                if first is not None and first.type == "true":
                    return "enable_grad"
        return None

    # --- evaluation passes -------------------------------------------------------------------

    @cached_property
    def eval_passes(self) -> list[EvalPass]:
        passes: list[EvalPass] = []
        for info in self._functions_by_node.values():
            # Named like an evaluation, or decorated `@torch.no_grad()`/`@torch.inference_mode()`.
            if (_EVAL_FUNCTION.search(info.name) and "train" not in info.name.lower()) or info.grad_mode == "no_grad":
                if "backward" in info.effects or not self._calls_a_model(info.node):
                    continue
                if info.owner is not None and info.name in ("validation_step", "test_step", "predict_step"):
                    continue  # Lightning switches modes and grad itself
                passes.append(EvalPass(info.node, "function", info))
        for with_node in self.index.get("with", []):
            if self.grad_mode_of_with(with_node) != "no_grad":
                continue
            if any(e.kind == "backward" for e in self.effects_in(with_node)):
                continue
            if self._calls_a_model(with_node):
                passes.append(EvalPass(with_node, "no_grad_block", self.enclosing_function(with_node)))
        passes.sort(key=lambda p: p.node.start_byte)
        return passes

    def model_calls_in(self, node: Node) -> list[Node]:
        """Calls that run a model forward: `model(x)`, `self.net(x)`, `model.generate(...)`."""
        # Evaluation passes and the eval rules ask about the same functions: answer each once.
        return list(self.memo(("model_calls_in", node.id), lambda: self._model_calls_in(node)))

    def _model_call_candidate_names(self) -> list[str]:
        # `is_model_ref(f)` can only hold when the last name of `f` is one people give models, or
        # the last name of an assigned name (the entity could be a model): only such calls, and
        # `.generate/.forward/.predict` calls, are worth the lookups of `is_model_call`.
        assigned_last = self.assigned_last_names()
        return [
            name for name in self._calls_by_name
            if name in assigned_last or name in _MODEL_METHODS or kind_from_name(name) == "model"
        ]

    def _model_calls_in(self, node: Node) -> list[Node]:
        return [call for call in self.model_call_candidates_between(node) if self.is_model_call(call)]

    def model_call_candidates_between(self, node: Node, after: int = -1, before: int | None = None) -> list[Node]:
        """The calls of `node` (starting strictly between the two byte offsets, when given) that
        `model_calls_in` would judge, in order: `is_model_call` picks the model calls among them.
        By bisecting, for callers that ask about many ranges of one scope (one per `eval()` of a
        module-level script)."""
        calls, starts = self.call_table("model_call_candidates", self._model_call_candidate_names)
        return slice_by_start(calls, starts, node, after, before)

    def is_model_call(self, call: Node) -> bool:
        """Does a candidate call (`model_call_candidates_between`) run a model forward? Each call
        is judged on its own, whatever range it was found in: answered once per call."""
        # Entity lookups see only earlier bindings while an assignment is classified: key on that.
        key = ("is_model_call", call.id, self._horizon)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = self._is_model_call(call)
        return found

    def _is_model_call(self, call: Node) -> bool:
        func = call.child_by_field_name("function")
        if func is None:
            return False
        return (func.type in ("identifier", "attribute") and self.is_model_ref(func)) or (
            func.type == "attribute"
            and text(func.child_by_field_name("attribute")) in _MODEL_METHODS
            and self.is_model_ref(func.child_by_field_name("object"))
        )

    def _calls_a_model(self, node: Node) -> bool:
        return bool(self.model_calls_in(node))

    # --- file-level facts --------------------------------------------------------------------

    def _script_cell_starts(self) -> list[int]:
        data = self.source.data
        if b"%%" not in data and b"# In[" not in data:
            return []  # every marker holds one of these (the `^` regex alone tries every position)
        return [self.source.line_of(match.start()) for match in _CELL_MARKER.finditer(data)]

    def is_last_statement_of_cell(self, statement: Node) -> bool:
        """True when `statement` is the last top-level statement of a notebook / `# %%` cell."""
        if not self.cell_starts or statement.parent is None or statement.parent.type != "module":
            return False
        nxt = statement.next_named_sibling
        while nxt is not None and nxt.type == "comment":
            if self.source.line_bytes(nxt.start_point.row).lstrip().startswith((b"# %%", b"#%%", b"# In[")):
                return True
            nxt = nxt.next_named_sibling
        if nxt is None:
            return True
        row = statement.end_point.row
        next_row = nxt.start_point.row
        return any(row < start <= next_row for start in self.cell_starts)

    def seed_calls(self) -> list[Node]:
        return [call for call in self.calls if _SEED_CALL.search(text(call.child_by_field_name("function")))]

    def top_level_statements(self) -> Iterable[Node]:
        return (child for child in self.root.named_children if child.type != "comment")


@lru_cache(maxsize=4096)
def _kind_of_qualname(qual: str) -> tuple[str | None, str | None]:
    """Entity kind of a constructor's qualified name (a pure function of the name: cached)."""
    if apis.is_scheduler(qual):
        return "scheduler", qual
    if apis.is_optimizer(qual):
        return "optimizer", qual
    if qual in apis.SCALER_NAMES:
        return "scaler", qual
    if qual in apis.LOADER_NAMES:
        return "loader", qual
    if apis.is_loss(qual):
        return "loss", qual
    if qual in apis.PIPELINE_NAMES:
        return "pipeline", qual
    if apis.is_resampler(qual):
        return "resampler", qual
    if apis.is_sklearn_transformer(qual):
        return "sklearn_transformer", qual
    if apis.is_sklearn_estimator(qual):
        return "sklearn_estimator", qual
    if apis.is_model_constructor(qual):
        return "model", qual
    return None, None


def _last_before(entities: list[Entity], starts: list[int], count: int, position: int) -> Entity | None:
    """The last of the first `count` entities bound at or before `position`."""
    index = bisect.bisect_right(starts, position, 0, count)
    return entities[index - 1] if index else None


def start_bounds(starts: list[int], container: Node, after: int = -1, before: int | None = None) -> tuple[int, int]:
    """The index range of the `starts` (sorted) inside `container` that lie strictly between `after`
    and `before` (no upper bound when None); the nodes there still need `end_byte <= container.end_byte`."""
    end = container.end_byte
    lo = max(bisect.bisect_left(starts, container.start_byte), bisect.bisect_right(starts, after))
    hi = bisect.bisect_left(starts, end if before is None else min(end, before))
    return lo, hi


def slice_by_start(
    nodes: list[Node], starts: list[int], container: Node, after: int = -1, before: int | None = None
) -> list[Node]:
    """The `nodes` (in document order, `starts` their start bytes) inside `container`, as `calls_in`
    has them, starting strictly between `after` and `before` when given."""
    lo, hi = start_bounds(starts, container, after, before)
    end = container.end_byte
    return [node for node in nodes[lo:hi] if node.end_byte <= end]


def _trains(kinds: set[str]) -> bool:
    return "backward" in kinds and bool(kinds & {"opt_step", "scaler_step"})


def _is_inside(node: Node, container: Node) -> bool:
    return container.start_byte <= node.start_byte and node.end_byte <= container.end_byte


def iter_effects(loop: LoopInfo, model: SemanticModel) -> Iterator[Effect]:
    """Effects of a loop in execution order, expanding same-file helper calls in place."""
    helpers = {call.id: helper for call, helper in loop.helper_calls}
    direct = {effect.call.id: effect for effect in loop.effects}
    for call in model.calls_in(loop.node):
        if call.id in direct:
            yield direct[call.id]
        helper = helpers.get(call.id)
        if helper is not None:
            for kind in sorted(helper.effects):
                yield Effect(kind, call, None, via=helper)

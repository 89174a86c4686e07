"""Shared reasoning for the evaluation-mode rules (ML201 eval-mode-missing, ML202 no-grad-missing).

Questions answered here: which evaluation passes are real (not pytest tests, not Lightning hooks,
not metrics computed on the training batch), which mode the model is in when a pass runs (the
last `eval()`/`train()` before it, through helpers and callers), and whether a call runs under
`no_grad` in its own function or in every caller.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Callable, Iterator

from tree_sitter import Node

from ..model import CallTable, Effect, EvalPass, FunctionInfo, SemanticModel, start_bounds
from ..syntax import call_method_name, dotted_name, text

_LIGHTNING_BASES = frozenset({"lightning.pytorch.LightningModule", "lightning.LightningModule"})
_MAX_CALLER_DEPTH = 4
MODE_METHODS = frozenset({"train", "eval"})  # the only callee names `effect_of_call` gives a mode switch
_FACTORY = re.compile(r"^(load|build|create|get|make|init|setup|construct|instantiate)_")


def applies(model: SemanticModel) -> bool:
    """PyTorch code that is not a pytest/unittest module."""
    # Asked by ML201 and ML202; each framework test scans the file's import records.
    return model.memo("_eval.applies", lambda: _applies(model))


def _applies(model: SemanticModel) -> bool:
    if not (model.uses_framework("torch") or model.uses_framework("lightning") or model.uses_framework("pytorch_lightning")):
        return False
    base = os.path.basename(model.path)
    if base.startswith("test_") or base.endswith("_test.py") or base == "conftest.py":
        return False
    return not (model.uses_framework("pytest") or model.uses_framework("unittest"))


def callers(model: SemanticModel) -> dict[str, list[Node]]:
    cached = model.__dict__.get("_ml2xx_callers")
    if cached is None:
        cached = {}
        for call in model.local_function_calls():  # the only calls `resolve_local_function` may resolve
            callee = model.resolve_local_function(call)
            if callee is not None:
                cached.setdefault(callee.qualname, []).append(call)
        model.__dict__["_ml2xx_callers"] = cached
    return cached


def in_lightning_module(model: SemanticModel, info: FunctionInfo | None) -> bool:
    owner = info.owner if info is not None else None
    seen: set[str] = set()
    while owner is not None and owner.name not in seen:
        seen.add(owner.name)
        if any(base in _LIGHTNING_BASES for base in owner.bases):
            return True
        owner = next((model.classes[b] for b in owner.bases if b in model.classes), None)
    return False


def torch_model_calls(model: SemanticModel, node: Node, include_generate: bool) -> list[Node]:
    """Forward calls of torch models in `node` (Keras/sklearn `predict` excluded)."""
    # Asked again for the same scope (ML202 once per `eval()` call of a scope, which in a file with
    # syntax errors is often the whole module): computed once per node. Each call is judged on its
    # own, so leaving out `generate` afterwards gives the list computed without it.
    calls, _starts = _torch_model_call_list(model, node)
    if include_generate:
        return list(calls)
    return [call for call in calls if model.method_name(call) != "generate"]


def torch_model_calls_between(
    model: SemanticModel, node: Node, after: int, before: int, function: FunctionInfo | None
) -> list[Node]:
    """`[c for c in torch_model_calls(model, node, False) if after < c.start_byte < before and
    model.enclosing_function(c) is function]`, judging only the calls in that range (ML202 asks once
    per `eval()` call of a scope: a module-level script can hold hundreds)."""
    return [
        call
        for call in model.model_call_candidates_between(node, after, before)
        if model.enclosing_function(call) is function
        and model.is_model_call(call)
        and model.method_name(call) != "generate"
        and is_torch_model_call(model, call)
    ]


def _torch_model_call_list(model: SemanticModel, node: Node) -> CallTable:
    def compute() -> CallTable:
        calls = [call for call in model.model_calls_in(node) if is_torch_model_call(model, call)]
        return calls, [call.start_byte for call in calls]

    return model.memo(("_eval.torch_model_calls", node.id), compute)


def is_torch_model_call(model: SemanticModel, call: Node) -> bool:
    """Is a model call a torch forward (not a Keras/sklearn `predict`, not a factory call)?"""
    if model.method_name(call) in ("predict", "predict_on_batch"):
        return False
    func = call.child_by_field_name("function")
    if func is not None and func.type == "identifier" and _is_factory(model, text(func), call):
        return False
    entity = _called_entity_qualname(model, call)
    return not (entity is not None and entity.startswith("keras."))


def _is_factory(model: SemanticModel, name: str, call: Node) -> bool:
    """`load_model(path)` / `build_model(cfg)`: a function that returns a model, not a model being run."""
    if model.entity(name, call) is not None:
        return False
    return name in model.functions or model.qualname(call.child_by_field_name("function")) is not None or bool(
        _FACTORY.match(name)
    )


def _called_entity_qualname(model: SemanticModel, call: Node) -> str | None:
    func = call.child_by_field_name("function")
    if func is None:
        return None
    name = dotted_name(func)
    if name is not None and model.method_name(call) in ("generate", "forward"):
        name = name.rsplit(".", 1)[0]
    entity = model.entity(name, call) if name is not None else None
    return entity.qualname if entity is not None else None


def called_model_names(model: SemanticModel, calls: list[Node]) -> set[str]:
    names = set()
    for call in calls:
        name = dotted_name(call.child_by_field_name("function"))
        if name is not None and model.method_name(call) in ("generate", "forward"):
            name = name.rsplit(".", 1)[0]
        if name is not None:
            names.add(name)
    return names


def pretrained_in_eval_mode(model: SemanticModel, names: set[str]) -> bool:
    """Hugging Face `from_pretrained` returns a model in eval mode, and so does a same-file loader that
    calls `eval()` before returning it; quiet if nothing switches it to train."""
    if not names:
        return False
    for name in names:
        entity = model.entity(name)
        if entity is None:
            return False
        if entity.qualname is not None and entity.qualname.endswith(".from_pretrained"):
            continue
        factory = model.resolve_local_function(entity.node) if entity.node.type == "call" else None
        if factory is None or "eval_mode" not in factory.effects or "train_mode" in factory.effects:
            return False
    return not any(e.kind == "train_mode" and e.receiver in names for e in model.effects_in(model.root))


def eval_once_never_trained(model: SemanticModel, calls: list[Node]) -> bool:
    """Inference-only code (nothing in the file calls `backward`) that puts each called model in eval
    mode where it is loaded or built (a serving handler's `initialize`, `Net(...).eval()`) and never
    back in train mode: the mode holds for every later pass. The switch must be on the same binding
    (the same `self.model` assignment or variable), not on a namesake parameter of another function."""
    if not calls:
        return False

    def compute() -> tuple[bool, list[Effect]]:
        effects = model.effects_in(model.root)
        return any(e.kind == "backward" for e in effects), [
            e for e in effects if e.kind in ("eval_mode", "train_mode") and e.receiver is not None
        ]

    backward, switches = model.memo("ml2xx_mode_switches", compute)
    if backward:
        return False
    for call in calls:
        name = next(iter(called_model_names(model, [call])), None)
        if name is None:
            return False
        binding = _binding(model, name, call)
        same = [e for e in switches if e.receiver == name and _binding(model, name, e.call) == binding]
        if any(e.kind == "train_mode" for e in same):
            return False
        entity = model.entity(name, call)
        built_in_eval = entity is not None and entity.node.type == "call" and call_method_name(entity.node) == "eval"
        if not (built_in_eval or any(e.kind == "eval_mode" for e in same)):
            return False
    return True


def _binding(model: SemanticModel, name: str, at: Node) -> object:
    """What `name` refers to at `at`: its entity, else `self.x` of the enclosing class, else the variable
    of the enclosing function (or module)."""
    entity = model.entity(name, at)
    if entity is not None and model.enclosing_function(entity.assignment) in (None, model.enclosing_function(at)):
        return entity.assignment.id
    if name.startswith("self."):
        owner = model.enclosing_class(at)
        return ("self", owner.name if owner is not None else None)
    function = model.enclosing_function(at)
    return ("local", function.qualname if function is not None else None)


def trains_here(model: SemanticModel, node: Node) -> bool:
    """Is `node` in the per-step body of a training loop (its innermost loop calls backward itself)?"""
    loops = model.enclosing_loops(node)
    if not loops:
        return False
    innermost = loops[0]
    for effect in innermost.effects:
        if effect.kind == "backward" and _innermost_loop_id(model, effect.call) == innermost.node.id:
            return True
    for call, helper in innermost.helper_calls:
        if "backward" in helper.effects and _innermost_loop_id(model, call) == innermost.node.id:
            # `train_step(batch)` trains here; `train_one_epoch(loader)` runs its own loop and returns.
            if not _has_training_loop(model, helper):
                return True
    return False


def _has_training_loop(model: SemanticModel, helper: FunctionInfo) -> bool:
    loops = model.training_loops  # in document order
    starts = model.memo("_eval.training_loop_starts", lambda: [loop.node.start_byte for loop in loops])
    index = bisect.bisect_left(starts, helper.node.start_byte)
    while index < len(loops) and starts[index] < helper.node.end_byte:
        if _contains(helper.node, loops[index].node):
            return True
        index += 1
    return False


def _contains(container: Node, node: Node) -> bool:
    return container.start_byte <= node.start_byte and node.end_byte <= container.end_byte


def _innermost_loop_id(model: SemanticModel, node: Node) -> int | None:
    loops = model.enclosing_loops(node)
    return loops[0].node.id if loops else None


def mode_before(model: SemanticModel, at: Node, depth: int = 0) -> str | None:
    """'eval' | 'train' | None: the model mode in force when `at` runs (same function, then callers)."""
    function = model.enclosing_function(at)
    scope = function.node if function is not None else model.root
    last: str | None = None
    # The last switch before `at` decides: walk back from `at` and stop at the first call that sets
    # the mode. Only calls named `train`/`eval` can have such an effect and only calls named like a
    # same-file function resolve to a helper: every other call of the scope leaves the mode as is.
    for call in calls_within(mode_switch_calls(model), scope, before=at.start_byte, backwards=True):
        if model.enclosing_function(call) is not function:
            continue
        effect = model.effect_of_call(call)
        if effect is not None and effect.kind in ("eval_mode", "train_mode"):
            last = "eval" if effect.kind == "eval_mode" else "train"
            break
        helper = model.resolve_local_function(call)
        if helper is not None and helper is not function:
            kinds = helper.effects & {"eval_mode", "train_mode"}
            if kinds == {"eval_mode"}:
                last = "eval"
                break
            if kinds == {"train_mode"}:
                last = "train"
                break
    if last is not None or function is None or depth >= _MAX_CALLER_DEPTH:
        return last
    sites = callers(model).get(function.qualname, [])
    if not sites:
        return None
    modes = {mode_before(model, site, depth + 1) for site in sites}
    return "eval" if modes == {"eval"} else ("train" if "train" in modes else None)


def mode_switch_calls(model: SemanticModel) -> CallTable:
    """Every call that can switch the model's mode: an effect needs the name `train`/`eval`, a helper
    a same-file function's name (`effect_of_call`, `resolve_local_function`)."""
    return model.call_table("_eval.mode_switch", lambda: MODE_METHODS | model.local_function_names())


def calls_within(
    calls: CallTable, scope: Node, after: int = -1, before: int | None = None, backwards: bool = False
) -> Iterator[Node]:
    """`slice_by_start(*calls, scope, after, before)`, in reverse order when `backwards`, and lazy:
    the callers stop at the first call that decides, and a module-level script can hold hundreds of
    `eval()` calls, each asking."""
    nodes, starts = calls
    lo, hi = start_bounds(starts, scope, after, before)
    end = scope.end_byte
    for position in range(hi - 1, lo - 1, -1) if backwards else range(lo, hi):
        call = nodes[position]
        if call.end_byte <= end:
            yield call


def under_no_grad(model: SemanticModel, node: Node, depth: int = 0) -> bool:
    """Does `node` run with gradients off: a `no_grad` block/decorator here or around every caller?"""
    mode = model.grad_mode_at(node)
    if mode is not None:
        return mode == "no_grad"
    function = model.enclosing_function(node)
    if function is None or depth >= _MAX_CALLER_DEPTH:
        return False
    sites = callers(model).get(function.qualname, [])
    return bool(sites) and all(under_no_grad(model, site, depth + 1) for site in sites)


def real_passes(model: SemanticModel, skip: Callable[[EvalPass], bool] | None = None) -> list[EvalPass]:
    """Evaluation passes worth checking, one per function (blocks inside a function pass fold into it).

    The passes `skip` accepts (cheap tests a rule would reject them by anyway) are left out before
    the caller and training-step tests, which cost more; the other passes are unchanged by it.
    """
    passes = [p for p in model.eval_passes if not in_lightning_module(model, p.function)]
    function_nodes = {p.node.id for p in passes if p.kind == "function"}
    result = []
    for eval_pass in passes:
        if skip is not None and skip(eval_pass):
            continue
        if eval_pass.kind == "no_grad_block":
            if eval_pass.function is not None and eval_pass.function.node.id in function_nodes:
                continue
            if trains_here(model, eval_pass.node):
                continue  # metrics on the training batch, not an evaluation pass
        elif eval_pass.function is not None and eval_pass.function.grad_mode == "no_grad":
            # A `@torch.no_grad()` helper run inside every training step (targets from a teacher or a
            # target network) is part of that step, like a no_grad block there.
            sites = callers(model).get(eval_pass.function.qualname, [])
            if sites and all(trains_here(model, site) for site in sites):
                continue
        result.append(eval_pass)
    return result


def short(node: Node) -> str:
    value = text(node).split("\n", 1)[0]
    return value if len(value) <= 40 else value[:37] + "..."

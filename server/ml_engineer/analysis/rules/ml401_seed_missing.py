"""ML401 seed-missing."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from ..findings import Finding
from ..model import FunctionInfo, SemanticModel, kind_from_name
from ..syntax import (
    call_arguments,
    call_receiver,
    dotted_name,
    enclosing,
    keyword_arguments,
    text,
    unwrap,
)
from .base import Rule, RuleContext

_DL_ROOTS = frozenset({"torch", "tensorflow", "keras", "jax", "flax", "optax", "lightning", "pytorch_lightning", "transformers", "accelerate"})
# Seeding calls that need an argument to seed (without one they re-seed from the OS).
_NEEDS_ARGUMENT = frozenset({"random.seed", "numpy.random.seed", "numpy.random.default_rng", "numpy.random.RandomState"})
_SEED_CONSTRUCTORS = frozenset({"jax.random.PRNGKey", "jax.random.key", "numpy.random.default_rng", "numpy.random.RandomState"})
# Trainers that seed themselves from their arguments (`TrainingArguments.seed` defaults to 42).
_SELF_SEEDING = ("transformers.Trainer", "transformers.Seq2SeqTrainer", "transformers.TrainingArguments",
                 "transformers.Seq2SeqTrainingArguments", "trl.")
_ADVICE = {
    "torch": "`torch.manual_seed(SEED)` (plus `random.seed` / `np.random.seed` if used)",
    "keras": "`keras.utils.set_random_seed(SEED)`",
    "lightning": "`lightning.seed_everything(SEED)`",
    "tensorflow": "`tf.keras.utils.set_random_seed(SEED)`",
    "jax": "`jax.random.PRNGKey(SEED)`",
}


class SeedMissing(Rule):
    """## What it does
    Flags a training script (a PyTorch training loop, a Keras or Lightning `fit`, a TensorFlow or
    JAX update loop, reachable from the script's top level) that never seeds any random number
    generator. The finding sits on the first import of the deep-learning framework.

    ## Why is this bad?
    Weight initialisation, data shuffling, dropout masks and augmentations all draw random numbers.
    Unseeded, each run trains a different model, so a change in the code cannot be told apart from
    run-to-run noise and nobody can reproduce a reported result.

    Any of these counts as seeding: `torch.manual_seed`, `np.random.seed`, `random.seed`,
    `tf.random.set_seed`, `keras.utils.set_random_seed`, `transformers.set_seed`,
    `lightning.seed_everything`, `jax.random.PRNGKey(seed)` / `jax.random.key(seed)`,
    `np.random.default_rng(seed)`, or calling a helper named like a seeding function
    (`set_seed(42)`, `seed_everything(cfg.seed)`). A Hugging Face `Trainer` seeds itself from
    `TrainingArguments.seed`. Modules that only define functions and classes (no training entry
    point) are not reported, and scikit-learn-only scripts are left to ML402.

    ## Example
    ```python
    import torch

    model = Net()
    for epoch in range(10):
        for x, y in loader:
            ...
    ```

    ## Use instead
    ```python
    import random
    import numpy as np
    import torch

    SEED = 0
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    ```

    ## Fix safety
    No automatic fix: where the seed belongs (and whether it comes from configuration) is a project
    decision.

    ## References
    - https://pytorch.org/docs/stable/notes/randomness.html
    - https://keras.io/api/utils/python_utils/#setrandomseed-function
    - https://lightning.ai/docs/pytorch/stable/common/trainer.html#reproducibility
    """

    code = "ML401"
    name = "seed-missing"
    severity = "info"
    summary = "Training script never seeds its random number generators"
    fix_availability = "never"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        model = ctx.model
        anchor = model.imports.first_import_of(_DL_ROOTS)
        if anchor is None or _seeds(model):
            return
        training = _training_site(model)
        if training is None:
            return
        site, framework = training
        line = ctx.source.line_of(site.start_byte) + 1
        yield self.finding(
            anchor,
            f"this script trains ({framework}, line {line}) but never seeds its random number generators: "
            f"initialisation, shuffling and dropout differ on every run; call {_ADVICE[framework]} at start-up",
            related=[ctx.related(site, "training happens here")],
        )


def _seeds(model: SemanticModel) -> bool:
    def has_args(call: Node) -> bool:
        return bool(call_arguments(call) or keyword_arguments(call))

    calls = model.calls
    if not (model.uses_framework("transformers") or model.uses_framework("trl")):  # else no qual starts with _SELF_SEEDING
        # the calls that can make this return True: seed constructors and calls named like a seed
        seed_names = [name for name in model.callee_names() if "seed" in name.lower() or name.lower() == "set_determinism"]
        calls = [*model.calls_to(_SEED_CONSTRUCTORS), *model.calls_named(seed_names)]
    for call in calls:
        qual = model.qualname(call) or ""
        name = model.method_name(call) or ""
        if qual in _SEED_CONSTRUCTORS:
            if has_args(call):
                return True
            continue
        if qual.startswith(_SELF_SEEDING):
            return True
        lowered = name.lower()
        if "seed" in lowered or lowered in ("set_determinism",):
            if lowered.startswith("get_") or lowered in ("initial_seed", "seed_worker"):
                continue
            if qual in _NEEDS_ARGUMENT and not has_args(call):
                continue
            return True
    return False


def _training_site(model: SemanticModel) -> tuple[Node, str] | None:
    reachable = _reachable_functions(model)

    def is_reachable(node: Node) -> bool:
        info = model.enclosing_function(node)
        return info is None or info.qualname in reachable

    for loop in model.training_loops:
        if is_reachable(loop.node):
            framework = "jax" if model.uses_framework("jax") and not model.uses_framework("torch") else "torch"
            return loop.node, framework
    for call in model.calls_named(("apply_gradients", "apply_updates", "fit")):  # the methods checked below
        method = model.method_name(call)
        if method == "apply_gradients" and enclosing(call, frozenset({"for_statement", "while_statement"})) is not None:
            if is_reachable(call):
                framework = "jax" if model.uses_framework("jax") or model.uses_framework("flax") else "tensorflow"
                return call, framework
        if method == "apply_updates" and (model.qualname(call) or "").startswith("optax.") and is_reachable(call):
            return call, "jax"
        if method == "fit" and is_reachable(call):
            fit_framework = _fit_framework(model, call)
            if fit_framework is not None:
                return call, fit_framework
    return None


def _fit_framework(model: SemanticModel, call: Node) -> str | None:
    """`model.fit(...)` of a Keras model or `trainer.fit(model)` of a Lightning Trainer."""
    receiver = unwrap(call_receiver(call))
    if receiver is None:
        return None
    qual: str | None = None
    if receiver.type == "call":
        qual = model.qualname(receiver)
    else:
        dotted = dotted_name(receiver)
        if dotted is None:
            return None
        entity = model.entity(dotted, call)
        if entity is not None:
            qual = entity.qualname
            if qual is None and entity.kind == "model" and (model.uses_framework("keras") or model.uses_framework("tensorflow")):
                local = model.classes.get(text(entity.node.child_by_field_name("function")))
                return "keras" if local is not None and not local.is_torch_module else None
        else:
            value = unwrap(model.value_of(dotted, call))
            qual = model.qualname(value) if value is not None and value.type == "call" else None
            if qual is None and value is not None and value.type == "call":
                # `model = build_model()`: a same-file builder that assembles a Keras model.
                builder = model.resolve_local_function(value)
                if builder is not None and any(
                    (model.qualname(c) or "").startswith(("keras.Sequential", "keras.Model", "keras.models."))
                    for c in model.calls_in(builder.node)
                ):
                    return "keras"
            if qual is None and value is None and kind_from_name(dotted) == "model":
                keras_only = (model.uses_framework("keras") or model.uses_framework("tensorflow")) and not model.uses_framework("torch")
                return "keras" if keras_only else None
    if qual is None:
        return None
    if qual.startswith("lightning.") and qual.endswith("Trainer"):
        return "lightning"
    if qual.startswith("keras."):
        return "keras"
    return None


def _reachable_functions(model: SemanticModel) -> set[str]:
    """Qualnames of same-file functions the script's top level runs (directly or through calls)."""
    roots: set[str] = set()
    instantiated: set[str] = set()
    for call in model.calls:
        if model.enclosing_function(call) is not None:
            continue
        local = model.resolve_local_function(call)
        if local is not None:
            roots.add(local.qualname)
        func = call.child_by_field_name("function")
        if func is not None and func.type == "identifier" and text(func) in model.classes:
            instantiated.add(text(func))
        # Functions handed to a runner at top level: `fire.Fire(main)`, `app.command()(train)`.
        for arg in call_arguments(call):
            if arg.type == "identifier" and text(arg) in model.functions:
                roots.add(text(arg))
    for class_name in instantiated:
        for method in model.classes[class_name].methods.values():
            roots.add(method.qualname)
    reachable: set[str] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in reachable:
            continue
        reachable.add(name)
        info: FunctionInfo | None = model.functions.get(name)
        if info is None:
            continue
        pending.extend(info.callees)
        # Methods of classes instantiated inside reachable functions run too.
        for call in model.calls_in(info.node):
            func = call.child_by_field_name("function")
            if func is not None and func.type == "identifier" and text(func) in model.classes:
                pending.extend(m.qualname for m in model.classes[text(func)].methods.values())
    return reachable

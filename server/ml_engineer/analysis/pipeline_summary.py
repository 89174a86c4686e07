"""A one-line summary of each training loop as the semantic model sees it, for the code lens:

    training loop · AdamW lr=3e-4 wd=0.01 · CrossEntropyLoss · AMP on · grad clip off · eval each epoch

Pure: reads the semantic model, knows nothing of editors.
"""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

from . import known_apis as apis
from .model import Entity, LoopInfo, SemanticModel
from .syntax import dotted_name, keyword_arguments, text

_AUTOCAST = ("autocast",)
_FUNCTIONAL_LOSS_PREFIX = "torch.nn.functional."
_FUNCTIONAL_LOSSES = frozenset(
    {"cross_entropy", "nll_loss", "mse_loss", "l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
     "smooth_l1_loss", "huber_loss", "kl_div", "cosine_embedding_loss", "ctc_loss"}
)


@dataclass(frozen=True)
class PipelineSummary:
    loop: Node
    optimizer: str | None
    loss: str | None
    scheduler: str | None
    amp: bool
    grad_clip: bool
    evaluation: str  # "each epoch" | "in loop" | "none"

    def line(self) -> str:
        parts = ["training loop", self.optimizer or "optimizer ?", self.loss or "loss ?"]
        if self.scheduler:
            parts.append(f"{self.scheduler} schedule")
        parts.append(f"AMP {'on' if self.amp else 'off'}")
        parts.append(f"grad clip {'on' if self.grad_clip else 'off'}")
        parts.append("no eval" if self.evaluation == "none" else f"eval {self.evaluation}")
        return " · ".join(parts)


def _inside(node: Node, container: Node) -> bool:
    return container.start_byte <= node.start_byte and node.end_byte <= container.end_byte


def outer_training_loops(model: SemanticModel) -> list[LoopInfo]:
    """Training loops not nested in another training loop (one summary per loop nest)."""
    loops = model.training_loops
    return [loop for loop in loops if not any(o is not loop and _inside(loop.node, o.node) for o in loops)]


def _regions(model: SemanticModel, loop: LoopInfo) -> list[Node]:
    """The loop and the bodies of the same-file helpers it calls (transitively, once each)."""
    regions = [loop.node]
    seen: set[str] = set()
    queue = [helper for _call, helper in loop.helper_calls]
    while queue:
        helper = queue.pop()
        if helper.qualname in seen:
            continue
        seen.add(helper.qualname)
        regions.append(helper.node)
        queue.extend(model.functions[name] for name in helper.callees if name in model.functions)
    return regions


def _short(qualname: str | None) -> str | None:
    return qualname.rsplit(".", 1)[-1] if qualname else None


def _entity_used(model: SemanticModel, regions: list[Node], kind: str, effect: str | None) -> Entity | None:
    for region in regions:
        for found in model.effects_in(region):
            if effect is not None and found.kind == effect and found.receiver:
                entity = model.entity(found.receiver, found.call)
                if entity is not None:
                    return entity
    candidates = [entity for entities in model.entities.values() for entity in entities if entity.kind == kind]
    return candidates[0] if candidates else None


def _optimizer_text(entity: Entity | None) -> str | None:
    if entity is None:
        return None
    name = _short(entity.qualname) or entity.name
    if entity.node.type != "call":
        return name
    kwargs = keyword_arguments(entity.node)
    extras = []
    for key, label in (("lr", "lr"), ("learning_rate", "lr"), ("weight_decay", "wd")):
        if key in kwargs:
            extras.append(f"{label}={_compact(text(kwargs[key]))}")
    return " ".join([name, *extras])


def _compact(value: str) -> str:
    value = " ".join(value.split())
    return value if len(value) <= 24 else value[:23] + "…"


def _loss_text(model: SemanticModel, regions: list[Node]) -> str | None:
    for region in regions:
        for call in model.calls_in(region):
            func = call.child_by_field_name("function")
            qualname = model.qualname(call)
            if qualname and (apis.is_loss(qualname) or (
                qualname.startswith(_FUNCTIONAL_LOSS_PREFIX) and qualname.rsplit(".", 1)[-1] in _FUNCTIONAL_LOSSES
            )):
                return _short(qualname)
            name = dotted_name(func) if func is not None else None
            if name is not None:
                entity = model.entity(name, call)
                if entity is not None and entity.kind == "loss":
                    return _short(entity.qualname) or name
    for entities in model.entities.values():
        for entity in entities:
            if entity.kind == "loss":
                return _short(entity.qualname) or entity.name
    return None


def _uses_amp(model: SemanticModel, regions: list[Node], kinds: set[str]) -> bool:
    if kinds & {"scaler_step", "scaler_update", "unscale"}:
        return True
    for region in regions:
        for call in model.calls_in(region):
            qualname = model.qualname(call) or ""
            if qualname.rsplit(".", 1)[-1] in _AUTOCAST:
                return True
    return False


def _evaluation(model: SemanticModel, loop: LoopInfo, regions: list[Node]) -> str:
    # An epoch loop: it nests the batch loop, directly or through a helper, or says so in its name.
    target = loop.node.child_by_field_name("left")
    per_epoch = "epoch" in text(target).lower() or any(
        o is not loop and any(_inside(o.node, region) for region in regions) for o in model.loops
    )
    found = "eval_mode" in loop.effect_kinds()
    if not found:
        for evaluation in model.eval_passes:
            if any(_inside(evaluation.node, region) for region in regions):
                found = True
                break
            if evaluation.function is not None and any(
                helper.qualname == evaluation.function.qualname for _call, helper in loop.helper_calls
            ):
                found = True
                break
    if not found:
        return "none"
    return "each epoch" if per_epoch else "in loop"


def summarize(model: SemanticModel, loop: LoopInfo) -> PipelineSummary:
    regions = _regions(model, loop)
    kinds = loop.effect_kinds()
    optimizer = _entity_used(model, regions, "optimizer", "opt_step")
    scheduler = _entity_used(model, regions, "scheduler", "sched_step") if "sched_step" in kinds else None
    return PipelineSummary(
        loop=loop.node,
        optimizer=_optimizer_text(optimizer),
        loss=_loss_text(model, regions),
        scheduler=_short(scheduler.qualname) if scheduler is not None else None,
        amp=_uses_amp(model, regions, kinds),
        grad_clip="clip" in kinds,
        evaluation=_evaluation(model, loop, regions),
    )


def summarize_training_loops(model: SemanticModel) -> list[PipelineSummary]:
    return [summarize(model, loop) for loop in outer_training_loops(model)]

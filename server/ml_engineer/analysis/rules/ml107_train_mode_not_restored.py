"""ML107 train-mode-not-restored."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Node

from ..findings import Finding
from ..model import FunctionInfo, SemanticModel
from ..syntax import is_inside, text
from ._training import exclusive_branches
from .base import Rule, RuleContext

# A training step is a parameter update: a `backward()` alone (an adversarial attack or a saliency map
# computed in eval mode) changes no weight.
_TRAINS = frozenset({"opt_step", "scaler_step"})
# Models that are switched to eval on purpose and never trained: teachers, EMA copies, targets.
_FROZEN_NAME = re.compile(r"teacher|ema|target|frozen|reference|ref_|pretrained|critic_target|clip", re.I)
_MAX_DEPTH = 3


@dataclass
class _Token:
    kind: str  # "train" | "eval" | "step"
    node: Node  # the call that has the effect (maybe inside a helper)
    site: Node  # the call in the loop that leads to it (the node itself when direct)
    receiver: str | None = None


class TrainModeNotRestored(Rule):
    """## What it does
    Flags `model.eval()` (or a helper such as `evaluate(model)` that calls it) inside a training
    loop when nothing switches the model back with `model.train()` before the next training
    step, counting the loop's next iteration.

    ## Why is this bad?
    `eval()` turns dropout off and makes batch-norm use its running statistics. If the loop
    validates at the end of each epoch and never calls `train()` again, every epoch after the
    first trains in evaluation mode: no dropout regularisation, batch-norm statistics frozen.
    Nothing fails; the model just trains worse than it should.

    ## Example
    ```python
    model.train()
    for epoch in range(epochs):
        for x, y in train_loader:
            ...
        model.eval()
        evaluate(model, val_loader)
    ```

    ## Use instead
    ```python
    for epoch in range(epochs):
        model.train()
        for x, y in train_loader:
            ...
        model.eval()
        evaluate(model, val_loader)
    ```
    Calling `model.train()` at the top of the loop, inside the training helper, right after the
    evaluation, or using a context manager that restores the mode are all fine.

    ## Fix safety
    No automatic fix: where the mode should be restored depends on the loop's structure.

    ## References
    - https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.train
    - https://pytorch.org/docs/stable/notes/autograd.html#evaluation-mode-nn-module-eval
    """

    code = "ML107"
    name = "train-mode-not-restored"
    severity = "error"
    summary = "`model.eval()` in the training loop is never undone before the next training step"
    fix_availability = "never"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        model = ctx.model
        reported: set[int] = set()
        for loop in model.training_loops:
            if "eval_mode" not in loop.effect_kinds():
                continue  # no `eval()` in the loop, directly or through its helpers: no token could be "eval"
            body = loop.node.child_by_field_name("body")
            if body is None:
                continue
            tokens = _tokens(model, body, 0, set())
            # Dropping eval tokens never makes a step run in eval mode (the mode before each step is
            # then eval only if it was before): without a culprit among all tokens there is none
            # among the kept ones, and the branch test (a parent walk per token pair) can be spared.
            culprit, victim = _first_step_in_eval_mode(tokens)
            if culprit is None:
                continue
            culprit, victim = _first_step_in_eval_mode(_drop_branch_alternatives(tokens))
            if culprit is None or victim is None or culprit.site.id in reported:
                continue
            if culprit.site is culprit.node and not _is_trained_model(model, culprit):
                continue
            reported.add(culprit.site.id)
            direct = culprit.site is culprit.node
            receiver = culprit.receiver if culprit.receiver and (direct or culprit.receiver.startswith("self.")) else "the model"
            if culprit.site is culprit.node:
                what = f"`{text(culprit.node)}`"
            else:
                what = f"`{_short(culprit.site)}` (which calls `{text(culprit.node)}`)"
            yield self.finding(
                culprit.site,
                f"{what} leaves {receiver if receiver == 'the model' else f'`{receiver}`'} in eval mode and "
                "the loop never calls `.train()` before the next training step: later epochs train with "
                "dropout off and frozen batch-norm statistics",
                related=[ctx.related(victim.site, "next training step, still in eval mode")],
            )


def _tokens(model: SemanticModel, region: Node, depth: int, seen: set[str]) -> list[_Token]:
    tokens: list[_Token] = []
    for call in model.effect_or_local_calls_in(region):  # the only calls that make tokens
        effect = model.effect_of_call(call)
        if effect is not None:
            if effect.kind == "train_mode":
                tokens.append(_Token("train", call, call, effect.receiver))
            elif effect.kind == "eval_mode":
                tokens.append(_Token("eval", call, call, effect.receiver))
            elif effect.kind in _TRAINS:
                tokens.append(_Token("step", call, call))
            continue
        helper = model.resolve_local_function(call)
        if helper is None or is_inside(call, helper.node) or helper.qualname in seen:
            continue
        tokens.extend(_helper_tokens(model, call, helper, depth, seen))
    return tokens


def _helper_tokens(model: SemanticModel, call: Node, helper: FunctionInfo, depth: int, seen: set[str]) -> list[_Token]:
    effects = helper.effects
    trains = bool(effects & _TRAINS)
    if "train_mode" in effects:
        # It switches to train mode itself (a train helper, or an eval helper that restores).
        return [_Token("train", call, call)] + ([_Token("step", call, call)] if trains else [])
    if "eval_mode" in effects and depth < _MAX_DEPTH:
        body = helper.node.child_by_field_name("body")
        if body is None:
            return []
        inner = _tokens(model, body, depth + 1, seen | {helper.qualname})
        return [_Token(t.kind, t.node, call, t.receiver) for t in inner]
    return [_Token("step", call, call)] if trains else []


def _drop_branch_alternatives(tokens: list[_Token]) -> list[_Token]:
    """`if training: model.train() else: model.eval()` sets the mode per phase: not a leak."""
    trains = [t for t in tokens if t.kind == "train"]
    return [
        t for t in tokens if t.kind != "eval" or not any(exclusive_branches(t.node, other.node) for other in trains)
    ]


def _first_step_in_eval_mode(tokens: list[_Token]) -> tuple[_Token | None, _Token | None]:
    """Run the iteration twice (the loop carries the mode into its next pass)."""
    mode: str | None = None
    last_eval: _Token | None = None
    for _ in range(2):
        for token in tokens:
            if token.kind == "train":
                mode = "train"
            elif token.kind == "eval":
                mode, last_eval = "eval", token
            elif mode == "eval":
                return last_eval, token
    return None, None


def _is_trained_model(model: SemanticModel, token: _Token) -> bool:
    """Is the model switched to eval one that this file trains (not a frozen teacher or EMA copy)?"""
    receiver = token.receiver
    if receiver is None or receiver == "self":
        return True
    if any(
        e is not None and e.kind == "train_mode" and e.receiver == receiver
        for e in map(model.effect_of_call, model.calls_named(("train", "eval")))  # the mode-switch methods
    ):
        return True
    pattern = re.compile(rf"(?<![\w.]){re.escape(receiver)}\b")
    optimizers = [e for entities in model.entities.values() for e in entities if e.kind == "optimizer"]
    if any(pattern.search(text(e.node)) for e in optimizers):
        return True
    return not _FROZEN_NAME.search(receiver.rsplit(".", 1)[-1])


def _short(node: Node) -> str:
    source = " ".join(text(node).split())
    return source if len(source) <= 60 else source[:57] + "..."

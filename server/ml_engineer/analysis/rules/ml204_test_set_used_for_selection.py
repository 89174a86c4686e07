"""ML204 test-set-used-for-selection."""

from __future__ import annotations

import re
from collections.abc import Iterator

from tree_sitter import Node

from .. import known_apis as apis
from ..findings import Finding
from ..model import SemanticModel
from ..parsing import walk
from ..syntax import (
    call_arguments,
    call_receiver,
    dotted_name,
    keyword_argument_node,
    keyword_arguments,
    text,
    unwrap,
)
from ._dataflow import CV_SEARCHERS, identifiers_in, receiver_qualname, split_of_data_name
from .base import Rule, RuleContext

_SAVE_LIKE = re.compile(r"\b(torch\.save|save_pretrained|save_checkpoint|save_model|save_weights|\.save\(|state_dict\(|deepcopy\()")
_EARLY_STOP = re.compile(r"early_?stop|EarlyStopping", re.IGNORECASE)
_LOAD_BEST = re.compile(r"load_best_model_at_end\s*=\s*True")
_MAY_NAME_TEST = re.compile(rb"(?i)te|tst|holdout")  # in ASCII text: the tokens `split_of_name` calls "test"
_SELECTION_METHODS = frozenset({"fit", "fit_generator", "step"})
_BEST = re.compile(r"best|min_|max_|lowest|highest", re.IGNORECASE)
# `_BEST` on lowered ASCII bytes: the pattern is lower-case ASCII literals, so case-blind matching is
# matching the lowered text (bytes.lower() changes only A-Z), and a case-sensitive search is faster.
_BEST_LOWER_BYTES = re.compile(_BEST.pattern.encode())


class TestSetUsedForSelection(Rule):
    """## What it does
    Flags training decisions driven by the test split: `validation_data=(X_test, y_test)` in Keras
    `fit`; early stopping on `eval_set=[(X_test, y_test)]` (XGBoost, LightGBM, CatBoost) or
    `evals`/`valid_sets` in `xgb.train`/`lgb.train`; `GridSearchCV(...).fit(X_test, ...)`;
    keeping the best checkpoint by a test metric (`if test_acc > best_acc: torch.save(...)`);
    `ReduceLROnPlateau.step(test_loss)`; an early-stopping helper fed the test loss; a Hugging Face
    `Trainer` evaluating on the test set with `load_best_model_at_end`; a Lightning `fit` validating
    on the test loader with checkpoint/early-stopping callbacks.

    ## Why is this bad?
    Once the test split chooses the epoch, the hyper-parameters or the checkpoint, the model has
    been selected to do well on that very data: the reported test score is biased upwards and no
    longer estimates performance on unseen data. The test split should be looked at once, at the
    end; selection needs a separate validation split (or cross-validation on the training data).

    A separate validation split (`X_val`, `valid_loader`, `eval_dataset=val_ds`) is not reported,
    nor is an `eval_set` used only to monitor training curves (no early stopping).

    ## Example
    ```python
    model.fit(X_train, y_train, validation_data=(X_test, y_test),
              callbacks=[keras.callbacks.EarlyStopping(patience=3)])
    ```

    ## Use instead
    ```python
    X_tr, X_val, y_tr, y_val = train_test_split(X_train, y_train, test_size=0.1, random_state=0)
    model.fit(X_tr, y_tr, validation_data=(X_val, y_val),
              callbacks=[keras.callbacks.EarlyStopping(patience=3)])
    model.evaluate(X_test, y_test)
    ```

    ## Fix safety
    No automatic fix: a validation split has to be carved out of the training data.

    ## References
    - https://scikit-learn.org/stable/modules/cross_validation.html
    - https://keras.io/api/models/model_training_apis/#fit-method
    - https://xgboost.readthedocs.io/en/stable/python/python_intro.html#early-stopping
    """

    code = "ML204"
    name = "test-set-used-for-selection"
    severity = "warning"
    summary = "The test split drives early stopping, model selection or tuning"
    fix_availability = "never"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        model = ctx.model
        file_text = model.source.text
        # Literal tests, each one scan of the file (a regex alternation, or a case-blind regex, tries
        # every position). Every `EarlyStopping...` spelling contains "early" in lower case.
        lowered = file_text.lower()
        mentions_early = "early" in lowered
        selects_best = (mentions_early and "EarlyStoppingCallback" in file_text) or (
            "load_best_model_at_end" in file_text and _LOAD_BEST.search(file_text) is not None
        )
        lightning_monitor = "ModelCheckpoint(" in file_text or (mentions_early and "EarlyStopping(" in file_text)
        # else no callee can match it below
        early_stop_named = mentions_early and (
            # In ASCII text, case-blind matching is matching the lowered text, where `early_?stop`
            # is one of two literals: two substring tests instead of a regex trying every position.
            ("early_stop" in lowered or "earlystop" in lowered)
            if file_text.isascii()
            else _EARLY_STOP.search(file_text) is not None
        )
        data = model.source.data
        calls = model.calls
        boosters: set[int] | None = None  # ids of the xgboost/lightgbm `train` calls, when only they need a qualname
        if not (early_stop_named or selects_best):  # else only these calls can pass the first test below
            found = {c.id: c for c in model.calls_named(_SELECTION_METHODS)}
            trains = model.calls_to(("xgboost.train", "lightgbm.train"))
            found.update((c.id, c) for c in trains)
            boosters = {c.id for c in trains}
            calls = sorted(found.values(), key=lambda c: (c.start_byte, -c.end_byte))  # `model.calls` order
        for call in calls:
            method = model.method_name(call)
            # Without early-stopping names or best-model selection in the file, the qualified name is
            # only compared with the booster `train` names, which `calls_to` already matched.
            qual = (model.qualname(call) or "") if boosters is None or call.id in boosters else ""
            if not (
                early_stop_named
                or method in _SELECTION_METHODS
                or qual in ("xgboost.train", "lightgbm.train")
                or (selects_best and qual.startswith(("transformers.", "trl.")))
            ):
                continue  # none of the checks below can match: skip reading the arguments
            # Every keyword test below also needs a `fit`, an xgboost/lightgbm `train` or a Trainer call:
            # for the rest (mostly `optimizer.step()`) the empty dict answers them the same way.
            reads_keywords = (
                method in ("fit", "fit_generator")
                or qual in ("xgboost.train", "lightgbm.train")
                or (selects_best and qual.startswith(("transformers.", "trl.")))
            )
            kwargs = keyword_arguments(call) if reads_keywords else {}
            if method in ("fit", "fit_generator") and "validation_data" in kwargs:
                name = _test_name(kwargs["validation_data"])
                if name is not None:
                    yield self._report(call, "validation_data", f"`validation_data` uses the test split `{name}`: "
                                       "early stopping, checkpoints and LR schedules tuned on it bias the test score; "
                                       "validate on a split carved from the training data")
                    continue
            if method == "fit" and "eval_set" in kwargs:
                name = _test_name(kwargs["eval_set"])
                if name is not None and self._early_stops(model, call, kwargs):
                    yield self._report(call, "eval_set", f"early stopping monitors `eval_set` built from the test "
                                       f"split `{name}`: the number of trees is chosen on the test data; use a validation split")
                    continue
            if qual in ("xgboost.train", "lightgbm.train"):
                key = "evals" if qual.startswith("xgboost") else "valid_sets"
                sets = kwargs.get(key)
                name = _test_name(sets) if sets is not None else None
                if name is not None and ("early_stopping_rounds" in kwargs or _EARLY_STOP.search(text(kwargs.get("callbacks")))):
                    yield self._report(call, key, f"early stopping watches the test split `{name}`; use a validation split")
                    continue
            if method == "fit" and receiver_qualname(model, call) in CV_SEARCHERS:
                positional = call_arguments(call)
                name = _test_name(positional[0]) if positional else None
                if name is not None:
                    yield self.finding(call, f"the hyper-parameter search is fitted on the test split `{name}`: "
                                       "its best parameters are chosen on test data; search on the training split")
                    continue
            # (`opt.step()`, most steps: a call ending in `()` has no argument to read)
            if method == "step" and not data.startswith(b"()", call.end_byte - 2):
                positional = call_arguments(call)
                name = _test_name(positional[0]) if positional else None
                if name is not None and self._plateau(model, call):  # entity lookup last: it builds the bindings
                    yield self.finding(call, f"`ReduceLROnPlateau` is stepped with the test metric `{name}`: the "
                                       "learning-rate schedule is tuned on test data; step it with a validation metric")
                    continue
            # The callee is part of the file's text: without an early-stopping name there, it has none.
            if (
                early_stop_named
                and _EARLY_STOP.search(text(call.child_by_field_name("function")))
                and not qual.startswith(("keras.", "lightning.", "transformers."))
            ):
                name = next((n for n in (_test_name(a) for a in call_arguments(call)) if n is not None), None)
                if name is not None:
                    yield self.finding(call, f"early stopping is fed the test metric `{name}`: the stopping epoch is "
                                       "chosen on test data; use a validation metric")
                    continue
            if selects_best and "eval_dataset" in kwargs and qual.startswith(("transformers.", "trl.")):
                name = _test_name(kwargs["eval_dataset"])
                if name is not None:
                    yield self._report(call, "eval_dataset", f"the Trainer evaluates on the test split `{name}` and keeps "
                                       "the best checkpoint by it; evaluate on a validation split")
                    continue
            if lightning_monitor and method == "fit" and (receiver_qualname(model, call) or "").startswith("lightning."):
                loaders = call_arguments(call)[2:3] + [kwargs[k] for k in ("val_dataloaders",) if k in kwargs]
                name = next((n for n in (_test_name(a) for a in loaders) if n is not None), None)
                if name is not None:
                    yield self.finding(call, f"Lightning validates on the test loader `{name}` while callbacks monitor "
                                       "validation metrics to keep checkpoints or stop early; pass a validation loader")
        yield from self._best_by_test_metric(ctx)

    def _report(self, call: Node, keyword: str, message: str) -> Finding:
        node = keyword_argument_node(call, keyword) or call
        return self.finding(node, message)

    @staticmethod
    def _early_stops(model: SemanticModel, call: Node, kwargs: dict[str, Node]) -> bool:
        if "early_stopping_rounds" in kwargs or _EARLY_STOP.search(text(kwargs.get("callbacks"))):
            return True
        if "use_best_model" in kwargs:
            return kwargs["use_best_model"].type == "true"
        qual = receiver_qualname(model, call) or ""
        if qual.startswith("catboost."):
            return True  # CatBoost keeps the best iteration on eval_set by default
        receiver = dotted_name(unwrap(call_receiver(call)))
        value = model.value_of(receiver, call) if receiver is not None else None
        if value is None and call_receiver(call) is not None and unwrap(call_receiver(call)).type == "call":  # type: ignore[union-attr]
            value = unwrap(call_receiver(call))
        if value is not None and value.type == "call":
            ctor = keyword_arguments(value)
            return "early_stopping_rounds" in ctor or _EARLY_STOP.search(text(ctor.get("callbacks"))) is not None
        return False

    @staticmethod
    def _plateau(model: SemanticModel, call: Node) -> bool:
        receiver = dotted_name(unwrap(call_receiver(call)))
        entity = model.entity(receiver, call) if receiver is not None else None
        return entity is not None and entity.qualname in apis.PLATEAU_SCHEDULERS

    def _best_by_test_metric(self, ctx: RuleContext) -> Iterator[Finding]:
        model = ctx.model
        data = model.source.data
        ascii_only = model.source.text.isascii()  # then the bytes pattern matches as `_BEST` does
        for compare in model.index.get("compare", []):
            # The names tested below are pieces of the comparison's text, and `_BEST` never spans a
            # `.`: a comparison whose text has no match cannot name a best score (most of them).
            if ascii_only:
                if _BEST_LOWER_BYTES.search(data[compare.start_byte : compare.end_byte].lower()) is None:
                    continue
            elif not _BEST.search(text(compare)):
                continue
            parent = compare.parent
            if parent is None or parent.type not in ("if_statement", "elif_clause"):
                continue
            if parent.child_by_field_name("condition") != compare:
                continue
            names = identifiers_in(compare) | {d for d in (dotted_name(c) for c in compare.named_children) if d}
            if not any(_BEST.search(n) for n in names):
                continue
            metric = next((n for n in names if _is_test_metric(model, n, compare)), None)
            if metric is None:
                continue
            body = parent.child_by_field_name("consequence")
            body_text = text(body) if body is not None else ""
            if not (_SAVE_LIKE.search(body_text) or re.search(r"\bbest\w*\s*=", body_text)):
                continue
            yield self.finding(
                compare,
                f"the best model is chosen by the test metric `{metric}`: the kept checkpoint is selected on test "
                "data and its test score is optimistic; select on a validation split",
            )


def _test_name(node: Node | None) -> str | None:
    """A test-split variable read by the expression (`X_test`, `test_loader`, `(X_te, y_te)`)."""
    if node is None:
        return None
    raw = node.text
    if raw is not None and raw.isascii() and not _MAY_NAME_TEST.search(raw):
        return None  # every test-split name holds a test token (`test`, `te`, `tst`) or `holdout`
    for name in sorted(identifiers_in(node)):
        if split_of_data_name(name) == "test":
            return name
    # `loaders.test_loader`, `self.test_ds`: the attribute names the split.
    for child in walk(node):
        if child.type == "attribute":
            dotted = dotted_name(child)
            if dotted is not None and split_of_data_name(dotted) == "test":
                return dotted
    return None


def _is_test_metric(model: SemanticModel, name: str, at: Node) -> bool:
    """`test_acc`, or a metric computed from test data (`acc = evaluate(model, test_loader)`)."""
    if split_of_data_name(name) == "test":
        return True
    value = model.value_of(name, at)
    value = unwrap(value)
    return value is not None and value.type == "call" and _test_name(value.child_by_field_name("arguments")) is not None

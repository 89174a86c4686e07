"""ML302 fit-on-test-data."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from ..findings import Finding, Fix
from ..model import name_tokens
from ..syntax import (
    call_arguments,
    call_method_name,
    call_receiver,
    dotted_name,
    keyword_arguments,
    text,
    unwrap,
)
from ._dataflow import CV_SEARCHERS, data_name, receiver_qualname, split_of_data_name
from .base import Rule, RuleContext, make_fix, replace_node

_FIT_METHODS = frozenset({"fit", "fit_transform", "fit_resample", "partial_fit", "fit_predict", "fit_on_texts", "adapt"})
# Fitting these on a validation split is the documented way to use them.
_FIT_ON_VAL_OK = frozenset({"sklearn.calibration.CalibratedClassifierCV", "sklearn.isotonic.IsotonicRegression"})
# Out-of-fold / blended predictions: a meta-model fitted on validation predictions is stacking, not leakage.
_PREDICTION_TOKENS = frozenset({"pred", "preds", "prediction", "predictions", "proba", "probs", "oof", "meta", "logits", "scores"})


class FitOnTestData(Rule):
    """## What it does
    Flags `fit`, `fit_transform`, `fit_resample`, `partial_fit` (and Keras `adapt` /
    `fit_on_texts`) called with the test or validation split, recognised by its name (`X_test`,
    `X_val`, `test_df`, `valid_texts`, `holdout`).

    ## Why is this bad?
    The held-out split exists to measure how the model does on data it has never seen. Fitting
    anything on it, a model or just a scaler, tokenizer or imputer, lets its rows shape the model
    or its inputs, so the score measured on it no longer estimates performance on new data. The
    classic form is `X_test = scaler.fit_transform(X_test)`, which also scales the test set with
    different statistics than the training set, so the model sees differently distributed inputs.

    Names that combine splits on purpose (`X_trainval`, `X_train_val`, `train_test_df`) are not
    reported, nor are `.transform(X_test)`, `validation_data=(X_val, y_val)` arguments, or
    calibrators (`CalibratedClassifierCV`, `IsotonicRegression`) and stacking meta-models fitted on
    validation predictions.

    ## Example
    ```python
    X_train = scaler.fit_transform(X_train)
    X_test = scaler.fit_transform(X_test)
    ```

    ## Use instead
    ```python
    X_train = scaler.fit_transform(X_train)
    X_test = scaler.transform(X_test)
    ```

    ## Fix safety
    When the same object was already fitted on other data in the same scope, the fix replaces
    `fit_transform` with `transform`. It is unsafe: the transformed test data, and so the reported
    scores, change.

    ## References
    - https://scikit-learn.org/stable/common_pitfalls.html#inconsistent-preprocessing
    - https://scikit-learn.org/stable/common_pitfalls.html#data-leakage
    """

    code = "ML302"
    name = "fit-on-test-data"
    severity = "error"
    summary = "Model or preprocessor fitted on the test/validation split"
    fix_availability = "sometimes"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        model = ctx.model
        for call in model.calls_named(_FIT_METHODS):
            method = model.method_name(call)
            receiver_node = call_receiver(call)
            if receiver_node is None:
                continue
            if receiver_node.type == "identifier" and model.qualname(receiver_node) is not None:
                continue  # a module function (`sqlite3.adapt(val)`), not a fitted object
            positional = call_arguments(call)
            kwargs = keyword_arguments(call)
            data = positional[0] if positional else (kwargs.get("X") or kwargs.get("x") or kwargs.get("texts"))
            if data is None:
                continue
            name = data_name(data)
            if name is None:
                continue
            split = split_of_data_name(name)
            if split not in ("test", "val"):
                continue
            qual = receiver_qualname(model, call) or ""
            if qual in CV_SEARCHERS:
                continue  # a search scored on the test split is ML204
            if split == "val" and (qual in _FIT_ON_VAL_OK or set(name_tokens(name.rsplit(".", 1)[-1])) & _PREDICTION_TOKENS):
                continue
            what = "test" if split == "test" else "validation"
            receiver = text(call_receiver(call))
            yield self.finding(
                call,
                f"`{receiver}.{method}` is fitted on the {what} split `{name}`: the held-out data shapes "
                f"the {'model' if method in ('fit', 'partial_fit', 'fit_predict') else 'preprocessing'} and "
                f"its scores stop measuring generalisation"
                + ("; use `.transform`" if method == "fit_transform" else ""),
                fix=self._fix(ctx, call) if method == "fit_transform" else None,
            )

    @staticmethod
    def _fix(ctx: RuleContext, call: Node) -> Fix | None:
        """`scaler.fit_transform(X_test)` -> `scaler.transform(X_test)` when `scaler` was fitted before."""
        receiver = dotted_name(unwrap(call_receiver(call)))
        if receiver is None:
            return None
        scope = ctx.model.scope_of(call)
        for other in ctx.model.calls_in(scope):
            if other.start_byte >= call.start_byte:
                break
            if call_method_name(other) in ("fit", "fit_transform") and dotted_name(unwrap(call_receiver(other))) == receiver:
                func = call.child_by_field_name("function")
                attr = func.child_by_field_name("attribute") if func is not None else None
                if attr is None:
                    return None
                return make_fix("Use `transform` (keep the training-split fit)", replace_node(attr, "transform"), safe=False)
        return None

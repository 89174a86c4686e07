"""ML301 preprocessing-before-split."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from ..findings import Finding, Related
from ..model import FunctionInfo, SemanticModel
from ..syntax import call_arguments, text
from ._dataflow import (
    Consumer,
    PreprocessorFit,
    consumers_reading,
    identifiers_in,
    is_split_data,
    output_names,
    preprocessor_fits,
    propagate,
    scope_flow,
    transform_calls,
)
from .base import Rule, RuleContext


class PreprocessingBeforeSplit(Rule):
    """## What it does
    Flags a learned preprocessor (scaler, imputer, encoder, feature selector, PCA, vectorizer,
    `ColumnTransformer`) fitted on the whole dataset when that data, or data transformed with it,
    is split into train/test sets or cross-validated afterwards. A feature helper that fits and
    returns transformed data (`X, enc = build_features(df)`) is reported at its fit when a caller
    passes it the full data and splits the result, with the call site as related information.

    ## Why is this bad?
    `fit` learns statistics from every row it sees: means and variances, imputation values,
    vocabularies and IDF weights, selected features, principal axes. Fitted on the full data, those
    statistics include the rows that later become the test set (or the held-out folds), so the
    evaluation sees information it would not have in production and the reported score is
    optimistic. Feature selection fitted on all rows is the most damaging form: it can make pure
    noise look predictive.

    Encoding the *target* (`LabelEncoder().fit_transform(y)`) before the split is not reported: it
    only renames classes. Stateless transformers (`FunctionTransformer`, `PolynomialFeatures`,
    `Normalizer`, `HashingVectorizer`, `pd.get_dummies`) learn nothing from the rows. Fitting on the
    full data in a script that never splits or cross-validates it (a final refit before deployment)
    is also fine. Cross-validating data transformed by a preprocessor fitted on the *train split* is
    ML303.

    ## Example
    ```python
    X_scaled = StandardScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = train_test_split(X_scaled, y, random_state=0)
    ```

    ## Use instead
    ```python
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    # or, for cross-validation: cross_val_score(make_pipeline(StandardScaler(), clf), X, y)
    ```

    ## Fix safety
    No automatic fix: the split has to move before the fit, which reorders the script.

    ## References
    - https://scikit-learn.org/stable/common_pitfalls.html#data-leakage
    - https://scikit-learn.org/stable/modules/compose.html#pipeline
    """

    code = "ML301"
    name = "preprocessing-before-split"
    severity = "error"
    summary = "Preprocessor fitted on the full data before the train/test split or cross-validation"
    fix_availability = "never"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        model = ctx.model
        for fit in preprocessor_fits(model):
            flow = scope_flow(model, fit.scope)
            if is_split_data(flow, fit.data, fit.call.start_byte):
                continue
            leak = self._leak(ctx, fit) if flow.consumers else self._leak_through_callers(ctx, fit)
            if leak is None:
                continue
            where, related = leak
            what = text(fit.data) if len(text(fit.data)) <= 40 else "the full data"
            who = f"`{fit.receiver}`" if fit.receiver else f"`{fit.qualname.rsplit('.', 1)[-1]}`"
            yield self.finding(
                fit.call,
                f"{who} is fitted on `{what}` before {where}: statistics of the held-out rows leak into "
                "training; fit it on the training split only (or put it in a Pipeline)",
                related=related,
            )

    def _leak(self, ctx: RuleContext, fit: PreprocessorFit) -> tuple[str, list[Related]] | None:
        model = ctx.model
        flow = scope_flow(model, fit.scope)
        if fit.method == "fit_transform":
            outputs = output_names(fit.call)
            if outputs:
                tainted = propagate(model, outputs, fit.call.end_byte, fit.scope)
                found = consumers_reading(flow, tainted, fit.call.end_byte, ("split", "cv"))
                if found:
                    return _describe(ctx, found[0]), [ctx.related(c.call, _label(c)) for c in found[:3]]
        for transform in transform_calls(model, fit):
            args = call_arguments(transform)
            if args and is_split_data(flow, args[0], transform.start_byte):
                return (
                    "being applied to split data",
                    [ctx.related(transform, f"the full-data fit transforms `{text(args[0])}` here")],
                )
            outputs = output_names(transform)
            if outputs:
                tainted = propagate(model, outputs, transform.end_byte, fit.scope)
                found = consumers_reading(flow, tainted, transform.end_byte, ("split", "cv"))
                if found:
                    return _describe(ctx, found[0]), [ctx.related(c.call, _label(c)) for c in found[:3]]
        return None


    def _leak_through_callers(self, ctx: RuleContext, fit: PreprocessorFit) -> tuple[str, list[Related]] | None:
        """A helper (`build_features(df)`) fits and returns transformed data; a caller splits that result."""
        model = ctx.model
        helper = model.function_for_node(fit.scope)
        if helper is None or helper.owner is not None:
            return None  # methods fitting `self._encoder` are an estimator's own machinery (library code)
        seeds = output_names(fit.call) if fit.method == "fit_transform" else set()
        for transform in transform_calls(model, fit):
            seeds |= output_names(transform)
        tainted = propagate(model, seeds, fit.call.end_byte, fit.scope) if seeds else {}
        returns = [r for r in model.nodes_in("return", fit.scope) if r.start_byte > fit.call.end_byte]
        if not any(identifiers_in(r) & tainted.keys() for r in returns if model.enclosing_function(r) is helper):
            return None  # the transformed data does not leave the helper
        for call, callee in _helper_calls(model):
            if callee is not helper:
                continue
            scope = model.scope_of(call)
            flow = scope_flow(model, scope)
            if any(is_split_data(flow, arg, call.start_byte) for arg in call_arguments(call)):
                continue  # called on a split: not the full data
            outputs = output_names(call)
            if not outputs:
                continue
            found = consumers_reading(flow, propagate(model, outputs, call.end_byte, scope), call.end_byte, ("split", "cv"))
            if found:
                related = [ctx.related(call, f"`{helper.name}` is called on the full data here")]
                return _describe(ctx, found[0]), related + [ctx.related(c.call, _label(c)) for c in found[:3]]
        return None


def _helper_calls(model: SemanticModel) -> list[tuple[Node, FunctionInfo]]:
    return model.memo("ml301.helper_calls", lambda: model.helper_calls_in(model.root))


def _describe(ctx: RuleContext, consumer: Consumer) -> str:
    name = (ctx.model.qualname(consumer.call) or "").rsplit(".", 1)[-1] or text(consumer.call.child_by_field_name("function"))
    line = ctx.source.line_of(consumer.call.start_byte) + 1
    return f"`{name}` on line {line}" if consumer.kind == "split" else f"the cross-validation `{name}` on line {line}"


def _label(consumer: Consumer) -> str:
    return "the data is split here" if consumer.kind == "split" else "the data is cross-validated here"

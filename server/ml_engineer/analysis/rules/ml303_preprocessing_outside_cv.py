"""ML303 preprocessing-outside-cv."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from ..findings import Finding
from ..syntax import text
from ._dataflow import (
    Consumer,
    consumers_reading,
    is_split_data,
    output_names,
    preprocessor_fits,
    propagate,
    scope_flow,
    transform_calls,
)
from .base import Rule, RuleContext


class PreprocessingOutsideCv(Rule):
    """## What it does
    Flags cross-validation (`cross_val_score`, `cross_validate`, `cross_val_predict`,
    `GridSearchCV(...).fit`, `RandomizedSearchCV(...).fit`, `KFold.split`) run on data that a
    preprocessor fitted on the training split has already transformed, instead of putting the
    preprocessor inside a `Pipeline`.

    ## Why is this bad?
    Cross-validation scores each fold on rows the model did not train on. When the scaler, imputer,
    encoder or feature selector was fitted on the whole training split first, its statistics include
    every validation fold, so each fold's score is measured on data the preprocessing has already
    seen. Hyper-parameters are then tuned against a slightly optimistic score, and feature selection
    done this way can select on noise. Inside a `Pipeline`, the preprocessor is refitted on each
    training fold only.

    Fitting on the *full* dataset before splitting or cross-validating is ML301. Each
    cross-validation run on such data is reported (each gives its own leaky score or choice), with
    the preprocessor's fit as related information.

    ## Example
    ```python
    X_train_s = StandardScaler().fit_transform(X_train)
    search = GridSearchCV(SVC(), {"C": [0.1, 1, 10]}, cv=5)
    search.fit(X_train_s, y_train)
    ```

    ## Use instead
    ```python
    pipe = make_pipeline(StandardScaler(), SVC())
    search = GridSearchCV(pipe, {"svc__C": [0.1, 1, 10]}, cv=5)
    search.fit(X_train, y_train)
    ```

    ## Fix safety
    No automatic fix: moving the preprocessor into a pipeline renames the searched parameters.

    ## References
    - https://scikit-learn.org/stable/common_pitfalls.html#data-leakage-during-pre-processing
    - https://scikit-learn.org/stable/modules/compose.html#pipeline
    """

    code = "ML303"
    name = "preprocessing-outside-cv"
    severity = "warning"
    summary = "Cross-validation on data already transformed by a fitted preprocessor"
    fix_availability = "never"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        model = ctx.model
        reported: set[int] = set()
        for fit in preprocessor_fits(model):
            flow = scope_flow(model, fit.scope)
            if not any(c.kind == "cv" for c in flow.consumers):
                continue
            # Fitted on the full data: ML301's business.
            if not is_split_data(flow, fit.data, fit.call.start_byte):
                continue
            found: list[Consumer] = []
            producers = [fit.call] if fit.method == "fit_transform" else []
            producers += transform_calls(model, fit)
            for producer in producers:
                outputs = output_names(producer)
                if not outputs:
                    continue
                tainted = propagate(model, outputs, producer.end_byte, fit.scope)
                found += consumers_reading(flow, tainted, producer.end_byte, ("cv",))
            found = [c for c in found if c.call.id not in reported]
            if not found:
                continue
            who = fit.receiver or fit.qualname.rsplit(".", 1)[-1]
            # Each cross-validation run is its own leaky estimate (a score or a chosen model): one finding each.
            for consumer in sorted({c.call.id: c for c in found}.values(), key=lambda c: c.call.start_byte):
                reported.add(consumer.call.id)
                yield self.finding(
                    consumer.call,
                    f"cross-validation on data already transformed by `{who}` (fitted on `{_short(fit.data)}` "
                    "outside the folds): each validation fold leaks into the preprocessing; put the "
                    "preprocessor in a Pipeline",
                    related=[ctx.related(fit.call, f"`{who}` is fitted on `{_short(fit.data)}` here")],
                )



def _short(node: Node) -> str:
    value = text(node)
    return value if len(value) <= 40 else value[:37] + "..."

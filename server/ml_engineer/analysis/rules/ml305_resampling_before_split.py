"""ML305 resampling-before-split."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from .. import known_apis as apis
from ..findings import Finding
from ..syntax import call_arguments, call_receiver, keyword_arguments, text
from ._dataflow import (
    consumers_reading,
    is_split_data,
    output_names,
    propagate,
    receiver_qualname,
    scope_flow,
)
from .base import Rule, RuleContext

_RESAMPLE_FUNCTIONS = frozenset({"sklearn.utils.resample"})


class ResamplingBeforeSplit(Rule):
    """## What it does
    Flags over- and under-sampling (`SMOTE().fit_resample`, `RandomOverSampler`,
    `RandomUnderSampler`, `ADASYN`, `sklearn.utils.resample`, ...) applied to the whole dataset when
    the resampled data is then split into train/test sets or cross-validated.

    ## Why is this bad?
    Oversampling creates copies or interpolations of minority rows. Done before the split, a
    duplicated row (or a synthetic neighbour built from it) lands in both the training and the test
    set, so the model is tested on points it has effectively memorised and the minority-class
    scores are inflated. Undersampling before the split changes the class balance of the test set,
    which then no longer reflects the data the model will meet. Resampling belongs to the training
    split (or each training fold) only.

    ## Example
    ```python
    X_res, y_res = SMOTE(random_state=0).fit_resample(X, y)
    X_train, X_test, y_train, y_test = train_test_split(X_res, y_res, random_state=0)
    ```

    ## Use instead
    ```python
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
    X_train, y_train = SMOTE(random_state=0).fit_resample(X_train, y_train)
    # or, with cross-validation: imblearn.pipeline.make_pipeline(SMOTE(), clf)
    ```

    ## Fix safety
    No automatic fix: the resampling has to move after the split.

    ## References
    - https://imbalanced-learn.org/stable/common_pitfalls.html#data-leakage
    - https://scikit-learn.org/stable/common_pitfalls.html#data-leakage
    """

    code = "ML305"
    name = "resampling-before-split"
    severity = "error"
    summary = "Over/under-sampling applied before the train/test split or cross-validation"
    fix_availability = "never"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        model = ctx.model
        # `_resampled_data` accepts only these calls; kept in document order
        candidates = {call.id for call in model.calls_named(("fit_resample", "fit_sample"))}
        candidates.update(call.id for call in model.calls_to(_RESAMPLE_FUNCTIONS))
        for call in model.calls if candidates else ():
            if call.id not in candidates:
                continue
            data = self._resampled_data(ctx, call)
            if data is None:
                continue
            scope = model.scope_of(call)
            flow = scope_flow(model, scope)
            if not flow.consumers or is_split_data(flow, data, call.start_byte):
                continue
            outputs = output_names(call)
            if not outputs:
                continue
            tainted = propagate(model, outputs, call.end_byte, scope)
            found = consumers_reading(flow, tainted, call.end_byte, ("split", "cv"))
            if not found:
                continue
            first = found[0]
            how = "split" if first.kind == "split" else "cross-validated"
            line = ctx.source.line_of(first.call.start_byte) + 1
            yield self.finding(
                call,
                f"`{_short(data)}` is resampled before it is {how} (line {line}): duplicated or synthetic "
                "rows end up on both sides of the split; resample the training split only",
                related=[ctx.related(c.call, f"the resampled data is {how} here") for c in found[:3]],
            )

    @staticmethod
    def _resampled_data(ctx: RuleContext, call: Node) -> Node | None:
        method = ctx.model.method_name(call)
        if method in ("fit_resample", "fit_sample") and call_receiver(call) is not None:
            qual = receiver_qualname(ctx.model, call)
            if qual is None or not apis.is_resampler(qual):
                return None
        elif ctx.model.qualname(call) not in _RESAMPLE_FUNCTIONS:
            return None
        positional = call_arguments(call)
        return positional[0] if positional else keyword_arguments(call).get("X")


def _short(node: Node) -> str:
    value = text(node)
    return value if len(value) <= 40 else value[:37] + "..."

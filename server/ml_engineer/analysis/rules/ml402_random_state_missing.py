"""ML402 random-state-missing."""

from __future__ import annotations

import re
from collections.abc import Iterator

from tree_sitter import Node

from ..findings import Edit, Finding, Fix
from ..syntax import (
    assignment_targets,
    assignment_value,
    has_splat_arguments,
    keyword_arguments,
    string_value,
    text,
)
from ._test_code import is_test_module
from .base import Rule, RuleContext, make_fix

# Always random unless seeded.
_ALWAYS = frozenset(
    {
        "sklearn.model_selection.train_test_split",
        "sklearn.model_selection.ShuffleSplit",
        "sklearn.model_selection.StratifiedShuffleSplit",
        "sklearn.model_selection.GroupShuffleSplit",
        "sklearn.model_selection.RepeatedKFold",
        "sklearn.model_selection.RepeatedStratifiedKFold",
        "sklearn.model_selection.RandomizedSearchCV",
        "sklearn.model_selection.HalvingRandomSearchCV",
        "sklearn.ensemble.RandomForestClassifier",
        "sklearn.ensemble.RandomForestRegressor",
        "sklearn.ensemble.ExtraTreesClassifier",
        "sklearn.ensemble.ExtraTreesRegressor",
        "sklearn.ensemble.GradientBoostingClassifier",
        "sklearn.ensemble.GradientBoostingRegressor",
        "sklearn.ensemble.HistGradientBoostingClassifier",
        "sklearn.ensemble.HistGradientBoostingRegressor",
        "sklearn.ensemble.AdaBoostClassifier",
        "sklearn.ensemble.AdaBoostRegressor",
        "sklearn.ensemble.BaggingClassifier",
        "sklearn.ensemble.BaggingRegressor",
        "sklearn.ensemble.IsolationForest",
        "sklearn.ensemble.RandomTreesEmbedding",
        "sklearn.tree.DecisionTreeClassifier",
        "sklearn.tree.DecisionTreeRegressor",
        "sklearn.tree.ExtraTreeClassifier",
        "sklearn.tree.ExtraTreeRegressor",
        "sklearn.cluster.KMeans",
        "sklearn.cluster.MiniBatchKMeans",
        "sklearn.cluster.BisectingKMeans",
        "sklearn.cluster.SpectralClustering",
        "sklearn.neural_network.MLPClassifier",
        "sklearn.neural_network.MLPRegressor",
        "sklearn.neural_network.BernoulliRBM",
        "sklearn.linear_model.SGDClassifier",
        "sklearn.linear_model.SGDRegressor",
        "sklearn.linear_model.SGDOneClassSVM",
        "sklearn.linear_model.Perceptron",
        "sklearn.linear_model.PassiveAggressiveClassifier",
        "sklearn.linear_model.PassiveAggressiveRegressor",
        "sklearn.linear_model.RANSACRegressor",
        "sklearn.decomposition.TruncatedSVD",
        "sklearn.decomposition.FastICA",
        "sklearn.decomposition.LatentDirichletAllocation",
        "sklearn.manifold.TSNE",
        "sklearn.manifold.MDS",
        "sklearn.mixture.GaussianMixture",
        "sklearn.mixture.BayesianGaussianMixture",
        "sklearn.random_projection.GaussianRandomProjection",
        "sklearn.random_projection.SparseRandomProjection",
        "sklearn.kernel_approximation.RBFSampler",
        "sklearn.kernel_approximation.Nystroem",
        "sklearn.inspection.permutation_importance",
        "sklearn.utils.resample",
        "sklearn.utils.shuffle",
        "imblearn.over_sampling.SMOTE",
        "imblearn.over_sampling.SMOTENC",
        "imblearn.over_sampling.SMOTEN",
        "imblearn.over_sampling.ADASYN",
        "imblearn.over_sampling.BorderlineSMOTE",
        "imblearn.over_sampling.SVMSMOTE",
        "imblearn.over_sampling.KMeansSMOTE",
        "imblearn.over_sampling.RandomOverSampler",
        "imblearn.under_sampling.RandomUnderSampler",
        "imblearn.under_sampling.ClusterCentroids",
        "imblearn.combine.SMOTETomek",
        "imblearn.combine.SMOTEENN",
        "imblearn.ensemble.BalancedRandomForestClassifier",
        "imblearn.ensemble.BalancedBaggingClassifier",
        "imblearn.ensemble.EasyEnsembleClassifier",
        "imblearn.ensemble.RUSBoostClassifier",
        "umap.UMAP",
        "umap.umap_.UMAP",
    }
)
# Random only with one of these keyword values (name -> values that make it random).
_WHEN: dict[str, tuple[str, frozenset[str]]] = {
    "sklearn.model_selection.KFold": ("shuffle", frozenset({"True"})),
    "sklearn.model_selection.StratifiedKFold": ("shuffle", frozenset({"True"})),
    "sklearn.model_selection.GroupKFold": ("shuffle", frozenset({"True"})),
    "sklearn.model_selection.StratifiedGroupKFold": ("shuffle", frozenset({"True"})),
    "sklearn.linear_model.LogisticRegression": ("solver", frozenset({"sag", "saga", "liblinear"})),
    "sklearn.linear_model.LogisticRegressionCV": ("solver", frozenset({"sag", "saga", "liblinear"})),
    "sklearn.linear_model.Ridge": ("solver", frozenset({"sag", "saga"})),
    "sklearn.linear_model.RidgeClassifier": ("solver", frozenset({"sag", "saga"})),
    "sklearn.linear_model.Lasso": ("selection", frozenset({"random"})),
    "sklearn.linear_model.ElasticNet": ("selection", frozenset({"random"})),
    "sklearn.decomposition.PCA": ("svd_solver", frozenset({"randomized", "arpack"})),
    "sklearn.decomposition.KernelPCA": ("eigen_solver", frozenset({"randomized", "arpack"})),
    "sklearn.decomposition.NMF": ("init", frozenset({"random"})),
    "sklearn.svm.SVC": ("probability", frozenset({"True"})),
    "sklearn.svm.NuSVC": ("probability", frozenset({"True"})),
}
_SEED_NAME = re.compile(r"^(seed|random_state|random_seed|rng_seed|global_seed|rs|state)$", re.IGNORECASE)


class RandomStateMissing(Rule):
    """## What it does
    Flags scikit-learn (and imbalanced-learn, UMAP) splitters and estimators that draw random
    numbers, created without `random_state`: `train_test_split`, `KFold(shuffle=True)`,
    `ShuffleSplit`, `RandomizedSearchCV`, random forests and other tree ensembles, decision trees,
    `KMeans`, `MLP*`, `SGD*`, `TSNE`, `GaussianMixture`, `SMOTE`, `resample`, and estimators made
    random by an option (`LogisticRegression(solver="saga")`, `PCA(svd_solver="randomized")`,
    `SVC(probability=True)`).

    ## Why is this bad?
    Without `random_state`, every run draws a different split, different bootstrap samples or a
    different initialisation, so scores move between runs for no reason in the code: a change that
    looks like an improvement may be noise, and nobody can reproduce a reported number. scikit-learn
    does not read a global seed unless `np.random.seed` is called before every estimator, and
    estimators fitted in another order still differ; pass the seed explicitly.

    Deterministic ones are not reported: `KFold` without `shuffle=True`, `LogisticRegression` with
    the default `lbfgs` solver, `PCA` with the default solver. A seed passed through a variable or
    `**params` counts. XGBoost, LightGBM and CatBoost are not reported: their default seed is fixed.

    ## Example
    ```python
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
    clf = RandomForestClassifier(n_estimators=300)
    ```

    ## Use instead
    ```python
    SEED = 42
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=SEED)
    clf = RandomForestClassifier(n_estimators=300, random_state=SEED)
    ```

    ## Fix safety
    The fix adds `random_state=` with the file's module-level seed constant when there is one, else
    `42`. It is unsafe: the split or model changes to the one that seed draws.

    ## References
    - https://scikit-learn.org/stable/common_pitfalls.html#controlling-randomness
    - https://scikit-learn.org/stable/glossary.html#term-random_state
    """

    code = "ML402"
    name = "random-state-missing"
    severity = "info"
    summary = "Random scikit-learn splitter/estimator without `random_state`"
    fix_availability = "always"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        model = ctx.model
        if is_test_module(model):
            return  # test suites fit estimators on toy data; a seed there is the test's own business
        seed_name: str | None = None
        seed_looked_up = False
        for call in model.calls_to(_ALWAYS | _WHEN.keys()):
            qual = model.qualname(call)
            if qual is None or (qual not in _ALWAYS and qual not in _WHEN):
                continue
            kwargs = keyword_arguments(call)  # read once: `_is_random` and the checks below share it
            if not self._is_random(kwargs, qual):
                continue
            if "random_state" in kwargs or ("seed" in kwargs and qual.startswith("umap")):
                value = kwargs.get("random_state") or kwargs.get("seed")
                if value is None or value.type != "none":
                    continue
            elif has_splat_arguments(call):
                continue
            if not seed_looked_up:
                seed_name, seed_looked_up = _module_seed(ctx), True
            short = qual.rsplit(".", 1)[-1]
            yield self.finding(
                call,
                f"`{short}` draws random numbers but has no `random_state`: results change from run to run; "
                f"pass a fixed seed",
                fix=_fix(call, seed_name or "42", kwargs.get("random_state")),
            )

    @staticmethod
    def _is_random(kwargs: dict[str, Node], qual: str) -> bool:
        if qual in _ALWAYS:
            if qual.endswith("train_test_split") or qual.endswith("utils.shuffle"):
                shuffle = kwargs.get("shuffle")
                return shuffle is None or shuffle.type != "false"
            return True
        condition = _WHEN.get(qual)
        if condition is None:
            return False
        keyword, values = condition
        value = kwargs.get(keyword)
        if value is None:
            return False
        literal = string_value(value)
        return (literal if literal is not None else text(value)) in values


def _module_seed(ctx: RuleContext) -> str | None:
    """A module-level integer constant named like a seed (`SEED = 42`), to reuse in the fix."""
    for statement in ctx.model.top_level_statements():
        if statement.type != "expression_statement" or not statement.named_children:
            continue
        assign = statement.named_children[0]
        if assign.type != "assignment":
            continue
        targets = assignment_targets(assign)
        value = assignment_value(assign)
        if len(targets) == 1 and targets[0].type == "identifier" and value is not None and value.type == "integer":
            name = text(targets[0])
            if _SEED_NAME.match(name) or "seed" in name.lower():
                return name
    return None


def _fix(call: Node, seed: str, none_value: Node | None) -> Fix | None:
    if none_value is not None:
        return make_fix(f"Set `random_state={seed}`", Edit(none_value.start_byte, none_value.end_byte, seed), safe=False)
    args = call.child_by_field_name("arguments")
    if args is None or args.type != "argument_list" or args.child_count < 2:
        return None
    closing = args.children[-1]
    before = args.children[-2]
    if before.type == "(":
        new_text = f"random_state={seed}"
    elif before.type == ",":
        new_text = f" random_state={seed}" if before.end_point.row == closing.start_point.row else f"random_state={seed},"
    else:
        new_text = f", random_state={seed}"
    if before.type == "," and before.end_point.row != closing.start_point.row:
        # Multi-line call with a trailing comma: add a line in the same style.
        edit = Edit(before.end_byte, before.end_byte, f"\n{_indent_of(before)}{new_text}")
        return make_fix(f"Add `random_state={seed}`", edit, safe=False)
    return make_fix(f"Add `random_state={seed}`", Edit(closing.start_byte, closing.start_byte, new_text), safe=False)


def _indent_of(node: Node) -> str:
    """Indentation of the argument the trailing comma follows."""
    previous = node.prev_named_sibling
    if previous is None:
        return "    "
    return " " * previous.start_point.column

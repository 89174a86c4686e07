"""Customer churn model: pandas feature engineering, scikit-learn pipelines, model selection.

Benchmark input for benchmarks/context_size.py.
"""

import argparse
import json
import logging
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, classification_report, roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

log = logging.getLogger("churn")

NUMERIC = ["tenure_months", "monthly_charges", "total_charges", "support_calls", "late_payments", "age"]
CATEGORICAL = ["contract", "payment_method", "internet_service", "region", "plan"]
TARGET = "churned"
DATE_COLUMNS = ["signup_date", "last_login"]


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="data/customers.csv")
    parser.add_argument("--events", default="data/events.csv")
    parser.add_argument("--output", default="out/churn")
    parser.add_argument("--cv-folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def load_customers(path: str) -> pd.DataFrame:
    df = pd.read_csv(path, parse_dates=DATE_COLUMNS)
    df.columns = [c.strip().lower().replace(" ", "_") for c in df.columns]
    df = df.drop_duplicates(subset="customer_id")
    df["total_charges"] = pd.to_numeric(df["total_charges"], errors="coerce")
    df[TARGET] = df[TARGET].map({"yes": 1, "no": 0}).astype(int)
    return df


def load_events(path: str) -> pd.DataFrame:
    events = pd.read_csv(path, parse_dates=["timestamp"])
    events = events[events["event_type"].isin(["login", "support", "payment_failed", "upgrade"])]
    return events


def add_event_features(df: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    counts = events.pivot_table(index="customer_id", columns="event_type", values="timestamp", aggfunc="count")
    counts = counts.add_prefix("n_").fillna(0)
    last_event = events.groupby("customer_id")["timestamp"].max().rename("last_event")
    merged = df.merge(counts, left_on="customer_id", right_index=True, how="left")
    merged = merged.merge(last_event, left_on="customer_id", right_index=True, how="left")
    merged["days_since_event"] = (merged["last_login"] - merged["last_event"]).dt.days
    for column in ["n_login", "n_support", "n_payment_failed", "n_upgrade"]:
        merged[column] = merged[column].fillna(0)
    return merged


def add_ratio_features(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out["charges_per_month"] = out["total_charges"] / out["tenure_months"].replace(0, np.nan)
    out["support_rate"] = out["support_calls"] / (out["tenure_months"] + 1)
    out["late_rate"] = out["late_payments"] / (out["tenure_months"] + 1)
    out["is_new"] = (out["tenure_months"] < 3).astype(int)
    out["tenure_bucket"] = pd.cut(out["tenure_months"], bins=[-1, 6, 12, 24, 48, 1000], labels=False)
    return out


def clean(df: pd.DataFrame) -> pd.DataFrame:
    df = df[df["monthly_charges"] > 0]
    df.loc[df["age"] > 100, "age"] = np.nan
    df["region"] = df["region"].fillna("unknown")
    df["plan"] = df["plan"].str.lower().str.strip()
    return df


def feature_columns(df: pd.DataFrame) -> tuple:
    extra_numeric = [c for c in df.columns if c.startswith("n_")] + [
        "days_since_event",
        "charges_per_month",
        "support_rate",
        "late_rate",
        "is_new",
        "tenure_bucket",
    ]
    return NUMERIC + extra_numeric, CATEGORICAL


def build_preprocessor(numeric, categorical) -> ColumnTransformer:
    numeric_pipeline = Pipeline(
        [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
    )
    categorical_pipeline = Pipeline(
        [
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("onehot", OneHotEncoder(handle_unknown="ignore", min_frequency=20)),
        ]
    )
    return ColumnTransformer([("num", numeric_pipeline, numeric), ("cat", categorical_pipeline, categorical)])


def candidate_models(seed: int) -> dict:
    return {
        "logreg": (LogisticRegression(max_iter=2000, class_weight="balanced"), {"model__C": [0.1, 1.0, 10.0]}),
        "forest": (
            RandomForestClassifier(n_estimators=400, class_weight="balanced_subsample", random_state=seed),
            {"model__max_depth": [6, 12, None], "model__min_samples_leaf": [1, 5]},
        ),
        "gbm": (
            GradientBoostingClassifier(random_state=seed),
            {"model__learning_rate": [0.05, 0.1], "model__max_depth": [2, 3]},
        ),
    }


def select_model(X_train, y_train, X_test, y_test, numeric, categorical, args) -> tuple:
    cv = StratifiedKFold(n_splits=args.cv_folds, shuffle=True, random_state=args.seed)
    results = {}
    best_name, best_search, best_score = None, None, -np.inf
    for name, (estimator, grid) in candidate_models(args.seed).items():
        pipeline = Pipeline([("prep", build_preprocessor(numeric, categorical)), ("model", estimator)])
        search = GridSearchCV(pipeline, grid, scoring="average_precision", cv=cv, n_jobs=-1)
        search.fit(X_train, y_train)
        test_score = average_precision_score(y_test, search.predict_proba(X_test)[:, 1])
        results[name] = {"cv": search.best_score_, "test": test_score, "params": search.best_params_}
        log.info("%s cv AP %.4f test AP %.4f %s", name, search.best_score_, test_score, search.best_params_)
        if test_score > best_score:
            best_name, best_search, best_score = name, search, test_score
    return best_name, best_search, results


def quick_baseline(df: pd.DataFrame, numeric) -> float:
    X = df[numeric].fillna(0)
    y = df[TARGET]
    scaler = StandardScaler()
    X_scaled = scaler.fit_transform(X)
    scores = cross_val_score(LogisticRegression(max_iter=1000), X_scaled, y, cv=5, scoring="roc_auc")
    return float(scores.mean())


def threshold_for_recall(y_true, scores, target_recall: float = 0.8) -> float:
    order = np.argsort(-scores)
    sorted_true = np.asarray(y_true)[order]
    positives = sorted_true.sum()
    found = np.cumsum(sorted_true)
    index = int(np.searchsorted(found, target_recall * positives))
    return float(scores[order][min(index, len(order) - 1)])


def evaluate_model(search, X_test, y_test) -> dict:
    probabilities = search.predict_proba(X_test)[:, 1]
    threshold = threshold_for_recall(y_test, probabilities)
    predictions = (probabilities >= threshold).astype(int)
    report = classification_report(y_test, predictions, output_dict=True)
    return {
        "roc_auc": roc_auc_score(y_test, probabilities),
        "average_precision": average_precision_score(y_test, probabilities),
        "threshold": threshold,
        "precision": report["1"]["precision"],
        "recall": report["1"]["recall"],
    }


def lift_table(y_true, scores, bins: int = 10) -> pd.DataFrame:
    frame = pd.DataFrame({"y": np.asarray(y_true), "score": scores})
    frame["decile"] = pd.qcut(frame["score"].rank(method="first"), bins, labels=False)
    table = frame.groupby("decile").agg(customers=("y", "size"), churners=("y", "sum"), mean_score=("score", "mean"))
    table["churn_rate"] = table["churners"] / table["customers"]
    table["lift"] = table["churn_rate"] / frame["y"].mean()
    return table.sort_index(ascending=False)


def fairness_report(df_test: pd.DataFrame, scores, group: str = "region") -> pd.DataFrame:
    frame = df_test[[group, TARGET]].copy()
    frame["score"] = scores
    rows = []
    for value, part in frame.groupby(group):
        if part[TARGET].nunique() < 2:
            continue
        rows.append(
            {
                group: value,
                "customers": len(part),
                "churn_rate": part[TARGET].mean(),
                "roc_auc": roc_auc_score(part[TARGET], part["score"]),
            }
        )
    return pd.DataFrame(rows).sort_values("roc_auc")


def feature_importance(search, numeric, categorical) -> pd.Series:
    model = search.best_estimator_.named_steps["model"]
    prep = search.best_estimator_.named_steps["prep"]
    names = list(numeric) + list(prep.named_transformers_["cat"].named_steps["onehot"].get_feature_names_out(categorical))
    if hasattr(model, "feature_importances_"):
        values = model.feature_importances_
    else:
        values = np.abs(model.coef_[0])
    return pd.Series(values, index=names).sort_values(ascending=False)


def save_artifacts(search, metrics: dict, results: dict, importance: pd.Series, output: str) -> None:
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump(search.best_estimator_, out / "model.joblib")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (out / "selection.json").write_text(json.dumps(results, indent=2, default=str))
    importance.head(30).to_csv(out / "importance.csv")


def score_new_customers(model_path: str, data_path: str, events_path: str) -> pd.DataFrame:
    model = joblib.load(model_path)
    df = load_customers(data_path)
    df = add_ratio_features(add_event_features(df, load_events(events_path)))
    numeric, categorical = feature_columns(df)
    df["churn_score"] = model.predict_proba(df[numeric + categorical])[:, 1]
    return df[["customer_id", "churn_score"]].sort_values("churn_score", ascending=False)


def calibration_table(y_true, scores, bins: int = 10) -> pd.DataFrame:
    frame = pd.DataFrame({"y": np.asarray(y_true), "score": scores})
    frame["bin"] = pd.cut(frame["score"], bins=np.linspace(0, 1, bins + 1), include_lowest=True)
    table = frame.groupby("bin", observed=True).agg(predicted=("score", "mean"), observed=("y", "mean"), n=("y", "size"))
    table["gap"] = table["predicted"] - table["observed"]
    return table


def population_stability(expected: pd.Series, actual: pd.Series, bins: int = 10) -> float:
    edges = np.unique(np.quantile(expected.dropna(), np.linspace(0, 1, bins + 1)))
    expected_share = np.histogram(expected.dropna(), edges)[0] / max(1, expected.notna().sum())
    actual_share = np.histogram(actual.dropna(), edges)[0] / max(1, actual.notna().sum())
    expected_share = np.clip(expected_share, 1e-6, None)
    actual_share = np.clip(actual_share, 1e-6, None)
    return float(np.sum((actual_share - expected_share) * np.log(actual_share / expected_share)))


def drift_report(reference: pd.DataFrame, current: pd.DataFrame, numeric) -> pd.DataFrame:
    rows = []
    for column in numeric:
        if column not in current:
            continue
        psi = population_stability(reference[column], current[column])
        rows.append({"feature": column, "psi": psi, "alert": psi > 0.2})
    return pd.DataFrame(rows).sort_values("psi", ascending=False)


def segment_summary(df: pd.DataFrame, scores, segments=("contract", "plan")) -> dict:
    frame = df.copy()
    frame["score"] = scores
    summary = {}
    for segment in segments:
        grouped = frame.groupby(segment).agg(n=(TARGET, "size"), churn=(TARGET, "mean"), score=("score", "mean"))
        summary[segment] = grouped.round(4).to_dict(orient="index")
    return summary


def describe(df: pd.DataFrame) -> None:
    log.info("rows %d churn rate %.3f", len(df), df[TARGET].mean())
    missing = df.isna().mean().sort_values(ascending=False).head(8)
    log.info("most missing columns:\n%s", missing.to_string())
    log.info("churn by contract:\n%s", df.groupby("contract")[TARGET].mean().to_string())


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    args = parse_args()
    df = load_customers(args.data)
    events = load_events(args.events)
    df = add_event_features(df, events)
    df = add_ratio_features(df)
    df = clean(df)
    df.dropna(subset=[TARGET])
    describe(df)
    numeric, categorical = feature_columns(df)
    log.info("baseline ROC AUC %.4f", quick_baseline(df, numeric))

    X = df[numeric + categorical]
    y = df[TARGET]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y)
    best_name, search, results = select_model(X_train, y_train, X_test, y_test, numeric, categorical, args)
    metrics = evaluate_model(search, X_test, y_test)
    metrics["model"] = best_name
    log.info("test metrics %s", metrics)
    scores = search.predict_proba(X_test)[:, 1]
    log.info("lift:\n%s", lift_table(y_test, scores).to_string())
    log.info("by region:\n%s", fairness_report(df.loc[X_test.index], scores).to_string())
    importance = feature_importance(search, numeric, categorical)
    save_artifacts(search, metrics, results, importance, args.output)


if __name__ == "__main__":
    main()

"""API lookups with canonical spellings, argument notes, method notes, and the cached singleton."""

from __future__ import annotations

import time

import pytest

from ml_engineer.knowledge import ITERATION_METHOD, KnowledgeBase, get_knowledge_base


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("torch.nn.CrossEntropyLoss", "torch.nn.CrossEntropyLoss"),
        ("torch.nn.modules.loss.CrossEntropyLoss", "torch.nn.CrossEntropyLoss"),
        ("torch.nn.modules.linear.Linear", "torch.nn.Linear"),
        ("torch.optim.adamw.AdamW", "torch.optim.AdamW"),
        ("torch.utils.data.dataloader.DataLoader", "torch.utils.data.DataLoader"),
        ("torch.softmax", "torch.nn.functional.softmax"),
        ("torch.cuda.amp.GradScaler", "torch.amp.GradScaler"),
        ("torch.cuda.amp.grad_scaler.GradScaler", "torch.amp.GradScaler"),
        ("torch.cuda.amp.autocast", "torch.autocast"),
        ("tensorflow.keras.optimizers.Adam", "keras.optimizers.Adam"),
        ("tf.keras.callbacks.EarlyStopping", "keras.callbacks.EarlyStopping"),
        ("keras.models.Sequential", "keras.Sequential"),
        ("sklearn.model_selection._split.train_test_split", "sklearn.model_selection.train_test_split"),
        ("sklearn.preprocessing._data.StandardScaler", "sklearn.preprocessing.StandardScaler"),
        ("sklearn.ensemble._forest.RandomForestClassifier", "sklearn.ensemble.RandomForestClassifier"),
        ("transformers.trainer.Trainer", "transformers.Trainer"),
        (
            "transformers.models.auto.modeling_auto.AutoModelForSequenceClassification",
            "transformers.AutoModelForSequenceClassification",
        ),
        (
            "transformers.optimization.get_linear_schedule_with_warmup",
            "transformers.get_linear_schedule_with_warmup",
        ),
        ("jax.random.PRNGKey", "jax.random.key"),
        ("pandas.core.frame.DataFrame.dropna", "pandas.DataFrame.dropna"),
        ("pd.merge", "pandas.merge"),
    ],
)
def test_equivalent_spellings_resolve_to_one_entry(kb: KnowledgeBase, spelling: str, canonical: str) -> None:
    entry = kb.api(spelling)
    assert entry is not None, spelling
    assert entry.name == canonical
    assert entry.looked_up_as == (None if spelling == canonical else spelling)


@pytest.mark.parametrize(
    "name", ["keras.src.layers.core.dense.Dense", "torch.nn.NoSuchLayer", "numpy.mean", ""]
)
def test_unknown_or_private_names_are_not_resolved(kb: KnowledgeBase, name: str) -> None:
    assert kb.api(name) is None


def test_deprecated_spelling_carries_a_version_note(kb: KnowledgeBase) -> None:
    entry = kb.api("torch.cuda.amp.GradScaler")
    assert entry is not None and entry.alias_note is not None
    assert 'torch.amp.GradScaler("cuda"' in entry.alias_note and "deprecated" in entry.alias_note
    assert kb.api("torch.amp.GradScaler").alias_note is None  # type: ignore[union-attr]


def test_version_differences_are_stated(kb: KnowledgeBase) -> None:
    load = kb.api("torch.load")
    assert load is not None and "2.6" in load.versions and "weights_only" in load.versions
    ohe = kb.api("sklearn.preprocessing.OneHotEncoder")
    assert ohe is not None and "sparse_output" in ohe.versions and "1.2" in ohe.versions
    adam = kb.api("keras.optimizers.Adam")
    assert adam is not None and "learning_rate" in adam.versions and "lr=" in adam.versions
    assert "Copy-on-Write" in kb.api("pandas.DataFrame").versions  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("qualname", "argument", "expected"),
    [
        ("torch.optim.AdamW", "weight_decay", "0.01"),
        ("torch.nn.CrossEntropyLoss", "reduction", "mean"),
        ("torch.nn.CrossEntropyLoss", "label_smoothing", "0.0"),
        ("torch.nn.modules.loss.CrossEntropyLoss", "ignore_index", "-100"),
        ("torch.utils.data.DataLoader", "num_workers", "main process"),
        ("keras.losses.SparseCategoricalCrossentropy", "from_logits", "no activation"),
        ("sklearn.model_selection.train_test_split", "stratify", "class proportions"),
        ("torch.load", "weights_only", "2.6"),
        ("keras.callbacks.EarlyStopping", "restore_best_weights", "last epoch"),
    ],
)
def test_argument_notes(kb: KnowledgeBase, qualname: str, argument: str, expected: str) -> None:
    note = kb.argument(qualname, argument)
    assert note is not None and expected in note


def test_missing_argument_notes_are_none(kb: KnowledgeBase) -> None:
    assert kb.argument("torch.optim.AdamW", "no_such_argument") is None
    assert kb.argument("torch.nn.NoSuchLayer", "weight") is None


def test_adamw_learning_rate_note_distinguishes_fine_tuning_from_scratch(kb: KnowledgeBase) -> None:
    note = kb.argument("torch.optim.AdamW", "lr")
    assert note is not None and "Fine-tuning" in note and "From scratch" in note


@pytest.mark.parametrize(
    ("kind", "method", "rule"),
    [
        ("optimizer", "zero_grad", "ML101"),
        ("optimizer", "step", "ML801"),
        ("model", "eval", "ML201"),
        ("model", "train", "ML107"),
        ("scaler", "step", "ML110"),
        ("scaler", "update", "ML110"),
        ("scheduler", "step", "ML104"),
        ("loss", "backward", "ML111"),
        ("model", "state_dict", "ML703"),
        ("model", "load_state_dict", "ML701"),
        ("model", "to", "ML601"),
        ("model", "parameters", "ML802"),
        ("loader", ITERATION_METHOD, "ML304"),
        ("sklearn_transformer", "fit_transform", "ML302"),
    ],
)
def test_method_notes(kb: KnowledgeBase, kind: str, method: str, rule: str) -> None:
    note = kb.method(kind, method)
    assert note is not None
    assert note.entity_kind == kind and note.method == method
    assert any(rule in p.rules for p in note.pitfalls)


def test_method_notes_without_pitfalls_exist(kb: KnowledgeBase) -> None:
    for kind, method in [("scaler", "scale"), ("scaler", "unscale_"), ("scheduler", "get_last_lr")]:
        assert kb.method(kind, method) is not None


def test_unknown_method_is_none(kb: KnowledgeBase) -> None:
    assert kb.method("optimizer", "fly") is None
    assert kb.method("spaceship", "step") is None


def test_method_for_class_qualname_uses_the_entity_kind(kb: KnowledgeBase) -> None:
    note = kb.method_for_qualname("torch.optim.AdamW.zero_grad")
    assert note is not None and note.key == "optimizer.zero_grad"
    assert kb.method_for_qualname("torch.amp.GradScaler.update").key == "scaler.update"  # type: ignore[union-attr]
    assert kb.method_for_qualname("pandas.DataFrame.dropna") is None  # no entity kind: not a method note


def test_topics_for_rules(kb: KnowledgeBase) -> None:
    topics = kb.topics_for_rules(["ML301", "ML305"])
    assert topics and topics[0].id in {"data-leakage", "class-imbalance"}
    assert all({"ML301", "ML305"} & set(t.rules) for t in topics)
    assert kb.topics_for_rules(["ML999"]) == []


def test_singleton_is_shared_and_cached(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ML_ENGINEER_CACHE_DIR", str(tmp_path))
    first = get_knowledge_base()
    assert get_knowledge_base() is first


def test_warm_load_is_fast_and_equal(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ML_ENGINEER_CACHE_DIR", str(tmp_path))
    cold = KnowledgeBase.load()
    assert list(tmp_path.glob("knowledge-*.json")), "the parsed YAML should be cached"
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        warm = KnowledgeBase.load()
        timings.append(time.perf_counter() - start)
    assert warm.entries == cold.entries and warm.topics == cold.topics and warm.methods == cold.methods
    assert min(timings) < 0.1, f"warm load took {min(timings) * 1000:.0f} ms"


def test_cache_can_be_disabled(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ML_ENGINEER_CACHE_DIR", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert len(KnowledgeBase.load().entries) >= 150
    assert not list(tmp_path.rglob("*.json"))

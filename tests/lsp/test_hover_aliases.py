"""Hover through the server resolves the aliased spellings people use, for every library in the KB."""

from __future__ import annotations

import pytest
from lsp_helpers import diagnostics_for, open_document, start
from lsprotocol import types

URI = "file:///tmp/ml_engineer_tests/hover_aliases.py"

SOURCE = '''import torch.nn as nn
from torch import optim
from torch.nn import functional as F
import tensorflow as tf
import keras
from keras import layers
from sklearn.model_selection import *
from sklearn.preprocessing import StandardScaler as Scaler
import jax
import optax
from transformers import AutoTokenizer
import pandas as pd

loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
opt = optim.AdamW(params, lr=3e-4, weight_decay=0.01)
out = F.cross_entropy(logits, target)
dense = tf.keras.layers.Dense(10)
dense2 = layers.Dense(10, activation="relu")
seq = keras.Sequential([])
parts = train_test_split(X, y, stratify=y)
scaler = Scaler()
key, sub = jax.random.split(key)
tx = optax.adamw(1e-3)
tok = AutoTokenizer.from_pretrained("bert-base-uncased")
merged = pd.merge(a, b, on="id")
opt.zero_grad()
'''

# (needle in its line, offset into the needle, the qualified name the hover must show first)
CASES = [
    ("CrossEntropyLoss(", 3, "torch.nn.CrossEntropyLoss"),
    ("label_smoothing", 2, "label_smoothing="),
    ("AdamW(", 2, "torch.optim.AdamW"),
    ("weight_decay", 2, "weight_decay="),
    ("cross_entropy(", 2, "torch.nn.functional.cross_entropy"),
    ("tf.keras.layers.Dense", 18, "keras.layers.Dense"),
    ("layers.Dense(10, activation", 8, "keras.layers.Dense"),
    ("keras.Sequential", 8, "keras.Sequential"),
    ("train_test_split(", 3, "sklearn.model_selection.train_test_split"),
    ("stratify", 2, "stratify="),
    ("Scaler()", 2, "sklearn.preprocessing.StandardScaler"),
    ("random.split", 8, "jax.random.split"),
    ("adamw(1e-3)", 2, "optax.adamw"),
    ("AutoTokenizer.from_pretrained", 3, "transformers.AutoTokenizer"),
    ("merge(", 2, "pandas.merge"),
    ("zero_grad()", 2, "optimizer.zero_grad"),
]


@pytest.fixture
def lines() -> list[str]:
    return SOURCE.split("\n")


async def test_hover_on_aliased_apis_of_every_library(client, lines: list[str]) -> None:
    await start(client)
    open_document(client, URI, SOURCE)
    await diagnostics_for(client, URI)
    failures = []
    for needle, offset, expected in CASES:
        row = next(i for i, line in enumerate(lines) if needle in line)
        column = lines[row].index(needle) + offset
        result = await client.text_document_hover_async(
            types.HoverParams(types.TextDocumentIdentifier(URI), types.Position(row, column))
        )
        text = result.contents.value if result is not None else "<no hover>"
        # A finding on the same range comes first (here ML402 on train_test_split), the API entry after it.
        heading = next((line for line in text.split("\n") if line.startswith("**`")), text.split("\n")[0])
        if expected not in heading:
            failures.append(f"{needle!r} (line {row + 1}): {heading}")
    assert not failures, "\n".join(failures)


async def test_a_finding_comes_before_the_api_entry(client, lines: list[str]) -> None:
    await start(client)
    open_document(client, URI, SOURCE)
    await diagnostics_for(client, URI, lambda d: any(x.code == "ML402" for x in d))
    row = next(i for i, line in enumerate(lines) if "train_test_split(" in line)
    result = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(URI), types.Position(row, lines[row].index("train_test_split") + 3))
    )
    text = result.contents.value
    assert text.startswith("**ML402**")
    assert text.index("ML402") < text.index("sklearn.model_selection.train_test_split")

"""The semantic model answers the questions rules ask, for the import and code styles people use."""

from __future__ import annotations

import pytest

from ml_engineer.analysis.engine import analyze
from ml_engineer.analysis.model import SemanticModel, kind_from_name, split_of_name
from ml_engineer.analysis.notebook import join_cells, load_notebook, neutralise_magics


def model_of(text: str) -> SemanticModel:
    return analyze(text, "t.py").model


def call_named(model: SemanticModel, fragment: str):
    for call in model.calls:
        if call.text is not None and call.text.decode().startswith(fragment):
            return call
    raise AssertionError(f"no call {fragment}")


@pytest.mark.parametrize(
    ("imports", "expr", "expected"),
    [
        ("import torch.nn as nn", "nn.CrossEntropyLoss()", "torch.nn.CrossEntropyLoss"),
        ("from torch import nn, optim", "optim.AdamW(p)", "torch.optim.AdamW"),
        ("from torch.nn import functional as F", "F.cross_entropy(a, b)", "torch.nn.functional.cross_entropy"),
        ("import torch.nn.functional as F", "F.softmax(x)", "torch.nn.functional.softmax"),
        ("import tensorflow as tf", "tf.keras.layers.Dense(3)", "keras.layers.Dense"),
        ("from tensorflow import keras", "keras.Sequential()", "keras.Sequential"),
        ("from keras import layers", "layers.Dense(3)", "keras.layers.Dense"),
        ("import torch", "torch.nn.functional.softmax(x)", "torch.nn.functional.softmax"),
        ("from sklearn.model_selection import *", "train_test_split(X)", "sklearn.model_selection.train_test_split"),
        ("import jax", "jax.random.split(k)", "jax.random.split"),
    ],
)
def test_import_aliases_resolve_to_qualified_names(imports: str, expr: str, expected: str) -> None:
    model = model_of(f"{imports}\ny = {expr}\n")
    call = model.calls[0]
    assert model.qualname(call) == expected


def test_unbound_names_do_not_resolve() -> None:
    model = model_of("y = softmax(x)\n")
    assert model.qualname(model.calls[0]) is None


ENTITIES = """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup
from sklearn.preprocessing import StandardScaler
from sklearn.ensemble import RandomForestClassifier

class Encoder(nn.Module):
    pass

class Net(Encoder):
    pass

net = Net().to("cpu")
bert = AutoModelForSequenceClassification.from_pretrained("x")
tok = AutoTokenizer.from_pretrained("x")
opt = torch.optim.SGD(net.parameters(), lr=0.1)
sched = get_linear_schedule_with_warmup(opt, 10, 100)
plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt)
scaler = torch.amp.GradScaler()
loss_fn = nn.CrossEntropyLoss()
train_dl = DataLoader(ds)
eval_loader = DataLoader(dataset=val_set)
holdout = DataLoader(test_ds)
scale = StandardScaler()
clf = RandomForestClassifier()
compiled = torch.compile(Net())
"""


def test_entities_and_their_kinds() -> None:
    model = model_of(ENTITIES)
    kinds = {name: (model.entity(name).kind, model.entity(name).split) for name in model.entities}  # type: ignore[union-attr]
    assert kinds == {
        "net": ("model", None),
        "bert": ("model", None),
        "opt": ("optimizer", None),
        "sched": ("scheduler", None),
        "plateau": ("scheduler", None),
        "scaler": ("scaler", None),
        "loss_fn": ("loss", None),
        "train_dl": ("loader", "train"),
        "eval_loader": ("loader", "val"),
        "holdout": ("loader", "test"),
        "scale": ("sklearn_transformer", None),
        "clf": ("sklearn_estimator", None),
        "compiled": ("model", None),
    }
    assert "tok" not in model.entities


@pytest.mark.parametrize(
    ("name", "split"),
    [("X_test", "test"), ("test_df", "test"), ("valLoader", "val"), ("X_val", "val"), ("dev_set", "val"),
     ("train_loader", "train"), ("X_tr", "train"), ("Xtest", None), ("latest", None), ("contest_data", None),
     ("X_train_val", "val"), ("eval_dataloader", "val"), ("X", None), ("X_fold_va", "val"),
     ("y_va", "val"), ("java_src", None)],
)
def test_split_from_names(name: str, split: str | None) -> None:
    assert split_of_name(name) == split


@pytest.mark.parametrize(
    ("name", "kind"),
    [("model", "model"), ("self.net", "model"), ("teacher_model", "model"), ("model_ema", "model"),
     ("model_without_ddp", "model"), ("loss_fn", "loss"), ("criterion", "loss"), ("self.optimizer", "optimizer"),
     ("lr_scheduler", "scheduler"), ("train_loader", "loader"),
     # names about the object, or functions that produce it, are not the object
     ("model_path", None), ("model_name", None), ("self.model_dir", None), ("model_cfg", None),
     ("model_state_dict", None), ("model_outputs", None), ("load_model", None), ("build_model", None),
     ("get_model", None), ("create_optimizer", None), ("opt_level", None), ("optimizer_config", None),
     ("scheduler_type", None), ("get_loader", None), ("opt_state", None), ("accelerator.unwrap_model", None),
     ("copy_model", None), ("is_model_parallel", None)],
)
def test_kind_from_name(name: str, kind: str | None) -> None:
    assert kind_from_name(name) == kind


def test_helper_calls_named_like_models_are_not_forward_passes() -> None:
    model = model_of(
        "import torch\n"
        "from utils import load_model\n"
        "def train_model(model, loader):\n"
        "    pass\n"
        "with torch.no_grad():\n"
        "    net = load_model('ckpt.pt')\n"
        "    model_path.to('cpu')\n"
        "    train_model(net, loader)\n"
    )
    assert model.model_calls_in(model.root) == []
    assert model.eval_passes == []
    assert model.kind_of_name("train_model") is None


def test_kind_through_a_conditional_expression() -> None:
    model = model_of(
        "import torch.nn as nn\n"
        "head = nn.Linear(4, 2) if wide else None\n"
        "crit = nn.CrossEntropyLoss() if cls else nn.MSELoss()\n"
        "odd = nn.Linear(4, 2) if wide else nn.MSELoss()\n"
    )
    assert model.kind_of_name("head") == "model"
    assert model.kind_of_name("crit") == "loss"
    assert "odd" not in model.entities  # branches disagree: no kind


def test_unpacked_value_gives_the_call_and_the_position() -> None:
    model = model_of("net, base = build()\nuse(net, base)\na, (b, c) = f()\nuse(b)\nx, y = y, x\nuse(x)\n")
    uses = [c for c in model.calls if c.text is not None and c.text.startswith(b"use(")]
    value, index = model.unpacked_value("base", uses[0]) or (None, None)
    assert value is not None and value.text == b"build()" and index == 1
    assert model.unpacked_value("b", uses[1]) is None  # nested target
    assert model.unpacked_value("x", uses[2]) is None  # swap: no single value
    assert model.value_of("net", uses[0]) is None


def test_kind_of_a_same_file_factory_call_is_what_it_returns() -> None:
    model = model_of(
        "import torch\nfrom torchvision import models\n"
        "def build_net(n):\n    m = models.resnet18(num_classes=n)\n    return m.to('cpu')\n"
        "def make_opt(p):\n    return torch.optim.SGD(p, lr=0.1)\n"
        "def maybe(n):\n    if n:\n        return models.resnet18()\n    return None\n"
        "def mixed(p):\n    if p:\n        return torch.optim.SGD(p, lr=0.1)\n    return models.resnet18()\n"
        "net = build_net(3)\nopt = make_opt(net.parameters())\nm2 = maybe(1)\nm3 = mixed(1)\n"
    )
    assert model.kind_of_name("net") == "model"
    assert model.kind_of_name("opt") == "optimizer"
    assert "m2" not in model.entities  # one branch returns None
    assert "m3" not in model.entities  # branches disagree


TRAINING = """
import torch

def train_one_epoch(model, loader, optimizer):
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        loss = model(x).sum()
        loss.backward()
        optimizer.step()

def fit(model, loader, optimizer, epochs):
    for epoch in range(epochs):
        train_one_epoch(model, loader, optimizer)

class Trainer:
    def __init__(self, model, optimizer):
        self.model = model
        self.optimizer = optimizer

    def step(self, batch):
        loss = self.model(batch)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()

    def run(self, loader):
        for batch in loader:
            self.step(batch)

for i in range(3):
    env.step(action)
    obj.backward()
"""


def test_training_loops_directly_and_through_helpers() -> None:
    model = model_of(TRAINING)
    rows = sorted(loop.node.start_point.row + 1 for loop in model.training_loops)
    assert rows == [6, 13, 28]  # the batch loop, the epoch loop via its helper, Trainer.run via self.step
    summary = model.functions["fit"].effects
    assert {"train_mode", "zero_grad", "backward", "opt_step"} <= summary
    assert {"backward", "scaler_step", "scaler_update"} <= model.functions["Trainer.step"].effects


def test_grad_mode_and_eval_passes() -> None:
    model = model_of(
        "import torch\n"
        "@torch.no_grad()\n"
        "def evaluate(model, loader):\n"
        "    return [model(x) for x in loader]\n"
        "def predict(net, x):\n"
        "    with torch.inference_mode():\n"
        "        with torch.enable_grad():\n"
        "            y = net(x)\n"
        "    return y\n"
    )
    evaluate_call = call_named(model, "model(x)")
    assert model.grad_mode_at(evaluate_call) == "no_grad"
    assert model.grad_mode_at(call_named(model, "net(x)")) == "enable_grad"
    kinds = sorted((p.kind, p.node.start_point.row + 1) for p in model.eval_passes)
    assert kinds == [("function", 3), ("function", 5), ("no_grad_block", 6)]


def test_value_of_prefers_the_latest_binding_in_scope() -> None:
    model = model_of("probs = a\ndef f():\n    probs = b\n    use(probs)\nprobs = c\nuse(probs)\n")
    first, second = [c for c in model.calls if c.text == b"use(probs)"]
    assert model.value_of("probs", first).text == b"b"  # type: ignore[union-attr]
    assert model.value_of("probs", second).text == b"c"  # type: ignore[union-attr]


def test_cells_from_percent_scripts_and_notebooks() -> None:
    model = model_of("# %%\nimport pandas as pd\ndf = pd.read_csv('x')\ndf.head()\n# %%\ndf.describe()\nx = 1\n")
    statements = list(model.top_level_statements())
    head, describe = statements[2], statements[3]
    assert model.is_last_statement_of_cell(head)
    assert not model.is_last_statement_of_cell(describe)
    assert neutralise_magics("%matplotlib inline\n  !ls\nx = 1") == "#matplotlib inline\n  #ls\nx = 1"
    assert neutralise_magics("%%bash\necho hi") == "#%bash\n#cho hi"
    assert neutralise_magics("%%time\nx = 1") == "#%time\nx = 1"
    notebook = join_cells([(0, "a = 1\nb = 2"), (2, "c = 3")])
    assert notebook.text == "a = 1\nb = 2\nc = 3"
    cell, line = notebook.locate(2)
    assert (cell.index, line) == (2, 0)
    with pytest.raises(ValueError, match="not a valid notebook"):
        load_notebook("[]")


def test_decorated_methods_belong_to_their_class() -> None:
    model = model_of(
        "import torch\nclass Runner:\n    @torch.no_grad()\n    def score(self, net):\n        return net(1)\n"
        "    @staticmethod\n    def helper():\n        return 2\n    def run(self):\n        return self.score(None)\n"
    )
    assert set(model.classes["Runner"].methods) == {"score", "helper", "run"}
    assert model.functions["Runner.score"].grad_mode == "no_grad"
    call = next(c for c in model.calls if c.text == b"self.score(None)")
    assert model.resolve_local_function(call) is model.functions["Runner.score"]

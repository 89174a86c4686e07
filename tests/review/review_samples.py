"""A training script to review, and scripted tool_use answers that cite its lines."""

from __future__ import annotations

from typing import Any

from fake_anthropic.fixtures import TEST_KEY

__all__ = ["TEST_KEY"]

HF_SECRET = "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"

TRAIN = f'''import torch
import torch.nn as nn
from torch.utils.data import DataLoader

HF_TOKEN = "{HF_SECRET}"


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 2)

    def forward(self, x):
        return self.fc(x)


def train(dataset):
    torch.manual_seed(0)
    model = Net()
    loader = DataLoader(dataset, batch_size=8, shuffle=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=10.0)
    criterion = nn.CrossEntropyLoss()
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    return model
'''
# 1-based lines of TRAIN
LR_LINE = 21  # optimizer = torch.optim.SGD(model.parameters(), lr=10.0)
LOSS_LINE = 24  # loss = criterion(model(x), y)
LOOP_LINE = 23  # for x, y in loader: -- ML101 (zero_grad missing) is reported here
LINE_COUNT = TRAIN.count("\n") + 1


def good_lr(**extra: Any) -> dict[str, Any]:
    return {
        "start_line": LR_LINE,
        "end_line": LR_LINE,
        "severity": "warning",
        "title": "Learning rate 10.0 is far too high for SGD with batch size 8",
        "explanation": "With plain SGD and batches of 8, lr=10 makes the updates diverge; start near 0.01.",
        "replacement": "    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)",
        "confidence": 0.9,
        **extra,
    }


def duplicate_of_ml101() -> dict[str, Any]:
    return {
        "start_line": LOOP_LINE,
        "end_line": LOOP_LINE + 3,
        "severity": "error",
        "title": "Gradients are never zeroed between steps",
        "explanation": "Call optimizer.zero_grad() each iteration, or gradients accumulate.",
        "confidence": 0.95,
    }


MALFORMED: list[Any] = [
    "not an object",
    {"start_line": LOSS_LINE, "severity": "warning", "title": "t", "explanation": "e"},  # no confidence
    {"start_line": "24", "end_line": 24, "severity": "warning", "title": "t", "explanation": "e", "confidence": 0.5},
    {"start_line": LOSS_LINE, "end_line": LOSS_LINE, "severity": "fatal", "title": "t", "explanation": "e",
     "confidence": 0.5},
    {"start_line": LOSS_LINE, "end_line": LOSS_LINE, "severity": "info", "title": "", "explanation": "e",
     "confidence": 0.5},
    {"start_line": LOSS_LINE, "end_line": LOSS_LINE, "severity": "info", "title": "t", "explanation": "e",
     "confidence": 7},
]
OUT_OF_RANGE: list[dict[str, Any]] = [
    {"start_line": 500, "end_line": 501, "severity": "warning", "title": "Beyond the file", "explanation": "e",
     "confidence": 0.5},
    {"start_line": 20, "end_line": 10, "severity": "warning", "title": "Backwards range", "explanation": "e",
     "confidence": 0.5},
]


def tool_input(*items: Any) -> dict[str, Any]:
    return {"findings": list(items)}

"""The loss rules' text gate (`may_feed`) is true whenever a loss could be fed such an output."""

from __future__ import annotations

from ml_engineer.analysis.engine import analyze
from ml_engineer.analysis.rules._outputs import may_feed

_ALIASED = """\
import torch
from torch.nn import CrossEntropyLoss as CE
from torch.nn.functional import softmax as sm

crit = CE()
loss = crit(sm(logits, dim=1), y)
"""


def test_gate_open_for_aliased_loss_and_producer_and_the_rule_still_reports() -> None:
    result = analyze(_ALIASED, "t.py")
    assert may_feed(result.model, "cross_entropy", {"softmax", "log_softmax"})
    assert "ML501" in {finding.code for finding in result.findings}


def test_gate_closed_without_the_loss_or_without_the_producer() -> None:
    model = analyze(_ALIASED, "t.py").model
    assert not may_feed(model, "nll", {"softmax", "raw"})  # no NLL loss spelled
    assert not may_feed(model, "cross_entropy", {"sigmoid"})  # no sigmoid spelled
    assert may_feed(analyze("import torch.nn as nn\nl = nn.BCELoss()(nn.Linear(2, 1)(x), y)\n", "u.py").model, "bce", {"raw"})

"""The model's shortcuts give the answers of the long way: `calls_to` and the lazily built tables."""

from __future__ import annotations

from ml_engineer.analysis.model import SemanticModel
from ml_engineer.analysis.parsing import parse
from ml_engineer.analysis.source import SourceText

_CODE = """\
import torch
import torch.nn.functional as F
from torch.nn.functional import dropout as drop
from torch.utils.data import *
from torch.utils.data import DataLoader as DL

x = F.dropout(h, 0.5)
y = drop(h, p=0.2)
z = torch . nn . functional . dropout(h)
w = torch.nn.functional.dropout2d(h)
loader = DataLoader(ds)
other = DL(ds, shuffle=True)
h.dropout(0.1)
(lambda v: v)(h)
"""


def build(text: str) -> SemanticModel:
    source = SourceText(text)
    return SemanticModel(source, parse(source.data), "t.py")


def by_resolving_every_call(model: SemanticModel, qualnames: set[str]) -> list[str]:
    return [model.node_text(call) for call in model.calls if model.qualname(call) in qualnames]


def test_calls_to_matches_resolving_every_call_through_aliases_spacing_and_star_imports() -> None:
    model = build(_CODE)
    for qualnames in (
        {"torch.nn.functional.dropout"},
        {"torch.nn.functional.dropout", "torch.nn.functional.dropout2d"},
        {"torch.utils.data.DataLoader"},
    ):
        expected = by_resolving_every_call(build(_CODE), qualnames)
        assert expected  # the sample holds calls of each set
        assert [model.node_text(call) for call in model.calls_to(qualnames)] == expected


def test_calls_to_finds_an_aliased_import_whose_name_differs_from_the_api() -> None:
    model = build(_CODE)
    found = [model.node_text(call) for call in model.calls_to({"torch.nn.functional.dropout"})]
    assert "drop(h, p=0.2)" in found
    assert "h.dropout(0.1)" not in found  # a method named like the API is not the API


def test_semantic_tables_are_built_on_first_use_only() -> None:
    model = build("import torch\nnet = torch.nn.Linear(2, 2)\n")
    assert "entities" not in vars(model)
    assert model.entity("net") is not None and model.entity("net").kind == "model"  # type: ignore[union-attr]
    assert "entities" in vars(model) and "functions" in vars(model)


def test_module_rule_gate_keeps_a_base_spelled_in_full_without_an_import() -> None:
    from ml_engineer.analysis.engine import analyze

    code = "class Net(torch.nn.Module):\n    def __init__(self):\n        self.fc = torch.nn.Linear(2, 2)\n"
    assert "ML803" in {finding.code for finding in analyze(code, "t.py").findings}
    assert "ML803" not in {finding.code for finding in analyze(code.replace("torch.nn.Module", "Base"), "t.py").findings}

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


_TRAINING = """\
import torch
import torch.nn as nn
from torch.cuda.amp import GradScaler

class Net(nn.Module):
    def forward(self, x):
        return x

def build():
    net = Net()
    return net

def step_fn(model, opt, scaler, batch):
    opt.zero_grad()
    loss = model(batch).sum()
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()

def fit(loader, epochs):
    model = build().to("cuda")
    opt = torch.optim.AdamW(model.parameters())
    sched = torch.optim.lr_scheduler.StepLR(opt, 1)
    scaler = GradScaler()
    model, opt = accelerator.prepare(model, opt)
    for epoch in range(epochs):
        model.train()
        for batch in loader:
            step_fn(model, opt, scaler, batch)
        sched.step()
        def inner():
            opt.step()
        model = model.to("cpu")
    model.eval()

model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for batch in loader:
    opt.zero_grad(); model(batch).mean().backward(); opt.step()
"""


def test_entity_answers_do_not_depend_on_the_order_names_are_asked_in() -> None:
    names = ["model", "opt", "sched", "scaler", "net", "loader", "batch", "loss"]
    first, second = build(_TRAINING), build(_TRAINING)
    places = [None, *first.calls]
    asked = [(name, index) for name in names for index in range(len(places))]

    def answers(model: SemanticModel, order: list[tuple[str, int]]) -> dict[tuple[str, int], object]:
        spots = [None, *model.calls]
        found = {}
        for name, index in order:
            entity = model.entity(name, spots[index])
            found[(name, index)] = None if entity is None else (entity.kind, entity.assignment.start_byte)
        return found

    forward, backward = answers(first, asked), answers(second, list(reversed(asked)))
    assert forward == backward
    assert forward[("opt", 0)] is not None and forward[("sched", 0)] == ("scheduler", _TRAINING.index("sched ="))
    # A lookup while classifying sees only earlier bindings: `model = build().to(...)` is a model
    # through the factory, and `model = model.to("cpu")` keeps it one.
    assert {entity.kind for entity in first.entities["model"]} == {"model"}


def test_function_summaries_equal_one_slice_per_function_body() -> None:
    model = build(_TRAINING)
    direct: dict[str, set[str]] = {}
    callees: dict[str, set[str]] = {}
    for info in model.functions.values():
        body = info.node.child_by_field_name("body")
        assert body is not None
        direct[info.qualname] = {effect.kind for effect in model.effects_in(body)}
        callees[info.qualname] = {helper.qualname for _call, helper in model.helper_calls_in(body) if helper is not info}
    closed = {name: set(kinds) for name, kinds in direct.items()}
    for _ in range(10):
        for name, called in callees.items():
            for callee in called:
                closed[name] |= closed.get(callee, set())
    assert {info.qualname: info.effects for info in model.functions.values()} == closed
    assert {"backward", "scaler_step", "zero_grad", "opt_step"} <= closed["fit"]  # through step_fn and inner()


def test_call_order_is_the_same_on_every_parse_and_inner_first_for_shared_starts() -> None:
    code = "a.f().g().h(x)\nb(1)(2)(3)\nc.d(e.f(g()).h()).i()\n" * 20
    orders = {tuple((call.start_byte, call.end_byte) for call in build(code).calls) for _ in range(8)}
    assert len(orders) == 1
    (order,) = orders
    assert list(order) == sorted(order)


def test_callee_names_read_from_bytes_equal_the_tree() -> None:
    from ml_engineer.analysis.syntax import call_method_name

    code = (
        "a . b ( 1 )\nf\t(2)\nx.y(\n 3)\nz[0](4)\n(p or q)(5)\nm.n().o(6)\nk.v  # c\n\n"
        "s = 'a.b(' + t.u(7)\nvé.w(8)\nv.wé(9)\nprint (10)\nlambda: r.s(11)\n"
    )
    model = build(code)
    assert [model.method_name(call) for call in model.calls] == [call_method_name(call) for call in model.calls]


_ASSIGNMENTS = """\
x = 1
y: int = 2
z: float
a = b = c = 3
p, q = 1, 2
self.w = 4
self.v: int = 4
a.b.c, g , h.i = 1, 2, 3
m, m = 1, 2
k, = 1,
n, d[1] = 1, 2
d[0] = 5
print = 6
u=7;v=8
λ = 9
t \\
    = 10
e = (f := 11)
"""


def _bindings_read_from_the_tree(model: SemanticModel) -> dict[str, list[int]]:
    from ml_engineer.analysis.syntax import assignment_targets, dotted_name

    expected: dict[str, list[int]] = {}
    for assign in model.index.get("assign", []):
        left, right = assign.child_by_field_name("left"), assign.child_by_field_name("right")
        if left is not None and left.type in ("pattern_list", "tuple_pattern") and (right is None or right.type != "assignment"):
            targets = left.named_children
        else:
            targets = assignment_targets(assign) if right is not None and right.type == "assignment" else [left]
        for name in (dotted_name(target) for target in targets):
            if name is not None:
                expected.setdefault(name, []).append(assign.start_byte)
    return expected


def test_assignment_names_read_from_the_bytes_equal_the_tree_targets() -> None:
    model = build(_ASSIGNMENTS)
    assert not model.root.has_error
    found = {name: [assign.start_byte for assign in assigns] for name, assigns in model.assignments.items()}
    assert found == _bindings_read_from_the_tree(model)
    assert {"x", "y", "z", "a", "b", "c", "print", "u", "v", "λ", "t", "e", "self.v", "a.b.c", "g", "h.i", "k", "n"} <= found.keys()
    assert len(found["m"]) == 2  # `m, m = ...` binds `m` twice, as the tree's targets do


def test_possessive_byte_patterns_match_as_their_backtracking_forms() -> None:
    import re

    from ml_engineer.analysis import model as model_module

    sample = (
        b"a.b.c(x) f (y) obj . meth\t(z) a.b. c( a..b( x.1( _x9.y_( a.b.c = 1 x: int = 2 x == 3 x\\\n.f()"
        b" None = 4 Nonex = 5 True.f() a.(b) q.r.s.t.u.v(w) \xce\xbb.f() x\xce\xbb(1) abc a, b.c = 1 a.b , c: d"
        b" a.True = 1 a,,b = 2 a.b.c\t,\td = 3 a. b = 4 x.y[0] = 5 p, *q = 6 r,s"
    )
    for pattern in (model_module._PLAIN_CALLEE, model_module._PLAIN_TARGETS):
        plain = re.compile(pattern.pattern.replace(b"*+", b"*"))
        for offset in range(len(sample)):
            found, expected = pattern.match(sample, offset), plain.match(sample, offset)
            assert (found and (found.span(), found.groups())) == (expected and (expected.span(), expected.groups()))


_FUNCTIONS = """\
import torch


class A:
    def f(self): ...

    @torch.no_grad()
    async def g(self): ...

    if True:
        def h(self): ...


class A:  # a second class of the name: its methods have no owner
    def k(self): ...


def λ(x): ...
def fλ(x): ...
async  def \\
    spaced(x): ...
"""


def test_function_names_and_owners_read_from_the_bytes_equal_the_tree() -> None:
    from ml_engineer.analysis.syntax import function_name

    model = build(_FUNCTIONS)
    infos = list(model.functions.values())
    assert [info.name for info in model._functions_by_node.values()] == [
        function_name(node) for node in model.index["function"]
    ]
    assert [info.qualname for info in model._functions_by_node.values()] == [
        "A.f", "A.g", "h", "k", "λ", "fλ", "spaced"
    ]
    assert model.functions["A.g"].grad_mode == "no_grad" and len(infos) == 7


def _dotted_by_walking(node) -> str | None:  # type: ignore[no-untyped-def]
    parts: list[str] = []
    while node is not None:
        if node.type == "identifier":
            return ".".join([node.text.decode(), *reversed(parts)])
        if node.type != "attribute":
            return None
        parts.append(node.child_by_field_name("attribute").text.decode())
        node = node.child_by_field_name("object")
    return None


def test_dotted_name_shortcuts_equal_walking_the_chain() -> None:
    from ml_engineer.analysis.parsing import walk
    from ml_engineer.analysis.syntax import dotted_name

    model = build("a = b.c.d\nx = f(y).z\nn = self . opt\nq = a[0].b\nλ.μ = None.x\nt = True\n")
    nodes = list(walk(model.root))
    assert len(nodes) > 20
    for node in nodes:
        assert dotted_name(node) == _dotted_by_walking(node), node.text
    assert dotted_name(None) is None


def test_assignment_names_read_from_the_bytes_equal_the_tree_targets_while_the_file_has_errors() -> None:
    # As while typing: a half-typed call and a broken assignment. Assignments without an error in
    # them still take the byte path; the broken ones the tree path; together the tree's answer.
    model = build(_ASSIGNMENTS + "broken = foo(\nq = = 3\nlast = 1\n")
    assert model.root.has_error
    found = {name: [assign.start_byte for assign in assigns] for name, assigns in model.assignments.items()}
    assert found == _bindings_read_from_the_tree(model)
    assert {"x", "a.b.c", "λ", "t"} <= found.keys()


def test_imports_module_is_true_for_imported_modules_and_their_packages_only() -> None:
    model = build("import torch.nn as nn\nfrom sklearn.model_selection import KFold\nfrom . import sibling\n")
    imports = model.imports
    for root in ("torch", "torch.nn", "sklearn", "sklearn.model_selection"):
        assert imports.imports_module(root), root
    for root in ("tor", "torch.nn.functional", "nn", "sklearn.model", "keras", "KFold"):
        assert not imports.imports_module(root), root

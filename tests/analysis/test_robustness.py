"""Analysis of arbitrary or damaged text never raises, and every rule stays isolated."""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml_engineer.analysis.config import Config
from ml_engineer.analysis.engine import analyze

FIXTURES = sorted((Path(__file__).parent.parent / "fixtures" / "rules").glob("ML*.py"))
EXAMPLES = sorted((Path(__file__).parent.parent.parent / "examples").glob("*.py"))
ALL_RULES = Config(select=("ML",))
PY_TOKENS = st.sampled_from(
    ["for ", "while ", "with torch.no_grad():", "def f(", "class A(nn.Module):", "\n", "    ", "(", ")", "[", "]",
     ":", "=", "+=", ".backward()", ".step()", "zero_grad()", "model", "opt", "loss", "torch.load(", "import torch\n",
     "import torch.nn as nn\n", "F.softmax(", "==", "np.nan", "'", '"', "\\", "#", "# noqa: ML101", "\t", "\r\n",
     "😀", "é", "\x00", "lambda x:", "yield", "async ", "await ", "**kwargs", "*", ",", "@torch.no_grad()\n"]
)


def assert_analyses(text: str) -> None:
    result = analyze(text, "fuzz.py", ALL_RULES)
    assert not result.failures, result.failures[0].trace
    for finding in result.findings:
        assert 0 <= finding.span.start <= finding.span.end <= len(result.source.data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_arbitrary_text_never_raises(text: str) -> None:
    assert_analyses(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PY_TOKENS, max_size=80))
def test_python_shaped_noise_never_raises(tokens: list[str]) -> None:
    assert_analyses("".join(tokens))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_fixtures_never_raise(data: st.DataObject) -> None:
    sources = FIXTURES + EXAMPLES
    path = data.draw(st.sampled_from(sources))
    text = path.read_text(encoding="utf-8")
    rng = random.Random(data.draw(st.integers(0, 2**32 - 1)))
    chars = list(text)
    for _ in range(rng.randint(1, 25)):
        op = rng.random()
        pos = rng.randrange(len(chars) + 1)
        if op < 0.4 and chars:
            del chars[min(pos, len(chars) - 1)]
        elif op < 0.8:
            chars.insert(pos, rng.choice(["(", ")", ":", "\n", "    ", "=", ".", "x", "'", "😀"]))
        else:
            # cut a slice out: unbalanced blocks, half statements
            end = min(len(chars), pos + rng.randint(1, 200))
            del chars[pos:end]
    assert_analyses("".join(chars))


def test_deeply_nested_and_long_inputs() -> None:
    assert_analyses("x = " + "(" * 500 + "1" + ")" * 500)
    assert_analyses("for i in x:\n" + "".join("    " * d + f"for j{d} in y:\n" for d in range(1, 60)) + "    " * 60 + "loss.backward()\n")
    assert_analyses("loss.backward()\n" * 5000)

"""The anchored keyword-assignment scan in `secrets` finds exactly what the plain regex scan finds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ml_engineer.analysis import secrets

_PIECES = st.sampled_from(
    ["a", "b", "_", "X", "1", ".", "-", "=", "!", "<", " ", "\n", "\t", "'", '"', ":", "[", "]", ",", "r",
     "api_key", "token", " = ", "=='", "\u00a0", "x0f", "hf_token: str = "]
)


def _plain(text: str) -> list[tuple[tuple[int, int], dict[str, str | None]]]:
    return [(m.span(), m.groupdict()) for m in secrets._KEYWORD_ASSIGNMENT.finditer(text)]


def _anchored(text: str) -> list[tuple[tuple[int, int], dict[str, str | None]]]:
    return [(m.span(), m.groupdict()) for m in secrets._keyword_assignments(text)]


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=40).map("".join))
def test_anchored_scan_matches_plain_scan(text: str) -> None:
    assert _anchored(text) == _plain(text)


def test_anchored_scan_on_realistic_code() -> None:
    text = (
        'WANDB_API_KEY = "3f9a1c7e5b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a"\n'
        "x = 0x0f\n"
        "result = b''\n"
        'cfg = dict(api_token="hf_abcdefghijklmnopqrstuvwxyzABCDEF123456", name="run")\n'
        'token: str = "a=b" if x == "y" else "c"\n'
        "def f(secret_key: Dict[str, int] = 'k1234567890abcdef'): ...\n"
    )
    assert _anchored(text) == _plain(text)
    assert [m["name"] for _span, m in _anchored(text)][:2] == ["WANDB_API_KEY", "result"]

"""The language server with rule ML113 replaced by one that prints to stdout and raises (rule isolation)."""

import sys

from ml_engineer.analysis.rules.ml113_requires_grad_typo import RequiresGradTypo
from ml_engineer.lsp.server import run_server


def _broken_check(self, ctx):  # type: ignore[no-untyped-def]
    print("a stray print from a rule must not reach the protocol stream")
    raise RuntimeError("deliberately broken for the test")


RequiresGradTypo.check = _broken_check  # type: ignore[method-assign]
sys.exit(run_server())

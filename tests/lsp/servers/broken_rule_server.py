"""The language server with rule ML113 replaced by one that raises (to test rule isolation)."""

import sys

from ml_engineer.analysis.rules.ml113_requires_grad_typo import RequiresGradTypo
from ml_engineer.lsp.server import run_server


def _broken_check(self, ctx):  # type: ignore[no-untyped-def]
    raise RuntimeError("deliberately broken for the test")


RequiresGradTypo.check = _broken_check  # type: ignore[method-assign]
sys.exit(run_server())

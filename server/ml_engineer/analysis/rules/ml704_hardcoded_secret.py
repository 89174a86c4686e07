"""ML704 hardcoded-secret."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from ..findings import Finding
from ..secrets import find_secrets
from ..source import Span
from .base import Rule, RuleContext

# A secret counts when it sits in a string literal or a comment, not in code that merely looks like one.
_TEXT_NODES = frozenset({"string", "string_content", "comment", "concatenated_string"})


class HardcodedSecret(Rule):
    """## What it does
    Flags API keys, tokens and passwords written into the source: Weights & Biases, Hugging Face,
    OpenAI and Anthropic keys, AWS access keys, Comet and Neptune tokens, private keys, passwords
    in URLs, and random-looking literals assigned to credential names (`api_key = "..."`,
    `os.environ["WANDB_API_KEY"] = "..."`). Values read from the environment (`os.environ[...]`,
    `os.getenv(...)`) are not literals and are not reported; a literal *default* passed to
    `os.getenv` is, since it is still in the source.

    ## Why is this bad?
    Source files end up in git history, notebooks shared with colleagues, Docker images and
    public repositories. Anyone who reads the file can use the key: spend your OpenAI credit,
    overwrite your W&B projects, push to your Hugging Face models, or reach your AWS account.
    Removing the line later does not remove it from history.

    ## Example
    ```python
    wandb.login(key="5d2f0c7e9b1a4e8f0c3d6a9b2e5f8a1c4d7e0b3f")
    ```

    ## Use instead
    ```python
    import os
    wandb.login(key=os.environ["WANDB_API_KEY"])  # or run `wandb login` once
    ```

    ## Fix safety
    No fix: the key must be revoked and rotated, and read from the environment or a secrets
    manager; the message never repeats the secret itself.

    ## References
    - https://docs.wandb.ai/guides/track/environment-variables
    - https://huggingface.co/docs/huggingface_hub/quick-start#authentication
    - https://docs.github.com/en/code-security/secret-scanning/about-secret-scanning
    """

    code = "ML704"
    name = "hardcoded-secret"
    severity = "error"
    summary = "Credential written in the source instead of read from the environment"
    fix_availability = "never"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        root = ctx.model.root
        for match in find_secrets(ctx.source.text):
            node = root.descendant_for_byte_range(match.start, match.end)
            if node is None or not _in_text(node):
                continue
            where = f" assigned to `{match.name}`" if match.name else ""
            yield self.finding(
                root,
                f"Hard-coded {match.label}{where}: anyone with the file can use it; revoke it and read it from "
                "the environment (`os.environ[...]`) or a secrets manager",
                span=Span(match.start, match.end),
            )


def _in_text(node: Node | None) -> bool:
    current = node
    for _ in range(3):
        if current is None:
            return False
        if current.type in _TEXT_NODES:
            return True
        current = current.parent
    return False

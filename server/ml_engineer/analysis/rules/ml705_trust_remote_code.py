"""ML705 trust-remote-code."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import Finding
from ..syntax import keyword_argument_node, string_value, text
from .base import Rule, RuleContext


class TrustRemoteCode(Rule):
    """## What it does
    Flags `trust_remote_code=True` passed to Hugging Face loaders (`from_pretrained`,
    `load_dataset`, `pipeline`, `SentenceTransformer`, ...) or put in a dict of loader arguments.

    ## Why is this bad?
    With `trust_remote_code=True`, the loader downloads Python files from the model or dataset
    repository and executes them in your process, with your credentials and file system. A
    compromised or malicious repository, or a later commit to it, runs whatever it wants.

    ## Example
    ```python
    model = AutoModel.from_pretrained("someone/custom-model", trust_remote_code=True)
    ```

    ## Use instead
    ```python
    # Prefer architectures built into the library; if remote code is required, review it and
    # pin the exact commit you reviewed:
    model = AutoModel.from_pretrained("someone/custom-model", trust_remote_code=True, revision="3f1c2ab")  # noqa: ML705
    ```

    ## Fix safety
    No fix: removing the flag makes loading fail for models that need their own code.

    ## References
    - https://huggingface.co/docs/transformers/models#custom-models
    - https://huggingface.co/docs/datasets/load_hub#remote-code
    """

    code = "ML705"
    name = "trust-remote-code"
    severity = "warning"
    summary = "`trust_remote_code=True` runs code downloaded from the model repository"
    fix_availability = "never"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        spelt = b"trust_remote_code" in ctx.source.data  # else no call passes the keyword
        for call in ctx.model.calls if spelt else ():
            keyword = keyword_argument_node(call, "trust_remote_code")
            if keyword is None:
                continue
            value = keyword.child_by_field_name("value")
            if value is None or value.type != "true":
                continue
            func = text(call.child_by_field_name("function"))
            pinned = " (`revision=` pins it; keep it reviewed)" if keyword_argument_node(call, "revision") else ""
            yield self.finding(
                keyword,
                f"`trust_remote_code=True` in `{func}(...)` downloads and runs Python code from the repository"
                f"{pinned}; prefer a built-in architecture, or review and pin the code",
            )
        # Dict literals are not indexed: find the few places the key is spelt.
        data = ctx.source.data
        start = data.find(b"trust_remote_code")
        while start != -1:
            node = ctx.model.root.descendant_for_byte_range(start, start + len("trust_remote_code"))
            pair = node.parent.parent if node is not None and node.parent is not None else None
            if pair is not None and pair.type == "pair":
                key = pair.child_by_field_name("key")
                value = pair.child_by_field_name("value")
                if string_value(key) == "trust_remote_code" and value is not None and value.type == "true":
                    yield self.finding(
                        pair,
                        "`\"trust_remote_code\": True` in loader arguments downloads and runs Python code from the "
                        "repository; prefer a built-in architecture, or review and pin the code",
                    )
            start = data.find(b"trust_remote_code", start + 1)

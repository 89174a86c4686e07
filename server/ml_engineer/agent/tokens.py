"""Offline token estimate for text sent to the model.

The SDK ships no tokenizer and ``count_tokens`` is a network call, so budgets are enforced with
an estimate: one token per ``CHARS_PER_TOKEN`` characters, rounded up. 3.5 characters per token
is a deliberately pessimistic figure for Python source with line-number prefixes (code is denser
in tokens than prose, and recent Claude tokenizers produce more tokens for the same text), so
the real count of a context cut to N estimated tokens is usually at most N. ``AnthropicBackend.
count_tokens`` gives the exact figure when a key is available; benchmarks/context_size.py can
compare the two (``--count-tokens``).
"""

from __future__ import annotations

import math

CHARS_PER_TOKEN = 3.5


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


def estimate_chars(chars: int) -> int:
    return math.ceil(chars / CHARS_PER_TOKEN) if chars > 0 else 0

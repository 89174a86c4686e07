"""Detect hard-coded credentials in source text and redact them.

Pure functions over a string: no parsing, no I/O. Used by rule ML704 (hardcoded-secret) and by
the agent layer, which redacts every snippet before it leaves the machine.

Two kinds of evidence are combined:

* token *formats* that identify a vendor on their own (``hf_...``, ``sk-ant-...``, ``AKIA...``,
  ``AIza...``, PEM private keys, ``https://user:token@host``);
* string literals *assigned* to a credential-like name (``WANDB_API_KEY = "..."``,
  ``api_token="..."``, ``{"password": "..."}``, ``os.environ["X"] = "..."``) whose value looks
  random rather than like a word, a path or a placeholder.

Values read from the environment (``os.environ["WANDB_API_KEY"]``, ``os.getenv("X")``) are not
literals and never match. Placeholders (``"<your-key>"``, ``"xxx"``, ``"changeme"``, ``""``) are
ignored.

Offsets are byte offsets into ``text.encode("utf-8")``, like every span in the analysis core.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["KIND_LABELS", "Redaction", "SecretMatch", "find_secrets", "redact"]

#: Human-readable name of each secret kind, for messages.
KIND_LABELS: dict[str, str] = {
    "anthropic": "Anthropic API key",
    "openai": "OpenAI API key",
    "huggingface": "Hugging Face token",
    "wandb": "Weights & Biases API key",
    "comet": "Comet API key",
    "neptune": "Neptune API token",
    "aws_access_key_id": "AWS access key id",
    "aws_secret_access_key": "AWS secret access key",
    "gcp_api_key": "Google Cloud API key",
    "private_key": "private key",
    "url_credentials": "password in a URL",
    "generic": "secret",
}


@dataclass(frozen=True)
class SecretMatch:
    """A credential found in the text.

    ``start``/``end`` delimit the secret *value* only (not the quotes, not the name), as byte
    offsets into the utf-8 encoding of the text. ``name`` is the identifier or key the value is
    assigned to when there is one (``"WANDB_API_KEY"``, ``"api_token"``), else ``None``.
    """

    start: int
    end: int
    kind: str
    name: str | None = None

    @property
    def label(self) -> str:
        return KIND_LABELS.get(self.kind, "secret")


@dataclass(frozen=True)
class Redaction:
    """One replacement made by :func:`redact`, located in the *original* text."""

    start: int
    end: int
    kind: str
    name: str | None
    line: int  # 1-based line of the start of the value
    replacement: str


# --- token formats --------------------------------------------------------------------------

_FORMAT_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("anthropic", re.compile(r"(?<![A-Za-z0-9_-])sk-ant-[A-Za-z0-9]{2,8}-[A-Za-z0-9_\-]{20,}")),
    ("openai", re.compile(r"(?<![A-Za-z0-9_-])sk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}")),
    ("huggingface", re.compile(r"(?<![A-Za-z0-9_])hf_[A-Za-z0-9]{30,}")),
    ("aws_access_key_id", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?![A-Z0-9])")),
    ("gcp_api_key", re.compile(r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_\-]{35}(?![A-Za-z0-9_-])")),
]
# Literals every match of a format pattern contains: searching them is far cheaper than a regex scan
# that tries every position of a large file, and most files contain none of them. Each search reads
# the whole text, so literals sharing a beginning are looked for together first (`sk-` before
# `sk-ant-`; the AWS prefixes AKIA, ASIA, ABIA, ACCA with Google's AIza), and patterns start with a
# literal character the regex engine skips to.
_FORMAT_LITERALS: dict[str, re.Pattern[str]] = {
    "anthropic": re.compile(r"sk-ant-"),
    "openai": re.compile(r"sk-"),
    "huggingface": re.compile(r"hf_"),
    "aws_access_key_id": re.compile(r"A(?:KIA|SIA|BIA|CCA)"),
    "gcp_api_key": re.compile(r"AIza"),
}
_A_PREFIXES = re.compile(r"A(?:KIA|SIA|BIA|CCA|Iza)")  # the AWS and Google literals in one search

# A PEM private key, possibly written with literal "\n" escapes inside a string.
_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?P<algo>[A-Z ]*?)PRIVATE KEY-----"
    r"(?P<body>(?:(?!-----END).){0,20000}?)"
    r"-----END (?P=algo)PRIVATE KEY-----",
    re.DOTALL,
)

# scheme://user:password@host -- the password group is what gets redacted.
_URL_CREDENTIALS = re.compile(
    r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://(?P<user>[^\s/:@\"'<>]+):(?P<password>[^\s/@\"'<>]+)@[^\s/\"'<>]+"
)

# --- credential-like names with literal values ------------------------------------------------

_STR = r"(?:[rRuUbB]{0,2})(?P<q>\"|')(?P<value>[^\"'\n\\]*)(?P=q)"
_NAME = r"(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)"
# `"name": "v"` after its opening quote (see `_QUOTED_NAME_STARTS`)
_AFTER_OPENING_QUOTE = _NAME + r"[\"']\s*(?::|\]\s*=(?!=))\s*" + _STR
_ASSIGNMENT_PATTERNS: list[re.Pattern[str]] = [
    # name = "v", name="v" (keyword argument), name: str = "v"
    re.compile(_NAME + r"\s*(?::\s*[A-Za-z_][A-Za-z0-9_\[\], ]*)?(?<![=!<>])=(?!=)\s*" + _STR),
    # "name": "v" (dict literal, JSON), os.environ["NAME"] = "v"
    re.compile(r"[\"']" + _AFTER_OPENING_QUOTE),
    # os.environ.setdefault("NAME", "v"), os.getenv("NAME", "v"), dict(NAME="v") is covered above
    re.compile(r"\.(?:setdefault|getenv|get|putenv)\(\s*[\"']" + _NAME + r"[\"']\s*,\s*" + _STR),
    # .env / shell / YAML lines: NAME=value, export NAME=value, name: value
    re.compile(
        r"(?m)^[ \t]*(?:export[ \t]+)?" + _NAME + r"[ \t]*[=:][ \t]*(?P<q>)(?P<value>[A-Za-z0-9_\-+/=.~]{16,})[ \t]*$"
    ),
]
_KEYWORD_ASSIGNMENT = _ASSIGNMENT_PATTERNS[0]
_QUOTED_NAME_ASSIGNMENT = _ASSIGNMENT_PATTERNS[1]
_LINE_ASSIGNMENT = _ASSIGNMENT_PATTERNS[3]
# The end of every `_LINE_ASSIGNMENT` match: lines holding one are found by these instead of trying
# the `^`-anchored pattern at every position. One pattern per leading character: the regex engine
# skips to a literal first character with a fast search, but tests a leading set (`[=:]`) at every
# position of the text, which costs ten times more on a large file.
_LINE_ASSIGNMENT_TAILS = [re.compile(r"(?m)" + re.escape(first) + r"[ \t]*[A-Za-z0-9_\-+/=.~]{16,}[ \t]*$") for first in "=:"]
# Where `_QUOTED_NAME_ASSIGNMENT` matches, one pattern per opening quote (see above): each finds the
# quote that starts a match and consumes only that character, so overlapping matches are all found.
_QUOTED_NAME_STARTS = [
    re.compile(re.escape(quote) + "(?=" + _AFTER_OPENING_QUOTE + ")") for quote in "\"'"
]
# Where a match of `_KEYWORD_ASSIGNMENT` can have its `=`: the pattern is then tried only just
# before those places instead of at every position of the text (see `_keyword_assignments`).
# (Starting with the literal `=`, then looking behind, lets the regex engine skip to each `=`.)
_ASSIGN_ANCHOR = re.compile(r"=(?<![=!<>]=)(?!=)(?=(\s*[rRuUbB]{0,2}[\"']))")
# Characters a match can hold before its `=`: name, whitespace, `: Annotation[...]`.
_BEFORE_EQUALS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-[], :")

_NAME_WORD_SPLIT = re.compile(r"[_.\-]+|(?<=[a-z0-9])(?=[A-Z])")
_SECRET_WORDS = {"token", "secret", "password", "passwd", "pwd", "apikey", "credential", "credentials"}
_KEY_QUALIFIERS = {"api", "access", "secret", "private", "auth", "client", "account", "master", "license"}
_VENDOR_WORDS: list[tuple[str, str]] = [
    ("wandb", "wandb"),
    ("comet", "comet"),
    ("neptune", "neptune"),
    ("hf", "huggingface"),
    ("huggingface", "huggingface"),
    ("hugging", "huggingface"),
    ("openai", "openai"),
    ("anthropic", "anthropic"),
    ("claude", "anthropic"),
]
# Calls whose ``key=``/``api_key=``/``api_token=`` argument is a vendor credential.
_VENDOR_CALLS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bwandb\.(?:login|init)\s*\("), "wandb"),
    (re.compile(r"\bcomet_ml\.\w+\s*\("), "comet"),
    (re.compile(r"\bneptune\.\w+\s*\("), "neptune"),
    (re.compile(r"\bhuggingface_hub\.login\s*\(|(?<![.\w])login\s*\(|\bfrom_pretrained\s*\("), "huggingface"),
]

_PLACEHOLDER_WORDS = (
    "your",
    "xxx",
    "changeme",
    "change_me",
    "change-me",
    "placeholder",
    "example",
    "dummy",
    "redacted",
    "insert",
    "replace",
    "todo",
    "fixme",
    "secret_here",
    "key_here",
    "token_here",
    "none",
    "null",
    "...",
    "***",
)


def find_secrets(text: str) -> list[SecretMatch]:
    """Every credential in ``text``, sorted by position, non-overlapping.

    When two detections overlap, the one with a specific kind wins over ``generic``, then the
    longer one.
    """
    candidates = list(_iter_candidates(text))
    candidates.sort(key=lambda c: (c[0], -(c[1] - c[0]), c[2] == "generic"))
    chosen: list[tuple[int, int, str, str | None]] = []
    for cand in candidates:
        overlapping = [c for c in chosen if c[0] < cand[1] and cand[0] < c[1]]
        if not overlapping:
            chosen.append(cand)
            continue
        # The same value found by its format and by its assignment: keep the format, add the name.
        same = next((c for c in overlapping if c[:2] == cand[:2]), None)
        if same is not None and same[3] is None and cand[3] is not None:
            chosen[chosen.index(same)] = (same[0], same[1], same[2], cand[3])
            continue
        # Replace a generic detection by a specific one over the same value.
        if cand[2] != "generic" and all(c[2] == "generic" for c in overlapping):
            for c in overlapping:
                chosen.remove(c)
            name = cand[3] or next((c[3] for c in overlapping if c[3]), None)
            chosen.append((cand[0], cand[1], cand[2], name))
    chosen.sort()
    offsets = _ByteOffsets(text)
    return [SecretMatch(offsets.of(s), offsets.of(e), kind, name) for s, e, kind, name in chosen]


def redact(text: str) -> tuple[str, list[Redaction]]:
    """Replace every secret value in ``text`` by ``<redacted:kind>``.

    Returns the new text and the redactions made, located in the original text.
    """
    matches = find_secrets(text)
    if not matches:
        return text, []
    data = text.encode("utf-8")
    pieces: list[bytes] = []
    redactions: list[Redaction] = []
    cursor = 0
    for m in matches:
        replacement = f"<redacted:{m.kind}>"
        pieces.append(data[cursor : m.start])
        pieces.append(replacement.encode("utf-8"))
        cursor = m.end
        line = data.count(b"\n", 0, m.start) + 1
        redactions.append(Redaction(m.start, m.end, m.kind, m.name, line, replacement))
    pieces.append(data[cursor:])
    return b"".join(pieces).decode("utf-8"), redactions


# --- internals --------------------------------------------------------------------------------


def _iter_candidates(text: str) -> Iterator[tuple[int, int, str, str | None]]:
    """(char start, char end, kind, name) of every detection, possibly overlapping."""
    present = _format_literals_present(text)
    for kind, pattern in _FORMAT_PATTERNS:
        if not present[kind]:
            continue
        for m in pattern.finditer(text):
            if not is_placeholder(m.group(0)) and _token_body_looks_generated(kind, m.group(0)):
                yield m.start(), m.end(), kind, None
    if "PRIVATE KEY-----" in text:
        for m in _PRIVATE_KEY.finditer(text):
            body = re.sub(r"\\n|\s", "", m.group("body"))
            if len(body) >= 40 and not is_placeholder(body):
                yield m.start(), m.end(), "private_key", None
    if "://" in text:
        for m in _URL_CREDENTIALS.finditer(text):
            password = m.group("password")
            if password.startswith(("$", "{", "%")) or is_placeholder(password):
                continue  # "${TOKEN}", "{token}", "%s": filled in from elsewhere
            if re.fullmatch(r"[a-z]{1,16}", password) and (password in _DOC_PASSWORDS or password == m.group("user")):
                continue  # "user:password@host", "postgres:postgres@localhost": documentation and dev defaults
            yield m.start("password"), m.end("password"), "url_credentials", m.group("user")
    for pattern in _ASSIGNMENT_PATTERNS:
        if pattern is _KEYWORD_ASSIGNMENT:
            matches: Iterator[re.Match[str]] = _keyword_assignments(text)
        elif pattern is _LINE_ASSIGNMENT:
            matches = _line_assignments(text)
        elif pattern is _QUOTED_NAME_ASSIGNMENT:
            matches = _quoted_name_assignments(text)
        else:
            matches = pattern.finditer(text)
        for m in matches:
            name: str = m.group("name")
            value: str = m.group("value")
            name_kind = _kind_for_name(name, text, m.start())
            if name_kind is None:
                continue
            if name_kind == "aws_secret_access_key":
                if not re.fullmatch(r"[A-Za-z0-9/+=]{40}", value) or is_placeholder(value):
                    continue
            elif not _looks_random_cached(value, 10 if name_kind != "generic" else 16):
                continue
            yield m.start("value"), m.end("value"), name_kind, name.rsplit(".", 1)[-1]


def _format_literals_present(text: str) -> dict[str, bool]:
    """Kind -> whether the text holds one of `_FORMAT_LITERALS[kind]`, in as few scans as possible."""
    sk = _FORMAT_LITERALS["openai"].search(text) is not None
    a_prefixed = _A_PREFIXES.search(text) is not None
    return {
        "anthropic": sk and _FORMAT_LITERALS["anthropic"].search(text) is not None,
        "openai": sk,
        "huggingface": _FORMAT_LITERALS["huggingface"].search(text) is not None,
        "aws_access_key_id": a_prefixed and _FORMAT_LITERALS["aws_access_key_id"].search(text) is not None,
        "gcp_api_key": a_prefixed and _FORMAT_LITERALS["gcp_api_key"].search(text) is not None,
    }


def _keyword_assignments(text: str) -> Iterator[re.Match[str]]:
    """The matches of `_KEYWORD_ASSIGNMENT.finditer(text)`, found by trying the pattern only near
    each `=` that is followed by a string (the scan at every position costs ~0.3 s on 20k lines).

    A match's text before its `=` holds only `_BEFORE_EQUALS` characters, so it starts after the
    last other character before that `=`, and ends (with the string) on the string's line.
    """
    position = 0
    for anchor in _ASSIGN_ANCHOR.finditer(text):
        equals = anchor.start()
        if equals < position:
            continue
        start = equals
        while start > position and (text[start - 1] in _BEFORE_EQUALS or text[start - 1].isspace()):
            start -= 1
        line_end = text.find("\n", anchor.end(1))
        m = _KEYWORD_ASSIGNMENT.search(text, start, line_end if line_end != -1 else len(text))
        # A match starting after this `=` has its own anchor further on.
        if m is not None and m.start() < equals:
            yield m
            position = m.end()


def _line_assignments(text: str) -> Iterator[re.Match[str]]:
    """The matches of `_LINE_ASSIGNMENT.finditer(text)` (one line each, at its start), trying the
    pattern only at the start of the lines `_LINE_ASSIGNMENT_TAILS` find (each at most once).

    A tail never spans a line break, so the lines holding one are those where either pattern
    (`=...` or `:...`) matches; a line holds at most one `_LINE_ASSIGNMENT` match.
    """
    line_starts = {
        text.rfind("\n", 0, tail.start()) + 1 for pattern in _LINE_ASSIGNMENT_TAILS for tail in pattern.finditer(text)
    }
    for line_start in sorted(line_starts):
        m = _LINE_ASSIGNMENT.match(text, line_start)
        if m is not None:
            yield m


def _quoted_name_assignments(text: str) -> Iterator[re.Match[str]]:
    """The matches of `_QUOTED_NAME_ASSIGNMENT.finditer(text)`, tried only where one starts.

    `finditer` returns the leftmost match, then the leftmost one starting at or after its end, and
    so on: the same walk over the sorted start positions, skipping those inside the last match.
    """
    starts = sorted(m.start() for pattern in _QUOTED_NAME_STARTS for m in pattern.finditer(text))
    position = 0
    for start in starts:
        if start < position:
            continue
        m = _QUOTED_NAME_ASSIGNMENT.match(text, start)
        if m is not None:
            yield m
            position = m.end()


def _kind_for_name(name: str, text: str, position: int) -> str | None:
    """The secret kind a name suggests (``None`` when it does not look like a credential)."""
    kind = _kind_of_name_words(name)
    if kind is _ASK_ENCLOSING_CALL:
        return _enclosing_vendor_call(text, position) or "generic"
    return kind


# What `_kind_of_name_words` answers for a bare `key`/`token`-like name: the call it is passed to decides.
_ASK_ENCLOSING_CALL = "<enclosing call>"


@lru_cache(maxsize=4096)
def _kind_of_name_words(name: str) -> str | None:
    """`_kind_for_name` from the name alone, or `_ASK_ENCLOSING_CALL`.

    Cached: a file repeats its names (`device_type="cuda"` on every autocast), and the answer
    depends on the name only.
    """
    words = [w.lower() for w in _NAME_WORD_SPLIT.split(name) if w]
    if not words:
        return None
    joined = "".join(words)
    is_credential = bool(_SECRET_WORDS.intersection(words)) or "apikey" in joined
    if "key" in words and (_KEY_QUALIFIERS.intersection(words) or len(words) == 1):
        is_credential = True
    if "key" in words and any(word in words for word, _kind in _VENDOR_WORDS):
        is_credential = True  # `WANDB_KEY`, `OPENAI_KEY`, `hf_key`
    if not is_credential or "public" in words:
        return None  # `publicKeyToken`, `public_key`: meant to be shared
    if "aws" in words and "secret" in words:
        return "aws_secret_access_key"
    for word, kind in _VENDOR_WORDS:
        if word in words:
            return kind
    if words in (["key"], ["api", "key"], ["apikey"], ["api", "token"], ["token"]):
        return _ASK_ENCLOSING_CALL
    return "generic"


def _enclosing_vendor_call(text: str, position: int) -> str | None:
    """The vendor of the call a keyword argument at ``position`` belongs to, if recognisable.

    Looks at the current line, and at up to three previous lines when the argument sits on a
    continuation line of a multi-line call; the closest recognised call wins.
    """
    start = text.rfind("\n", 0, position) + 1
    for _ in range(3):
        line = text[start:position]
        if line.strip() and not line.lstrip().startswith(tuple("abcdefghijklmnopqrstuvwxyz_")):
            break
        if start == 0 or "(" in text[start:position]:
            break
        previous_end = start - 1
        if text[:previous_end].rstrip().endswith((",", "(")):
            start = text.rfind("\n", 0, previous_end) + 1
        else:
            break
    prefix = text[start:position]
    best: tuple[int, str] | None = None
    for pattern, kind in _VENDOR_CALLS:
        for m in pattern.finditer(prefix):
            if best is None or m.start() > best[0]:
                best = (m.start(), kind)
    return best[1] if best else None


_VENDOR_PREFIXES = ("hf_", "sk-", "api_org_")
# Passwords that only ever appear in documentation examples and local development defaults.
_DOC_PASSWORDS = frozenset(
    {"password", "passwd", "pass", "pwd", "mypassword", "mypass", "secret", "postgres", "root", "admin", "guest", "test"}
)


def _token_body_looks_generated(kind: str, token: str) -> bool:
    """Vendor tokens are generated: their body mixes digits with upper- and lower-case letters.
    (`sk-toggleable__label-arrow`, a CSS class, shares the `sk-` prefix but is made of words.)"""
    if kind not in ("openai", "anthropic", "huggingface"):
        return True
    body = re.sub(r"^(?:sk-ant-[A-Za-z0-9]{2,8}-|sk-(?:proj-|svcacct-|admin-)?|hf_)", "", token)
    has_digit = any(c.isdigit() for c in body)
    has_upper = any(c.isupper() for c in body)
    has_lower = any(c.islower() for c in body)
    return has_digit and (has_upper or has_lower) and (has_upper or sum(c.isdigit() for c in body) >= 4)


def looks_random(value: str, min_length: int = 16) -> bool:
    """True when ``value`` looks like a generated credential rather than a word, path or placeholder."""
    if len(value) < min_length or any(c.isspace() for c in value):
        return False
    if is_placeholder(value):
        return False
    if "://" in value or value.startswith(("/", "./", "~")):
        return False
    classes = sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
        )
    )
    # Generated keys mix letters and digits; identifiers, type names and words rarely do. A vendor
    # token prefix (`hf_`, `sk-`) is evidence enough for a mixed-case value without digits.
    if classes < 2 or not (any(c.isdigit() for c in value) or value.startswith(_VENDOR_PREFIXES)):
        return False
    return _shannon_entropy(value) >= 3.0


@lru_cache(maxsize=4096)
def _looks_random_cached(value: str, min_length: int) -> bool:
    """`looks_random`, remembered: a file repeats its literals (one key in every copied config), and
    the text is searched again on every keystroke while the literals stay the same."""
    return looks_random(value, min_length)


def is_placeholder(value: str) -> bool:
    """True for empty values, templates and obviously fake values (``"<your-key>"``, ``"sk-xxxx"``)."""
    stripped = value.strip()
    if not stripped:
        return True
    lowered = stripped.lower()
    if any(word in lowered for word in _PLACEHOLDER_WORDS):
        return True
    if stripped[0] in "<{$%[" or stripped.endswith((">", "}")):
        return True
    # "sk-aaaaaaaaaaaaaaaaaaaaaaaa", "hf_0000000000000000000000000000000": too few distinct characters.
    tail = re.sub(r"^(?:sk-ant-|sk-proj-|sk-|hf_|AKIA|AIza)", "", stripped)
    return len(set(tail)) < 6


def _shannon_entropy(value: str) -> float:
    counts: dict[str, int] = {}
    for c in value:
        counts[c] = counts.get(c, 0) + 1
    n = len(value)
    return -sum(k / n * math.log2(k / n) for k in counts.values())


class _ByteOffsets:
    """Character offset -> utf-8 byte offset, cheap for ASCII text."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._ascii = text.isascii()

    def of(self, char_offset: int) -> int:
        if self._ascii:
            return char_offset
        return len(self._text[:char_offset].encode("utf-8"))

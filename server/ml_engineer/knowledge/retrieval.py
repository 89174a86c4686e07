"""Deterministic BM25 ranking of topics for a free-text question (pure Python, no network).

Each topic becomes one bag of terms in which fields are weighted by repetition (title and
trigger phrases count more than the body of the answer). Terms are lower-cased words passed
through a small suffix stripper, so "overfitting"/"overfit" and "workers"/"worker" match.
A trigger phrase found verbatim in the question adds a bonus: triggers are written as the
questions people actually ask. Ties are broken by topic id, so the order never depends on
dictionary or hash order.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

from ml_engineer.knowledge.models import Topic

K1 = 1.2
B = 0.75
FIELD_WEIGHTS = {"title": 3, "tags": 2, "triggers": 2, "answer": 1, "checklist": 1}
TRIGGER_BONUS = 2.0

_WORD = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)*")
_STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "do",
        "does",
        "did",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "should",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "this",
        "to",
        "too",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "get",
        "got",
        "use",
        "using",
        "used",
        "vs",
        "versus",
        "go",
        "goes",
        "going",
        "up",
        "down",
    ]
)


def stem(word: str) -> str:
    """A deliberately small stemmer: plurals, -ing/-ed/-ation and a final -e.

    It only has to map the forms people type onto the forms topics use
    ("overfitting"/"overfit", "batches"/"batch", "normalization"/"normalize").
    """
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith(("ies", "ied")) and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("es") and word[:-2].endswith(("ss", "x", "z", "ch", "sh")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ation", "ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if suffix != "ation" and len(word) > 3 and word[-1] == word[-2] and word[-1] not in "ls":
                word = word[:-1]  # "fitting" -> "fitt" -> "fit"
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    terms = []
    for match in _WORD.finditer(text.lower()):
        word = match.group(0)
        # Split compound identifiers ("num_workers", "out-of-memory") into parts, keep the whole too.
        parts = re.split(r"[-_]", word)
        for part in [word, *parts] if len(parts) > 1 else [word]:
            if part and part not in _STOP_WORDS:
                terms.append(stem(part))
    return terms


def _normalise_phrase(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


class TopicIndex:
    """A BM25 index over a fixed list of topics."""

    def __init__(self, topics: Iterable[Topic]) -> None:
        self.topics: list[Topic] = sorted(topics, key=lambda t: t.id)
        self._docs: list[Counter[str]] = []
        self._lengths: list[int] = []
        self._triggers: list[list[str]] = []
        for topic in self.topics:
            terms: list[str] = []
            fields = {
                "title": [topic.title],
                "tags": list(topic.tags),
                "triggers": list(topic.triggers),
                "answer": [topic.answer],
                "checklist": list(topic.checklist),
            }
            for field_name, texts in fields.items():
                for text in texts:
                    terms.extend(tokenize(text) * FIELD_WEIGHTS[field_name])
            self._docs.append(Counter(terms))
            self._lengths.append(len(terms))
            self._triggers.append([p for p in (_normalise_phrase(t) for t in topic.triggers) if p])
        self._avg_length = (sum(self._lengths) / len(self._lengths)) if self._lengths else 0.0
        document_frequency: Counter[str] = Counter()
        for doc in self._docs:
            document_frequency.update(doc.keys())
        n = len(self._docs)
        self._idf = {
            term: math.log(1.0 + (n - df + 0.5) / (df + 0.5)) for term, df in document_frequency.items()
        }

    def search(self, query: str, k: int = 3) -> list[tuple[Topic, float]]:
        query_terms = list(dict.fromkeys(tokenize(query)))  # unique, in order
        phrase = f" {_normalise_phrase(query)} "
        if not query_terms or k <= 0:
            return []
        scored: list[tuple[float, str, Topic]] = []
        for index, topic in enumerate(self.topics):
            score = self._bm25(index, query_terms)
            score += TRIGGER_BONUS * sum(1 for t in self._triggers[index] if f" {t} " in phrase)
            if score > 0.0:
                scored.append((round(score, 6), topic.id, topic))
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [(topic, score) for score, _, topic in scored[:k]]

    def _bm25(self, index: int, query_terms: Sequence[str]) -> float:
        doc = self._docs[index]
        length_ratio = self._lengths[index] / self._avg_length if self._avg_length else 1.0
        score = 0.0
        for term in query_terms:
            tf = doc.get(term, 0)
            if tf:
                score += self._idf[term] * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length_ratio))
        return score

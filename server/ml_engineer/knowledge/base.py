"""The knowledge base: API entries for hovers, method notes on entities, topics for offline answers.

`get_knowledge_base()` returns one shared instance; the YAML is read the first time it is
called, not at import, so importing this package costs nothing on the `check` path.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable

from ml_engineer.knowledge.aliases import AliasTable
from ml_engineer.knowledge.loader import ALIASES_FILE, load_all, read_documents
from ml_engineer.knowledge.models import ApiEntry, MethodEntry, Topic
from ml_engineer.knowledge.retrieval import TopicIndex

# Iterating a loader or dataset yields batches; the hover for `for batch in loader:` uses this key.
ITERATION_METHOD = "__iter__"


class KnowledgeBase:
    def __init__(
        self,
        entries: dict[str, ApiEntry],
        methods: dict[str, MethodEntry],
        topics: dict[str, Topic],
        aliases: AliasTable,
    ) -> None:
        self.entries = entries
        self.methods = methods
        self.topics = topics
        self.aliases = aliases
        self._index: TopicIndex | None = None

    @classmethod
    def load(cls) -> KnowledgeBase:
        """Read every YAML file shipped in `knowledge/data/` (raises KnowledgeDataError if one is malformed)."""
        documents = read_documents()
        data = load_all(documents)
        aliases = AliasTable.from_document(documents[ALIASES_FILE])
        return cls(data.entries, data.methods, data.topics, aliases)

    # -- API entries ---------------------------------------------------------------------------

    def api(self, qualname: str) -> ApiEntry | None:
        """The entry for a fully qualified name, accepting equivalent spellings.

        `torch.nn.modules.loss.CrossEntropyLoss`, `tensorflow.keras.layers.Dense` and
        `torch.cuda.amp.GradScaler` resolve to their canonical entries; when the spelling is an
        outdated one the returned entry carries `alias_note` saying what changed.
        """
        resolution = self.aliases.resolve(qualname, self.entries.__contains__)
        if resolution is None:
            return None
        entry = self.entries[resolution.name]
        if resolution.name == qualname and resolution.note is None:
            return entry
        return dataclasses.replace(entry, looked_up_as=qualname, alias_note=resolution.note)

    def canonical_name(self, qualname: str) -> str | None:
        resolution = self.aliases.resolve(qualname, self.entries.__contains__)
        return resolution.name if resolution else None

    def argument(self, qualname: str, arg_name: str) -> str | None:
        """The note on one keyword argument of an API (`weight_decay` of `torch.optim.AdamW`)."""
        entry = self.api(qualname)
        if entry is None:
            return None
        return entry.arguments.get(arg_name)

    # -- Method notes --------------------------------------------------------------------------

    def method(self, entity_kind: str, method_name: str) -> MethodEntry | None:
        """The note for `method_name` called on an entity of `entity_kind` (`"optimizer"`, `"zero_grad"`).

        Iterating an entity (`for batch in loader`) is looked up as method `"__iter__"`.
        """
        return self.methods.get(f"{entity_kind}.{method_name}")

    def method_for_qualname(self, qualname: str) -> MethodEntry | None:
        """A method note for `Class.method` when the class's entry says which entity kind it makes.

        `torch.optim.AdamW.zero_grad` -> the `optimizer.zero_grad` note.
        """
        owner, dot, method_name = qualname.rpartition(".")
        if not dot:
            return None
        entry = self.api(owner)
        if entry is None or entry.entity_kind is None:
            return None
        return self.method(entry.entity_kind, method_name)

    # -- Topics --------------------------------------------------------------------------------

    def topic(self, topic_id: str) -> Topic | None:
        return self.topics.get(topic_id)

    def search_topics(self, query: str, k: int = 3) -> list[tuple[Topic, float]]:
        """The `k` best topics for a free-text question, best first, with their BM25 scores (> 0)."""
        if self._index is None:
            self._index = TopicIndex(self.topics.values())
        return self._index.search(query, k)

    def topics_for_rules(self, codes: Iterable[str]) -> list[Topic]:
        """Topics that list any of the given rule codes, most matching codes first, then by id."""
        wanted = set(codes)
        matches = [(len(wanted.intersection(t.rules)), t.id, t) for t in self.topics.values()]
        return [t for count, _, t in sorted(matches, key=lambda m: (-m[0], m[1])) if count]


_instance: KnowledgeBase | None = None
_lock = threading.Lock()


def get_knowledge_base() -> KnowledgeBase:
    """The shared knowledge base, loaded on first use (thread-safe)."""
    global _instance
    if _instance is None:
        with _lock:
            if _instance is None:
                _instance = KnowledgeBase.load()
    return _instance

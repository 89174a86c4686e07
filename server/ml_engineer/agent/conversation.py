"""Short per-document conversations, so that follow-up questions keep their context.

Each document (URI or path) keeps its last few question/answer turns. Only what was actually
sent (already redacted) and answered is stored; the history is sent before the new question.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Turn:
    user: str  # the user message as sent (code + question), redacted
    assistant: str
    context_key: str  # identifies the code that was sent with it


@dataclass
class Conversation:
    turns: list[Turn] = field(default_factory=list)

    def messages(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for turn in self.turns:
            out.append({"role": "user", "content": turn.user})
            out.append({"role": "assistant", "content": turn.assistant})
        return out


class ConversationStore:
    def __init__(self, max_turns: int = 3) -> None:
        self.max_turns = max_turns
        self._by_document: dict[str, Conversation] = {}

    def get(self, document: str) -> Conversation:
        return self._by_document.get(document) or Conversation()

    def append(self, document: str, turn: Turn) -> None:
        if self.max_turns <= 0:
            return
        conversation = self._by_document.setdefault(document, Conversation())
        conversation.turns.append(turn)
        del conversation.turns[: -self.max_turns]

    def reset(self, document: str) -> None:
        self._by_document.pop(document, None)

    def documents(self) -> list[str]:
        return list(self._by_document)

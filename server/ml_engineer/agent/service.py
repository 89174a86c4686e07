"""The "Ask ML engineer" orchestration used by the language server and the CLI.

    service = AskService(settings, workspace="/path/to/project")
    preview = service.preview(AskRequest(text=..., path="train.py", question="...", range=LineRange(40, 58)))
    answer = await service.ask(request, on_chunk=send_chunk, cancel=cancel_event)

``ask`` picks the backend (Anthropic when a key is set, else offline), selects and redacts the
context, answers identical questions on identical context from a cache, continues a short
per-document conversation for follow-ups (``reset(uri)`` forgets it), streams the answer through
``on_chunk`` and, when ``cancel`` is set, closes the HTTP stream at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .backends.anthropic_api import AnthropicBackend
from .backends.base import BackendError, ChunkCallback, Payload, emit
from .backends.offline import answer_offline
from .backends.slot import BackendSlot, api_key_from
from .cache import AnswerCache, cache_key
from .context import ContextBundle, LineRange, select_context
from .conversation import ConversationStore, Turn
from .definitions import AgentDefinition, find_agent
from .models import Usage, estimate_cost, resolve_model
from .prompt import build_user_message
from .redaction import is_excluded, redact_text
from .settings import AgentSettings
from .tokens import estimate_tokens

AskError = BackendError


class AskCancelled(Exception):
    """The request was cancelled through the ``cancel`` event; the HTTP stream was closed."""


@dataclass
class AskRequest:
    text: str  # the document's current text
    question: str
    path: str = "<stdin>"  # file path: shown to the model, matched against agent.excludePaths
    range: LineRange | None = None  # 1-based inclusive lines; None = the whole file
    uri: str | None = None  # conversation key (defaults to path)
    analysis: Any = None  # an AnalysisResult of `text`, when the caller already has one
    backend: str | None = None  # overrides agent.backend for this request
    agent: str | None = None  # overrides agent.name for this request

    @property
    def document(self) -> str:
        return self.uri or self.path


@dataclass
class AskAnswer:
    """Mirrors the result of ``mlEngineer.ask`` in docs/lsp-protocol.md."""

    markdown: str
    backend: str
    agent: str
    model: str
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    offline: bool = False
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "markdown": self.markdown,
            "backend": self.backend,
            "agent": self.agent,
            "model": self.model,
            "usage": self.usage.to_dict(),
            "cost_usd": self.cost_usd,
            "offline": self.offline,
            "cached": self.cached,
        }


@dataclass
class Preview:
    """What ``ask`` would send, without sending it (``--dry-run``, ``mlEngineer.preview``)."""

    backend: str
    agent: AgentDefinition
    model: str
    bundle: ContextBundle | None
    payload: Payload | None  # what the Anthropic backend sends (None for an excluded path)
    sends: bool  # False when the answer is built offline and nothing leaves the machine
    input_tokens_estimate: int
    question_redactions: int = 0
    excluded_by: str | None = None
    offline_reason: str | None = None
    selection_ms: float = 0.0
    history_turns: int = 0

    def to_dict(self) -> dict[str, Any]:
        bundle = self.bundle
        return {
            "backend": self.backend,
            "agent": self.agent.name,
            "agent_path": self.agent.path,
            "model": self.model,
            "sends": self.sends,
            "offline_reason": self.offline_reason,
            "excluded_by": self.excluded_by,
            "input_tokens_estimate": self.input_tokens_estimate,
            "history_turns": self.history_turns,
            "snippets": [
                {"path": s.path, "start_line": s.start, "end_line": s.end, "reasons": list(s.reasons)}
                for s in (bundle.snippets if bundle else [])
            ],
            "findings": [
                {"code": n.code, "line": n.line, "end_line": n.end_line, "message": n.message}
                for n in (bundle.findings if bundle else [])
            ],
            "redactions": [
                {"line": r.line, "kind": r.kind, "name": r.name} for r in (bundle.redactions if bundle else [])
            ]
            + ([{"line": None, "kind": "question", "name": None}] * self.question_redactions),
            "whole_file": bundle.whole_file if bundle else False,
            "whole_file_tokens_estimate": bundle.whole_file_tokens if bundle else 0,
            "payload": self.payload.request_body() if self.payload is not None else None,
        }

    def text(self) -> str:
        """The human-readable dry run."""
        lines = [
            f"agent:    {self.agent.name} ({self.agent.path})",
            f"backend:  {self.backend}" + (f" ({self.offline_reason})" if self.offline_reason else ""),
            f"model:    {self.model}",
        ]
        if self.excluded_by:
            lines.append(f"excluded: the file matches agent.excludePaths pattern {self.excluded_by!r}; nothing is sent")
        bundle = self.bundle
        if bundle is not None:
            lines.append(
                f"context:  {'whole file' if bundle.whole_file else f'{len(bundle.snippets)} snippet(s)'}, "
                f"~{bundle.tokens} tokens (whole file ~{bundle.whole_file_tokens}, budget {bundle.budget})"
            )
            for s in bundle.snippets:
                lines.append(f"  {s.path}:{s.start}-{s.end}  {'; '.join(s.reasons)}")
            for n in bundle.findings:
                lines.append(f"  finding {n.code} at line {n.line}: {n.message}")
            if bundle.redactions or self.question_redactions:
                for r in bundle.redactions:
                    label = f" in {r.name}" if r.name else ""
                    lines.append(f"  redacted line {r.line}: {r.kind}{label} -> {r.replacement}")
                if self.question_redactions:
                    lines.append(f"  redacted {self.question_redactions} secret(s) in the question")
            else:
                lines.append("  redactions: none")
        lines.append(f"estimated input tokens: {self.input_tokens_estimate} (history turns: {self.history_turns})")
        if self.payload is None:
            lines.append("nothing would be sent: the answer is built offline")
            return "\n".join(lines) + "\n"
        if not self.sends:
            lines.append(
                "nothing is sent with the offline backend; with the anthropic backend this request would be sent:"
            )
        lines += ["", "----- system prompt (cached) -----", self.payload.system]
        for message in self.payload.messages:
            lines += ["", f"----- {message['role']} -----", str(message["content"])]
        return "\n".join(lines) + "\n"


@dataclass
class _Plan:
    preview: Preview
    cache_key: str
    user_message: str  # full message (code + question) of this turn, redacted
    context_key: str
    analysis: Any


class AskService:
    def __init__(
        self,
        settings: AgentSettings | None = None,
        workspace: str | None = None,
        env: Mapping[str, str] | None = None,
        home: str | None = None,
    ) -> None:
        self.settings = settings or AgentSettings()
        self.workspace = workspace
        self.home = home
        self._env = env if env is not None else os.environ
        self._cache: AnswerCache[AskAnswer] = AnswerCache(self.settings.cache_size)
        self._conversations = ConversationStore(self.settings.history_turns)
        self._anthropic = BackendSlot(AnthropicBackend)

    # --- configuration -------------------------------------------------------------------------

    def update_settings(self, settings: AgentSettings) -> None:
        self.settings = settings
        self._cache = AnswerCache(settings.cache_size)
        self._conversations.max_turns = settings.history_turns

    def reset(self, document: str) -> None:
        """Forget the follow-up history of one document (``mlEngineer.resetConversation``)."""
        self._conversations.reset(document)

    async def aclose(self) -> None:
        await self._anthropic.aclose()

    def _api_key(self) -> str:
        return api_key_from(self._env)

    def backend_for(self, request: AskRequest) -> tuple[str, str | None]:
        """("anthropic" | "offline", why offline)."""
        choice = request.backend or self.settings.backend
        if choice == "offline":
            return "offline", "offline backend requested"
        if self._api_key():
            return "anthropic", None
        if choice == "anthropic":
            raise BackendError(
                "The anthropic backend needs an API key: set ANTHROPIC_API_KEY in the environment of the "
                "editor or CLI, or use the offline backend.",
                "config",
            )
        return "offline", "ANTHROPIC_API_KEY is not set"

    # --- preview -------------------------------------------------------------------------------

    def preview(self, request: AskRequest) -> Preview:
        return self._plan(request).preview

    def _plan(self, request: AskRequest) -> _Plan:
        started = time.perf_counter()
        agent = find_agent(request.agent or self.settings.name, self.workspace, self.home)
        backend, offline_reason = self.backend_for(request)
        model = resolve_model(agent.model, self.settings.model, self.settings.model_aliases)
        excluded_by = is_excluded(request.path, self.settings.exclude_paths, self.workspace)
        if excluded_by is not None:
            backend, offline_reason = "offline", f"the file matches agent.excludePaths pattern {excluded_by!r}"
        analysis = request.analysis if request.analysis is not None else _analyze(request.text, request.path)
        question, question_redactions = redact_text(request.question)
        bundle = None
        if excluded_by is None:
            bundle = select_context(
                analysis, request.range, question, self.settings.max_context_tokens, path=request.path
            )
        user_message = build_user_message(question, bundle) if bundle is not None else question
        context_key = _digest("\n".join(s.text for s in bundle.snippets) if bundle is not None else "")
        key = cache_key(
            {"agent": agent.name, "system": agent.system_prompt, "model": model, "user": user_message,
             "text": _digest(request.text), "range": str(request.range), "question": question},
            backend,
        )
        payload = None
        history_turns = 0
        if bundle is not None:
            conversation = self._conversations.get(request.document)
            messages = conversation.messages()
            history_turns = len(conversation.turns)
            same_context = bool(conversation.turns) and conversation.turns[-1].context_key == context_key
            content = f"<question>\n{question.strip()}\n</question>" if same_context else user_message
            messages.append({"role": "user", "content": content})
            payload = Payload(model, agent.system_prompt, tuple(messages), self.settings.max_tokens)
            tokens = estimate_tokens(agent.system_prompt) + sum(estimate_tokens(str(m["content"])) for m in messages)
        else:
            tokens = 0
        preview = Preview(
            backend=backend,
            agent=agent,
            model=model if backend == "anthropic" else "offline",
            bundle=bundle,
            payload=payload,
            sends=backend == "anthropic",
            input_tokens_estimate=tokens,
            question_redactions=len(question_redactions),
            excluded_by=excluded_by,
            offline_reason=offline_reason,
            selection_ms=(time.perf_counter() - started) * 1000,
            history_turns=history_turns,
        )
        return _Plan(preview, key, user_message, context_key, analysis)

    # --- ask -----------------------------------------------------------------------------------

    async def ask(
        self,
        request: AskRequest,
        on_chunk: ChunkCallback | None = None,
        cancel: asyncio.Event | None = None,
    ) -> AskAnswer:
        """Answer ``request``, streaming pieces of markdown to ``on_chunk`` in order.

        Raises :class:`AskError` (a :class:`BackendError`) with a message for the user when the API
        fails, and :class:`AskCancelled` when ``cancel`` is set before the answer is complete.
        """
        plan = self._plan(request)
        preview = plan.preview
        cached = self._cache.get(plan.cache_key)
        if cached is not None:
            await emit(on_chunk, cached.markdown)
            return AskAnswer(**{**cached.__dict__, "cached": True})
        if not preview.sends or preview.payload is None:
            offline = answer_offline(
                plan.analysis,
                request.question,
                request.range,
                preview.offline_reason or "offline backend",
            )
            for piece in _pieces(offline.markdown):
                await emit(on_chunk, piece)
            answer = AskAnswer(offline.markdown, "offline", preview.agent.name, "offline", Usage(), 0.0, True)
            self._cache.put(plan.cache_key, answer)
            return answer
        backend = self._anthropic.get(self.settings, self._env)
        result = await _run_cancellable(backend.answer(preview.payload, on_chunk), cancel)
        answer = AskAnswer(
            markdown=result.text,
            backend="anthropic",
            agent=preview.agent.name,
            model=result.model or preview.model,
            usage=result.usage,
            cost_usd=estimate_cost(preview.model, result.usage),
        )
        self._conversations.append(request.document, Turn(plan.user_message, result.text, plan.context_key))
        self._cache.put(plan.cache_key, answer)
        return answer


async def _run_cancellable(coro: Any, cancel: asyncio.Event | None) -> Any:
    """Await ``coro``; if ``cancel`` is set first, cancel it (closing its HTTP stream) and raise."""
    task = asyncio.ensure_future(coro)
    if cancel is None:
        return await task
    waiter = asyncio.ensure_future(cancel.wait())
    try:
        done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            return task.result()
        raise AskCancelled("the question was cancelled")
    finally:
        for pending in (task, waiter):
            if not pending.done():
                pending.cancel()
                # Awaiting the cancelled task lets the SDK close the HTTP stream before we return.
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pending


def _analyze(text: str, path: str) -> Any:
    from ..analysis.engine import analyze

    return analyze(text, path)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()[:16]


def _pieces(markdown: str) -> list[str]:
    """Split an offline answer into paragraph-sized chunks, so that it streams like an API answer."""
    parts = markdown.split("\n\n")
    return [p + ("\n\n" if i < len(parts) - 1 else "") for i, p in enumerate(parts)]

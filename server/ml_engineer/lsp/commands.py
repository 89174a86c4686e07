"""workspace/executeCommand: explainRule, and the agent layer's ask / preview / resetConversation.

`mlEngineer.ask` streams `mlEngineer/answerChunk {token, text}` notifications, reports work-done
progress when the client gave a token, and stops the HTTP stream on `$/cancelRequest` (the request's
task is cancelled) or when the client cancels the progress.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from lsprotocol.types import ResponseError
from pygls.exceptions import JsonRpcInternalError, JsonRpcInvalidParams, JsonRpcRequestCancelled
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.json_rpc import JsonRPCNotification
from pygls.protocol.language_server import lsp_method

from ..analysis.rules.registry import get_rule
from .documents import uri_to_path

if TYPE_CHECKING:
    from ..agent import AskRequest, AskService
    from .server import MLEngineerServer

log = logging.getLogger(__name__)

ANSWER_CHUNK = "mlEngineer/answerChunk"
_work_done_token: contextvars.ContextVar[types.ProgressToken | None] = contextvars.ContextVar(
    "ml_engineer_work_done_token", default=None
)
_request_future: contextvars.ContextVar[Any] = contextvars.ContextVar("ml_engineer_request_future", default=None)


def cancel_with_request() -> None:
    """Cancel the current task when the client cancels the executeCommand request it serves."""
    outer = _request_future.get()
    task = asyncio.current_task()
    if outer is not None and task is not None:
        outer.add_done_callback(lambda future: task.cancel() if future.cancelled() else None)


class CommandProtocol(LanguageServerProtocol):
    """pygls' protocol with two repairs:

    - a request whose params do not match the method's schema gets a JSON-RPC InvalidParams error
      (pygls logs it and never answers, leaving the client waiting);
    - the `workDoneToken` of executeCommand, which pygls does not pass to command handlers, is
      kept in a context variable set in the context the handler's task is created from;
    - so is the future of the executeCommand request itself: pygls runs the command handler as a
      separate task and `$/cancelRequest` only cancels that outer future, so handlers link the two.
    """

    def structure_message(self, data: Any) -> Any:
        try:
            return super().structure_message(data)
        except (JsonRpcInvalidParams, JsonRpcInternalError) as error:
            if not (isinstance(data, dict) and "id" in data and "method" in data):
                raise
            cause = error.__cause__ or error
            self._send_response(
                data["id"],
                error=ResponseError(
                    code=JsonRpcInvalidParams.CODE,
                    message=f"invalid params for {data['method']}: {str(cause).splitlines()[0]}",
                ),
            )
            # Handled: hand pygls a notification nobody listens to (`$/` methods are optional).
            return JsonRPCNotification(method="$/ml-engineer/rejected", jsonrpc="2.0", params=None)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> Generator[Any, Any, Any]:
        # The server keeps its own text of every open file (`text_sync.TextBuffer`) and never reads
        # pygls' copy, whose update re-splits the whole document into lines on every keystroke
        # (~3 ms per change on a 5k-line file). Documents the server does not track keep it.
        store = getattr(self._server, "store", None)
        if store is None or params.text_document.uri not in store.texts:
            for change in params.content_changes:
                self.workspace.update_text_document(params.text_document, change)
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    def lsp_workspace__execute_command(self, params: types.ExecuteCommandParams) -> Generator[Any, Any, Any]:
        _work_done_token.set(params.work_done_token)
        _request_future.set(self._request_futures.get(self.msg_id) if self.msg_id is not None else None)
        return (yield from super().lsp_workspace__execute_command(params))


def _argument(args: tuple[Any, ...], command: str) -> dict[str, Any]:
    if len(args) != 1 or not isinstance(args[0], dict):
        raise JsonRpcInvalidParams(f"{command} expects one object argument, e.g. {{\"uri\": ..., \"question\": ...}}")
    return args[0]


def explain_rule(code: Any) -> dict[str, str]:
    if not isinstance(code, str):
        raise JsonRpcInvalidParams("mlEngineer.explainRule expects {\"code\": \"MLxxx\"}")
    rule = get_rule(code)
    if rule is None:
        raise JsonRpcInvalidParams(f"unknown rule {code!r}; `ml-engineer rule --all` lists the rules")
    markdown = (
        f"# {rule.code} {rule.name}\n\n*{rule.summary}* — severity {rule.severity}, fix {rule.fix_availability}\n\n"
        f"{rule.docs()}\n\n[Documentation]({rule.url()})\n"
    )
    return {"markdown": markdown}


def _line_range(value: Any) -> tuple[int, int] | None:
    """LSP Range -> 0-based inclusive document lines (a selection ending at column 0 stops before)."""
    if value is None:
        return None
    try:
        start, end = value["start"], value["end"]
        first, last = int(start["line"]), int(end["line"])
        if int(end.get("character", 0)) == 0 and last > first:
            last -= 1
    except (KeyError, TypeError, ValueError) as error:
        raise JsonRpcInvalidParams(f"`range` must be an LSP range: {error}") from error
    if first < 0 or last < first:
        raise JsonRpcInvalidParams("`range` must be an LSP range with start before end")
    return first, last


class AgentCommands:
    """Builds AskRequests from open documents and runs them through the agent's AskService."""

    def __init__(self, server: MLEngineerServer) -> None:
        self.server = server
        self._service: AskService | None = None

    @property
    def service(self) -> AskService:
        from ..agent import AskService

        settings = self.server.settings.agent
        if self._service is None:
            self._service = AskService(settings, workspace=self.server.store.root)
        elif self._service.settings != settings:
            self._service.update_settings(settings)
        return self._service

    async def request(self, arg: dict[str, Any], need_question: bool = True) -> AskRequest:
        from ..agent import AskRequest, LineRange

        uri = arg.get("uri")
        question = arg.get("question", "")
        if not isinstance(uri, str) or not isinstance(question, str):
            raise JsonRpcInvalidParams("expected {\"uri\": string, \"question\": string, \"range\"?: Range}")
        if need_question and not question.strip():
            raise JsonRpcInvalidParams("the question is empty: ask something about the code")
        store = self.server.store
        key = store.key_for(uri)
        if key is None:
            raise JsonRpcInvalidParams(f"{uri} is not open in the editor; open it and ask again")
        snapshot = store.snapshots.get(key)
        if snapshot is None or snapshot.version != store.current_version(key):
            # Analyse the current text off the event loop; the service would do it on the loop.
            snapshot = await self.server.scheduler.analyse_now(key)
        if snapshot is None or snapshot.result is None:
            raise JsonRpcInvalidParams(snapshot.skipped if snapshot is not None and snapshot.skipped else "nothing to ask about")
        lines = _line_range(arg.get("range"))
        line_range = None
        if lines is not None:
            first, last = snapshot.line_of(uri, lines[0]), snapshot.line_of(uri, lines[1])
            line_range = LineRange(first + 1, last + 1)
        return AskRequest(
            text=snapshot.result.source.text, question=question, path=uri_to_path(key), range=line_range,
            uri=key, analysis=snapshot.result,
        )

    async def ask(self, arg: dict[str, Any]) -> dict[str, Any]:
        from ..agent import AskCancelled, AskError

        request = await self.request(arg)
        chunk_token = arg.get("token")
        progress_token = _work_done_token.get()
        cancel = asyncio.Event()
        server = self.server

        def send_chunk(text: str) -> None:
            server.protocol.notify(ANSWER_CHUNK, {"token": chunk_token, "text": text})
            if progress_token is not None:
                server.work_done_progress.report(progress_token, types.WorkDoneProgressReport(message="answering…"))

        if progress_token is not None:
            server.work_done_progress.begin(
                progress_token, types.WorkDoneProgressBegin(title="Asking the ML engineer", cancellable=True)
            )
            future = server.work_done_progress.tokens.get(progress_token)
            if future is not None:
                future.add_done_callback(lambda f: cancel.set() if f.cancelled() else None)
        try:
            answer = await self.service.ask(request, on_chunk=send_chunk, cancel=cancel)
        except AskCancelled as error:
            raise JsonRpcRequestCancelled("the question was cancelled") from error
        except AskError as error:
            raise _UserFacingError(error.message) from error
        finally:
            if progress_token is not None:
                server.work_done_progress.end(progress_token, types.WorkDoneProgressEnd())
        return answer.to_dict()

    async def preview(self, arg: dict[str, Any]) -> dict[str, Any]:
        from ..agent import AskError

        request = await self.request(arg, need_question=False)
        try:
            preview = self.service.preview(request)
        except AskError as error:
            raise _UserFacingError(error.message) from error
        return {"text": preview.text(), "payload": preview.payload.request_body() if preview.payload else None}

    def reset(self, arg: dict[str, Any]) -> None:
        uri = arg.get("uri")
        if not isinstance(uri, str):
            raise JsonRpcInvalidParams("mlEngineer.resetConversation expects {\"uri\": string}")
        key = self.server.store.key_for(uri) or uri
        if self._service is not None:
            self._service.reset(key)


class _UserFacingError(Exception):
    """An error whose message is written for the user (shown as the request's error)."""


def register(server: MLEngineerServer) -> None:
    agent = AgentCommands(server)
    server.agent_commands = agent

    # Handlers take `*args` so pygls hands over the raw JSON arguments; we validate them ourselves.
    @server.command("mlEngineer.explainRule")
    def explain(ls, *args: Any) -> dict[str, str]:
        return explain_rule(_argument(args, "mlEngineer.explainRule").get("code"))

    @server.command("mlEngineer.ask")
    async def ask(ls, *args: Any) -> dict[str, Any]:
        cancel_with_request()
        try:
            return await agent.ask(_argument(args, "mlEngineer.ask"))
        except asyncio.CancelledError:
            log.info("mlEngineer.ask cancelled by the client")
            raise

    @server.command("mlEngineer.preview")
    async def preview(ls, *args: Any) -> dict[str, Any]:
        return await agent.preview(_argument(args, "mlEngineer.preview"))

    @server.command("mlEngineer.resetConversation")
    def reset(ls, *args: Any) -> None:
        agent.reset(_argument(args, "mlEngineer.resetConversation"))

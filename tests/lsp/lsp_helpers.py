"""Helpers of the LSP end-to-end tests: client capabilities, waiting, applying edits."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient

SERVER_DIR = Path(__file__).resolve().parents[2] / "server"


def server_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env["PYTHONPATH"] = str(SERVER_DIR) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


SERVER_COMMAND = [sys.executable, "-m", "ml_engineer", "serve"]


def capabilities(notebooks: bool = True) -> types.ClientCapabilities:
    """What a modern editor (VS Code / Neovim 0.11) announces, built by hand: the recorded
    capability sets of pytest-lsp lack notebooks and LSP 3.18 code action tags."""
    return types.ClientCapabilities(
        general=types.GeneralClientCapabilities(position_encodings=[types.PositionEncodingKind.Utf16]),
        workspace=types.WorkspaceClientCapabilities(
            configuration=True,
            did_change_configuration=types.DidChangeConfigurationClientCapabilities(dynamic_registration=False),
            workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True),
            code_lens=types.CodeLensWorkspaceClientCapabilities(refresh_support=True),
            execute_command=types.ExecuteCommandClientCapabilities(),
        ),
        text_document=types.TextDocumentClientCapabilities(
            synchronization=types.TextDocumentSyncClientCapabilities(did_save=True),
            publish_diagnostics=types.PublishDiagnosticsClientCapabilities(
                related_information=True,
                tag_support=types.ClientDiagnosticsTagOptions(
                    value_set=[types.DiagnosticTag.Unnecessary, types.DiagnosticTag.Deprecated]
                ),
                version_support=True,
                code_description_support=True,
                data_support=True,
            ),
            hover=types.HoverClientCapabilities(content_format=[types.MarkupKind.Markdown]),
            code_action=types.CodeActionClientCapabilities(
                code_action_literal_support=types.ClientCodeActionLiteralOptions(
                    code_action_kind=types.ClientCodeActionKindOptions(
                        value_set=[types.CodeActionKind.QuickFix, types.CodeActionKind.Refactor, types.CodeActionKind.Source]
                    )
                ),
                is_preferred_support=True,
                data_support=True,
                tag_support=types.CodeActionTagOptions(value_set=[types.CodeActionTag.LlmGenerated]),
            ),
            code_lens=types.CodeLensClientCapabilities(),
        ),
        notebook_document=types.NotebookDocumentClientCapabilities(
            synchronization=types.NotebookDocumentSyncClientCapabilities(execution_summary_support=True)
        )
        if notebooks
        else None,
        window=types.WindowClientCapabilities(work_done_progress=True),
    )


def fix_code_action_structuring(client: LanguageClient) -> None:
    """lsprotocol's converter turns a CodeAction that has a `command` into a Command: a Command's
    `command` is a string, a CodeAction's is an object."""
    converter = client.protocol._converter

    def structure(obj: Any, _type: Any) -> types.Command | types.CodeAction:
        if isinstance(obj.get("command"), str):
            return converter.structure(obj, types.Command)
        return converter.structure(obj, types.CodeAction)

    converter.register_structure_hook(types.Command | types.CodeAction, structure)


async def start(
    client: LanguageClient,
    root: Path | None = None,
    settings: dict[str, Any] | None = None,
    init_options: dict[str, Any] | None = None,
    notebooks: bool = True,
) -> types.InitializeResult:
    client.set_configuration({"mlEngineer": {"debounceMs": 0, **(settings or {})}})
    return await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities(notebooks),
            root_uri=root.as_uri() if root is not None else None,
            initialization_options=init_options,
        )
    )


async def wait_until(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll `predicate` until it returns something truthy (notifications arrive on the client's loop)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def open_document(client: LanguageClient, uri: str, text: str, version: int = 1, language: str = "python") -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id=language, version=version, text=text))
    )


async def diagnostics_for(client: LanguageClient, uri: str, predicate: Callable[[list[types.Diagnostic]], bool] | None = None,
                          timeout: float = 15.0) -> list[types.Diagnostic]:
    def ready() -> list[types.Diagnostic] | None:
        if uri not in client.diagnostics:
            return None
        found = list(client.diagnostics[uri])
        if predicate is None or predicate(found):
            return found or [types.Diagnostic(range=types.Range(types.Position(0, 0), types.Position(0, 0)), message="")]
        return None

    result = await wait_until(ready, timeout, f"diagnostics on {uri}")
    return [d for d in result if d.message]


def codes(diagnostics: list[types.Diagnostic]) -> list[str]:
    return sorted(str(d.code) for d in diagnostics)


def apply_edits(text: str, edits: list[types.TextEdit]) -> str:
    """Apply LSP text edits (UTF-16 positions) to `text`, last first."""
    lines = text.split("\n")

    def offset(position: types.Position) -> int:
        before = sum(len(line) + 1 for line in lines[: position.line])
        line = lines[position.line] if position.line < len(lines) else ""
        units = 0
        for index, char in enumerate(line):
            if units >= position.character:
                return before + index
            units += 2 if ord(char) > 0xFFFF else 1
        return before + len(line)

    spans = sorted(((offset(e.range.start), offset(e.range.end), e.new_text) for e in edits), reverse=True)
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


async def send_raw_request(client: LanguageClient, method: str, params: Any) -> Any:
    """Send a request with hand-written JSON params (the typed client cannot send malformed ones)."""
    import concurrent.futures
    import uuid

    msg_id = str(uuid.uuid4())
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()
    client.protocol._request_futures[msg_id] = future
    client.protocol._send_data({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
    return await asyncio.wait_for(asyncio.wrap_future(future), 10)


def prepare_client(client: LanguageClient) -> None:
    """Test-client setup shared by the fixtures: code action structuring, codeLens refresh handler."""
    fix_code_action_structuring(client)
    client.code_lens_refreshes = 0  # type: ignore[attr-defined]

    @client.feature(types.WORKSPACE_CODE_LENS_REFRESH)
    def code_lens_refresh(params: None) -> None:
        client.code_lens_refreshes += 1  # type: ignore[attr-defined]

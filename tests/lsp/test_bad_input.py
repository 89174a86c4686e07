"""Bad input: huge or binary documents, odd URIs, CRLF, tabs, non-BMP characters, broken rules,
unknown methods and malformed params. The server keeps running through all of them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import pytest_lsp
from lsp_helpers import (
    codes,
    diagnostics_for,
    open_document,
    prepare_client,
    send_raw_request,
    server_env,
    start,
    wait_until,
)
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient
from samples import TYPO

URI = "file:///tmp/ml_engineer_tests/bad.py"


async def test_document_over_the_size_limit_gets_one_information_diagnostic(client):
    await start(client, settings={"maxFileSizeBytes": 50})
    open_document(client, URI, TYPO)
    [diagnostic] = await diagnostics_for(client, URI, lambda d: bool(d))
    assert diagnostic.severity == types.DiagnosticSeverity.Information
    assert "not analysed" in diagnostic.message and diagnostic.code is None


async def test_binary_content_is_not_analysed(client):
    await start(client)
    open_document(client, URI, "\x00\x01\x02" + TYPO)
    [diagnostic] = await diagnostics_for(client, URI, lambda d: bool(d))
    assert "binary" in diagnostic.message


async def test_untitled_documents_are_analysed(client):
    await start(client)
    uri = "untitled:Untitled-1"
    open_document(client, uri, TYPO)
    assert codes(await diagnostics_for(client, uri, lambda d: bool(d))) == ["ML113"]


@pytest.mark.parametrize(
    ("line", "start", "end"),
    [
        ("    p.require_grad = False\r", 4, 18),  # CRLF: the \r is not part of the range
        ("\tp.require_grad = False", 1, 15),  # a tab is one column
        ("    s = '😀😀'; p.require_grad = False", 16, 30),  # two surrogate pairs before: 14 code points, 16 units
    ],
    ids=["crlf", "tab", "non-bmp"],
)
async def test_columns_are_utf16_code_units(client, line: str, start: int, end: int):
    await start_and_open(client, TYPO.replace("    p.require_grad = False", line))
    [diagnostic] = await diagnostics_for(client, URI, lambda d: bool(d))
    assert diagnostic.range == types.Range(types.Position(5, start), types.Position(5, end))


async def start_and_open(client, text: str) -> None:
    await start(client)
    if "\r" in text:
        text = text.replace("\r", "").replace("\n", "\r\n")
    open_document(client, URI, text)


async def test_unknown_methods_and_malformed_params_get_errors_and_the_server_keeps_running(client):
    await start(client)
    with pytest.raises(JsonRpcException):
        await client.protocol.send_request_async("ml/unknownMethod", {})
    with pytest.raises(JsonRpcException):
        await send_raw_request(client, "textDocument/hover", {"textDocument": 5})
    with pytest.raises(JsonRpcException):
        await send_raw_request(client, "textDocument/codeAction", {"textDocument": {"uri": URI}, "range": "all"})
    with pytest.raises(JsonRpcException):
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mlEngineer.explainRule", arguments=["not an object"])
        )
    with pytest.raises(JsonRpcException):
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mlEngineer.explainRule", arguments=[{"code": "ML000"}])
        )
    open_document(client, URI, TYPO)
    assert codes(await diagnostics_for(client, URI, lambda d: bool(d))) == ["ML113"]


BROKEN = [sys.executable, str(Path(__file__).parent / "servers" / "broken_rule_server.py")]


@pytest_lsp.fixture(config=ClientServerConfig(server_command=BROKEN, server_env=server_env()))
async def broken_client(lsp_client: LanguageClient):
    prepare_client(lsp_client)
    yield lsp_client
    await lsp_client.shutdown_session()


async def test_a_rule_that_raises_is_reported_once_and_others_still_run(broken_client):
    await start(broken_client)
    text = TYPO + "for x, y in loader:\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()\n"
    open_document(broken_client, URI, text)
    diagnostics = await diagnostics_for(broken_client, URI, lambda d: bool(d))
    assert "ML101" in codes(diagnostics) and "ML113" not in codes(diagnostics)
    first = await wait_until(lambda: [m for m in broken_client.log_messages if "ML113 failed" in m.message], what="report")
    assert first[0].type == types.MessageType.Error
    line = next(d for d in diagnostics if d.code == "ML101").range.start.line
    broken_client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text="\n" + text)],
        )
    )
    await diagnostics_for(broken_client, URI, lambda d: any(x.code == "ML101" and x.range.start.line == line + 1 for x in d))
    assert len([m for m in broken_client.log_messages if "ML113 failed" in m.message]) == 1


def _frame(message: dict) -> bytes:
    body = json.dumps(message).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def test_stdout_carries_only_protocol_messages_even_when_a_rule_prints() -> None:
    server = subprocess.Popen(BROKEN, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=server_env())
    assert server.stdin is not None and server.stdout is not None
    try:
        server.stdin.write(_frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}))
        server.stdin.write(_frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
        item = {"uri": URI, "languageId": "python", "version": 1, "text": TYPO}
        server.stdin.write(_frame({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": item}}))
        server.stdin.flush()
        output = b""
        deadline = time.monotonic() + 20
        while b"publishDiagnostics" not in output and time.monotonic() < deadline:
            output += os.read(server.stdout.fileno(), 65536)
        assert b"publishDiagnostics" in output
        # every byte on stdout belongs to a framed message
        rest = output
        while rest:
            assert rest.startswith(b"Content-Length: "), rest[:80]
            header, _, rest = rest.partition(b"\r\n\r\n")
            length = next(int(line.split(b":")[1]) for line in header.split(b"\r\n") if line.startswith(b"Content-Length"))
            rest = rest[length:]
    finally:
        server.kill()
        server.wait(10)
        _, stderr = server.communicate()
    assert b"stray print" in stderr

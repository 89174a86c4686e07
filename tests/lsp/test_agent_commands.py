"""mlEngineer.ask / preview / resetConversation: streamed chunks, progress, cancellation."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsp_helpers import (
    SERVER_COMMAND,
    diagnostics_for,
    open_document,
    prepare_client,
    server_env,
    start,
    wait_until,
)
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient
from samples import TRAINING

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fake_anthropic import FakeAnthropicServer, Reply

URI = "file:///tmp/ml_engineer_tests/ask.py"
TEST_KEY = "sk-ant-api03-lspTESTKEY0000000000000000000000000000000000000000000000000000000-AA"


def collect_chunks(client: LanguageClient) -> list[dict]:
    chunks: list[dict] = []

    @client.feature("mlEngineer/answerChunk")
    def on_chunk(params) -> None:  # pygls hands over an attrs-like object for unknown methods
        chunks.append({"token": getattr(params, "token", None), "text": getattr(params, "text", None)})

    return chunks


async def ask(client: LanguageClient, argument: dict, work_done_token: str | None = None):
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mlEngineer.ask", arguments=[argument], work_done_token=work_done_token)
    )


async def test_ask_with_the_offline_backend_streams_chunks_and_reports_progress(client):
    chunks = collect_chunks(client)
    await start(client)
    open_document(client, URI, TRAINING)
    await diagnostics_for(client, URI)
    client.progress_reports["progress-1"] = []
    question = {"uri": URI, "question": "Why does my loss not go down?", "token": "t-1",
                "range": {"start": {"line": 8, "character": 0}, "end": {"line": 14, "character": 0}}}
    result = await ask(client, question, work_done_token="progress-1")
    assert result["offline"] is True and result["backend"] == "offline"
    assert result["markdown"].strip()
    await wait_until(lambda: "".join(c["text"] for c in chunks) == result["markdown"], what="all chunks")
    assert {c["token"] for c in chunks} == {"t-1"}
    kinds = [type(report).__name__ for report in client.progress_reports["progress-1"]]
    assert kinds[0] == "WorkDoneProgressBegin" and kinds[-1] == "WorkDoneProgressEnd"


async def test_preview_shows_what_would_be_sent_and_reset_is_accepted(client):
    await start(client)
    open_document(client, URI, TRAINING)
    await diagnostics_for(client, URI)
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mlEngineer.preview", arguments=[{"uri": URI, "question": "Is this right?"}])
    )
    assert "estimated input tokens" in result["text"]
    assert result["payload"]["messages"][-1]["role"] == "user"
    assert await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mlEngineer.resetConversation", arguments=[{"uri": URI}])
    ) is None


async def test_ask_rejects_an_unknown_document_and_an_empty_question(client):
    await start(client)
    with pytest.raises(JsonRpcException, match="not open"):
        await ask(client, {"uri": "file:///nowhere.py", "question": "hi"})
    open_document(client, URI, TRAINING)
    with pytest.raises(JsonRpcException, match="empty"):
        await ask(client, {"uri": URI, "question": "  "})


@pytest.fixture
def fake_api():
    server = FakeAnthropicServer(expected_key=TEST_KEY)
    server.start()
    yield server
    server.stop()


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=SERVER_COMMAND, server_env=server_env(ANTHROPIC_API_KEY=TEST_KEY))
)
async def api_client(lsp_client: LanguageClient):
    prepare_client(lsp_client)
    yield lsp_client
    await lsp_client.shutdown_session()


async def test_cancel_request_closes_the_http_stream(api_client, fake_api):
    chunks = collect_chunks(api_client)
    await start(api_client, settings={"agent": {"baseUrl": fake_api.base_url}})
    open_document(api_client, URI, TRAINING)
    await diagnostics_for(api_client, URI)
    fake_api.enqueue(Reply.stream(["first ", "second ", "third ", "fourth"], delay_s=0.5))
    future = api_client.protocol.send_request(
        types.WORKSPACE_EXECUTE_COMMAND,
        types.ExecuteCommandParams(command="mlEngineer.ask", arguments=[{"uri": URI, "question": "Review it", "token": "c"}]),
        msg_id="ask-to-cancel",
    )
    await wait_until(lambda: chunks, what="first chunk")
    api_client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="ask-to-cancel"))
    disconnect = await asyncio.to_thread(fake_api.wait_for_disconnect, 5.0)
    assert disconnect is not None, "the HTTP stream should be closed at once"
    with pytest.raises(JsonRpcException):
        await asyncio.wait_for(asyncio.wrap_future(future), 5)
    assert len(chunks) < 4
    # the server is still alive and answers
    explained = api_client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mlEngineer.explainRule", arguments=[{"code": "ML113"}])
    )
    assert (await asyncio.wait_for(explained, 5))["markdown"].startswith("# ML113")

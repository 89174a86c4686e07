"""The Anthropic path, end to end through the real `anthropic` SDK and a local fake Messages API."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import Any

import pytest

from fake_anthropic import FakeAnthropicServer, Reply
from fake_anthropic.fixtures import TEST_KEY
from ml_engineer.agent import (
    AgentSettings,
    AskCancelled,
    AskRequest,
    AskService,
    BackendError,
    LineRange,
    find_agent,
)
from ml_engineer.agent.backends.anthropic_api import AnthropicBackend
from ml_engineer.agent.backends.base import Payload
from ml_engineer.agent.models import MODEL_ALIASES

HF_SECRET = "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"
TRAIN = f'''import torch
import torch.nn as nn

HF_TOKEN = "{HF_SECRET}"


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 2)

    def forward(self, x):
        return self.fc(x)


def train(loader):
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    criterion = nn.CrossEntropyLoss()
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.zero_grad()
        optimizer.step()
'''


def make_service(env: dict[str, str], **overrides: Any) -> AskService:
    settings = AgentSettings(max_retries=overrides.pop("max_retries", 0), read_timeout_s=overrides.pop("read_timeout_s", 5.0), **overrides)
    return AskService(settings, env=env)


def request(question: str = "Why does my model not learn?", lines: tuple[int, int] = (22, 24)) -> AskRequest:
    return AskRequest(text=TRAIN, question=question, path="train.py", range=LineRange(*lines), uri="file:///train.py")


async def test_streams_chunks_in_order_and_sends_the_expected_request(fake_api: FakeAnthropicServer, api_env: dict[str, str]) -> None:
    fake_api.enqueue(Reply.stream(["`zero_grad()` ", "runs after ", "`backward()` on line 23."],
                                  usage={"input_tokens": 900, "output_tokens": 30, "cache_read_input_tokens": 700}))
    service = make_service(api_env)
    chunks: list[str] = []

    async def on_chunk(text: str) -> None:
        chunks.append(text)

    answer = await service.ask(request(), on_chunk)
    await service.aclose()

    assert chunks == ["`zero_grad()` ", "runs after ", "`backward()` on line 23."]
    assert answer.markdown == "".join(chunks)
    assert (answer.backend, answer.agent, answer.model, answer.offline, answer.cached) == (
        "anthropic", "ml-engineer", MODEL_ALIASES["sonnet"], False, False)
    assert answer.usage.cache_read_input_tokens == 700 and answer.usage.output_tokens == 30
    assert answer.cost_usd is not None and answer.cost_usd > 0

    (sent,) = fake_api.message_requests()
    body = sent.json
    assert sent.headers.get("authorization") == f"Bearer {TEST_KEY}" or sent.headers.get("x-api-key") == TEST_KEY
    assert body["model"] == MODEL_ALIASES["sonnet"]
    assert body["stream"] is True
    assert body["max_tokens"] == 2048
    assert body["system"] == [{"type": "text", "text": find_agent().system_prompt, "cache_control": {"type": "ephemeral"}}]
    (message,) = body["messages"]
    content = message["content"]
    assert message["role"] == "user"
    assert "23>|         optimizer.zero_grad()" in content  # numbered, selection marked
    assert "22>|         loss.backward()" in content
    assert "Why does my model not learn?" in content
    assert HF_SECRET not in sent.body.decode()
    assert "train.py" in content


async def test_follow_up_continues_the_conversation_and_reset_forgets_it(fake_api: FakeAnthropicServer, api_env: dict[str, str]) -> None:
    fake_api.enqueue(Reply.stream(["first answer"]), Reply.stream(["second answer"]), Reply.stream(["third"]))
    service = make_service(api_env)
    await service.ask(request("What is wrong here?"))
    await service.ask(request("And how do I fix it?"))
    second = fake_api.message_requests()[1].json["messages"]
    assert [m["role"] for m in second] == ["user", "assistant", "user"]
    assert second[1]["content"] == "first answer"
    # Same code as the previous turn: only the question is sent again.
    assert second[2]["content"] == "<question>\nAnd how do I fix it?\n</question>"
    service.reset("file:///train.py")
    await service.ask(request("Start over?"))
    third = fake_api.message_requests()[2].json["messages"]
    assert len(third) == 1 and "Start over?" in third[0]["content"] and "<code>" in third[0]["content"]
    await service.aclose()


async def test_identical_question_on_identical_context_comes_from_the_cache(fake_api: FakeAnthropicServer, api_env: dict[str, str]) -> None:
    fake_api.enqueue(Reply.stream(["cached answer"]))
    service = make_service(api_env)
    first = await service.ask(request())
    chunks: list[str] = []
    second = await service.ask(request(), chunks.append)
    assert len(fake_api.message_requests()) == 1
    assert second.cached and not first.cached
    assert second.markdown == first.markdown == "cached answer" and chunks == ["cached answer"]
    # A change in the code is a different context.
    changed = AskRequest(text=TRAIN.replace("lr=0.1", "lr=0.01"), question=request().question, path="train.py",
                         range=LineRange(22, 24), uri="file:///train.py")
    fake_api.enqueue(Reply.stream(["new"]))
    assert (await service.ask(changed)).cached is False
    await service.aclose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


ERROR_CASES = [
    (Reply.error(401, "invalid x-api-key"), "auth", "ANTHROPIC_API_KEY"),
    (Reply.error(403, "not allowed"), "permission", "permission"),
    (Reply.error(404, "model: claude-nope"), "model_not_found", "agent.model"),
    (Reply.error(429, "slow down", headers={"retry-after": "30"}), "rate_limit", "30 s"),
    (Reply.error(500, "boom"), "server", "server error (500)"),
    (Reply.error(529, "Overloaded"), "overloaded", "overloaded"),
    (Reply.error(400, "prompt is too long"), "bad_request", "prompt is too long"),
    (Reply.stream_error(["partial "], "overloaded_error", "Overloaded"), "stream", "interrupted"),
    (Reply.hang(10), "timeout", "did not answer"),
]


@pytest.mark.parametrize(("reply", "kind", "hint"), ERROR_CASES, ids=[c[1] for c in ERROR_CASES])
async def test_every_failure_is_one_clear_message_without_the_key(
    reply: Reply, kind: str, hint: str, fake_api: FakeAnthropicServer, api_env: dict[str, str],
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_api.enqueue(reply)
    service = make_service(api_env, read_timeout_s=0.5)
    chunks: list[str] = []
    with pytest.raises(BackendError) as info:
        await service.ask(request(), chunks.append)
    await service.aclose()
    error = info.value
    assert error.kind == kind
    assert hint.lower() in error.message.lower()
    if kind == "stream":
        assert chunks == ["partial "]
    _assert_no_key(error, caplog, capsys)


async def test_connection_refused(api_env: dict[str, str], caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    env = {**api_env, "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{_free_port()}"}
    service = make_service(env)
    with pytest.raises(BackendError) as info:
        await service.ask(request())
    assert info.value.kind == "connection"
    assert "Could not connect" in info.value.message and "ANTHROPIC_BASE_URL" in info.value.message
    _assert_no_key(info.value, caplog, capsys)


def _assert_no_key(error: BaseException, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    captured = capsys.readouterr()
    assert TEST_KEY not in str(error) and TEST_KEY not in repr(error)
    assert error.__cause__ is None or TEST_KEY not in str(error.__cause__)
    assert TEST_KEY not in captured.out and TEST_KEY not in captured.err
    for record in caplog.records:
        assert TEST_KEY not in record.getMessage()
    assert TEST_KEY[:20] not in caplog.text


async def test_retries_overload_then_answers(fake_api: FakeAnthropicServer, api_env: dict[str, str]) -> None:
    fake_api.enqueue(Reply.error(529, headers={"retry-after": "0.05"}), Reply.stream(["ok"]))
    service = make_service(api_env, max_retries=2)
    answer = await service.ask(request())
    assert answer.markdown == "ok"
    assert len(fake_api.message_requests()) == 2
    await service.aclose()


async def test_long_retry_after_is_not_waited_for(fake_api: FakeAnthropicServer, api_env: dict[str, str]) -> None:
    fake_api.enqueue(Reply.error(429, headers={"retry-after": "120"}), Reply.stream(["never"]))
    service = make_service(api_env, max_retries=2)
    started = time.monotonic()
    with pytest.raises(BackendError) as info:
        await service.ask(request())
    assert time.monotonic() - started < 3
    assert "120 s" in info.value.message
    assert len(fake_api.message_requests()) == 1
    await service.aclose()


async def test_mid_stream_error_is_not_retried(fake_api: FakeAnthropicServer, api_env: dict[str, str]) -> None:
    fake_api.enqueue(Reply.stream_error(["half "]), Reply.stream(["would duplicate"]))
    service = make_service(api_env, max_retries=2)
    with pytest.raises(BackendError):
        await service.ask(request())
    assert len(fake_api.message_requests()) == 1
    await service.aclose()


async def test_cancellation_closes_the_stream_at_once(fake_api: FakeAnthropicServer, api_env: dict[str, str]) -> None:
    fake_api.enqueue(Reply.stream([f"chunk{i} " for i in range(200)], delay_s=0.05))
    service = make_service(api_env)
    cancel = asyncio.Event()
    chunks: list[str] = []

    def on_chunk(text: str) -> None:
        chunks.append(text)
        if len(chunks) == 2:
            cancel.set()

    cancelled_at = 0.0
    with pytest.raises(AskCancelled):
        try:
            await service.ask(request(), on_chunk, cancel)
        finally:
            cancelled_at = time.monotonic()
    disconnect = fake_api.wait_for_disconnect(timeout=2.0)
    assert disconnect is not None, "the server never saw the client go away"
    assert disconnect.at - cancelled_at < 0.5
    assert disconnect.chunks_sent < 10
    assert chunks[:2] == ["chunk0 ", "chunk1 "] and len(chunks) <= 3
    await service.aclose()


async def test_task_cancellation_also_closes_the_stream(fake_api: FakeAnthropicServer, api_env: dict[str, str]) -> None:
    """What pygls does on $/cancelRequest: cancel the handler's task."""
    fake_api.enqueue(Reply.stream([f"c{i} " for i in range(200)], delay_s=0.05))
    service = make_service(api_env)
    first = asyncio.Event()
    task = asyncio.ensure_future(service.ask(request(), lambda _t: first.set()))
    await asyncio.wait_for(first.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert fake_api.wait_for_disconnect(timeout=2.0) is not None
    await service.aclose()


async def test_count_tokens_uses_the_api(fake_api: FakeAnthropicServer) -> None:
    backend = AnthropicBackend(TEST_KEY, base_url=fake_api.base_url, max_retries=0)
    payload = Payload("claude-haiku-5-5", "system", ({"role": "user", "content": "hello"},), 100)
    assert await backend.count_tokens(payload) > 0
    assert fake_api.requests[-1].path.startswith("/v1/messages/count_tokens")
    await backend.aclose()


def test_backend_repr_and_missing_key_never_show_a_key() -> None:
    backend = AnthropicBackend(TEST_KEY, base_url="http://127.0.0.1:9")
    assert TEST_KEY not in repr(backend)
    with pytest.raises(BackendError, match="ANTHROPIC_API_KEY"):
        AnthropicBackend("")

"""ReviewService through the real `anthropic` SDK against the local fake Messages API."""

from __future__ import annotations

import pytest
from review_samples import (
    HF_SECRET,
    LR_LINE,
    MALFORMED,
    OUT_OF_RANGE,
    TRAIN,
    duplicate_of_ml101,
    good_lr,
    tool_input,
)

from fake_anthropic import FakeAnthropicServer, Reply
from ml_engineer.agent import AgentSettings, BackendError, LineRange
from ml_engineer.agent.review import TOOL_NAME, ReviewRequest, ReviewService


def make_service(env: dict[str, str], **overrides: object) -> ReviewService:
    return ReviewService(AgentSettings(max_retries=0, read_timeout_s=5.0, **overrides), env=env)  # type: ignore[arg-type]


async def test_request_forces_the_tool_and_sends_nothing_unredacted(fake_api: FakeAnthropicServer, api_env: dict[str, str]) -> None:
    fake_api.enqueue(Reply.tool_use(TOOL_NAME, tool_input(good_lr())))
    service = make_service(api_env)
    result = await service.review(ReviewRequest(TRAIN, "train.py"))
    await service.aclose()

    [request] = fake_api.message_requests()
    body = request.json
    assert body["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
    assert [t["name"] for t in body["tools"]] == [TOOL_NAME]
    assert body["tools"][0]["input_schema"]["properties"]["findings"]["items"]["required"] == [
        "start_line", "end_line", "severity", "title", "explanation", "confidence"]
    assert "stream" not in body or body["stream"] is False
    raw = request.body.decode()
    assert HF_SECRET not in raw and "<redacted:" in raw
    # the code is sent with line numbers, so the model can cite them
    assert f"{LR_LINE} |     optimizer = torch.optim.SGD(model.parameters(), lr=10.0)" in body["messages"][0]["content"]
    [finding] = result.findings
    assert (finding.start_line, finding.item.severity, finding.code[:2]) == (LR_LINE - 1, "warning", "AI")
    assert result.usage.input_tokens == 1200 and result.cost_usd is not None and result.cost_usd > 0
    # the size we report is the JSON body the SDK sends, up to whitespace
    assert abs(result.request_bytes - len(request.body)) <= 0.05 * len(request.body)


async def test_malformed_and_out_of_range_items_are_dropped_and_counted(fake_api: FakeAnthropicServer, api_env: dict[str, str]) -> None:
    fake_api.enqueue(Reply.tool_use(TOOL_NAME, tool_input(*MALFORMED, good_lr(), *OUT_OF_RANGE, duplicate_of_ml101())))
    service = make_service(api_env)
    result = await service.review(ReviewRequest(TRAIN, "train.py"))
    await service.aclose()
    assert [f.start_line + 1 for f in result.findings] == [LR_LINE, 23]
    assert [f.duplicate_of for f in result.findings] == [None, "ML101"]
    assert result.dropped_total == len(MALFORMED) + len(OUT_OF_RANGE)
    assert "dropped" in result.summary() and "1 merged into rule findings" in result.summary()


async def test_a_reply_without_the_tool_call_is_counted_not_raised(fake_api: FakeAnthropicServer, api_env: dict[str, str]) -> None:
    fake_api.enqueue(Reply.json("I think the code is fine."))
    service = make_service(api_env)
    result = await service.review(ReviewRequest(TRAIN, "train.py"))
    await service.aclose()
    assert result.findings == [] and result.dropped == {"the model did not call report_findings": 1}


async def test_identical_content_is_answered_from_the_cache(fake_api: FakeAnthropicServer, api_env: dict[str, str]) -> None:
    fake_api.enqueue(Reply.tool_use(TOOL_NAME, tool_input(good_lr())))
    service = make_service(api_env)
    first = await service.review(ReviewRequest(TRAIN, "train.py", LineRange(17, 27)))
    second = await service.review(ReviewRequest(TRAIN, "train.py", LineRange(17, 27)))
    await service.aclose()
    assert len(fake_api.message_requests()) == 1
    assert second.cached and not first.cached and second.cost_usd == 0.0
    assert [f.id for f in second.findings] == [f.id for f in first.findings]


async def test_a_range_review_marks_the_range_and_asks_about_it_only(fake_api: FakeAnthropicServer, api_env: dict[str, str]) -> None:
    fake_api.enqueue(Reply.tool_use(TOOL_NAME, tool_input()))
    service = make_service(api_env)
    await service.review(ReviewRequest(TRAIN, "train.py", LineRange(21, 21)))
    await service.aclose()
    content = fake_api.message_requests()[0].json["messages"][0]["content"]
    assert "21>|" in content and "marked lines" in content


async def test_api_errors_become_backend_errors(fake_api: FakeAnthropicServer, api_env: dict[str, str]) -> None:
    fake_api.enqueue(Reply.error(401))
    service = make_service(api_env)
    with pytest.raises(BackendError) as info:
        await service.review(ReviewRequest(TRAIN, "train.py"))
    await service.aclose()
    assert info.value.kind == "auth" and api_env["ANTHROPIC_API_KEY"] not in info.value.message


async def test_without_a_key_the_review_is_offline_with_rule_explanations(fake_api: FakeAnthropicServer) -> None:
    service = make_service({})
    result = await service.review(ReviewRequest(TRAIN, "train.py"))
    assert result.offline and fake_api.requests == []
    assert {n.code for n in result.rule_notes} == {"ML101", "ML704"}
    assert all(n.explanation for n in result.rule_notes)
    assert "ANTHROPIC_API_KEY" in result.summary()


async def test_excluded_paths_are_never_sent(fake_api: FakeAnthropicServer, api_env: dict[str, str]) -> None:
    service = make_service(api_env, exclude_paths=("*.py",))
    result = await service.review(ReviewRequest(TRAIN, "train.py"))
    assert result.offline and "excludePaths" in (result.offline_reason or "") and fake_api.requests == []

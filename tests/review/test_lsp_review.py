"""mlEngineer.review end to end: a real server over stdio (pytest-lsp), the fake Messages API behind it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import pytest_lsp
from lsp_helpers import (
    SERVER_COMMAND,
    apply_edits,
    capabilities,
    diagnostics_for,
    open_document,
    prepare_client,
    server_env,
)
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient
from review_samples import (
    HF_SECRET,
    LOOP_LINE,
    LR_LINE,
    MALFORMED,
    OUT_OF_RANGE,
    TEST_KEY,
    TRAIN,
    duplicate_of_ml101,
    good_lr,
    tool_input,
)

from fake_anthropic import FakeAnthropicServer, Reply
from ml_engineer.agent.review import TOOL_NAME

URI = "file:///tmp/ml_engineer_review_tests/train.py"
AGENT = "ml-engineer (agent)"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER_COMMAND, server_env=server_env(ANTHROPIC_API_KEY=TEST_KEY)))
async def client(lsp_client: LanguageClient):
    prepare_client(lsp_client)
    yield lsp_client
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER_COMMAND, server_env=server_env()))
async def offline_client(lsp_client: LanguageClient):
    prepare_client(lsp_client)
    yield lsp_client
    await lsp_client.shutdown_session()


async def start(client: LanguageClient, base_url: str | None, annotations: bool = False, **settings: Any) -> None:
    section: dict[str, Any] = {"debounceMs": 0, **settings}
    if base_url is not None:
        section["agent"] = {"baseUrl": base_url, "maxRetries": 0}
    client.set_configuration({"mlEngineer": section})
    caps = capabilities(notebooks=False)
    if annotations and caps.workspace is not None and caps.workspace.workspace_edit is not None:
        caps.workspace.workspace_edit.change_annotation_support = types.ChangeAnnotationsSupportOptions(groups_on_label=False)
    await client.initialize_session(types.InitializeParams(capabilities=caps, initialization_options={"mlEngineer": section}))


async def review(client: LanguageClient, argument: dict[str, Any]) -> dict[str, Any]:
    return await asyncio.wait_for(client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mlEngineer.review", arguments=[argument])), 30)


def agent_diagnostics(diagnostics: list[types.Diagnostic]) -> list[types.Diagnostic]:
    return [d for d in diagnostics if d.source == AGENT]


def change(client: LanguageClient, version: int, start: tuple[int, int], end: tuple[int, int], text: str) -> None:
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=version),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(*start), types.Position(*end)), text=text)],
    ))


async def open_and_review(client: LanguageClient, fake_api: FakeAnthropicServer, *items: Any) -> dict[str, Any]:
    open_document(client, URI, TRAIN)
    await diagnostics_for(client, URI, lambda d: any(x.code == "ML101" for x in d))
    fake_api.enqueue(Reply.tool_use(TOOL_NAME, tool_input(*items)))
    return await review(client, {"uri": URI})


@pytest.fixture
def fake_api():
    server = FakeAnthropicServer(expected_key=TEST_KEY)
    server.start()
    yield server
    server.stop()


async def test_review_publishes_agent_diagnostics_next_to_the_rules(client, fake_api) -> None:
    await start(client, fake_api.base_url)
    result = await open_and_review(client, fake_api, good_lr(), duplicate_of_ml101(), *MALFORMED, *OUT_OF_RANGE)

    assert sum(result["dropped"].values()) == len(MALFORMED) + len(OUT_OF_RANGE)
    assert result["usage"]["input_tokens"] == 1200 and result["cost_usd"] > 0
    assert [f["duplicate_of"] for f in result["findings"]] == [None, "ML101"]
    diagnostics = await diagnostics_for(client, URI, lambda d: bool(agent_diagnostics(d)))
    [agent] = agent_diagnostics(diagnostics)
    assert str(agent.code).startswith("AI") and agent.code == result["findings"][0]["code"]
    assert agent.range.start == types.Position(LR_LINE - 1, 4)
    assert agent.severity == types.DiagnosticSeverity.Warning
    assert agent.message == good_lr()["title"]
    # the repeat of ML101 is not published twice; ML101 and ML704 are still there
    assert sorted(str(d.code) for d in diagnostics if d.source == "ml-engineer") == ["ML101", "ML704"]
    # nothing unredacted left the machine
    [request] = fake_api.message_requests()
    assert HF_SECRET not in request.body.decode() and request.json["tool_choice"]["name"] == TOOL_NAME
    assert any("input tokens" in m.message for m in client.log_messages)


async def test_hover_shows_the_explanation_and_the_agents_note_on_the_rule_finding(client, fake_api) -> None:
    await start(client, fake_api.base_url)
    await open_and_review(client, fake_api, good_lr(), duplicate_of_ml101())
    await diagnostics_for(client, URI, lambda d: bool(agent_diagnostics(d)))
    hover = await client.text_document_hover_async(types.HoverParams(
        types.TextDocumentIdentifier(URI), types.Position(LR_LINE - 1, 20)))
    assert hover is not None and "diverge" in hover.contents.value and "confidence 90%" in hover.contents.value
    on_rule = await client.text_document_hover_async(types.HoverParams(
        types.TextDocumentIdentifier(URI), types.Position(LOOP_LINE - 1, 6)))
    assert on_rule is not None
    assert "ML101" in on_rule.contents.value and "The ML engineer agent agrees" in on_rule.contents.value


async def test_findings_follow_edits_above_and_go_when_the_cited_code_changes(client, fake_api) -> None:
    await start(client, fake_api.base_url)
    await open_and_review(client, fake_api, good_lr())
    await diagnostics_for(client, URI, lambda d: bool(agent_diagnostics(d)))

    change(client, 2, (0, 0), (0, 0), "# training script\n# (c) us\n")
    moved = await diagnostics_for(client, URI, lambda d: any(x.range.start.line == LR_LINE + 1 for x in agent_diagnostics(d)))
    assert len(agent_diagnostics(moved)) == 1

    # unrelated code: the secret line (ML704) becomes `HF_TOKEN = None`; waiting for ML704 to go proves a new publish
    secret_line = 4 + 2
    change(client, 3, (secret_line, 0), (secret_line, len(TRAIN.split("\n")[4])), "HF_TOKEN = None")
    kept = await diagnostics_for(client, URI, lambda d: not any(x.code == "ML704" for x in d) and any(x.code == "ML101" for x in d))
    assert [d.range.start.line for d in agent_diagnostics(kept)] == [LR_LINE + 1]

    # the cited code: lr=10.0 -> lr=0.05
    cited = LR_LINE + 1
    column = TRAIN.split("\n")[LR_LINE - 1].index("10.0")
    change(client, 4, (cited, column), (cited, column + 4), "0.05")
    gone = await diagnostics_for(client, URI, lambda d: not agent_diagnostics(d) and any(x.code == "ML101" for x in d))
    assert agent_diagnostics(gone) == []
    assert len(fake_api.message_requests()) == 1  # edits never re-send


async def _code_actions(client: LanguageClient, line: int) -> list[types.CodeAction]:
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(URI),
        range=types.Range(types.Position(line, 0), types.Position(line, 0)),
        context=types.CodeActionContext(diagnostics=[]),
    ))
    return [a for a in actions or [] if isinstance(a, types.CodeAction)]


async def test_code_action_applies_the_replacement_with_a_confirmation_annotation(client, fake_api) -> None:
    await start(client, fake_api.base_url, annotations=True)
    await open_and_review(client, fake_api, good_lr())
    await diagnostics_for(client, URI, lambda d: bool(agent_diagnostics(d)))
    actions = await _code_actions(client, LR_LINE - 1)
    apply = next(a for a in actions if a.title.startswith("Apply ML engineer suggestion"))
    assert apply.edit is not None and apply.edit.change_annotations is not None
    [annotation] = apply.edit.change_annotations.values()
    assert annotation.needs_confirmation is True
    [document_edit] = apply.edit.document_changes
    [text_edit] = document_edit.edits
    assert isinstance(text_edit, types.AnnotatedTextEdit)
    assert document_edit.text_document.version == 1
    new_text = apply_edits(TRAIN, [text_edit])
    assert new_text.split("\n")[LR_LINE - 1] == "    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)"
    assert new_text.split("\n")[LR_LINE - 2] == TRAIN.split("\n")[LR_LINE - 2]
    assert types.CodeActionTag.LlmGenerated in (apply.tags or [])
    ask = next(a for a in actions if a.title.startswith("Ask ML engineer a follow-up"))
    assert ask.command is not None and ask.command.command == "mlEngineer.ask"
    assert "Learning rate 10.0" in ask.command.arguments[0]["question"]


async def test_without_annotation_support_the_fix_is_a_plain_edit(client, fake_api) -> None:
    await start(client, fake_api.base_url)
    await open_and_review(client, fake_api, good_lr())
    await diagnostics_for(client, URI, lambda d: bool(agent_diagnostics(d)))
    apply = next(a for a in await _code_actions(client, LR_LINE - 1) if a.title.startswith("Apply ML engineer"))
    assert apply.edit is not None and not apply.edit.change_annotations
    [document_edit] = apply.edit.document_changes
    assert not isinstance(document_edit.edits[0], types.AnnotatedTextEdit)
    assert "lr=0.01" in apply_edits(TRAIN, list(document_edit.edits))


async def test_a_range_review_replaces_only_the_findings_in_that_range(client, fake_api) -> None:
    await start(client, fake_api.base_url)
    other = {**good_lr(), "start_line": 11, "end_line": 11, "title": "A linear model for 10 features may underfit",
             "replacement": None}
    del other["replacement"]
    await open_and_review(client, fake_api, good_lr(), other)
    await diagnostics_for(client, URI, lambda d: len(agent_diagnostics(d)) == 2)
    fake_api.enqueue(Reply.tool_use(TOOL_NAME, tool_input()))
    whole_function = {"start": {"line": 16, "character": 0}, "end": {"line": 27, "character": 0}}
    result = await review(client, {"uri": URI, "range": whole_function})
    assert result["findings"] == [] and result["range"] == [17, 27]
    left = await diagnostics_for(client, URI, lambda d: len(agent_diagnostics(d)) == 1)
    assert [d.range.start.line for d in agent_diagnostics(left)] == [10]


async def test_on_save_reviews_only_changed_functions_within_the_hourly_budget(client, fake_api) -> None:
    await start(client, fake_api.base_url, review={"onSave": True, "maxPerHour": 2})
    open_document(client, URI, TRAIN)
    await diagnostics_for(client, URI, lambda d: any(x.code == "ML101" for x in d))

    def save() -> None:
        client.text_document_did_save(types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(URI)))

    async def requests(n: int) -> None:
        deadline = asyncio.get_running_loop().time() + 15
        while len(fake_api.message_requests()) < n:
            assert asyncio.get_running_loop().time() < deadline, f"waiting for request {n}"
            await asyncio.sleep(0.02)

    fake_api.enqueue(Reply.tool_use(TOOL_NAME, tool_input(good_lr())))
    save()  # first save: the whole file
    await requests(1)
    await diagnostics_for(client, URI, lambda d: bool(agent_diagnostics(d)))
    assert ">|" not in fake_api.message_requests()[0].json["messages"][0]["content"]

    save()  # nothing changed: nothing sent
    change(client, 2, (LR_LINE - 1, 0), (LR_LINE - 1, 0), "    # smaller steps\n")  # inside `train`
    fake_api.enqueue(Reply.tool_use(TOOL_NAME, tool_input()))
    save()
    await requests(2)
    content = fake_api.message_requests()[1].json["messages"][0]["content"]
    marked = {int(line.split(">|")[0]) for line in content.splitlines() if ">|" in line}
    assert min(marked) == 17 and max(marked) == 28  # only `train` (one line longer now) is under review
    await asyncio.sleep(0.3)
    assert len(fake_api.message_requests()) == 2

    change(client, 3, (13, 0), (13, 0), "        # forward pass\n")  # inside Net.forward: the budget (2/h) is spent
    save()
    await asyncio.sleep(0.5)
    assert len(fake_api.message_requests()) == 2
    assert any("maxPerHour" in m.message for m in client.log_messages)


async def test_offline_review_returns_rule_findings_and_how_to_enable_the_agent(offline_client) -> None:
    await start(offline_client, None)
    open_document(offline_client, URI, TRAIN)
    await diagnostics_for(offline_client, URI, lambda d: any(x.code == "ML101" for x in d))
    result = await review(offline_client, {"uri": URI})
    assert result["offline"] is True and result["findings"] == []
    assert {n["code"] for n in result["rule_findings"]} == {"ML101", "ML704"}
    assert all(n["explanation"] for n in result["rule_findings"])
    assert "ANTHROPIC_API_KEY" in result["summary"]

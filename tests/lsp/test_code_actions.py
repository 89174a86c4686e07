"""Code actions: the fix, noqa, Explain, Ask (tagged LLM-generated), Ask on a selection, fixAll."""

from __future__ import annotations

from lsp_helpers import apply_edits, codes, diagnostics_for, open_document, start
from lsprotocol import types
from samples import TYPO

URI = "file:///tmp/ml_engineer_tests/actions.py"


async def actions_at(client, rng: types.Range, diagnostics: list[types.Diagnostic], only: list[str] | None = None):
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(URI),
            range=rng,
            context=types.CodeActionContext(diagnostics=diagnostics, only=only),
        )
    )
    return {action.title: action for action in result or []}


def edits_of(action: types.CodeAction) -> list[types.TextEdit]:
    assert action.edit is not None and action.edit.document_changes
    [change] = action.edit.document_changes
    assert isinstance(change, types.TextDocumentEdit)
    assert change.text_document.uri == URI and change.text_document.version == 1
    return list(change.edits)


async def change_to(client, text: str, version: int) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


async def test_quick_fix_is_preferred_and_applying_it_clears_the_diagnostic(client):
    await start(client)
    open_document(client, URI, TYPO)
    [diagnostic] = await diagnostics_for(client, URI, lambda d: bool(d))
    actions = await actions_at(client, diagnostic.range, [diagnostic])
    fix = actions["Rename to `requires_grad`"]
    assert fix.kind == types.CodeActionKind.QuickFix and fix.is_preferred
    fixed = apply_edits(TYPO, edits_of(fix))
    assert "p.requires_grad = False" in fixed
    await change_to(client, fixed, 2)
    assert await diagnostics_for(client, URI, lambda d: d == []) == []


async def test_noqa_action_adds_then_extends_a_noqa_comment(client):
    await start(client)
    open_document(client, URI, TYPO)
    [diagnostic] = await diagnostics_for(client, URI, lambda d: bool(d))
    actions = await actions_at(client, diagnostic.range, [diagnostic])
    silenced = apply_edits(TYPO, edits_of(actions["Ignore ML113 on this line"]))
    assert silenced.split("\n")[5] == "    p.require_grad = False  # noqa: ML113"
    await change_to(client, silenced, 2)
    assert await diagnostics_for(client, URI, lambda d: d == []) == []
    # an existing `# noqa: ML101` is extended rather than duplicated
    other = TYPO.replace("p.require_grad = False", "p.require_grad = False  # noqa: ML101")
    await change_to(client, other, 3)
    [diagnostic] = await diagnostics_for(client, URI, lambda d: bool(d))
    actions = await actions_at(client, diagnostic.range, [diagnostic])
    change = actions["Ignore ML113 on this line"].edit.document_changes[0]
    assert apply_edits(other, list(change.edits)).split("\n")[5] == "    p.require_grad = False  # noqa: ML101, ML113"


async def test_explain_and_ask_actions_carry_commands(client):
    await start(client)
    open_document(client, URI, TYPO)
    [diagnostic] = await diagnostics_for(client, URI, lambda d: bool(d))
    actions = await actions_at(client, diagnostic.range, [diagnostic])
    explain = actions["Explain ML113"]
    assert explain.command is not None and explain.command.command == "mlEngineer.explainRule"
    assert list(explain.command.arguments) == [{"code": "ML113"}]
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mlEngineer.explainRule", arguments=[{"code": "ML113"}])
    )
    assert result["markdown"].startswith("# ML113 requires-grad-typo")
    ask = actions["Ask ML engineer about this problem"]
    assert list(ask.tags) == [types.CodeActionTag.LlmGenerated]
    [argument] = ask.command.arguments
    assert argument["uri"] == URI and "ML113" in argument["question"]
    assert argument["range"]["start"] == {"line": 5, "character": 4}


async def test_ask_on_any_selection(client):
    await start(client)
    open_document(client, URI, "import torch\nx = torch.randn(3)\n")
    await diagnostics_for(client, URI)
    selection = types.Range(types.Position(1, 0), types.Position(1, 18))
    actions = await actions_at(client, selection, [])
    ask = actions["Ask ML engineer…"]
    assert list(ask.tags) == [types.CodeActionTag.LlmGenerated]
    assert ask.command.command == "mlEngineer.ask"
    assert ask.command.arguments[0]["range"]["end"] == {"line": 1, "character": 18}
    # an empty selection with no finding offers nothing
    assert await actions_at(client, types.Range(types.Position(1, 0), types.Position(1, 0)), []) == {}


async def test_fix_all_applies_every_safe_fix(client):
    await start(client)
    text = TYPO + "for q in model.parameters():\n    q.requires_grads = True\n"
    open_document(client, URI, text)
    await diagnostics_for(client, URI, lambda d: codes(d) == ["ML113", "ML113"])
    everywhere = types.Range(types.Position(0, 0), types.Position(0, 0))
    actions = await actions_at(client, everywhere, [], only=["source.fixAll"])
    [fix_all] = actions.values()
    assert fix_all.kind == "source.fixAll.ml-engineer"
    fixed = apply_edits(text, edits_of(fix_all))
    assert "require_grad " not in fixed and "requires_grads" not in fixed
    await change_to(client, fixed, 2)
    assert await diagnostics_for(client, URI, lambda d: d == []) == []

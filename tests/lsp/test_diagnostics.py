"""Diagnostics: pushed on open and on change, with code, link, severity, related info and fix data."""

from __future__ import annotations

from lsp_helpers import codes, diagnostics_for, open_document, start
from lsprotocol import types
from samples import TRAINING, TYPO

URI = "file:///tmp/ml_engineer_tests/train.py"


async def test_diagnostics_on_open_carry_code_link_severity_and_fix(client):
    await start(client)
    open_document(client, URI, TYPO)
    diagnostics = await diagnostics_for(client, URI, lambda d: bool(d))
    [diagnostic] = diagnostics
    assert diagnostic.code == "ML113"
    assert diagnostic.source == "ml-engineer"
    assert diagnostic.severity == types.DiagnosticSeverity.Error
    assert diagnostic.code_description is not None and diagnostic.code_description.href.endswith("docs/rules/ML113.md")
    assert diagnostic.range == types.Range(types.Position(5, 4), types.Position(5, 18))
    fix = diagnostic.data["fix"]
    assert fix["safe"] is True
    assert fix["edits"] == [
        {"uri": URI, "range": {"start": {"line": 5, "character": 6}, "end": {"line": 5, "character": 18}},
         "newText": "requires_grad"}
    ]


async def test_related_information_points_at_the_producer(client):
    await start(client)
    open_document(client, URI, TRAINING)
    diagnostics = await diagnostics_for(client, URI, lambda d: bool(d))
    ml101 = next(d for d in diagnostics if d.code == "ML101")
    assert ml101.related_information, "ML101 should point at the backward/step calls"
    assert all(info.location.uri == URI for info in ml101.related_information)


async def test_change_updates_diagnostics(client):
    await start(client)
    open_document(client, URI, TYPO)
    await diagnostics_for(client, URI, lambda d: codes(d) == ["ML113"])
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(5, 6), types.Position(5, 18)), text="requires_grad"
                )
            ],
        )
    )
    assert await diagnostics_for(client, URI, lambda d: d == []) == []
    # an insertion that makes another typo: `requires_grads`
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=3),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(5, 19), types.Position(5, 19)), text="s"
                )
            ],
        )
    )
    diagnostics = await diagnostics_for(client, URI, lambda d: codes(d) == ["ML113"])
    assert diagnostics[0].range.end.character == 20


async def test_severity_override_and_ignore_from_settings(client):
    await start(client, settings={"rules": {"severity": {"ML113": "warning"}}})
    open_document(client, URI, TYPO)
    [diagnostic] = await diagnostics_for(client, URI, lambda d: bool(d))
    assert diagnostic.severity == types.DiagnosticSeverity.Warning


async def test_close_clears_diagnostics(client):
    await start(client)
    open_document(client, URI, TYPO)
    await diagnostics_for(client, URI, lambda d: bool(d))
    client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(URI)))
    assert await diagnostics_for(client, URI, lambda d: d == []) == []

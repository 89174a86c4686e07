"""Settings: initializationOptions, workspace/configuration, pyproject.toml, live changes, bad values."""

from __future__ import annotations

from lsp_helpers import codes, diagnostics_for, open_document, start, wait_until
from lsprotocol import types
from samples import TYPO

URI = "file:///tmp/ml_engineer_tests/settings.py"


async def test_configuration_change_applies_without_restart(client):
    await start(client)
    open_document(client, URI, TYPO)
    await diagnostics_for(client, URI, lambda d: codes(d) == ["ML113"])
    client.set_configuration({"mlEngineer": {"debounceMs": 0, "rules": {"ignore": ["ML1"]}}})
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    assert await diagnostics_for(client, URI, lambda d: d == []) == []
    assert client.code_lens_refreshes >= 1


async def test_initialization_options_are_used(client):
    await start(client, init_options={"mlEngineer": {"rules": {"severity": {"ML113": "hint"}}}})
    client.set_configuration({})  # the client has nothing under workspace/configuration
    open_document(client, URI, TYPO)
    [diagnostic] = await diagnostics_for(client, URI, lambda d: bool(d))
    assert diagnostic.severity == types.DiagnosticSeverity.Hint


async def test_bad_settings_warn_and_fall_back_to_defaults(client):
    await start(client, settings={"debounceMs": "soon", "rules": {"select": "ML1", "severity": {"ML113": "loud"}}})
    open_document(client, URI, TYPO)
    [diagnostic] = await diagnostics_for(client, URI, lambda d: bool(d))
    assert diagnostic.severity == types.DiagnosticSeverity.Error
    warnings = await wait_until(
        lambda: [m.message for m in client.messages if m.type == types.MessageType.Warning], what="warnings"
    )
    text = "\n".join(warnings)
    assert "debounceMs" in text and "rules.select" in text and "ML113" in text


async def test_pyproject_settings_merge_with_editor_settings(client, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.ml-engineer]\nignore = ["ML113"]\n', encoding="utf-8")
    uri = (tmp_path / "train.py").as_uri()
    other = (tmp_path / "other.py").as_uri()
    await start(client, root=tmp_path, settings={"rules": {"severity": {"ML101": "info"}}})
    open_document(client, uri, TYPO)
    open_document(client, other, "for x in loader:\n    loss = model(x)\n    loss.backward()\n    optimizer.step()\n")
    assert await diagnostics_for(client, uri, lambda d: True) == []
    [diagnostic] = await diagnostics_for(client, other, lambda d: bool(d))
    assert diagnostic.code == "ML101" and diagnostic.severity == types.DiagnosticSeverity.Information


async def test_broken_pyproject_warns_once_and_uses_defaults(client, tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.ml-engineer\nselect = \n", encoding="utf-8")
    uri = (tmp_path / "train.py").as_uri()
    await start(client, root=tmp_path)
    open_document(client, uri, TYPO)
    assert codes(await diagnostics_for(client, uri, lambda d: bool(d))) == ["ML113"]
    warnings = await wait_until(lambda: [m for m in client.messages if "pyproject.toml" in m.message], what="warning")
    assert len(warnings) == 1


async def test_pyproject_change_is_picked_up_without_restart(client, tmp_path):
    uri = (tmp_path / "train.py").as_uri()
    await start(client, root=tmp_path)
    open_document(client, uri, TYPO)
    assert codes(await diagnostics_for(client, uri, lambda d: bool(d))) == ["ML113"]
    (tmp_path / "pyproject.toml").write_text('[tool.ml-engineer]\nignore = ["ML113"]\n', encoding="utf-8")
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=(tmp_path / "pyproject.toml").as_uri(), type=types.FileChangeType.Created)]
        )
    )
    assert await diagnostics_for(client, uri, lambda d: d == []) == []

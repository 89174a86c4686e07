"""Code lens over training loops, and notebooks analysed as one program with per-cell results."""

from __future__ import annotations

from lsp_helpers import apply_edits, codes, diagnostics_for, open_document, start
from lsprotocol import types
from samples import TRAINING, TYPO

URI = "file:///tmp/ml_engineer_tests/lens.py"
NOTEBOOK = "file:///tmp/ml_engineer_tests/analysis.ipynb"
CELLS = [f"vscode-notebook-cell:/tmp/ml_engineer_tests/analysis.ipynb#cell{i}" for i in range(3)]


async def lenses(client, uri: str = URI) -> list[types.CodeLens]:
    return list(await client.text_document_code_lens_async(types.CodeLensParams(types.TextDocumentIdentifier(uri))) or [])


async def test_code_lens_summarises_the_training_loop_and_asks_for_a_review(client):
    await start(client)
    open_document(client, URI, TRAINING)
    await diagnostics_for(client, URI)
    [lens] = await lenses(client)
    assert lens.range.start == types.Position(8, 0)  # `for epoch in range(3):`
    assert lens.command.title == (
        "training loop · AdamW lr=3e-4 wd=0.01 · CrossEntropyLoss · AMP off · grad clip off · no eval"
    )
    assert lens.command.command == "mlEngineer.ask"
    [argument] = lens.command.arguments
    assert argument["uri"] == URI and argument["question"].startswith("Review this training loop")
    assert argument["range"]["start"]["line"] == 8 and argument["range"]["end"]["line"] == 13


async def test_code_lens_setting_turns_it_off(client):
    await start(client, settings={"codeLens": {"enabled": False}})
    open_document(client, URI, TRAINING)
    await diagnostics_for(client, URI)
    assert await lenses(client) == []


def open_notebook(client, sources: list[str]) -> None:
    client.notebook_document_did_open(
        types.DidOpenNotebookDocumentParams(
            notebook_document=types.NotebookDocument(
                uri=NOTEBOOK, notebook_type="jupyter-notebook", version=1,
                cells=[types.NotebookCell(kind=types.NotebookCellKind.Code, document=CELLS[i]) for i in range(len(sources))],
            ),
            cell_text_documents=[
                types.TextDocumentItem(uri=CELLS[i], language_id="python", version=1, text=source)
                for i, source in enumerate(sources)
            ],
        )
    )


async def test_notebook_cells_are_analysed_together_with_per_cell_diagnostics_and_fixes(client):
    await start(client)
    first, second = TYPO.split("model = nn.Linear(4, 2)\n")
    cells = [first, "%matplotlib inline\nmodel = nn.Linear(4, 2)", second]
    open_notebook(client, cells)
    [diagnostic] = await diagnostics_for(client, CELLS[2], lambda d: bool(d))
    assert diagnostic.code == "ML113"
    assert diagnostic.range.start == types.Position(1, 4)  # line 1 of the third cell
    assert await diagnostics_for(client, CELLS[0]) == []
    # the quick fix edits the right cell
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(CELLS[2]), range=diagnostic.range,
            context=types.CodeActionContext(diagnostics=[diagnostic]),
        )
    )
    by_title = {a.title: a for a in actions}
    for title in ("Rename to `requires_grad`", "Ignore ML113 on this line"):
        [change] = by_title[title].edit.document_changes
        assert change.text_document.uri == CELLS[2]
    [change] = by_title["Ignore ML113 on this line"].edit.document_changes
    assert apply_edits(cells[2], list(change.edits)).split("\n")[1].endswith("# noqa: ML113")
    # editing the cell re-analyses the notebook
    client.notebook_document_did_change(
        types.DidChangeNotebookDocumentParams(
            notebook_document=types.VersionedNotebookDocumentIdentifier(version=2, uri=NOTEBOOK),
            change=types.NotebookDocumentChangeEvent(
                cells=types.NotebookDocumentCellChanges(
                    text_content=[
                        types.NotebookDocumentCellContentChanges(
                            document=types.VersionedTextDocumentIdentifier(uri=CELLS[2], version=2),
                            changes=[types.TextDocumentContentChangeWholeDocument(text=cells[2].replace("require_grad", "requires_grad"))],
                        )
                    ]
                )
            ),
        )
    )
    assert await diagnostics_for(client, CELLS[2], lambda d: d == []) == []


async def test_hover_works_in_a_notebook_cell(client):
    await start(client)
    open_notebook(client, ["import torch.nn as nn", "loss_fn = nn.CrossEntropyLoss()"])
    await diagnostics_for(client, CELLS[1])
    result = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(CELLS[1]), types.Position(0, 16))
    )
    assert result is not None and result.contents.value.startswith("**`torch.nn.CrossEntropyLoss`**")
    assert codes(await diagnostics_for(client, CELLS[0])) == []

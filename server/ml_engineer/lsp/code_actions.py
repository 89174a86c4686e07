"""Code actions: a finding's fix, `# noqa` for one line, Explain / Ask for a problem, Ask about a
selection, and `source.fixAll.ml-engineer` (every safe fix that does not conflict with another)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from ..analysis.findings import Edit, Finding, apply_fixes
from ..analysis.source import SourceText
from .diagnostics import to_diagnostic
from .snapshot import Snapshot

if TYPE_CHECKING:
    from tree_sitter import Tree

    from .server import MLEngineerServer

FIX_ALL_KIND = "source.fixAll.ml-engineer"
ASK_KIND = types.CodeActionKind.Refactor + ".ml-engineer.ask"
_NOQA = re.compile(rb"#\s*noqa(?::\s*(?P<codes>[A-Za-z]+[0-9]+(?:[\s,]+[A-Za-z]+[0-9]+)*))?", re.IGNORECASE)
_STRING_TYPES = frozenset({"string", "string_content", "string_end", "string_start"})


def noqa_edit(source: SourceText, tree: Tree, finding: Finding) -> Edit | None:
    """The edit that silences `finding` with a noqa comment for its code (extending an existing one).

    The comment goes on the finding's first line unless that line ends inside a multi-line string,
    where a comment would become part of the string; then on its last line.
    """
    for line in (source.line_of(finding.span.start), source.line_of(max(finding.span.start, finding.span.end - 1))):
        start, end = source.line_start(line), source.line_end(line)
        raw = source.data[start:end]
        match = _NOQA.search(raw)
        if match is not None:
            if match.group("codes") is None:
                return None  # a bare `# noqa` already silences everything
            return Edit(start + match.end("codes"), start + match.end("codes"), f", {finding.code}")
        stripped_end = start + len(raw.rstrip())
        if stripped_end > start and _inside_string(tree, stripped_end - 1):
            continue
        return Edit(stripped_end, end, f"  # noqa: {finding.code}")
    return None


def _inside_string(tree: Tree, offset: int) -> bool:
    node = tree.root_node.descendant_for_byte_range(offset, offset + 1)
    while node is not None:
        if node.type in _STRING_TYPES:
            return node.start_point.row != node.end_point.row
        node = node.parent
    return False


def workspace_edit(snapshot: Snapshot, edits: Iterable[Edit], versioned: bool) -> types.WorkspaceEdit:
    by_uri: dict[str, list[types.TextEdit]] = {}
    for edit in edits:
        uri, edit_range = snapshot.range(edit.start, edit.end)
        by_uri.setdefault(uri, []).append(types.TextEdit(edit_range, edit.new_text))
    if not versioned:
        return types.WorkspaceEdit(changes=by_uri)
    return types.WorkspaceEdit(
        document_changes=[
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=snapshot.version_of(uri)),
                edits=list(text_edits),
            )
            for uri, text_edits in by_uri.items()
        ]
    )


def _wanted(kind: str, only: list[str] | None) -> bool:
    return only is None or any(kind == want or kind.startswith(want + ".") for want in only)


def _ask_args(uri: str, question: str, selection: types.Range | None) -> dict[str, Any]:
    args: dict[str, Any] = {"uri": uri, "question": question}
    if selection is not None:
        args["range"] = {
            "start": {"line": selection.start.line, "character": selection.start.character},
            "end": {"line": selection.end.line, "character": selection.end.character},
        }
    return args


def code_actions(snapshot: Snapshot, params: types.CodeActionParams, versioned: bool) -> list[types.CodeAction]:
    result = snapshot.result
    if result is None:
        return []
    uri = params.text_document.uri
    only = [str(kind) for kind in params.context.only] if params.context.only else None
    start = snapshot.offset(uri, params.range.start)
    end = snapshot.offset(uri, params.range.end)
    if start is None or end is None:
        return []
    actions: list[types.CodeAction] = []
    here = [f for f in snapshot.findings if f.span.start <= end and start <= f.span.end]
    here = [f for f in here if snapshot.range(f.span.start, f.span.end)[0] == uri]
    quickfix = types.CodeActionKind.QuickFix
    for finding in here:
        _, diagnostic = to_diagnostic(snapshot, finding)
        if finding.fix is not None and _wanted(quickfix, only):
            actions.append(
                types.CodeAction(
                    title=finding.fix.title if finding.fix.safe else f"{finding.fix.title} (unsafe: review it)",
                    kind=quickfix,
                    diagnostics=[diagnostic],
                    is_preferred=finding.fix.safe,
                    edit=workspace_edit(snapshot, finding.fix.edits, versioned),
                )
            )
        noqa = noqa_edit(result.source, result.tree, finding)
        if noqa is not None and _wanted(quickfix, only):
            actions.append(
                types.CodeAction(
                    title=f"Ignore {finding.code} on this line",
                    kind=quickfix,
                    diagnostics=[diagnostic],
                    edit=workspace_edit(snapshot, [noqa], versioned),
                )
            )
        if _wanted(quickfix, only):
            actions.append(
                types.CodeAction(
                    title=f"Explain {finding.code}",
                    kind=quickfix,
                    diagnostics=[diagnostic],
                    command=types.Command(f"Explain {finding.code}", "mlEngineer.explainRule", arguments=[{"code": finding.code}]),
                )
            )
            question = (
                f"{finding.code} ({finding.name}) is reported here: {finding.message} "
                "Is it a real problem in this code, and how should I fix it?"
            )
            actions.append(
                types.CodeAction(
                    title="Ask ML engineer about this problem",
                    kind=quickfix,
                    diagnostics=[diagnostic],
                    command=types.Command("Ask ML engineer", "mlEngineer.ask", arguments=[_ask_args(uri, question, diagnostic.range)]),
                    tags=[types.CodeActionTag.LlmGenerated],
                )
            )
    if params.range.start != params.range.end and _wanted(ASK_KIND, only):
        actions.append(
            types.CodeAction(
                title="Ask ML engineer…",
                kind=ASK_KIND,
                command=types.Command("Ask ML engineer…", "mlEngineer.ask", arguments=[_ask_args(uri, "", params.range)]),
                tags=[types.CodeActionTag.LlmGenerated],
            )
        )
    if (only is not None and _wanted(FIX_ALL_KIND, only)) or (only is None and here):
        fix_all = fix_all_action(snapshot, uri, versioned)
        if fix_all is not None:
            actions.append(fix_all)
    return actions


def fix_all_action(snapshot: Snapshot, uri: str, versioned: bool) -> types.CodeAction | None:
    """Every safe fix in the document `uri` (for notebooks: the fixes whose edits stay in that cell)."""
    assert snapshot.result is not None
    safe = [
        f.fix for f in snapshot.findings
        if f.fix is not None and f.fix.safe and all(snapshot.range(e.start, e.end)[0] == uri for e in f.fix.edits)
    ]
    if not safe:
        return None
    _, applied = apply_fixes(snapshot.result.source.data, safe)
    edits = [edit for fix in applied for edit in fix.edits]
    return types.CodeAction(
        title=f"Fix all safe ml-engineer problems ({len(applied)})",
        kind=FIX_ALL_KIND,
        edit=workspace_edit(snapshot, edits, versioned),
    )


def register(server: MLEngineerServer) -> None:
    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND, ASK_KIND], resolve_provider=False
        ),
    )
    def code_action(ls: MLEngineerServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        snapshot = ls.store.snapshot_for(params.text_document.uri)
        if snapshot is None:
            return None
        caps = ls.client_capabilities.workspace
        versioned = bool(caps and caps.workspace_edit and caps.workspace_edit.document_changes)
        actions = code_actions(snapshot, params, versioned)
        if ls.review is not None:
            from .review import client_supports_annotations

            actions += ls.review.code_actions(snapshot, params, versioned, client_supports_annotations(ls))
        return actions

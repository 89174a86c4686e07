"""Findings -> LSP diagnostics, published per document (per cell for notebooks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lsprotocol import types

from ..analysis.findings import Finding, Fix
from ..analysis.rules.registry import get_rule
from .snapshot import Snapshot

SOURCE = "ml-engineer"

_SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "info": types.DiagnosticSeverity.Information,
    "hint": types.DiagnosticSeverity.Hint,
}
_TAGS = {"deprecated": types.DiagnosticTag.Deprecated, "unnecessary": types.DiagnosticTag.Unnecessary}


def fix_data(snapshot: Snapshot, fix: Fix) -> dict[str, Any]:
    """A fix as JSON: title, safety, and edits as (uri, LSP range, text)."""
    edits = []
    for edit in fix.edits:
        uri, edit_range = snapshot.range(edit.start, edit.end)
        edits.append({"uri": uri, "range": _range_json(edit_range), "newText": edit.new_text})
    return {"title": fix.title, "safe": fix.safe, "edits": edits}


def _range_json(value: types.Range) -> dict[str, Any]:
    return {
        "start": {"line": value.start.line, "character": value.start.character},
        "end": {"line": value.end.line, "character": value.end.character},
    }


def to_diagnostic(snapshot: Snapshot, finding: Finding) -> tuple[str, types.Diagnostic]:
    uri, finding_range = snapshot.range(finding.span.start, finding.span.end)
    rule = get_rule(finding.code)
    related = []
    for item in finding.related:
        related_uri, related_range = snapshot.range(item.span.start, item.span.end)
        related.append(types.DiagnosticRelatedInformation(types.Location(related_uri, related_range), item.message))
    data: dict[str, Any] = {"version": snapshot.version_of(uri)}
    if finding.fix is not None:
        data["fix"] = fix_data(snapshot, finding.fix)
    tags = [_TAGS[tag] for tag in finding.tags if tag in _TAGS]
    return uri, types.Diagnostic(
        range=finding_range,
        message=finding.message,
        severity=_SEVERITY.get(finding.severity, types.DiagnosticSeverity.Warning),
        code=finding.code,
        code_description=types.CodeDescription(href=rule.url()) if rule is not None else None,
        source=SOURCE,
        related_information=related or None,
        tags=tags or None,
        data=data,
    )


def diagnostics_by_uri(snapshot: Snapshot) -> dict[str, list[types.Diagnostic]]:
    """Every document of the snapshot, with its diagnostics (empty lists clear old ones)."""
    out: dict[str, list[types.Diagnostic]] = {uri: [] for uri in snapshot.uris}
    if snapshot.skipped is not None:
        first = snapshot.uris[0] if snapshot.uris else snapshot.key
        out[first] = [
            types.Diagnostic(
                range=types.Range(types.Position(0, 0), types.Position(0, 0)),
                message=snapshot.skipped,
                severity=types.DiagnosticSeverity.Information,
                source=SOURCE,
            )
        ]
        return out
    for finding in snapshot.findings:
        uri, diagnostic = to_diagnostic(snapshot, finding)
        out.setdefault(uri, []).append(diagnostic)
    return out


class DiagnosticsPublisher:
    """Remembers which URIs a key published to, so removed notebook cells get cleared."""

    def __init__(self, server: Any) -> None:
        self._server = server
        self._published: dict[str, set[str]] = {}
        # Other diagnostic sources of a snapshot (the AI review), published together with the rules'.
        self.contributors: list[Callable[[Snapshot], dict[str, list[types.Diagnostic]]]] = []

    def publish(self, snapshot: Snapshot) -> None:
        by_uri = diagnostics_by_uri(snapshot)
        if snapshot.result is not None:
            for contribute in self.contributors:
                for uri, extra in contribute(snapshot).items():
                    by_uri.setdefault(uri, []).extend(extra)
        for stale in self._published.get(snapshot.key, set()) - set(by_uri):
            self._send(stale, [], None)
        self._published[snapshot.key] = set(by_uri)
        for uri, diagnostics in by_uri.items():
            self._send(uri, diagnostics, snapshot.version_of(uri))

    def clear(self, key: str) -> None:
        for uri in self._published.pop(key, {key}):
            self._send(uri, [], None)

    def _send(self, uri: str, diagnostics: list[types.Diagnostic], version: int | None) -> None:
        self._server.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
        )

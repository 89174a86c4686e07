"""AI review in the editor: the `mlEngineer.review` command, agent diagnostics, hover and code actions.

The review core (`ml_engineer.agent.review`) returns findings anchored to the code they cite. This
module keeps them per document, re-locates them on every new analysis (they follow edits above
them and disappear when the cited code changes), publishes them with the rule diagnostics (source
``ml-engineer (agent)``, codes ``AIxxx``), shows the agent's explanation on hover (inside the rule
finding's hover when the agent repeated a rule finding), and offers code actions: apply the
suggested replacement (a WorkspaceEdit annotated ``needsConfirmation`` when the client supports
change annotations) and ask a follow-up question.

Automatic reviews on save (``mlEngineer.review.onSave``) send only the functions whose text changed
since the last review, within ``mlEngineer.review.maxPerHour``.

The agent package is imported on first use only: the server must start without paying for it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from ..analysis.findings import Edit
from .code_actions import workspace_edit
from .snapshot import Snapshot

if TYPE_CHECKING:
    from ..agent import LineRange
    from ..agent.review import AgentFinding, ChangeTracker, HourlyBudget, ReviewResult, ReviewService
    from .server import MLEngineerServer

log = logging.getLogger(__name__)

COMMAND = "mlEngineer.review"
AGENT_SOURCE = "ml-engineer (agent)"  # the same as ml_engineer.agent.review.AGENT_SOURCE
ANNOTATION_ID = "ml-engineer-agent-suggestion"


@dataclass(frozen=True)
class ReviewSettings:
    """``mlEngineer.review.onSave`` (default false): review the functions changed since the last review
    when a file is saved; ``mlEngineer.review.maxPerHour`` (default 10) caps those automatic reviews per
    rolling hour. Reviews asked for with the command are never limited."""

    on_save: bool = False
    max_per_hour: int = 10

    @classmethod
    def from_section(cls, section: Mapping[str, Any] | None) -> tuple[ReviewSettings, list[str]]:
        """From the ``mlEngineer`` section: nested (``{"review": {"onSave": true}}``) or dotted keys;
        bad values become warnings and defaults."""
        if not isinstance(section, Mapping):
            return cls(), []
        nested = section.get("review")
        raw: dict[str, Any] = dict(nested) if isinstance(nested, Mapping) else {}
        for key, value in section.items():
            if isinstance(key, str) and key.startswith("review."):
                raw[key[len("review.") :]] = value
        warnings: list[str] = []
        on_save, max_per_hour = cls.on_save, cls.max_per_hour
        if "onSave" in raw:
            if isinstance(raw["onSave"], bool):
                on_save = raw["onSave"]
            else:
                warnings.append(f"ignored mlEngineer.review.onSave={raw['onSave']!r}: expected true or false")
        if "maxPerHour" in raw:
            value = raw["maxPerHour"]
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 1000:
                max_per_hour = value
            else:
                warnings.append(f"ignored mlEngineer.review.maxPerHour={value!r}: expected a whole number between 0 and 1000")
        return cls(on_save, max_per_hour), warnings


_SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "info": types.DiagnosticSeverity.Information,
    "hint": types.DiagnosticSeverity.Hint,
}


class _DocumentFindings:
    """The agent findings of one document, located in the text they were last re-located against."""

    def __init__(self) -> None:
        self.findings: list[AgentFinding] = []
        self.text_digest = ""

    def relocate(self, text: str) -> list[AgentFinding]:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        if digest != self.text_digest:
            lines = text.split("\n")
            moved = (f.relocated(lines) for f in self.findings)
            self.findings = [f for f in moved if f is not None]
            self.text_digest = digest
        return self.findings

    def replace(self, text: str, reviewed: tuple[int, int] | None, new: list[AgentFinding]) -> None:
        """Findings of a review of 0-based lines ``reviewed`` (None = whole file) replace the old ones there."""
        kept = self.relocate(text)
        if reviewed is None:
            kept = []
        else:
            kept = [f for f in kept if f.end_line < reviewed[0] or reviewed[1] < f.start_line]
        self.findings = sorted([*kept, *new], key=lambda f: (f.start_line, f.code))


class ReviewFeature:
    def __init__(self, server: MLEngineerServer) -> None:
        self.server = server
        self._service: ReviewService | None = None
        self._documents: dict[str, _DocumentFindings] = {}
        self._tracker: ChangeTracker | None = None
        self._budget: HourlyBudget | None = None
        self._saving: dict[str, asyncio.Task[None]] = {}

    # --- state -----------------------------------------------------------------------------

    @property
    def settings(self) -> ReviewSettings:
        settings = getattr(self.server.settings, "review", None)
        return settings if isinstance(settings, ReviewSettings) else ReviewSettings()

    @property
    def tracker(self) -> ChangeTracker:
        if self._tracker is None:
            from ..agent.review import ChangeTracker

            self._tracker = ChangeTracker()
        return self._tracker

    @property
    def budget(self) -> HourlyBudget:
        if self._budget is None:
            from ..agent.review import HourlyBudget

            self._budget = HourlyBudget(self.settings.max_per_hour)
        return self._budget

    @property
    def service(self) -> ReviewService:
        from ..agent.review import ReviewService

        agent_settings = self.server.settings.agent
        if self._service is None:
            self._service = ReviewService(agent_settings, workspace=self.server.store.root)
        else:
            self._service.update_settings(agent_settings)
        return self._service

    def findings_for(self, snapshot: Snapshot) -> list[AgentFinding]:
        document = self._documents.get(snapshot.key)
        if document is None or snapshot.result is None:
            return []
        return document.relocate(snapshot.result.source.text)

    def forget(self, key: str) -> None:
        self._documents.pop(key, None)
        if self._tracker is not None:
            self._tracker.forget(key)
        task = self._saving.pop(key, None)
        if task is not None:
            task.cancel()

    # --- running reviews ---------------------------------------------------------------------

    async def command(self, arg: dict[str, Any]) -> dict[str, Any]:
        from ..agent import BackendError
        from ..agent.review import review_units

        commands = self.server.agent_commands
        if commands is None:
            raise JsonRpcInvalidParams("the agent commands are not available")
        ask = await commands.request(arg, need_question=False)
        key = ask.uri or ask.path
        try:
            result = await self._review(key, ask.text, ask.path, ask.range, ask.analysis)
        except BackendError as error:
            raise ReviewError(error.message) from error
        if ask.analysis is not None:
            self.tracker.mark_reviewed(key, review_units(ask.analysis) if ask.range is None else [])
        return result.to_dict()

    async def _review(self, key: str, text: str, path: str, focus: LineRange | None, analysis: Any) -> ReviewResult:
        from ..agent.review import ReviewRequest

        result = await self.service.review(ReviewRequest(text, path, focus, analysis))
        reviewed = (focus.start - 1, focus.end - 1) if focus is not None else None
        self._documents.setdefault(key, _DocumentFindings()).replace(text, reviewed, result.findings)
        self.server.window_log_message(types.LogMessageParams(type=types.MessageType.Info, message=f"ml-engineer: {result.summary()}"))
        snapshot = self.server.store.snapshots.get(key)
        if snapshot is not None:
            self.server.publisher.publish(snapshot)
        return result

    def on_save(self, uri: str) -> None:
        """Review what changed since the last review, when `mlEngineer.review.onSave` is on."""
        if not self.settings.on_save:
            return
        key = self.server.store.key_for(uri)
        if key is None:
            return
        running = self._saving.get(key)
        if running is not None and not running.done():
            return  # one automatic review per document at a time
        self._saving[key] = asyncio.get_running_loop().create_task(self._review_changes(key))

    async def _review_changes(self, key: str) -> None:
        from ..agent import BackendError, LineRange
        from ..agent.review.units import MODULE_UNIT, review_units

        self.budget.max_per_hour = self.settings.max_per_hour
        snapshot = await self.server.scheduler.analyse_now(key)
        if snapshot is None or snapshot.result is None:
            return
        analysis = snapshot.result
        units = review_units(analysis)
        changed = self.tracker.changed(key, units)
        if not changed:
            return
        from .documents import uri_to_path

        path = uri_to_path(key)
        first_review = len(changed) == len(units)
        module_changed = any(u.name == MODULE_UNIT for u in changed)
        targets: list[LineRange | None] = (
            [None] if first_review or module_changed else [LineRange(u.start_line, u.end_line) for u in changed]
        )
        for focus in targets:
            if not self.budget.try_spend():
                minutes = self.budget.seconds_until_next() / 60
                self.server.window_log_message(types.LogMessageParams(
                    type=types.MessageType.Info,
                    message=f"ml-engineer: automatic review skipped: mlEngineer.review.maxPerHour "
                    f"({self.budget.max_per_hour}) reached; the next one is possible in {minutes:.0f} min",
                ))
                return
            try:
                await self._review(key, analysis.source.text, path, focus, analysis)
            except BackendError as error:
                self.server.window_log_message(types.LogMessageParams(
                    type=types.MessageType.Warning, message=f"ml-engineer: automatic review failed: {error.message}"))
                return
        self.tracker.mark_reviewed(key, units)

    # --- editor forms ----------------------------------------------------------------------------

    def diagnostics(self, snapshot: Snapshot) -> dict[str, list[types.Diagnostic]]:
        """Agent diagnostics of `snapshot`, by document URI (merged into the rule diagnostics' publish)."""
        out: dict[str, list[types.Diagnostic]] = {}
        for finding in self.findings_for(snapshot):
            if finding.duplicate_of is not None:
                continue  # shown in the rule finding's hover instead
            uri, diagnostic = self.to_diagnostic(snapshot, finding)
            out.setdefault(uri, []).append(diagnostic)
        return out

    def to_diagnostic(self, snapshot: Snapshot, finding: AgentFinding) -> tuple[str, types.Diagnostic]:
        assert snapshot.result is not None
        source = snapshot.result.source
        line = source.line_bytes(finding.start_line)
        start = source.line_start(finding.start_line) + len(line) - len(line.lstrip())
        uri, span = snapshot.range(start, max(start, source.line_end(finding.end_line)))
        item = finding.item
        return uri, types.Diagnostic(
            range=span,
            message=item.title,
            severity=_SEVERITY.get(item.severity, types.DiagnosticSeverity.Warning),
            code=finding.code,
            source=AGENT_SOURCE,
            data={"agent": finding.to_dict()},
        )

    def hover(self, snapshot: Snapshot, uri: str, position: types.Position) -> list[str]:
        if snapshot.result is None:
            return []
        offset = snapshot.offset(uri, position)
        if offset is None:
            return []
        line = snapshot.result.source.line_of(offset)
        parts = []
        for finding in self.findings_for(snapshot):
            if not finding.start_line <= line <= finding.end_line:
                continue
            if finding.duplicate_of is None:
                parts.append(finding.hover_markdown())
            elif any(f.code == finding.duplicate_of and f.span.start <= offset <= f.span.end for f in snapshot.findings):
                parts.append("The ML engineer agent agrees. " + finding.hover_markdown())
        return parts

    def code_actions(self, snapshot: Snapshot, params: types.CodeActionParams, versioned: bool,
                     annotations: bool) -> list[types.CodeAction]:
        result = snapshot.result
        only = [str(kind) for kind in params.context.only] if params.context.only else None
        quickfix = types.CodeActionKind.QuickFix
        if result is None or (only is not None and not any(quickfix == k or quickfix.startswith(k + ".") for k in only)):
            return []
        uri = params.text_document.uri
        start, end = snapshot.offset(uri, params.range.start), snapshot.offset(uri, params.range.end)
        if start is None or end is None:
            return []
        first, last = result.source.line_of(start), result.source.line_of(end)
        actions = []
        for finding in self.findings_for(snapshot):
            if finding.end_line < first or last < finding.start_line:
                continue
            finding_uri, diagnostic = self.to_diagnostic(snapshot, finding)
            if finding_uri != uri:
                continue
            shown = [diagnostic] if finding.duplicate_of is None else None
            item = finding.item
            if item.replacement is not None:
                edit = Edit(result.source.line_start(finding.start_line), result.source.line_end(finding.end_line),
                            item.replacement)
                actions.append(types.CodeAction(
                    title=f"Apply ML engineer suggestion: {item.title}",
                    kind=quickfix,
                    diagnostics=shown,
                    edit=self._edit(snapshot, edit, item.title, versioned, annotations),
                    tags=[types.CodeActionTag.LlmGenerated],
                ))
            question = (f"About your review finding {finding.code} \"{item.title}\": {item.explanation}\n\n"
                        "Can you explain it in more detail for this code, and how I should fix it?")
            actions.append(types.CodeAction(
                title=f"Ask ML engineer a follow-up about {finding.code}",
                kind=quickfix,
                diagnostics=shown,
                command=types.Command("Ask ML engineer", "mlEngineer.ask",
                                      arguments=[{"uri": uri, "question": question, "range": _range_json(diagnostic.range)}]),
                tags=[types.CodeActionTag.LlmGenerated],
            ))
        return actions

    def _edit(self, snapshot: Snapshot, edit: Edit, title: str, versioned: bool, annotations: bool) -> types.WorkspaceEdit:
        if not annotations:
            return workspace_edit(snapshot, [edit], versioned)
        uri, edit_range = snapshot.range(edit.start, edit.end)
        return types.WorkspaceEdit(
            document_changes=[types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=snapshot.version_of(uri)),
                edits=[types.AnnotatedTextEdit(range=edit_range, new_text=edit.new_text, annotation_id=ANNOTATION_ID)],
            )],
            change_annotations={ANNOTATION_ID: types.ChangeAnnotation(
                label="ML engineer suggestion", needs_confirmation=True, description=title)},
        )


class ReviewError(Exception):
    """A failure written for the user (shown as the command's error)."""


def _range_json(value: types.Range) -> dict[str, Any]:
    return {"start": {"line": value.start.line, "character": value.start.character},
            "end": {"line": value.end.line, "character": value.end.character}}


def client_supports_annotations(server: Any) -> bool:
    workspace = getattr(server.client_capabilities, "workspace", None)
    edit = getattr(workspace, "workspace_edit", None)
    return bool(edit and edit.document_changes and edit.change_annotation_support is not None)


def register(server: MLEngineerServer) -> ReviewFeature:
    feature = ReviewFeature(server)

    @server.command(COMMAND)
    async def review(ls: Any, *args: Any) -> dict[str, Any]:
        if len(args) != 1 or not isinstance(args[0], dict):
            raise JsonRpcInvalidParams(f"{COMMAND} expects one object argument, e.g. {{\"uri\": ..., \"range\"?: ...}}")
        return await feature.command(args[0])

    return feature

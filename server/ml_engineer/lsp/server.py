"""The ml-engineer language server: pygls glue around the analysis core.

Each LSP feature lives in its own module with a `register(server)` function; this module holds
the shared state (settings, open documents, analysis scheduler) and the document lifecycle.
"""

from __future__ import annotations

import gc
import logging
import sys
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from .. import __version__
from . import code_actions, code_lens, commands, hover, notebooks, review
from .analysis_runner import AnalysisScheduler
from .commands import AgentCommands, CommandProtocol
from .diagnostics import DiagnosticsPublisher
from .documents import DocumentStore
from .review import ReviewFeature
from .settings import SECTION, ServerSettings, parse_settings
from .snapshot import Snapshot

log = logging.getLogger(__name__)

NOTEBOOK_SYNC = types.NotebookDocumentSyncOptions(
    notebook_selector=[
        types.NotebookDocumentFilterWithNotebook(
            notebook="jupyter-notebook", cells=[types.NotebookCellLanguage(language="python")]
        )
    ],
    save=False,
)


class MLEngineerServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "ml-engineer",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            notebook_document_sync=NOTEBOOK_SYNC,
            protocol_cls=CommandProtocol,
        )
        self.store = DocumentStore()
        self.publisher = DiagnosticsPublisher(self)
        self.scheduler = AnalysisScheduler(
            self.store.make_input, self.store.current_version, self.on_snapshot, settings_known=False
        )
        self.reported_failures: set[tuple[str, str]] = set()
        self.agent_commands: AgentCommands | None = None
        self._knowledge_requested = False
        self.review: ReviewFeature | None = None  # AI review (lsp/review.py)

    @property
    def settings(self) -> ServerSettings:
        return self.store.settings

    # --- analysis results ------------------------------------------------------------------

    async def on_snapshot(self, snapshot: Snapshot) -> None:
        # The replaced snapshot (a whole tree and model: milliseconds to free on big files) is
        # released after the diagnostics are out, not before.
        previous = self.store.snapshots.get(snapshot.key)
        self.store.accept(snapshot)
        self.publisher.publish(snapshot)
        del previous
        if not self._knowledge_requested:
            # Hovers read the knowledge base; load it once the first diagnostics are out.
            self._knowledge_requested = True
            self.scheduler.run_in_worker(_load_knowledge)
        self.report_config_errors()
        if snapshot.result is None:
            return
        for failure in snapshot.result.failures:
            key = (failure.code, failure.error)
            if key in self.reported_failures:
                continue
            self.reported_failures.add(key)
            self.window_log_message(
                types.LogMessageParams(
                    type=types.MessageType.Error,
                    message=f"ml-engineer: rule {failure.code} failed and was skipped ({failure.error}); "
                    f"other rules still ran. Please report this.\n{failure.trace}",
                )
            )

    def report_config_errors(self) -> None:
        while self.store.configs.errors:
            self.warn(self.store.configs.errors.pop(0))

    def warn(self, message: str) -> None:
        self.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=message))

    def schedule(self, key: str, immediately: bool = False) -> None:
        delay = 0.0 if immediately else self.settings.debounce_ms / 1000
        self.scheduler.schedule(key, delay)

    # --- settings --------------------------------------------------------------------------

    def apply_settings(self, raw: Any) -> None:
        settings, warnings = parse_settings(raw)
        for warning in warnings:
            self.warn(f"ml-engineer: {warning}; using the default")
        self.store.settings = settings
        self.store.configs.clear()

    def reanalyse_all(self) -> None:
        for key in self.store.open_keys():
            self.schedule(key, immediately=True)
        if _client_supports(self, "workspace.code_lens.refresh_support"):
            self.workspace_code_lens_refresh(None)

    async def pull_settings(self) -> None:
        if not _client_supports(self, "workspace.configuration"):
            return
        try:
            values = await self.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)])
            )
        except Exception as error:  # a client that fails the request keeps the current settings
            log.warning("workspace/configuration failed: %s", error)
            return
        if values and values[0] is not None:
            self.apply_settings(values[0])


def _load_knowledge() -> None:
    try:
        from ..knowledge import get_knowledge_base

        get_knowledge_base()
    except Exception as error:  # hovers degrade to findings only
        log.warning("knowledge base unavailable: %s", error)


def _client_supports(server: LanguageServer, dotted: str) -> bool:
    node: Any = server.client_capabilities
    for part in dotted.split("."):
        node = getattr(node, part, None)
        if node is None:
            return False
    return bool(node)


def register_lifecycle(server: MLEngineerServer) -> None:
    @server.feature(types.INITIALIZE)
    def initialize(ls: MLEngineerServer, params: types.InitializeParams) -> None:
        ls.store.workspace = ls.workspace
        ls.store.position_encoding = ls.workspace.position_encoding
        ls.store.root = ls.workspace.root_path
        if params.initialization_options is not None:
            ls.apply_settings(params.initialization_options)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: MLEngineerServer, params: types.InitializedParams) -> None:
        try:
            await ls.pull_settings()
        finally:
            ls.scheduler.settings_known = True
        if ls.store.open_keys():
            ls.reanalyse_all()
        if _client_supports(ls, "workspace.did_change_watched_files.dynamic_registration"):
            # `[tool.ml-engineer]` edits (in any editor, or by git) take effect without a restart.
            watcher = types.FileSystemWatcher(glob_pattern="**/pyproject.toml")
            await ls.client_register_capability_async(
                types.RegistrationParams(
                    registrations=[
                        types.Registration(
                            id="ml-engineer-pyproject",
                            method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                            register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=[watcher]),
                        )
                    ]
                )
            )

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(ls: MLEngineerServer, params: types.DidChangeWatchedFilesParams) -> None:
        if any(change.uri.endswith("pyproject.toml") for change in params.changes):
            ls.store.configs.clear()
            ls.reanalyse_all()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: MLEngineerServer, params: types.DidChangeConfigurationParams) -> None:
        settings = params.settings
        if isinstance(settings, dict) and isinstance(settings.get(SECTION), dict):
            ls.apply_settings(settings[SECTION])
        else:
            await ls.pull_settings()
        ls.reanalyse_all()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: MLEngineerServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.store.open_text(params.text_document)
        ls.schedule(params.text_document.uri, immediately=True)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: MLEngineerServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.store.change_text(params)
        ls.schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: MLEngineerServer, params: types.DidSaveTextDocumentParams) -> None:
        if params.text_document.uri.endswith("pyproject.toml"):
            ls.store.configs.clear()
            ls.reanalyse_all()
        elif ls.review is not None:
            ls.review.on_save(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: MLEngineerServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        if uri not in ls.store.texts:
            return
        ls.scheduler.cancel(uri)
        ls.store.close(uri)
        ls.publisher.clear(uri)
        if ls.review is not None:
            ls.review.forget(uri)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: MLEngineerServer, params: None) -> None:
        ls.scheduler.shutdown()


def create_server() -> MLEngineerServer:
    server = MLEngineerServer()
    register_lifecycle(server)
    notebooks.register(server)
    hover.register(server)
    code_actions.register(server)
    code_lens.register(server)
    commands.register(server)
    server.review = review.register(server)
    server.publisher.contributors.append(server.review.diagnostics)
    return server


def run_server(tcp: str | None = None, log_level: str = "WARNING") -> int:
    # stdout carries the protocol: every log line goes to stderr.
    logging.basicConfig(stream=sys.stderr, level=getattr(logging, str(log_level).upper(), logging.WARNING),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Analysis runs in a worker thread: a short GIL switch interval lets the event loop (hovers,
    # code actions) take the GIL back within a millisecond instead of 5 ms at every hand-off.
    sys.setswitchinterval(0.001)
    # Fewer young-generation collections during analyses: 5-15% of a large file's time (the same
    # thresholds and reasoning as `cli/main.py`; process-wide, so set here, not in the library).
    gc.set_threshold(50_000, 50, 100)
    server = create_server()
    server.scheduler.warm_up()
    if tcp:
        host, _, port = tcp.rpartition(":")
        if not host or not port.isdigit():
            print(f"ml-engineer serve: --tcp expects HOST:PORT, got {tcp!r}", file=sys.stderr)
            return 2
        server.start_tcp(host, int(port))
    else:
        # The protocol owns the real stdout; a stray print() anywhere else goes to stderr instead
        # of corrupting the message stream.
        protocol_out = sys.stdout.buffer
        sys.stdout = sys.stderr
        server.start_io(sys.stdin.buffer, protocol_out)
    return 0



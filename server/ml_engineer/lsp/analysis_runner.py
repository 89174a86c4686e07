"""Runs the analysis core on an immutable input in a worker thread, with a per-document debounce.

The event loop only schedules work and publishes results; parsing and rules run in a single
worker thread, so hovers and code actions stay responsive while a big file is analysed. A result
for a version older than the document's current one is dropped, never published.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tree_sitter import Tree

from ..analysis.config import Config
from ..analysis.engine import analyze
from ..analysis.notebook import NotebookSource
from ..analysis.source import Encoding
from .snapshot import CellSpan, Snapshot
from .text_sync import TreeEdit, edited_copy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnalysisInput:
    key: str
    version: int
    text: str
    path: str
    config: Config
    encoding: Encoding
    max_size: int
    cells: tuple[CellSpan, ...] = ()
    notebook: NotebookSource | None = None
    is_notebook: bool = False
    base_tree: Tree | None = None  # tree of an earlier version, reused for an incremental parse
    edits: tuple[TreeEdit, ...] = ()


def skip_reason(text: str, max_size: int) -> str | None:
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > max_size:
        return (
            f"ml-engineer: this file is {size / 1_000_000:.1f} MB, above the {max_size / 1_000_000:.1f} MB limit, "
            "so it was not analysed (setting mlEngineer.maxFileSizeBytes)"
        )
    if "\x00" in text:
        return "ml-engineer: this file contains NUL bytes and looks binary, so it was not analysed"
    return None


def run_analysis(job: AnalysisInput) -> Snapshot:
    """Blocking: text -> snapshot. Safe to call from any thread."""
    reason = skip_reason(job.text, job.max_size)
    if reason is not None:
        return Snapshot(job.key, job.version, job.encoding, None, job.cells, skipped=reason, is_notebook=job.is_notebook)
    old_tree = edited_copy(job.base_tree, list(job.edits)) if job.base_tree is not None else None
    result = analyze(job.text, job.path, job.config, notebook=job.notebook, old_tree=old_tree)
    return Snapshot(job.key, job.version, job.encoding, result, job.cells, is_notebook=job.is_notebook)


def _warm_up() -> None:
    try:
        analyze("import torch\nfor x in loader:\n    loss = model(x)\n    loss.backward()\n    opt.step()\n")
    except Exception:  # pragma: no cover - a broken rule shows up again, with its report, later
        log.exception("warm-up analysis failed")
    # Everything imported so far lives as long as the server: keep it out of the cyclic GC's full
    # collections, whose pauses (tens of ms, GIL held) otherwise land on hovers.
    gc.collect()
    gc.freeze()


SETTINGS_WAIT_S = 2.0


class AnalysisScheduler:
    """Debounced analysis per document key; `on_result` receives only current snapshots."""

    def __init__(
        self,
        make_input: Callable[[str], AnalysisInput | None],
        current_version: Callable[[str], int | None],
        on_result: Callable[[Snapshot], Awaitable[None]],
        settings_known: bool = True,
    ):
        self._make_input = make_input
        self._current_version = current_version
        self._on_result = on_result
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ml-engineer-analysis")
        self._pending: dict[str, asyncio.Task[None]] = {}
        # Closed until the client's settings are known, so the first diagnostics already use them
        # (no flash of default severities); opened after at most SETTINGS_WAIT_S regardless.
        self.settings_known = settings_known

    def warm_up(self) -> None:
        """Import the rules, compile the tree-sitter query and build a parser in the worker thread
        while the client is still initialising, so the first real analysis does not pay for it."""
        self._executor.submit(_warm_up)

    def run_in_worker(self, work: Callable[[], object]) -> None:
        """Background work that must not compete with analyses (it queues behind them)."""
        self._executor.submit(work)

    def schedule(self, key: str, delay_s: float) -> None:
        task = self._pending.get(key)
        if task is not None and not task.done():
            task.cancel()
        self._pending[key] = asyncio.get_running_loop().create_task(self._run(key, delay_s))

    def cancel(self, key: str) -> None:
        task = self._pending.pop(key, None)
        if task is not None:
            task.cancel()

    async def wait_idle(self) -> None:
        tasks = [t for t in self._pending.values() if not t.done()]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def analyse_now(self, key: str) -> Snapshot | None:
        """Analyse the current version at once (used by requests that need fresh results)."""
        job = self._make_input(key)
        if job is None:
            return None
        return await asyncio.get_running_loop().run_in_executor(self._executor, run_analysis, job)

    async def _run(self, key: str, delay_s: float) -> None:
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        waited = 0.0
        while not self.settings_known and waited < SETTINGS_WAIT_S:
            await asyncio.sleep(0.01)
            waited += 0.01
        job = self._make_input(key)
        if job is None:
            return
        try:
            snapshot = await asyncio.get_running_loop().run_in_executor(self._executor, run_analysis, job)
        except Exception:  # the engine isolates rules; this is a parser or model bug
            log.exception("analysis of %s failed", key)
            return
        if self._current_version(key) != job.version:
            return  # the document moved on while we worked: a newer analysis is on its way
        await self._on_result(snapshot)

    def shutdown(self) -> None:
        for task in self._pending.values():
            task.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)

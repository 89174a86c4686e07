"""Language-server latency, driven over stdio like an editor would.

Prints: cold start (spawn -> initialize result; spawn -> first diagnostics on a 1k-line file),
didChange -> publishDiagnostics p50/p95 on 1k/5k/20k-line generated training files with edits at
random places (debounce 0), hover latency while a 20k-line file is being re-analysed, and the
server's RSS after opening 20 files.

    python benchmarks/lsp_latency.py [--edits 30] [--seed 0]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = (ROOT / "benchmarks" / "data" / "image_classifier_train.py").read_text(encoding="utf-8")
_DEF = re.compile(r"^(def|class) (\w+)", re.MULTILINE)


def training_file(lines: int) -> str:
    """A realistic training script repeated (definitions renamed) up to about `lines` lines."""
    parts = []
    count = 0
    copy = 0
    while count < lines:
        block = _DEF.sub(rf"\1 \2_{copy}", TEMPLATE)
        parts.append(block)
        count += block.count("\n")
        copy += 1
    text = "".join(parts)
    return "\n".join(text.split("\n")[:lines]) + "\n"


class Probe:
    """An LSP client that timestamps each publishDiagnostics by (uri, version)."""

    def __init__(self) -> None:
        self.client = LanguageClient("lsp-latency", "1")
        self.published: dict[tuple[str, int | None], float] = {}
        self.events: dict[tuple[str, int | None], asyncio.Event] = {}

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
            key = (params.uri, params.version)
            self.published.setdefault(key, time.perf_counter())
            self._event(key).set()

        @self.client.feature(types.WORKSPACE_CONFIGURATION)
        def configuration(params: types.ConfigurationParams) -> list[object]:
            return [{"debounceMs": 0, "codeLens": {"enabled": True}} for _ in params.items]

    def _event(self, key: tuple[str, int | None]) -> asyncio.Event:
        return self.events.setdefault(key, asyncio.Event())

    async def start(self) -> tuple[float, float]:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "server")}
        env.pop("ANTHROPIC_API_KEY", None)
        started = time.perf_counter()
        await self.client.start_io(sys.executable, "-m", "ml_engineer", "serve", env=env)
        await self.client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(
                    workspace=types.WorkspaceClientCapabilities(configuration=True),
                    text_document=types.TextDocumentClientCapabilities(
                        publish_diagnostics=types.PublishDiagnosticsClientCapabilities(version_support=True)
                    ),
                ),
                initialization_options={"mlEngineer": {"debounceMs": 0}},
            )
        )
        initialized = time.perf_counter()
        self.client.initialized(types.InitializedParams())
        return started, initialized

    async def wait_diagnostics(self, uri: str, version: int, timeout: float = 60) -> float:
        await asyncio.wait_for(self._event((uri, version)).wait(), timeout)
        return self.published[(uri, version)]

    def open(self, uri: str, text: str, version: int = 1) -> None:
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", version, text))
        )

    def change(self, uri: str, version: int, line: int, text: str) -> None:
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                [types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(line, 0), types.Position(line, 0)), text=text
                )],
            )
        )

    def rss_mb(self) -> float:
        server = self.client._server
        assert server is not None
        for line in Path(f"/proc/{server.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    async def stop(self) -> None:
        try:
            await asyncio.wait_for(self.client.shutdown_async(None), 10)
            self.client.exit(None)
        finally:
            await self.client.stop()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def measure_edits(probe: Probe, uri: str, text: str, edits: int, rng: random.Random) -> list[float]:
    lines = text.count("\n")
    probe.open(uri, text)
    await probe.wait_diagnostics(uri, 1)
    latencies = []
    for version in range(2, edits + 2):
        line = rng.randrange(lines)
        sent = time.perf_counter()
        probe.change(uri, version, line, "# edited\n" if version % 2 else f"x_{version} = {version}\n")
        latencies.append((await probe.wait_diagnostics(uri, version)) - sent)
    return latencies


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edits", type=int, default=30, help="edits per file size (20k lines: a third)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    files = {size: training_file(size) for size in (1_000, 5_000, 20_000)}

    probe = Probe()
    spawned, initialized = await probe.start()
    probe.open("file:///bench/first.py", files[1_000])
    first = await probe.wait_diagnostics("file:///bench/first.py", 1)
    print(f"cold start: spawn -> initialize result {1000 * (initialized - spawned):.0f} ms; "
          f"spawn -> first diagnostics (1k lines) {1000 * (first - spawned):.0f} ms")

    for size, text in files.items():
        count = args.edits if size < 20_000 else max(5, args.edits // 3)
        latencies = await measure_edits(probe, f"file:///bench/edit_{size}.py", text, count, rng)
        print(f"didChange -> publishDiagnostics, {size // 1000}k lines ({count} edits): "
              f"p50 {1000 * statistics.median(latencies):.0f} ms, p95 {1000 * percentile(latencies, 0.95):.0f} ms")

    # Hover on a small file while the 20k-line file is re-analysed in the worker thread.
    small = "file:///bench/small.py"
    probe.open(small, files[1_000])
    await probe.wait_diagnostics(small, 1)
    big = "file:///bench/edit_20000.py"
    version = 1000
    hovers = []
    for _ in range(5):
        version += 1
        analysis_sent = time.perf_counter()
        probe.change(big, version, rng.randrange(20_000), "# again\n")
        await asyncio.sleep(0.02)  # let the analysis start
        for _ in range(5):
            sent = time.perf_counter()
            await probe.client.text_document_hover_async(
                types.HoverParams(types.TextDocumentIdentifier(small), types.Position(18, 8))
            )
            hovers.append(time.perf_counter() - sent)
        analysed = await probe.wait_diagnostics(big, version)
        assert analysed > analysis_sent
    print(f"hover while a 20k-line file is analysed ({len(hovers)} hovers): "
          f"p50 {1000 * statistics.median(hovers):.1f} ms, max {1000 * max(hovers):.1f} ms")

    for index in range(20 - 5):  # 20 open documents in all
        uri = f"file:///bench/open_{index}.py"
        probe.open(uri, files[1_000])
        await probe.wait_diagnostics(uri, 1)
    print(f"RSS at the end of this session (20 files open: 1k, 5k, 20k lines and 17 of 1k; "
          f"{args.edits * 2 + args.edits // 3 + 25} re-analyses): {probe.rss_mb():.0f} MB")
    await probe.stop()

    fresh = Probe()
    await fresh.start()
    for index in range(20):
        uri = f"file:///bench/fresh_{index}.py"
        fresh.open(uri, files[1_000])
        await fresh.wait_diagnostics(uri, 1)
    print(f"RSS of a fresh server after opening 20 files of 1k lines: {fresh.rss_mb():.0f} MB")
    await fresh.stop()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

"""AI review metrics on the examples: request size, time to diagnostics, anchoring through edits.

1. Request size: for every example (whole file, and the training function when there is one), the
   review request that would be sent: estimated input tokens and the JSON body's bytes.
2. Time to diagnostics: a real `ml-engineer serve` process over stdio, the local stand-in Messages
   API (tests/fake_anthropic) answering with tool_use findings; time from sending
   `mlEngineer.review` to the publishDiagnostics that carries the agent diagnostics (uncached, then
   the same review again from the cache).
3. Anchoring: findings citing lines of each example are carried through scripted edits (lines
   inserted above, unrelated code edited, a blank line removed, the cited line pasted elsewhere,
   the cited code edited); counts of findings kept/dropped and at the right line vs expected.

    python benchmarks/review_metrics.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(ROOT / "tests"))

from fake_anthropic import FakeAnthropicServer, Reply  # noqa: E402
from ml_engineer.agent import AgentSettings, LineRange, find_agent, resolve_model  # noqa: E402
from ml_engineer.agent.review import TOOL_NAME, AgentFinding, ReviewItem, build_review_plan  # noqa: E402
from ml_engineer.analysis.config import Config  # noqa: E402
from ml_engineer.cli.check import analyze_path  # noqa: E402

EXAMPLES = sorted(p for p in (ROOT / "examples").iterdir() if p.suffix in (".py", ".ipynb"))
KEY = "sk-ant-api03-benchmarkKEY000000000000000000000000000000000000000000000000000000-AA"
_INTERESTING = ("optim", "loss", "fit(", "split", "Loader(", "compile(", "lr", "scaler", "backward", "transform")


def cited_lines(text: str, limit: int = 4) -> list[int]:
    """0-based lines an ML reviewer would cite: distinct, non-blank lines with ML calls."""
    lines = text.split("\n")
    seen: set[str] = set()
    chosen = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and any(k in line for k in _INTERESTING) and stripped not in seen:
            seen.add(stripped)
            chosen.append(i)
    step = max(1, len(chosen) // limit)
    return chosen[::step][:limit]


def item(line0: int, n: int) -> dict[str, Any]:
    return {"start_line": line0 + 1, "end_line": line0 + 1, "severity": "warning", "title": f"Review finding {n}",
            "explanation": "A scripted finding of the stand-in API.", "confidence": 0.8}


# --- 1. request size -------------------------------------------------------------------------------


def request_sizes() -> list[tuple[str, str, int, int, int]]:
    settings = AgentSettings()
    agent = find_agent(settings.name)
    model = resolve_model(agent.model, settings.model)
    rows = []
    for path in EXAMPLES:
        analysis = analyze_path(path, Config())
        focuses: list[tuple[str, LineRange | None]] = [("whole file", None)]
        train = next((f for f in analysis.model.functions.values() if f.name in ("main", "train", "fit")), None)
        if train is not None:
            node = train.node
            focuses.append((f"function {train.name}", LineRange(node.start_point[0] + 1, node.end_point[0] + 1)))
        for label, focus in focuses:
            plan = build_review_plan(analysis, path.name, focus, model, agent.system_prompt,
                                     settings.max_context_tokens, settings.max_tokens)
            rows.append((path.name, label, plan.input_tokens_estimate, plan.request_bytes, len(plan.bundle.snippets)))
    return rows


# --- 2. time to diagnostics --------------------------------------------------------------------------


async def time_to_diagnostics(repeats: int) -> list[tuple[str, float, float, float]]:
    from lsprotocol import types
    from pygls.lsp.client import LanguageClient

    api = FakeAnthropicServer(expected_key=KEY).start()
    client = LanguageClient("review-metrics", "1")
    agent_published: dict[str, asyncio.Event] = {}

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
        if any(d.source == "ml-engineer (agent)" for d in params.diagnostics):
            agent_published.setdefault(params.uri, asyncio.Event()).set()

    section = {"debounceMs": 0, "agent": {"baseUrl": api.base_url, "maxRetries": 0}}

    @client.feature(types.WORKSPACE_CONFIGURATION)
    def configuration(params: types.ConfigurationParams) -> list[object]:
        return [section for _ in params.items]

    @client.feature(types.WINDOW_LOG_MESSAGE)
    def log_message(params: types.LogMessageParams) -> None:
        return None

    env = {**os.environ, "PYTHONPATH": str(ROOT / "server"), "ANTHROPIC_API_KEY": KEY}
    env.pop("ANTHROPIC_BASE_URL", None)
    await client.start_io(sys.executable, "-m", "ml_engineer", "serve", env=env)
    rows = []
    try:
        await client.initialize_async(types.InitializeParams(
            capabilities=types.ClientCapabilities(workspace=types.WorkspaceClientCapabilities(configuration=True)),
            initialization_options={"mlEngineer": section},
        ))
        client.initialized(types.InitializedParams())
        for path in [p for p in EXAMPLES if p.suffix == ".py"]:
            text = path.read_text(encoding="utf-8")
            uri = path.as_uri()
            client.text_document_did_open(types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
            items = [item(line, n) for n, line in enumerate(cited_lines(text))]
            fresh: list[float] = []
            cached: list[float] = []
            for attempt in range(repeats):
                # a new comment line at the end makes a new request body (no cache hit)
                api.enqueue(Reply.tool_use(TOOL_NAME, {"findings": items}))
                for which in (fresh, cached):
                    agent_published[uri] = asyncio.Event()
                    started = time.perf_counter()
                    await client.workspace_execute_command_async(types.ExecuteCommandParams(
                        command="mlEngineer.review", arguments=[{"uri": uri}]))
                    await asyncio.wait_for(agent_published[uri].wait(), 30)
                    which.append((time.perf_counter() - started) * 1000)
                lines = text.count("\n")
                text += f"# edit {attempt}\n"
                client.text_document_did_change(types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=attempt + 2),
                    content_changes=[types.TextDocumentContentChangePartial(
                        range=types.Range(types.Position(lines, 0), types.Position(lines, 0)), text=f"# edit {attempt}\n")],
                ))
                await asyncio.sleep(0.3)
            rows.append((path.name, fresh[0], statistics.median(fresh), statistics.median(cached)))
    finally:
        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()
        api.stop()
    return rows


# --- 3. anchoring through edits -----------------------------------------------------------------------


def anchoring() -> tuple[dict[str, list[int]], list[str]]:
    """scenario -> [kept as expected, dropped as expected, wrong], and the failures."""
    totals: dict[str, list[int]] = {}
    failures: list[str] = []
    for path in EXAMPLES:
        text = analyze_path(path, Config()).source.text
        lines = text.split("\n")
        cited = cited_lines(text)
        findings = [AgentFinding.create(ReviewItem(c + 1, c + 1, "warning", f"finding {n}", "e", 0.8), lines)
                    for n, c in enumerate(cited)]
        uncited = [i for i, line in enumerate(lines) if line.strip() and i not in cited and not line.strip().startswith(("def ", "class ", "@"))]
        target = cited[0]
        blank_above = next((i for i in range(target - 1, -1, -1) if not lines[i].strip()), None)
        scenarios: list[tuple[str, list[str], dict[int, int | None]]] = [
            ("insert 3 lines at the top", ["# header", "import os", "", *lines], {c: c + 3 for c in cited}),
            ("edit unrelated code", [line + "  # tweak" if i == uncited[len(uncited) // 2] else line for i, line in enumerate(lines)],
             {c: c for c in cited}),
            ("paste a cited line elsewhere", [*lines[:-1], lines[target], lines[-1]], {c: c for c in cited}),
            ("edit the cited code", [line.replace(line.strip(), line.strip() + "  + 0") if i == target else line
                                     for i, line in enumerate(lines)], {c: (None if c == target else c) for c in cited}),
        ]
        if blank_above is not None:
            scenarios.append(("delete a blank line above", lines[:blank_above] + lines[blank_above + 1 :],
                              {c: (c - 1 if c > blank_above else c) for c in cited}))
        for name, new_lines, expected in scenarios:
            row = totals.setdefault(name, [0, 0, 0])
            for finding, line in zip(findings, cited, strict=True):
                moved = finding.relocated(new_lines)
                want = expected[line]
                got = moved.start_line if moved is not None else None
                if got == want:
                    row[0 if want is not None else 1] += 1
                else:
                    row[2] += 1
                    failures.append(f"{path.name}: {name}: line {line + 1} -> {got} (expected {want})")
    return totals, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    print("== request size (estimated tokens, JSON bytes, snippets)")
    for name, label, tokens, size, snippets in request_sizes():
        print(f"  {name:24} {label:22} {tokens:6} tokens {size:7} bytes  {snippets} snippet(s)")

    print("== time to diagnostics (mlEngineer.review -> agent publishDiagnostics, stand-in API, median ms)")
    for name, first, fresh, cached in asyncio.run(time_to_diagnostics(args.repeats)):
        print(f"  {name:24} first {first:7.1f} ms   uncached {fresh:7.1f} ms   cached {cached:7.1f} ms")
    print("  (the very first review of the session includes importing the anthropic SDK)")

    print("== anchoring through scripted edits (kept as expected / dropped as expected / wrong)")
    totals, failures = anchoring()
    for name, (kept, dropped, wrong) in totals.items():
        print(f"  {name:30} kept {kept:3}  dropped {dropped:3}  wrong {wrong:3}")
    all_ok = sum(r[0] + r[1] for r in totals.values())
    all_n = sum(sum(r) for r in totals.values())
    print(f"  total: {all_ok}/{all_n} findings where expected")
    for failure in failures:
        print("   ", failure)
    return 0


if __name__ == "__main__":
    sys.exit(main())

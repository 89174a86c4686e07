"""`ml-engineer ask FILE[:LINE[-END]] "question"`: ask the ML engineer agent from the terminal.

The answer streams to stdout. `--dry-run` prints exactly what would be sent (agent, model, each
snippet with its line range, redactions, token estimate) and sends nothing; `--json` prints one
JSON object (the answer, or with `--dry-run` the preview) instead of text.

Exit status: 0 answered, 1 the API failed (the message says what to do), 2 usage or configuration
error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # the agent package is imported only when a command runs
    from ..agent import AgentSettings, LineRange

_LOCATION = re.compile(r"^(?P<path>.+?):(?P<start>\d+)(?:-(?P<end>\d+))?$")


def add_ask_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("location", metavar="FILE[:LINE[-END]]", help="the file, optionally with a line or line range")
    parser.add_argument("question", help="the question, in quotes")
    parser.add_argument("--dry-run", action="store_true", help="print what would be sent and send nothing")
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of text")
    parser.add_argument("--backend", choices=["auto", "anthropic", "offline"], default=None,
                        help="anthropic (needs ANTHROPIC_API_KEY), offline, or auto (default: anthropic when a key is set)")
    parser.add_argument("--agent", metavar="NAME", default=None, help="agent definition to use (default ml-engineer)")
    parser.add_argument("--model", default=None, help="model id or alias (sonnet, opus, haiku) overriding the agent's")
    parser.add_argument("--max-context-tokens", type=int, default=None, metavar="N",
                        help="token budget for the code sent (default 6000)")


def parse_location(location: str) -> tuple[str, tuple[int, int] | None]:
    """`train.py:40-58` -> ("train.py", (40, 58)); a path without a line suffix -> (path, None)."""
    m = _LOCATION.match(location)
    if m is None or os.path.exists(location):
        return location, None
    start = int(m.group("start"))
    end = int(m.group("end") or start)
    return m.group("path"), (start, end)



def checked_line_range(lines: tuple[int, int] | None, n_lines: int, path: str) -> LineRange | None:
    """The asked lines clipped to the file; ValueError (with a message for the user) when impossible."""
    from ..agent import LineRange

    if lines is None:
        return None
    if lines[0] < 1 or lines[1] < lines[0] or lines[0] > n_lines:
        raise ValueError(f"invalid line range {lines[0]}-{lines[1]} for {path} ({n_lines} lines)")
    return LineRange(lines[0], min(lines[1], n_lines))


def settings_from_args(args: argparse.Namespace, command: str, err: TextIO) -> AgentSettings:
    """Agent settings from `--model` / `--max-context-tokens`; bad values are reported, defaults kept."""
    from ..agent import AgentSettings

    overrides: dict[str, Any] = {}
    if args.model:
        overrides["model"] = args.model
    if args.max_context_tokens is not None:
        overrides["maxContextTokens"] = args.max_context_tokens
    settings, warnings = AgentSettings.from_mapping({"agent": overrides})
    for warning in warnings:
        print(f"ml-engineer {command}: {warning}", file=err)
    return settings


def run_ask(args: argparse.Namespace) -> int:
    from ..agent import (
        AgentDefinitionError,
        AgentNotFoundError,
        AskRequest,
        AskService,
        BackendError,
    )

    path, lines = parse_location(args.location)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as error:
        print(f"ml-engineer ask: cannot read {path}: {error.__class__.__name__}: {error.strerror if isinstance(error, OSError) else error}", file=sys.stderr)
        return 2
    try:
        line_range = checked_line_range(lines, text.count("\n") + 1, path)
    except ValueError as error:
        print(f"ml-engineer ask: {error}", file=sys.stderr)
        return 2
    settings = settings_from_args(args, "ask", sys.stderr)
    service = AskService(settings, workspace=os.getcwd())
    backend = None if args.backend in (None, "auto") else args.backend
    request = AskRequest(text=text, question=args.question, path=path, range=line_range, backend=backend, agent=args.agent)
    try:
        if args.dry_run:
            preview = service.preview(request)
            if args.json:
                print(json.dumps(preview.to_dict(), indent=2))
            else:
                sys.stdout.write(preview.text())
            return 0
        return asyncio.run(_ask(service, request, args.json))
    except (AgentDefinitionError, AgentNotFoundError) as error:
        print(f"ml-engineer ask: {error}", file=sys.stderr)
        return 2
    except BackendError as error:
        if args.json:
            print(json.dumps({"error": error.message, "kind": error.kind}))
        else:
            print(f"\nml-engineer ask: {error.message}", file=sys.stderr)
        return 2 if error.kind == "config" else 1
    except KeyboardInterrupt:
        print("\nml-engineer ask: interrupted", file=sys.stderr)
        return 130


async def _ask(service: Any, request: Any, as_json: bool) -> int:
    def write(chunk: str) -> None:
        sys.stdout.write(chunk)
        sys.stdout.flush()

    try:
        answer = await service.ask(request, on_chunk=None if as_json else write)
    finally:
        await service.aclose()
    if as_json:
        print(json.dumps(answer.to_dict(), indent=2))
        return 0
    if not answer.markdown.endswith("\n"):
        sys.stdout.write("\n")
    if not answer.offline:
        usage = answer.usage
        cost = f", ~${answer.cost_usd:.4f}" if answer.cost_usd is not None else ""
        cached = " (cached)" if answer.cached else ""
        print(
            f"\n[{answer.agent} via {answer.model}{cached}: {usage.input_tokens} input tokens "
            f"({usage.cache_read_input_tokens} from cache), {usage.output_tokens} output tokens{cost}]",
            file=sys.stderr,
        )
    return 0

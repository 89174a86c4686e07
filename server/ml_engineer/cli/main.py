"""Entry point: subcommands import their heavy dependencies (pygls, anthropic) only when used."""

from __future__ import annotations

import argparse
import gc
import sys

from .. import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ml-engineer", description="A senior ML engineer reading over your shoulder.")
    parser.add_argument("--version", action="version", version=f"ml-engineer {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    from .check import add_check_arguments

    add_check_arguments(sub.add_parser("check", help="check files for ML pitfalls"))

    from .rule import add_rule_arguments

    add_rule_arguments(sub.add_parser("rule", help="show a rule's documentation"))

    from .ask import add_ask_arguments

    add_ask_arguments(sub.add_parser("ask", help="ask the ML engineer about code"))

    from .review import add_review_arguments

    add_review_arguments(sub.add_parser("review", help="AI review of a file or function"))

    serve = sub.add_parser("serve", help="run the language server (stdio by default)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio (debugging)")
    serve.add_argument("--log-level", default="WARNING", help="stderr log level (default WARNING)")
    return parser


# An analysis allocates a few hundred thousand short-lived objects (tree-sitter nodes, small lists)
# and almost no reference cycles: default thresholds run a young-generation collection every 700
# allocations, 5-15% of a large file's analysis. Process-wide, so set by the entry points (here and
# the language server's `run_server`), never inside the library's `analyze()`.
GC_THRESHOLDS = (50_000, 50, 100)


def main(argv: list[str] | None = None) -> int:
    gc.set_threshold(*GC_THRESHOLDS)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "check":
        from .check import run_check

        return run_check(args)
    if args.command == "rule":
        from .rule import run_rule

        return run_rule(args)
    if args.command == "ask":
        from .ask import run_ask

        return run_ask(args)
    if args.command == "review":
        from .review import run_review

        return run_review(args)
    if args.command == "serve":
        try:
            from ..lsp.server import run_server
        except ImportError as error:
            print(f"ml-engineer serve: the language server is not available: {error}", file=sys.stderr)
            return 2
        return run_server(tcp=args.tcp, log_level=args.log_level)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())

"""`ml-engineer rule CODE` prints a rule's documentation; `--all` lists every rule."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from ..analysis.rules.registry import all_rules, get_rule


def add_rule_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("code", nargs="?", help="rule code, e.g. ML101")
    parser.add_argument("--all", action="store_true", help="list every rule")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def run_rule(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    if args.all:
        rules = all_rules()
        if args.format == "json":
            payload = [
                {"code": r.code, "name": r.name, "severity": r.severity, "tier": r.tier, "summary": r.summary,
                 "fix": r.fix_availability, "url": r.url()}
                for r in rules
            ]
            print(json.dumps(payload, indent=2), file=out)
        else:
            for r in rules:
                fix = "[*]" if r.fix_availability != "never" else "   "
                print(f"{r.code}  {fix} {r.severity:<7} {r.name:<38} {r.summary}", file=out)
        return 0
    if not args.code:
        print("ml-engineer rule: give a rule code (e.g. ML101) or --all", file=err)
        return 2
    rule = get_rule(args.code)
    if rule is None:
        print(f"ml-engineer rule: unknown rule {args.code!r}; `ml-engineer rule --all` lists them", file=err)
        return 2
    if args.format == "json":
        print(json.dumps({"code": rule.code, "name": rule.name, "severity": rule.severity, "tier": rule.tier,
                          "summary": rule.summary, "docs": rule.docs(), "url": rule.url()}, indent=2), file=out)
    else:
        print(f"# {rule.code} {rule.name} ({rule.severity}, tier {rule.tier})\n", file=out)
        print(rule.docs(), file=out)
    return 0

"""The floor under any analysis built on py-tree-sitter: what merely visiting the tree costs.

Prints, for the generated 1k/5k/20k-line files, the bare parse and, as a share of it:
- a query that captures nothing (tree-sitter's query walk over every node),
- a Python TreeCursor walk over every node (the alternative to a query),
- the index query of the semantic model (what it captures, as Python nodes),
- `index_nodes` (the query plus sorting each list into document order).
The whole analysis must fit in 2x the parse; these steps come before any rule runs.

Run: python benchmarks/index_floor.py [--runs 20]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "server"))

from generate import write_files  # noqa: E402
from tree_sitter import Query, QueryCursor, Tree  # noqa: E402

from ml_engineer.analysis.parsing import index_nodes, index_query, parse, python_language  # noqa: E402
from ml_engineer.cli.main import GC_THRESHOLDS  # noqa: E402


def fastest_ms(fn: Callable[[], object], runs: int) -> float:
    """Minimum CPU time of `runs` calls: the least disturbed by other load on a shared machine."""
    for _ in range(3):
        fn()  # warm up caches (and the CPU's clock) before timing
    best = float("inf")
    for _ in range(runs):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best * 1000


def cursor_walk(tree: Tree) -> int:
    cursor = tree.walk()
    visited = 0
    while True:
        visited += 1
        if cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return visited


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 5000, 20000])
    args = parser.parse_args()
    gc.set_threshold(*GC_THRESHOLDS)  # as `ml-engineer check` and the language server run
    nothing = Query(python_language(), "(future_import_statement) @never")
    header = f"{'file':>8} {'nodes':>8} {'parse':>8} {'empty query':>13} {'cursor walk':>13} {'index query':>13} {'index_nodes':>13}"
    print(header)
    print("-" * len(header))
    for size, path in write_files(HERE / "generated", tuple(args.sizes)).items():
        data = path.read_bytes()
        tree = parse(data)
        root = tree.root_node
        parse_ms = fastest_ms(lambda data=data: parse(data), args.runs)
        steps = [
            fastest_ms(lambda root=root: QueryCursor(nothing).captures(root), args.runs),
            fastest_ms(lambda tree=tree: cursor_walk(tree), args.runs),
            fastest_ms(lambda root=root: QueryCursor(index_query()).captures(root), args.runs),
            fastest_ms(lambda root=root: index_nodes(root), args.runs),
        ]
        cells = " ".join(f"{ms:6.1f} {ms / parse_ms:4.2f}x" for ms in steps)
        print(f"{size:>8} {root.descendant_count:>8} {parse_ms:6.1f}ms {cells}")
    print("\nms and share of the parse (minimum CPU time of --runs); the analysis target is 2x the parse in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())

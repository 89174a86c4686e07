"""Command line: `ml-engineer check | rule | ask | review | serve`."""

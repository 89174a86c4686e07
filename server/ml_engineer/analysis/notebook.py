"""Notebooks as one program: code cells joined in order, with a map back to cell coordinates."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

# IPython syntax that is not Python: line magics, cell magics and shell escapes.
_MAGIC = re.compile(r"^(\s*)([%!]|\?\?|\?)")
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "memit", "snakeviz"})


class NotebookError(ValueError):
    pass


@dataclass(frozen=True)
class Cell:
    index: int  # position among all cells of the notebook, markdown included
    start_line: int  # first line of this cell in the joined source
    line_count: int
    source: str


@dataclass(frozen=True)
class NotebookSource:
    text: str
    cells: tuple[Cell, ...]

    @property
    def cell_starts(self) -> list[int]:
        return [cell.start_line for cell in self.cells]

    def locate(self, line: int) -> tuple[Cell, int]:
        """Joined-source line -> (cell, line within the cell)."""
        chosen = self.cells[0]
        for cell in self.cells:
            if cell.start_line <= line:
                chosen = cell
            else:
                break
        return chosen, line - chosen.start_line


def neutralise_magics(source: str) -> str:
    """Turn `%magic` / `!shell` lines into comments of the same length, so columns stay right."""
    lines = source.split("\n")
    out = []
    first = lines[0].lstrip() if lines else ""
    # `%%time` and friends run the Python below them; `%%bash`, `%%writefile`... hold other text.
    in_cell_magic = first.startswith("%%") and first[2:].split(" ")[0] not in _PYTHON_CELL_MAGICS
    for line in lines:
        if in_cell_magic:
            out.append("#" + line[1:] if line else line)
            continue
        match = _MAGIC.match(line)
        if match:
            indent = match.group(1)
            out.append(indent + "#" + line[len(indent) + 1 :])
        else:
            out.append(line)
    return "\n".join(out)


def cell_text(cell: dict[str, object]) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        return "".join(str(part) for part in source)
    return str(source)


def join_cells(cell_sources: list[tuple[int, str]]) -> NotebookSource:
    """Join (index, code) pairs into one source; every cell starts on a fresh line."""
    parts: list[str] = []
    cells: list[Cell] = []
    line = 0
    for index, code in cell_sources:
        code = neutralise_magics(code.replace("\r\n", "\n"))
        count = code.count("\n") + 1
        cells.append(Cell(index, line, count, code))
        parts.append(code)
        line += count
    return NotebookSource("\n".join(parts), tuple(cells))


def load_notebook(raw: str) -> NotebookSource:
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as error:
        raise NotebookError(f"not a valid notebook (JSON error at line {error.lineno}: {error.msg})") from error
    if not isinstance(document, dict) or not isinstance(document.get("cells"), list):
        raise NotebookError("not a valid notebook (no 'cells' list)")
    language = str(document.get("metadata", {}).get("kernelspec", {}).get("language", "python") or "python")
    if language.lower() not in ("python", "python3"):
        raise NotebookError(f"notebook language is {language!r}, not Python")
    code_cells = [
        (index, cell_text(cell))
        for index, cell in enumerate(document["cells"])
        if isinstance(cell, dict) and cell.get("cell_type") == "code"
    ]
    if not code_cells:
        return NotebookSource("", ())
    return join_cells(code_cells)

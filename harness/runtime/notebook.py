"""Read a Jupyter notebook's code cells as the Python that IPython would run.

The one notebook reader of the harness: the definitions loader (``defonly``, inside
the sandbox) and the forbidden-API search (``harness.checks.forbidden``, on the
trusted side) both read notebooks through ``read_notebook``, so they agree on which
lines are Python and which are IPython's own.  Standard library only.

IPython-only lines are blanked, so that the cell parses and every other line keeps
its number: a line magic (``%matplotlib inline``), a shell escape (``!pip install x``),
an assigned magic (``files = !ls``, ``t = %timeit -o f()``) and a help line
(``np.zeros?``, ``??obj``) become an empty line, or ``pass`` at their indentation
inside a block.  Lines are blanked only when the cell does not parse as written, so a
line that merely looks like a magic (a continuation starting with ``%``, a docstring
line starting with ``!``) is never touched in a cell that is plain Python.

A cell magic on a cell's first line decides how the whole cell runs.  ``%%time``,
``%%capture`` and ``%%prun`` run the cell's body as Python in the notebook's
namespace: the magic line is blanked and the body read like any cell.  Any other
(``%%bash``, ``%%writefile``, ``%%html``, ``%%timeit``, which runs its body in a
function of its own) makes the cell not Python: ``Cell.python`` is None.
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from dataclasses import dataclass

__all__ = ["CELL_FLAGS", "PYTHON_CELL_MAGICS", "Cell", "read_notebook"]

#: compile flags for a cell: IPython runs ``await`` at a cell's top level
CELL_FLAGS = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
#: cell magics that run the cell's body as Python in the notebook's namespace
PYTHON_CELL_MAGICS = frozenset({"time", "capture", "prun"})

# IPython's ``x = !ls`` / ``t = %timeit -o f()`` forms.
_ASSIGNED_MAGIC = re.compile(r"^\s*[A-Za-z_][\w.,\s\[\]]*?=\s*[%!]")
# IPython's help syntax: ``np.zeros?``, ``??obj``.  Kept narrow so that real
# code ending in ``?`` (inside a comment, say) is never taken for help.
_HELP_LINE = re.compile(r"^(?:\?{1,2}[\w.]+|[\w.]+\?{1,2})$")


@dataclass(frozen=True)
class Cell:
    """One code cell: its text as written and the Python in it."""

    index: int  #: the cell's position among all the notebook's cells, as Jupyter counts
    source: str  #: the cell's text as written, lines ended by "\n"
    #: ``source`` with its IPython-only lines blanked (as many lines as ``source``);
    #: None where a cell magic makes the whole cell something other than Python
    python: str | None
    #: 1-based numbers of the lines that are IPython's, not Python (the cell magic's
    #: line included)
    magic_lines: tuple[int, ...] = ()
    cell_magic: str | None = None  #: the cell magic's name ("time", "bash"), if any


def read_notebook(text: str, *, filename: str = "notebook") -> list[Cell]:
    """The code cells of a notebook (nbformat 4 JSON), in document order.

    Raises ``ValueError`` (naming ``filename``) if ``text`` is not a notebook.
    """
    try:
        notebook = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise ValueError(f"{filename} is not a readable notebook: {error}") from error
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise ValueError(f"{filename} has no list of cells (only nbformat 4 is read)")
    return [
        _read_cell(index, cell.get("source", ""))
        for index, cell in enumerate(cells)
        if isinstance(cell, dict) and cell.get("cell_type") == "code"
    ]


def _is_magic(line: str) -> bool:
    """Whether ``line`` is an IPython-only line (a magic, a shell escape, help)."""
    stripped = line.strip()
    if stripped.startswith(("%", "!")) and not stripped.startswith("!="):
        return True
    return bool(_ASSIGNED_MAGIC.match(line) or _HELP_LINE.match(stripped))


def _read_cell(index: int, raw: object) -> Cell:
    if isinstance(raw, list):
        raw = "".join(str(part) for part in raw)
    source = str(raw).replace("\r\n", "\n").replace("\r", "\n")
    lines = source.split("\n")
    first = next((number for number, line in enumerate(lines, 1) if line.strip()), None)
    if first is not None and lines[first - 1].lstrip().startswith("%%"):
        words = lines[first - 1].lstrip()[2:].split(maxsplit=1)
        name = words[0] if words else ""
        if name not in PYTHON_CELL_MAGICS:
            return Cell(index, source, None, (first,), name)
        body = "\n".join([*lines[: first - 1], "", *lines[first:]])
        python, found = _as_python(body)
        return Cell(index, source, python, tuple(sorted({first, *found})), name)
    python, found = _as_python(source)
    return Cell(index, source, python, found)


def _parses(source: str) -> bool:
    with warnings.catch_warnings():
        # Student code's SyntaxWarnings are not the reader's business (and are errors
        # under the test suite's warning filters).
        warnings.simplefilter("ignore")
        try:
            compile(
                source, "<cell>", "exec", flags=ast.PyCF_ONLY_AST | CELL_FLAGS, dont_inherit=True
            )
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
    return True


def _as_python(source: str) -> tuple[str, tuple[int, ...]]:
    """``source`` as it is where it parses, else with its IPython-only lines blanked."""
    if _parses(source):
        return source, ()
    out: list[str] = []
    found: list[int] = []
    for number, line in enumerate(source.split("\n"), 1):
        if _is_magic(line):
            found.append(number)
            indent = line[: len(line) - len(line.lstrip())]
            # An indented magic becomes ``pass`` so its block stays valid.
            out.append(indent + "pass" if indent else "")
        else:
            out.append(line)
    return "\n".join(out), tuple(found)

"""One notebook reader (``harness.runtime.notebook``) for the definitions loader and the
forbidden-API search: both read the same lines as IPython's and the rest as Python."""

import json
import re

import pytest

from harness.checks.forbidden import find_forbidden
from harness.runtime.defonly import MAGIC_REASON, extract_notebook_definitions
from harness.runtime.notebook import read_notebook


def notebook(*cells: str) -> str:
    return json.dumps(
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {},
            "cells": [
                {"cell_type": "code", "metadata": {}, "source": source.splitlines(keepends=True)}
                for source in cells
            ],
        }
    )


# Every line that names nn.LSTM is either IPython's (a magic, a shell escape, help) or
# Python that uses it.
MAGICS = notebook(
    "%matplotlib inline\nimport torch.nn as nn\n!echo nn.LSTM\nout = !echo nn.LSTM\nnn.LSTM?\n",
    "for _ in range(1):\n    %time nn.LSTM(1, 2)\n    a = nn.LSTM(1, 2)\n",
    # A plain Python cell: a continuation line that starts with % is Python.
    "b = (3\n% len(nn.LSTM.__name__))\n",
    # A line starting with != is a continuation, not a shell escape.
    "%load_ext autoreload\nc = (1\n!= len([nn.LSTM]))\n",
    # IPython runs await at a cell's top level.
    "import asyncio\nawait asyncio.sleep(0)\nd = nn.LSTM(1, 2)\n",
    # %%time runs its body as Python in the notebook's namespace; %%bash does not.
    "%%time\ne = nn.LSTM(1, 2)\n%timeit nn.LSTM(1, 2)\n",
    "%%bash\npython -c 'import torch; torch.nn.LSTM'\necho nn.LSTM\n",
)


def lines_naming_the_api(text: str) -> set[tuple[int, int]]:
    found = set()
    for cell in read_notebook(text):
        for number, line in enumerate(cell.source.split("\n"), 1):
            if "nn.LSTM" in line:
                found.add((cell.index, number))
    return found


def test_the_loader_and_the_search_agree_on_every_magic_line():
    uses = find_forbidden({"lab.ipynb": MAGICS}, forbidden=["torch.nn.LSTM"], use_torch=False)
    used = set()
    for use in uses:
        match = re.fullmatch(r"lab\.ipynb cell (\d+)", use.file)
        assert match, use.file
        used.add((int(match[1]), use.line))
    skipped = extract_notebook_definitions(MAGICS, filename="lab.ipynb").skipped
    magic = {
        (item.cell, line)
        for item in skipped
        if item.reason == MAGIC_REASON
        for line in range(item.line, item.end_line + 1)
    }
    naming = lines_naming_the_api(MAGICS)
    # Each line is read one way by both: Python (the search finds the use) or IPython's
    # (the loader lists it as a magic line), never both, never neither.
    assert used & magic == set()
    assert naming <= used | magic
    assert used == {(1, 3), (2, 2), (3, 3), (4, 3), (5, 2)}
    assert {(0, 3), (0, 4), (0, 5), (1, 2), (5, 3), (6, 2), (6, 3)} <= magic


def test_cells_keep_their_line_numbers():
    cells = read_notebook(MAGICS)
    assert [cell.index for cell in cells] == list(range(7))
    for cell in cells:
        if cell.python is not None:
            assert cell.python.count("\n") == cell.source.count("\n")
    first, indented, plain, _, awaited, timed, bash = cells
    assert first.magic_lines == (1, 3, 4, 5)
    assert first.python is not None and first.python.split("\n")[2] == ""
    assert indented.magic_lines == (2,)
    assert indented.python is not None and indented.python.split("\n")[1] == "    pass"
    assert plain.python == plain.source and plain.magic_lines == ()
    assert awaited.python == awaited.source and awaited.magic_lines == ()
    assert (timed.cell_magic, timed.magic_lines) == ("time", (1, 3))
    assert (bash.cell_magic, bash.python, bash.magic_lines) == ("bash", None, (1,))


def test_markdown_cells_count_in_the_index_and_are_not_read():
    text = json.dumps(
        {
            "cells": [
                {"cell_type": "markdown", "source": "# nn.LSTM"},
                {"cell_type": "code", "source": ["x = 1\r\n", "y = 2"]},
            ]
        }
    )
    (cell,) = read_notebook(text)
    assert (cell.index, cell.source, cell.python) == (1, "x = 1\ny = 2", "x = 1\ny = 2")


def test_not_a_notebook_is_a_value_error():
    with pytest.raises(ValueError, match="lab.ipynb is not a readable notebook"):
        read_notebook("{nope", filename="lab.ipynb")
    with pytest.raises(ValueError, match="no list of cells"):
        read_notebook('{"worksheets": []}')
    assert find_forbidden({"x.ipynb": "{nope"}, forbidden=["torch.nn.LSTM"]) == []

"""Tests for the definitions-only loader (harness/runtime/defonly.py)."""

import json
import sys
import textwrap
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.runtime.defonly import (
    MAGIC_REASON,
    Skipped,
    describe,
    extract_definitions,
    extract_notebook_definitions,
    load_definitions,
)

CHAR_RNN = '''\
"""Minimal character-level vanilla RNN, in the style of the lab's starter script."""
import numpy as np
import torch
import torch.nn as nn

data = open('textData.txt', 'r').read()  # only exists on the student's laptop
chars = list(set(data))
data_size, vocab_size = len(data), len(chars)
char_to_ix = {ch: i for i, ch in enumerate(chars)}
print('data has %d characters, %d unique.' % (data_size, vocab_size))

hidden_size = 100
seq_length = 25
learning_rate = 1e-1
criterion = nn.CrossEntropyLoss()
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
Wxh = np.random.randn(hidden_size, vocab_size) * 0.01


class CharRNN(nn.Module):
    def __init__(self, vocab, hidden=hidden_size):
        super().__init__()
        self.rnn = nn.RNN(vocab, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, x, h=None):
        y, h = self.rnn(x, h)
        return self.out(y), h


def lossFun(inputs, targets):
    return Wxh.shape, vocab_size


n, p = 0, 0
while True:
    n += 1
    p += seq_length
'''


@pytest.fixture
def module_names() -> Iterator[list[str]]:
    """Module names registered by a test; removed afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        sys.modules.pop(name, None)


def _load(path: Path, names: list[str], **kwargs: object) -> tuple[object, tuple[Skipped, ...]]:
    name = f"student_{path.stem}_{len(names)}"
    names.append(name)
    return load_definitions(path, module_name=name, **kwargs)  # type: ignore[arg-type]


def _notebook(*cells: tuple[str, str | list[str]]) -> str:
    return json.dumps(
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {},
            "cells": [
                {"cell_type": kind, "metadata": {}, "source": source}
                | ({"outputs": [], "execution_count": None} if kind == "code" else {})
                for kind, source in cells
            ],
        }
    )


def test_char_rnn_script_loads_without_data_file_or_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module_names: list[str]
) -> None:
    import torch

    script = tmp_path / "train.py"
    script.write_text(CHAR_RNN, encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # textData.txt is not there

    module, skipped = _load(script, module_names)

    assert module.hidden_size == 100
    assert module.seq_length == 25
    assert module.learning_rate == pytest.approx(0.1)
    assert isinstance(module.criterion, torch.nn.CrossEntropyLoss)
    assert isinstance(module.device, torch.device)
    assert module.__doc__.startswith("Minimal character-level")
    assert module.__file__ == str(script)
    model = module.CharRNN(5, hidden=8)
    out, _ = model(torch.zeros(1, 3, 5))
    assert out.shape == (1, 3, 5)
    assert callable(module.lossFun)
    for unrun in ("data", "chars", "vocab_size", "char_to_ix", "Wxh"):
        assert not hasattr(module, unrun)

    by_line = {item.line: item for item in skipped}
    assert by_line[6].reason == "a call at module level (it may train or read files)"
    assert by_line[7].reason == "it uses 'data', which is left unrun"
    assert by_line[9].summary == "char_to_ix = {ch: i for i, ch in enumerate(chars)}"
    loop = next(item for item in skipped if item.summary == "while True:")
    assert loop.reason == "a loop at module level"
    assert (loop.line, loop.end_line) == (CHAR_RNN.count("\n") - 2, CHAR_RNN.count("\n"))
    assert all(item.cell is None for item in skipped)


def test_kept_names_and_allowed_calls() -> None:
    source = textwrap.dedent(
        """\
        import os
        from pathlib import Path
        from collections import namedtuple
        import torch
        from torch import nn
        F = nn.functional
        ROOT = Path(__file__).parent / "data"
        CKPT = os.path.join("out", f"model_{25}.pt")
        Point = namedtuple("Point", ["x", "y"])
        loss = nn.MSELoss(reduction="sum")
        act = F.relu
        sizes = sorted([3, 1, 2])
        dtype = torch.float32
        total = max(len(sizes), 2) * 2
        model = nn.Linear(3, 4)
        noise = torch.randn(3)
        """
    )
    definitions = extract_definitions(source, filename="t.py")
    assert definitions.kept == (
        "os",
        "Path",
        "namedtuple",
        "torch",
        "nn",
        "F",
        "ROOT",
        "CKPT",
        "Point",
        "loss",
        "act",
        "sizes",
        "dtype",
        "total",
    )
    assert [item.summary for item in definitions.skipped] == [
        "model = nn.Linear(3, 4)",
        "noise = torch.randn(3)",
    ]
    assert len(definitions.codes) == 1


def test_main_guard_is_skipped_and_never_runs(tmp_path: Path, module_names: list[str]) -> None:
    script = tmp_path / "lab.py"
    script.write_text(
        textwrap.dedent(
            """\
            def train():
                raise AssertionError("train() ran at load time")

            if __name__ == '__main__':
                train()
            """
        ),
        encoding="utf-8",
    )
    module, skipped = _load(script, module_names)
    assert callable(module.train)
    assert skipped == (
        Skipped(4, 5, None, "if __name__ == '__main__':", "under if __name__ == '__main__'"),
    )


def test_try_import_fallback_and_simple_if_blocks_are_kept(
    tmp_path: Path, module_names: list[str]
) -> None:
    script = tmp_path / "opt.py"
    script.write_text(
        textwrap.dedent(
            """\
            import sys
            try:
                import surely_not_an_installed_module_xyz as x
            except ImportError:
                x = None
            if sys.version_info >= (3, 8):
                MODE = "new"
            else:
                MODE = "old"
            try:
                import json
                print("loaded")
            except ImportError:
                pass
            """
        ),
        encoding="utf-8",
    )
    module, skipped = _load(script, module_names)
    assert module.x is None
    assert module.MODE == "new"
    assert not hasattr(module, "json")
    assert len(skipped) == 1
    assert skipped[0].summary == "try:"
    assert skipped[0].reason == "a try block that does more than define things (line 12: a call)"


def test_other_statements_are_skipped_with_reasons() -> None:
    source = textwrap.dedent(
        """\
        count = 0
        count += 1
        with open("log.txt") as handle:
            pass
        for i in range(3):
            pass
        squares = [i * i for i in range(3)]
        del count
        later = undefined_name
        """
    )
    skipped = extract_definitions(source, filename="s.py").skipped
    reasons = {item.line: item.reason for item in skipped}
    assert reasons == {
        2: "an augmented assignment at module level",
        3: "a with block at module level",
        5: "a loop at module level",
        7: "a comprehension at module level (it may do real work)",
        8: "a del statement at module level",
        9: "it uses 'undefined_name', which the kept code does not define before this line",
    }


def test_syntax_error_in_py_file_raises() -> None:
    with pytest.raises(SyntaxError):
        extract_definitions("def f(:\n    pass\n", filename="broken.py")
    with pytest.raises(SyntaxError):
        # A compile-time-only error still counts, even though the statement
        # itself would be skipped.
        extract_definitions("x = 1\nreturn x\n", filename="broken.py")


def test_traceback_points_at_original_line(tmp_path: Path, module_names: list[str]) -> None:
    script = tmp_path / "model.py"
    script.write_text(
        textwrap.dedent(
            """\
            import math
            results = run_experiment()
            for epoch in range(100):
                pass

            def step(x):
                y = x + 1
                raise ValueError("bad step")
            """
        ),
        encoding="utf-8",
    )
    module, _ = _load(script, module_names)
    with pytest.raises(ValueError) as caught:
        module.step(1)
    last = traceback.extract_tb(caught.value.__traceback__)[-1]
    assert (last.filename, last.lineno, last.name) == (str(script), 8, "step")
    assert last.line == 'raise ValueError("bad step")'


def test_inject_supplies_what_a_skipped_call_would_have_set(
    tmp_path: Path, module_names: list[str]
) -> None:
    script = tmp_path / "rnn.py"
    script.write_text(
        textwrap.dedent(
            """\
            data = open("textData.txt").read()
            chars = sorted(set(data))
            vocab_size = len(chars)

            def encode(text):
                return [chars.index(c) for c in text], vocab_size
            """
        ),
        encoding="utf-8",
    )
    module, skipped = _load(script, module_names, inject={"data": "abca"})
    # With ``data`` provided, the simple statements that read it are kept.
    assert module.chars == ["a", "b", "c"]
    assert module.encode("cab") == ([2, 0, 1], 3)
    assert [item.line for item in skipped] == [1]


def test_failed_load_unregisters_module(tmp_path: Path, module_names: list[str]) -> None:
    script = tmp_path / "bad.py"
    script.write_text("from surely_not_an_installed_module_xyz import thing\n", encoding="utf-8")
    with pytest.raises(ImportError):
        _load(script, module_names)
    assert module_names[0] not in sys.modules


def test_dataclass_in_loaded_module_resolves(tmp_path: Path, module_names: list[str]) -> None:
    script = tmp_path / "cfg.py"
    script.write_text(
        textwrap.dedent(
            """\
            from __future__ import annotations
            import dataclasses
            from dataclasses import dataclass, field

            @dataclass
            class Config:
                hidden: int = 100
                layers: list[int] = field(default_factory=list)
            """
        ),
        encoding="utf-8",
    )
    module, skipped = _load(script, module_names)
    assert module.Config().hidden == 100
    assert dataclasses_fields(module.Config) == ["hidden", "layers"]
    assert skipped == ()


def dataclasses_fields(cls: type) -> list[str]:
    import dataclasses

    return [f.name for f in dataclasses.fields(cls)]


NOTEBOOK_CELLS = (
    ("markdown", "# Lab 3\nTrain the GAN."),
    (
        "code",
        [
            "%matplotlib inline\n",
            "!pip install torchvision\n",
            "import torch\n",
            "import torch.nn as nn",
        ],
    ),
    ("code", "%%time\nfor i in range(10**9):\n    pass\n"),
    (
        "code",
        "latent_dim = 64\n\nclass Generator(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n"
        "        self.net = nn.Linear(latent_dim, 784)\n",
    ),
    ("code", "G = Generator()\nfor epoch in range(100):\n    G.train()\n"),
    ("code", "def broken(:\n    pass\n"),
    ("code", "def helper(x):\n    return x * 2\nhelper(3)\n"),
    ("code", "def fails():\n    raise RuntimeError('in a cell')\n"),
)


def test_notebook_keeps_definitions_and_drops_magics_and_training(
    tmp_path: Path, module_names: list[str]
) -> None:
    import torch

    path = tmp_path / "lab3.ipynb"
    path.write_text(_notebook(*NOTEBOOK_CELLS), encoding="utf-8")
    module, skipped = _load(path, module_names)

    assert module.latent_dim == 64
    assert isinstance(module.Generator().net, torch.nn.Linear)
    assert module.helper(3) == 6
    assert not hasattr(module, "G")
    assert not hasattr(module, "broken")

    summary = [(item.cell, item.line, item.summary, item.reason) for item in skipped]
    assert summary[:3] == [
        (1, 1, "%matplotlib inline", MAGIC_REASON),
        (1, 2, "!pip install torchvision", MAGIC_REASON),
        (2, 1, "%%time", MAGIC_REASON),
    ]
    # %%time runs its body as Python: the body is read like any cell (IPython would
    # keep its definitions), and its loop is left unrun.
    assert skipped[2].end_line == 1
    assert summary[3] == (2, 2, "for i in range(10**9):", "a loop at module level")
    call = "a call at module level (it may train or read files)"
    assert summary[4] == (4, 1, "G = Generator()", call)
    assert summary[5] == (4, 2, "for epoch in range(100):", "a loop at module level")
    cell, line, text, reason = summary[6]
    assert (cell, line, text) == (5, 1, "def broken(:")
    assert reason.startswith("a syntax error in this cell: ")
    assert summary[7][:3] == (6, 3, "helper(3)")
    assert len(summary) == 8


def test_notebook_traceback_names_cell_and_line(tmp_path: Path, module_names: list[str]) -> None:
    path = tmp_path / "lab3.ipynb"
    path.write_text(_notebook(*NOTEBOOK_CELLS), encoding="utf-8")
    module, _ = _load(path, module_names)
    with pytest.raises(RuntimeError) as caught:
        module.fails()
    last = traceback.extract_tb(caught.value.__traceback__)[-1]
    assert last.filename == f"{path} [cell 7]"
    assert last.lineno == 2
    assert last.line == "raise RuntimeError('in a cell')"


def test_notebook_extraction_details() -> None:
    text = _notebook(
        ("code", "from __future__ import annotations\nimport os\n"),
        # The future import carries over, so this annotation is never evaluated.
        ("code", "def f(x: NotDefinedAnywhere) -> None:\n    pass\n"),
        ("code", "files = !ls\nif True:\n    !echo hi\nx = 1\n"),
        ("code", "   \n"),
        ("raw", "ignored"),
    )
    definitions = extract_notebook_definitions(text, filename="nb.ipynb")
    assert len(definitions.codes) == 3
    assert [code.co_filename for code in definitions.codes] == [
        "nb.ipynb [cell 0]",
        "nb.ipynb [cell 1]",
        "nb.ipynb [cell 2]",
    ]
    assert "f" in definitions.kept and "x" in definitions.kept
    assert [(item.cell, item.line) for item in definitions.skipped] == [(2, 1), (2, 3)]
    namespace: dict[str, object] = {}
    for code in definitions.codes:
        exec(code, namespace)
    assert namespace["x"] == 1


def test_not_a_notebook_raises_value_error() -> None:
    with pytest.raises(ValueError, match="not a readable notebook"):
        extract_notebook_definitions("{nope", filename="x.ipynb")
    with pytest.raises(ValueError, match="no list of cells"):
        extract_notebook_definitions('{"worksheets": []}', filename="x.ipynb")


def test_describe() -> None:
    assert describe((), filename="/sandbox/sub/train.py") == (
        "Loaded definitions only from train.py; nothing was left unrun."
    )
    items = [
        Skipped(60, 64, None, "while True:", "a loop at module level"),
        Skipped(2, 2, 3, "!pip install x", MAGIC_REASON),
    ]
    assert describe(items, filename="train.py") == (
        "Loaded definitions only from train.py; left unrun: "
        "line 60 'while True:' (a loop at module level); "
        "cell 3 line 2 '!pip install x' (a shell/magic line)."
    )
    many = [Skipped(n, n, None, f"step{n}()", "a call") for n in range(1, 14)]
    text = describe(many)
    assert text.startswith("Loaded definitions only; left unrun: line 1 'step1()' (a call);")
    assert "line 10 'step10()'" in text
    assert "line 11" not in text
    assert text.endswith("; and 3 more.")


def test_long_summary_is_trimmed() -> None:
    source = "result = compute(" + ", ".join(str(n) for n in range(60)) + ")\n"
    (item,) = extract_definitions(source, filename="long.py").skipped
    assert len(item.summary) <= 80
    assert item.summary.endswith("...")


def test_load_time_uses_of_unrun_names_skip_the_definition() -> None:
    source = textwrap.dedent(
        """\
        import sys
        from typing import TYPE_CHECKING
        emb = load_embeddings()
        class Uses:
            size = emb.shape
        class Fine:
            a = 1
            b = [i for i in range(a)]
            def method(self, z=b):
                return emb  # read only when called
        def default(q=emb):
            pass
        if TYPE_CHECKING:
            from collections import OrderedDict
        OD = OrderedDict
        pattern = "\\d+"  # an invalid escape: a SyntaxWarning, not an error
        sys.path.append("..")
        """
    )
    definitions = extract_definitions(source, filename="uses.py")
    assert definitions.kept == ("sys", "TYPE_CHECKING", "Fine", "OrderedDict", "pattern")
    reasons = {item.line: item.reason for item in definitions.skipped}
    assert reasons == {
        3: "a call at module level (it may train or read files)",
        4: "it uses 'emb', which is left unrun",
        11: "it uses 'emb', which is left unrun",
        # Only one path through the if defines it, so it may not exist.
        15: "it uses 'OrderedDict', which the kept code does not define before this line",
    }


def test_device_selection_and_attribute_settings_are_kept() -> None:
    import torch

    source = textwrap.dedent(
        """\
        import torch
        if torch.cuda.is_available():
            DEVICE = "cuda"
        else:
            DEVICE = "cpu"
        torch.backends.cudnn.benchmark = torch.backends.cudnn.benchmark
        loss = torch.nn.modules.loss.NLLLoss()
        """
    )
    definitions = extract_definitions(source, filename="dev.py")
    assert definitions.skipped == ()
    namespace: dict[str, object] = {}
    exec(definitions.codes[0], namespace)
    assert namespace["DEVICE"] in ("cuda", "cpu")
    assert isinstance(namespace["loss"], torch.nn.NLLLoss)

"""Hidden cheating of the assignment itself, on the suite's torch assignment ``tiny-lstm``.

The hand-out (``assignments/graders/tiny-lstm``) forbids ``torch.nn.LSTM``,
``LSTMCell`` and ``torch._VF``; each case below does the step with torch's own cell,
reached some hidden way.  All are caught by the static analysis on the trusted side,
the run-time traps inside the student process, or both, and score 0 of 3; the honest
one scores 3.  Two more cases patch torch itself inside the sandbox.  One case shows the
limit of both: a name static analysis cannot fold, with the traps reset from inside.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from .cases import Case, Verdict

MAX = 3.0

HONEST = r"""
import torch


def lstm_step(x, h, c, W, U, b):
    z = x @ W + h @ U + b  # (N, 4H)
    i, f, g, o = z.chunk(4, dim=1)
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_next), c_next
"""

#: The step done by torch's own cell, ``Cell``, which each case obtains its own way.
WITH_CELL = r"""


def lstm_step(x, h, c, W, U, b):
    cell = Cell(W.shape[0], h.shape[1]).double()
    with torch.no_grad():
        cell.weight_ih.copy_(W.T)
        cell.weight_hh.copy_(U.T)
        cell.bias_ih.copy_(b)
        cell.bias_hh.zero_()
        return tuple(t.detach() for t in cell(x, (h, c)))
"""


def _copied_rnn_module(t: dict[str, Any]) -> str:
    """torch's own ``torch/nn/modules/rnn.py``, its relative imports made absolute."""
    import torch.nn.modules.rnn as rnn

    with open(rnn.__file__, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"^from \.\. import ", "from torch.nn import ", text, flags=re.M)
    text = re.sub(r"^from \.\.(\w[\w.]*) import ", r"from torch.nn.\1 import ", text, flags=re.M)
    return re.sub(
        r"^from \.(\w[\w.]*) import ", r"from torch.nn.modules.\1 import ", text, flags=re.M
    )


FORBIDDEN = "forbids torch's own LSTM"
CAUGHT = Verdict("graded", 0, message=FORBIDDEN)

_CASES = [
    Case(
        "lstm-honest",
        "honest",
        "an honest LSTM step (tiny-lstm)",
        Verdict("graded", MAX),
        body=HONEST,
    ),
    Case(
        "lstm-getattr",
        "assignment",
        '`getattr(nn, "LS" + "TM" + "Cell")`',
        CAUGHT,
        body='import torch\nfrom torch import nn\n\nCell = getattr(nn, "LS" + "TM" + "Cell")'
        + WITH_CELL,
    ),
    Case(
        "lstm-dunder-import",
        "assignment",
        '`__import__("torch.nn", fromlist=[...]).LSTMCell`',
        CAUGHT,
        body='import torch\n\nCell = __import__("torch.nn", fromlist=["LSTMCell"]).LSTMCell'
        + WITH_CELL,
    ),
    Case(
        "lstm-importlib",
        "assignment",
        '`importlib.import_module("torch.nn.modules." + "rnn").LSTMCell`',
        CAUGHT,
        body="import importlib\n\nimport torch\n\n"
        'Cell = importlib.import_module("torch.nn.modules." + "rnn").LSTMCell' + WITH_CELL,
    ),
    Case(
        "lstm-vf",
        "assignment",
        "`torch._VF.lstm_cell` called directly",
        CAUGHT,
        body=r"""
import torch


def lstm_step(x, h, c, W, U, b):
    return torch._VF.lstm_cell(x, (h, c), W.T.contiguous(), U.T.contiguous(), b,
                               torch.zeros_like(b))
""",
    ),
    Case(
        "lstm-exec",
        "assignment",
        '`exec` of a built string: `"from torch.nn import " + "LSTM" + "Cell"`',
        CAUGHT,
        body='import torch\n\nnames = {}\nexec("from torch.nn import " + "LSTM" + "Cell as Cell",'
        ' names)\nCell = names["Cell"]' + WITH_CELL,
    ),
    Case(
        "lstm-copied-module",
        "assignment",
        "a copy of `torch/nn/modules/rnn.py` in the submission",
        CAUGHT,
        body="import torch\n\nfrom my_rnn import LSTMCell as Cell" + WITH_CELL,
        extra={"my_rnn.py": "copied-rnn-module"},
    ),
    Case(
        "lstm-module-call",
        "assignment",
        "monkeypatching `torch.nn.Module.__call__` so that calling its own module runs "
        "torch's cell",
        CAUGHT,
        body=r"""
import torch
from torch import nn

rnn = __import__("torch.nn.modules.rnn").nn.modules.rnn
original_call = nn.Module.__call__


class Step(nn.Module):
    def forward(self, x, h, c, W, U, b):
        raise RuntimeError("never runs: __call__ is patched")


def patched_call(self, *args, **kwargs):
    if isinstance(self, Step):
        x, h, c, W, U, b = args
        cell = rnn.__dict__["LSTM" + "Cell"](W.shape[0], h.shape[1]).double()
        with torch.no_grad():
            cell.weight_ih.copy_(W.T)
            cell.weight_hh.copy_(U.T)
            cell.bias_ih.copy_(b)
            cell.bias_hh.zero_()
            return tuple(t.detach() for t in original_call(cell, x, (h, c)))
    return original_call(self, *args, **kwargs)


nn.Module.__call__ = patched_call


def lstm_step(x, h, c, W, U, b):
    return Step()(x, h, c, W, U, b)
""",
    ),
    Case(
        "lstm-fused-kernel",
        "assignment",
        "the fused kernel under its other names: `torch.lstm_cell`, and the dispatcher's "
        "`torch.ops.aten.lstm_cell.default`",
        CAUGHT,
        body=r"""
import torch


def lstm_step(x, h, c, W, U, b):
    zero = torch.zeros_like(b)
    if x.shape[0] % 2:
        return tuple(torch.lstm_cell(x, (h, c), W.T, U.T, b, zero))
    return tuple(torch.ops.aten.lstm_cell.default(x, [h, c], W.T, U.T, b, zero))
""",
    ),
    Case(
        "lstm-helper-elsewhere",
        "assignment",
        "torch's own cell built in a helper module in another folder (`utils/cells.py`), "
        "imported by the step's file",
        CAUGHT,
        body="import torch\n\nfrom utils.cells import Cell\n" + WITH_CELL,
        extra={"utils/cells.py": "cells-helper"},
    ),
    Case(
        "lstm-patch-torch",
        "escapes",
        "patching `torch.allclose`, `torch.equal`, `torch.testing.assert_close` and "
        "`Tensor.__eq__` to always agree, with a wrong answer",
        Verdict("graded", 1, message="differs from the expected values"),
        body=r"""
import torch

torch.allclose = lambda *args, **kwargs: True
torch.equal = lambda *args, **kwargs: True
torch.testing.assert_close = lambda *args, **kwargs: None
torch.Tensor.__eq__ = lambda self, other: torch.ones_like(self, dtype=torch.bool)


def lstm_step(x, h, c, W, U, b):
    return h, c
""",
    ),
    Case(
        "lstm-hide-and-reset-traps",
        "assignment",
        "a name static analysis cannot fold (base64), then the run-time traps reset from "
        "inside the sandbox",
        Verdict("graded", MAX, ("needs_review",)),
        body=r"""
import base64
import sys

import torch
from torch import nn

Cell = getattr(nn, base64.b64decode("TFNUTUNlbGw=").decode())
"""
        + WITH_CELL.replace("def lstm_step(", "def cell_step(")
        + r"""


def lstm_step(x, h, c, W, U, b):
    result = cell_step(x, h, c, W, U, b)
    sys.modules["harness_runtime.traps"].reset()
    return result
""",
        limit="the points are not taken automatically: static analysis cannot resolve the "
        "decoded name and a student's own process can clear the traps' record, so the "
        "submission is flagged for a TA with the dynamic `getattr` line",
    ),
]

LSTM_CASES = [dataclasses.replace(c, assignment="tiny-lstm") for c in _CASES]

#: Extra files some cases carry, built when the ZIP is made.
EXTRA_BUILDERS = {
    "copied-rnn-module": _copied_rnn_module,
    "cells-helper": lambda t: "from torch import nn\n\nCell = nn.LSTMCell\n",
}

"""The hand-out's rule for Part I: implement the LSTM without torch.nn.LSTM.

Checked twice: in the source of part1/lstm.py and part1/train.py (static) and while
your LSTM runs (dynamic). Not allowed: torch.nn.LSTM, torch.nn.LSTMCell, the other
built-in recurrent layers (nn.RNN, nn.GRU and their cells) and torch._VF. torch.nn.Linear
is allowed in this edition.
"""

import pytest
import torch
from support import (
    PART1,
    PART1_MODULES,
    fail,
    find_forbidden_api,
    forbid_torch_api,
    forget,
    make_lstm,
    run_forward,
    unfinished_template_code,
)

STUDENT_FILES = ["lstm.py", "train.py"]


@pytest.mark.parametrize("filename", STUDENT_FILES)
def test_no_forbidden_api_in_source(filename):
    path = PART1 / filename
    source = path.read_text(encoding="utf-8")
    try:
        unfinished = unfinished_template_code(source, str(path))
        found = find_forbidden_api(source, str(path))
    except SyntaxError as exc:
        fail(f"part1/{filename} is not valid Python: {exc}")
    if unfinished:
        fail(f"part1/{filename} is not implemented yet: it still raises the template's "
             f"NotImplementedError (line {', '.join(map(str, unfinished))}). Implement it "
             "first; this check then makes sure it uses no forbidden PyTorch API.")
    if found:
        fail(f"part1/{filename} uses PyTorch building blocks the hand-out forbids: "
             + "; ".join(f"line {line}: {name}" for line, name in found)
             + ". Write the LSTM equations with tensor operations (x @ W.T, torch.tanh, "
             "torch.sigmoid) and a for loop over time.")


def test_no_forbidden_api_at_run_time(monkeypatch):
    calls = []
    forget(*PART1_MODULES)               # re-import with the forbidden API patched
    try:
        forbid_torch_api(monkeypatch, calls)
        try:
            model = make_lstm(seq_length=5, hidden_dim=8)
            out = run_forward(model, torch.randint(0, 10, (3, 5, 1)).float())
            out.sum().backward()
        except pytest.fail.Exception:
            if not calls:                # failed for another reason: show that one
                raise
    finally:
        forget(*PART1_MODULES)           # later tests import the unpatched modules
    if calls:
        fail(f"LSTM called {', '.join(sorted(set(calls)))} while it ran: the hand-out "
             "forbids it; write the equations with tensor operations (x @ W.T, torch.tanh, "
             "torch.sigmoid) and a for loop over time")

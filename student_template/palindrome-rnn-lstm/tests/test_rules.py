"""The hand-out's rule: no torch.nn.RNN, torch.nn.LSTM or torch.nn.Linear (and relatives).

Checked twice: in the source of part1/ (static) and while your models run (dynamic).
"""

import pytest
import torch
from support import (
    PART1,
    fail,
    find_forbidden_api,
    forbid_torch_api,
    forget_part1,
    make_model,
    run_forward,
    unfinished_template_code,
)

STUDENT_FILES = ["vanilla_rnn.py", "lstm.py", "train.py"]


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
             + ". Write the equations with tensor operations (x @ W.T, torch.tanh, "
             "torch.sigmoid).")


@pytest.mark.parametrize("model_name", ["VanillaRNN", "LSTM"])
def test_no_forbidden_api_at_run_time(model_name, monkeypatch):
    calls = []
    forget_part1()                       # re-import part1 with the forbidden API patched
    try:
        forbid_torch_api(monkeypatch, calls)
        try:
            model = make_model(model_name, seq_length=5, num_hidden=8)
            out = run_forward(model, torch.randint(0, 10, (3, 5)).float())
            out.sum().backward()
        except pytest.fail.Exception:
            if not calls:                # failed for another reason: show that one
                raise
    finally:
        forget_part1()                   # later tests import the unpatched modules
    if calls:
        fail(f"{model_name} called {', '.join(sorted(set(calls)))} while it ran: the hand-out "
             "forbids these; write the equations with tensor operations (x @ W.T, torch.tanh, "
             "torch.sigmoid)")

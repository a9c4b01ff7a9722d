"""One-step cells (forward(x_t, state), the loop over time in train.py) are found by probing
and graded through the grader's own loop: the same p(T) as the equations, the same gradients."""

import numpy as np
import pytest

from _shared import palindrome as pal

CELLS = """
import torch
import torch.nn as nn


def _w(*shape):
    return nn.Parameter(torch.randn(*shape) * 0.3)


class RnnStep(nn.Module):  # forward(x_t, h) -> (p, h), x_t (B,)
    def __init__(self, seq_length, input_dim, num_hidden, num_classes, batch_size, device="cpu"):
        super().__init__()
        self.W_hx, self.W_hh, self.b_h = _w(num_hidden, input_dim), _w(num_hidden, num_hidden), _w(num_hidden)
        self.W_ph, self.b_p = _w(num_classes, num_hidden), _w(num_classes)

    def forward(self, x, h):
        h = torch.tanh(x.view(-1, 1) @ self.W_hx.t() + h @ self.W_hh.t() + self.b_h)
        return h @ self.W_ph.t() + self.b_p, h


class LstmArgs(nn.Module):  # forward(x_t, h, c) -> (h, c, p): the output last
    def __init__(self, seq_length, input_dim, hidden_dim, output_dim):
        super().__init__()
        for g in "gifo":
            setattr(self, f"W_{g}x", _w(input_dim, hidden_dim))
            setattr(self, f"W_{g}h", _w(hidden_dim, hidden_dim))
            setattr(self, f"b_{g}", _w(hidden_dim))
        self.W_ph, self.b_p = _w(hidden_dim, output_dim), _w(output_dim)

    def gate(self, g, x, h):
        return x @ getattr(self, f"W_{g}x") + h @ getattr(self, f"W_{g}h") + getattr(self, f"b_{g}")

    def forward(self, x, h, c):
        c = torch.tanh(self.gate("g", x, h)) * torch.sigmoid(self.gate("i", x, h)) + c * torch.sigmoid(self.gate("f", x, h))
        h = torch.tanh(c) * torch.sigmoid(self.gate("o", x, h))
        return h, c, h @ self.W_ph + self.b_p


class LstmTuple(LstmArgs):  # forward(x_t, (h, c)) -> (p, (h, c))
    def forward(self, x, state):
        h, c, p = super().forward(x, *state)
        return p, (h, c)


class LstmDetached(LstmTuple):  # the state detached between steps: BPTT cut
    def forward(self, x, state):
        p, (h, c) = super().forward(x, state)
        return p, (h.detach(), c.detach())


class Whole(nn.Module):  # forward(x) on the whole sequence: not a one-step cell
    def __init__(self, seq_length, input_dim, num_hidden, num_classes, batch_size, device="cpu"):
        super().__init__()
        self.W = _w(num_classes, seq_length)

    def forward(self, x):
        return x.reshape(x.shape[0], -1) @ self.W.t()
"""


@pytest.fixture
def cells_module(bwrap, make_session):
    session = make_session(
        bwrap, {"cells.py": CELLS}, call_timeout=60, budget=300, memory=2 * 1024**3
    )
    return session, session.load("cells.py")


@pytest.mark.sandbox
@pytest.mark.parametrize(
    ("name", "kind", "form"),
    [("RnnStep", "rnn", "h"), ("LstmArgs", "lstm", "h, c"), ("LstmTuple", "lstm", "(h, c)")],
)
def test_a_one_step_cell_is_found_and_matches_the_equations(cells_module, name, kind, form):
    session, module = cells_module
    found = pal.probe(session, getattr(module, name), kind, hidden=12)
    assert found.step is not None and found.step.state == form
    assert any("one time step" in note for note in found.notes)
    comparison = pal.compare_with_equations(session, found, hidden=12)
    assert comparison.match is not None, pal.explain_mismatch(found, comparison, {})
    assert pal.gradient_problems(session, found, comparison, hidden=12) == {}


@pytest.mark.sandbox
def test_a_model_the_grader_did_not_build_has_its_state_width_probed(cells_module):
    session, module = cells_module
    found = pal.probe(session, module.LstmTuple, "lstm", hidden=12)
    own = module.LstmTuple(5, found.layout.input_dim, 7, 10)  # as a train.py would build it
    digits, _ = pal.palindromes(3, 6, np.random.default_rng(0))
    assert pal.run_model(session, found, own, digits).shape == (3, 10)


@pytest.mark.sandbox
def test_a_state_detached_between_steps_is_named(cells_module):
    session, module = cells_module
    found = pal.probe(session, module.LstmDetached, "lstm", hidden=12)
    comparison = pal.compare_with_equations(session, found, hidden=12)
    assert comparison.match is not None  # the forward values are right
    problems = pal.gradient_problems(session, found, comparison, hidden=12)
    assert problems and "back-propagation through time is cut" in pal.explain_gradient_problems(
        problems
    )


@pytest.mark.sandbox
def test_a_whole_sequence_forward_is_not_stepped(cells_module):
    session, module = cells_module
    found = pal.probe(session, module.Whole, "rnn", hidden=12)
    assert found.step is None

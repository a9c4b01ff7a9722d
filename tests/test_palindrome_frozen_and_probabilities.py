"""Two correct styles the palindrome graders must not dock (issue 13): a frozen h_init (a
buffer or requires_grad=False) is no trainable parameter, and a model that returns
probabilities is measured, with ``as_trained``, by the loss nn.CrossEntropyLoss puts on them."""

import numpy as np
import pytest
import torch

from _shared import palindrome as pal

MODELS = """
import torch
import torch.nn as nn


class Lstm(nn.Module):
    def __init__(self, seq_length, input_dim, hidden_dim, output_dim):
        super().__init__()
        torch.manual_seed(0)
        for g in "gifo":
            setattr(self, f"W_{g}x", nn.Parameter(torch.randn(input_dim, hidden_dim) * 0.3))
            setattr(self, f"W_{g}h", nn.Parameter(torch.randn(hidden_dim, hidden_dim) * 0.3))
            setattr(self, f"b_{g}", nn.Parameter(torch.zeros(hidden_dim)))
        self.W_ph = nn.Parameter(torch.randn(hidden_dim, output_dim) * 0.3)
        self.b_p = nn.Parameter(torch.zeros(output_dim))
        self.h_init = nn.Parameter(torch.zeros(1, hidden_dim), requires_grad=self.learn_init)
        self.c_init = nn.Parameter(torch.zeros(1, hidden_dim), requires_grad=self.learn_init)

    learn_init = False

    def gate(self, g, x, h):
        return x @ getattr(self, f"W_{g}x") + h @ getattr(self, f"W_{g}h") + getattr(self, f"b_{g}")

    def forward(self, x):
        h = self.h_init.expand(x.shape[0], -1)
        c = self.c_init.expand(x.shape[0], -1)
        for t in range(x.shape[1]):
            x_t = x[:, t].reshape(x.shape[0], -1)
            c = torch.tanh(self.gate("g", x_t, h)) * torch.sigmoid(self.gate("i", x_t, h)) + c * torch.sigmoid(self.gate("f", x_t, h))
            h = torch.tanh(c) * torch.sigmoid(self.gate("o", x_t, h))
        return h @ self.W_ph + self.b_p


class LearnedInit(Lstm):
    learn_init = True


class Softmax(Lstm):
    def forward(self, x):
        return torch.softmax(super().forward(x), dim=1)
"""


@pytest.fixture
def models(bwrap, make_session):
    session = make_session(
        bwrap, {"models.py": MODELS}, call_timeout=60, budget=300, memory=2 * 1024**3
    )
    return session, session.load("models.py")


def count_note(session, module, name):
    found = pal.probe(session, getattr(module, name), "lstm", hidden=12)
    model = found.model(seq_length=4, hidden=12, batch=3)
    notes = pal.interface_notes(session, found, model, name, hidden=12)
    return [n for n in notes if "parameters (numbers)" in n]


@pytest.mark.sandbox
def test_a_frozen_h_init_is_not_counted_as_a_parameter(models):
    session, module = models
    assert count_note(session, module, "Lstm") == []
    # a learnable h_init and c_init are: 2 x 12 numbers more than the equations' count
    (note,) = count_note(session, module, "LearnedInit")
    assert "826 parameters (numbers) where the equations have 802" in note


@pytest.mark.sandbox
def test_a_probability_model_is_measured_as_its_train_py_trains_it(models):
    session, module = models
    found = pal.probe(session, module.Softmax, "lstm", hidden=12)
    assert found.output == "probabilities"
    model = found.model(seq_length=4, hidden=12, batch=3)
    digits, targets = pal._held_out(5)
    probs = torch.from_numpy(pal.run_model(session, found, model, digits, chunk=128)).double()
    target = torch.from_numpy(targets)
    logits_loss = float(torch.nn.functional.cross_entropy(probs.log(), target))
    trained_loss = float(torch.nn.functional.cross_entropy(probs, target))
    assert pal.learned_loss(session, found, model, 5, None) == pytest.approx(logits_loss)
    assert pal.learned_loss(session, found, model, 5, None, as_trained=True) == pytest.approx(
        trained_loss
    )
    # guessing costs ln 10 either way; a second softmax keeps the loss near it
    assert abs(trained_loss - np.log(10)) < 0.1

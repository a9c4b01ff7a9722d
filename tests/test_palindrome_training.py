"""The grader's brief training runs the steps between two evaluations in one request (the
runtime's ``train_steps``): it must train exactly as the loop of one request per operation
did, for every interface variant, and the losses it sends back must earn nothing. A retry
from standard weights has its own budget, and the probe calls a raising constructor once
per set of arguments."""

from collections import Counter

import numpy as np
import pytest
import torch

from _shared import palindrome as pal
from harness.checks import CheckFailed, Evidence, UnusableValue

MODELS = """
import torch
import torch.nn as nn


def _w(*shape):
    return nn.Parameter(torch.randn(*shape) * 0.3)


class TupleLstm(nn.Module):  # whole sequence, returns (h, p): the output is item 1
    def __init__(self, seq_length, input_dim, num_hidden, num_classes, batch_size, device="cpu"):
        super().__init__()
        self.H = num_hidden
        self.W_x, self.W_h = _w(input_dim, 4 * num_hidden), _w(num_hidden, 4 * num_hidden)
        self.b = nn.Parameter(torch.zeros(4 * num_hidden))
        self.W_ph, self.b_p = _w(num_hidden, num_classes), _w(num_classes)

    def forward(self, x):
        x = x.unsqueeze(-1) if x.dim() == 2 else x
        h = c = x.new_zeros(x.shape[0], self.H)
        for t in range(x.shape[1]):
            g, i, f, o = (x[:, t] @ self.W_x + h @ self.W_h + self.b).chunk(4, dim=1)
            c = torch.tanh(g) * torch.sigmoid(i) + c * torch.sigmoid(f)
            h = torch.tanh(c) * torch.sigmoid(o)
        return h, h @ self.W_ph + self.b_p


class SoftmaxRnn(nn.Module):  # whole sequence, probabilities of every step (B, T, 10)
    def __init__(self, seq_length, input_dim, num_hidden, num_classes, batch_size, device="cpu"):
        super().__init__()
        self.H = num_hidden
        self.W_hx, self.W_hh = _w(input_dim, num_hidden), _w(num_hidden, num_hidden)
        self.b_h = nn.Parameter(torch.zeros(num_hidden))
        self.W_ph, self.b_p = _w(num_hidden, num_classes), _w(num_classes)

    def forward(self, x):
        x = x.unsqueeze(-1) if x.dim() == 2 else x
        h, ps = x.new_zeros(x.shape[0], self.H), []
        for t in range(x.shape[1]):
            h = torch.tanh(x[:, t] @ self.W_hx + h @ self.W_hh + self.b_h)
            ps.append(torch.softmax(h @ self.W_ph + self.b_p, dim=1))
        return torch.stack(ps, dim=1)


class StepInPlace(nn.Module):  # forward(x_t, h) -> (p, h), adding to the state it is given
    def __init__(self, seq_length, input_dim, num_hidden, num_classes, batch_size, device="cpu"):
        super().__init__()
        self.W_hx, self.W_hh = _w(num_hidden, input_dim), _w(num_hidden, num_hidden)
        self.b_h = nn.Parameter(torch.zeros(num_hidden))
        self.W_ph, self.b_p = _w(num_classes, num_hidden), _w(num_classes)

    def forward(self, x, h):
        if not h.requires_grad:
            h.add_(0.1)  # in place, on the state the caller passed: h(0) must be fresh
        h = torch.tanh(x.view(-1, 1) @ self.W_hx.t() + h @ self.W_hh.t() + self.b_h)
        return h @ self.W_ph.t() + self.b_p, h
"""

#: Imported with the model: the runtime's op is replaced by one that trains nothing and
#: reports a loss falling to zero.
FORGER = """
import sys

import torch


def _forged(model, optimiser, params, inputs, targets, **options):
    return torch.linspace(0.5, 0.0, len(inputs))


for _module in list(sys.modules.values()):
    table = getattr(_module, "REGISTRY", None)
    if isinstance(table, dict) and "train_steps" in table:
        table["train_steps"] = _forged
"""

#: A forger whose op answers with something that is not a loss series.
GARBAGE = FORGER.replace("torch.linspace(0.5, 0.0, len(inputs))", "['all', 'learned']")


@pytest.fixture
def models(bwrap, make_session):
    session = make_session(
        bwrap, {"models.py": MODELS}, call_timeout=60, budget=300, memory=2 * 1024**3
    )
    return session, session.load("models.py")


def train_stepwise(session, found, model, *, length, steps, seed=0):
    """The grader's loop as it was: one request per operation of every step."""
    torch_ = session.import_module("torch")
    params = session.import_module("builtins").list(model.parameters())
    optimiser = torch_.optim.RMSprop(params, lr=1e-3)
    clip_grad = session.import_module("torch.nn.utils").clip_grad_norm_
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(steps):
        digits, targets = pal.palindromes(128, length, rng)
        out = pal._last_step(found.forward(model, found.layout.encode(digits)), found, 128, 4)
        loss = pal.loss_of(session, found, out, targets)
        optimiser.zero_grad()
        loss.backward()
        clip_grad(params, 10.0)
        optimiser.step()
        losses.append(float(session.fetch(loss)))
    return losses


@pytest.mark.sandbox
@pytest.mark.parametrize(
    ("name", "kind", "variant"),
    [
        ("TupleLstm", "lstm", "pick"),
        ("SoftmaxRnn", "rnn", "probabilities"),
        ("StepInPlace", "rnn", "one-step"),
    ],
)
def test_batched_steps_train_exactly_as_one_request_per_operation(models, name, kind, variant):
    session, module = models
    found = pal.probe(session, getattr(module, name), kind, hidden=12)
    assert {
        "pick": found.pick == 1,
        "probabilities": found.output == "probabilities",
        "one-step": found.step is not None,
    }[variant]
    stepwise = found.model(seq_length=4, hidden=12, batch=128)
    batched = found.model(seq_length=4, hidden=12, batch=128)
    start = session.op("parameters", stepwise, want="value")
    session.op("set_parameters", batched, start)

    losses = train_stepwise(session, found, stepwise, length=5, steps=7)
    # Evaluations after steps 3, 6 and 7: three requests of 3, 3 and 1 steps.
    _, curve = pal.train(session, found, batched, length=5, steps=7, eval_every=3, target=2.0)

    want = session.op("parameters", stepwise, want="value")
    got = session.op("parameters", batched, want="value")
    assert not all(np.array_equal(start[n], want[n]) for n in start)  # it trained
    for n in want:
        assert np.array_equal(got[n], want[n]), f"{n} differs after the batched steps"
    assert [step for step, _, _ in curve] == [3, 6, 7]
    assert [loss for _, loss, _ in curve] == [losses[2], losses[5], losses[6]]


@pytest.mark.sandbox
def test_a_forged_loss_series_earns_no_point(bwrap, make_session, tmp_path):
    session = make_session(
        bwrap,
        {"models.py": MODELS + FORGER},
        call_timeout=60,
        budget=300,
        memory=2 * 1024**3,
    )
    cls = session.load("models.py").TupleLstm
    found = pal.probe(session, cls, "lstm", hidden=12)
    comparison = pal.compare_with_equations(session, found, hidden=12)
    problems = pal.gradient_problems(session, found, comparison, hidden=12)
    settings = {"hidden": 12, "train_hidden": 16, "accuracy": 0.99}
    trainer = pal.Trainer(session, found, comparison, problems, "LSTM", settings)
    evidence = Evidence(directory=tmp_path)
    accuracy = trainer.accuracy(length=5, steps=100, evidence=evidence)
    # The curve shows what the process said; the accuracy is measured by the grader.
    rows = next(e for e in evidence.items[""] if e.get("name") == "training-5")["rows"]
    assert rows[-1][1] == 0.0
    assert accuracy < 0.5
    assert trainer.failed_at == 5


@pytest.mark.sandbox
def test_an_answer_that_is_not_a_loss_series_is_refused(bwrap, make_session):
    session = make_session(
        bwrap, {"models.py": MODELS + GARBAGE}, call_timeout=60, budget=300, memory=2 * 1024**3
    )
    found = pal.probe(session, session.load("models.py").TupleLstm, "lstm", hidden=12)
    model = found.model(seq_length=4, hidden=12, batch=128)
    with pytest.raises(UnusableValue, match="losses of the grader's training steps"):
        pal.train(session, found, model, length=5, steps=10)


def test_the_batched_op_is_the_loop_of_one_step_on_this_side():
    """Without a sandbox: the op itself, against the loop written out here."""
    from harness.runtime.ops import train_steps

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 10))
    copy = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 10))
    copy.load_state_dict(model.state_dict())
    rng = np.random.default_rng(0)
    inputs = torch.from_numpy(rng.normal(size=(5, 8, 4)).astype(np.float32))
    targets = torch.from_numpy(rng.integers(0, 10, size=(5, 8)))
    params = list(model.parameters())
    optimiser = torch.optim.RMSprop(params, lr=1e-2)
    losses = train_steps(
        model, optimiser, params, inputs, targets, loss="cross_entropy", clip=1.0, batch=8, seq=4
    )
    own = list(copy.parameters())
    own_optimiser = torch.optim.RMSprop(own, lr=1e-2)
    for i in range(5):
        loss = torch.nn.functional.cross_entropy(copy(inputs[i]), targets[i])
        own_optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(own, 1.0)
        own_optimiser.step()
        assert float(losses[i]) == float(loss.detach())
    for a, b in zip(params, own, strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="unknown loss"):
        train_steps(model, optimiser, params, inputs, targets, loss="mse", clip=1.0, batch=8, seq=4)


@pytest.mark.sandbox
def test_the_evaluation_ends_once_the_target_is_out_of_reach(models):
    session, module = models
    found = pal.probe(session, module.TupleLstm, "lstm", hidden=12)
    model = found.model(seq_length=4, hidden=12, batch=128)
    digits, targets = pal.palindromes(1024, 5, np.random.default_rng(99))
    logits = pal.run_model(session, found, model, digits, chunk=128)
    right = logits.argmax(axis=1) == targets
    full = pal.held_out_accuracy(session, found, model, digits, targets, chunk=128, target=None)
    assert full == float(right.mean())
    # Untrained, it errs more than 10 times in the first 128: 99% of 1,024 is out of reach.
    assert (~right[:128]).sum() > 10
    early = pal.held_out_accuracy(session, found, model, digits, targets, chunk=128, target=0.99)
    assert early == float(right[:128].mean()) < 0.99
    # A target it reaches (or may still reach) is measured on every chunk.
    reached = pal.held_out_accuracy(session, found, model, digits, targets, chunk=128, target=0.0)
    assert reached == full


@pytest.mark.sandbox
def test_a_retry_from_standard_weights_has_its_own_budget_and_the_message_tells_both(
    bwrap, make_session, tmp_path
):
    # The forger trains nothing: the first run misses, and a cell whose equations and
    # gradients check out is trained again from standard weights, for retry_steps.
    session = make_session(
        bwrap, {"models.py": MODELS + FORGER}, call_timeout=60, budget=300, memory=2 * 1024**3
    )
    found = pal.probe(session, session.load("models.py").TupleLstm, "lstm", hidden=12)
    comparison = pal.compare_with_equations(session, found, hidden=12)
    problems = pal.gradient_problems(session, found, comparison, hidden=12)
    settings = {"hidden": 12, "train_hidden": 16, "accuracy": 0.99, "retry_steps": 30}
    trainer = pal.Trainer(session, found, comparison, problems, "LSTM", settings)
    evidence = Evidence(directory=tmp_path)
    trainer.accuracy(length=5, steps=100, evidence=evidence)
    rows = next(e for e in evidence.items[""] if e.get("name") == "training-5")["rows"]
    # Evaluations at 50 and 100 of the first run, then at the end of the retry's 30.
    assert [row[0] for row in rows] == [50, 100, 130]
    told = trainer.loop(5)
    assert told.startswith("after 100 steps of the grader's training loop")
    assert "from your initial weights, then 30 more from standard ones" in told
    assert "forget-gate bias 1" in told


BLANK = """
import torch.nn as nn

calls = []


class Blank(nn.Module):
    def __init__(self, seq_length, input_dim, num_hidden, num_classes, batch_size, device="cpu"):
        calls.append((input_dim, batch_size))
        raise NotImplementedError("Blank.__init__ is not implemented yet")
"""


@pytest.mark.sandbox
def test_a_constructor_that_raises_is_not_called_again_with_the_same_arguments(bwrap, make_session):
    session = make_session(bwrap, {"blank.py": BLANK}, call_timeout=60, budget=300)
    module = session.load("blank.py")
    with pytest.raises(CheckFailed, match="NotImplementedError: Blank.__init__ is not"):
        pal.probe(session, module.Blank, "lstm", hidden=12)
    calls = Counter(tuple(call) for call in session.fetch(module.calls))
    assert sorted(calls) == [(1, 3), (1, 4), (10, 3), (10, 4)]
    # At most once per constructor for each input size and batch, by the whole-sequence
    # probe and by the one-step probe: not once per input layout (six share each size).
    assert max(calls.values()) <= 2 * len(pal.constructors(module.Blank))

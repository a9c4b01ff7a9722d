"""The pure parts of recurrent-layers-lm's lm_interface: what a probe concludes, how logits
in any layout are read, the trusted cross-entropy, what counts as a vocabulary, and which
argument a parameter name gets; and, with a tiny model in a sandbox, that the grader's loop
stops at the bar only on its own measurement. The other calls into student code are covered
by the examples (tests/test_examples.py)."""

import math
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from harness.checks.context import CheckFailed
from harness.checks.signature import MISSING, Parameter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "graders" / "recurrent-layers-lm"))
import lm_interface as lmi  # noqa: E402

B, T, V = 4, 6, 7


def logits(seed=0):
    return np.random.default_rng(seed).normal(size=(B, T, V))


@pytest.mark.parametrize("probabilities", [False, True])
def test_cross_entropy_sum_is_torchs(probabilities):
    a = logits()
    y = np.random.default_rng(1).integers(0, V, (B, T))
    expected = float(
        F.cross_entropy(
            torch.from_numpy(a).reshape(-1, V), torch.from_numpy(y).reshape(-1), reduction="sum"
        )
    )
    given = torch.softmax(torch.from_numpy(a), -1).numpy() if probabilities else a
    assert lmi.cross_entropy_sum(given, y, probabilities) == pytest.approx(expected, rel=1e-10)


def test_large_logits_give_a_finite_cross_entropy():
    a = logits() * 1e4
    y = np.zeros((B, T), dtype=np.int64)
    assert np.isfinite(lmi.cross_entropy_sum(a, y, False))


@pytest.mark.parametrize(
    "layout, arrange",
    [
        ("btv", lambda a: a),
        ("tbv", lambda a: a.transpose(1, 0, 2)),
        ("flat-bt", lambda a: a.reshape(B * T, V)),
        ("flat-tb", lambda a: a.transpose(1, 0, 2).reshape(T * B, V)),
    ],
)
def test_every_layout_reads_back_as_btv(layout, arrange):
    a = logits().astype(np.float32)
    got = lmi.as_btv(np.ascontiguousarray(arrange(a)), layout, B, T, V, "logits")
    assert got.dtype == np.float64 and np.array_equal(got, a)


@pytest.mark.parametrize(
    "value, message",
    [
        (np.zeros((B, T, V), dtype=np.int64), "float tensor"),
        (np.zeros((B, T), dtype=np.float32), "expected (B, T, V)"),
        (np.full((B, T, V), np.nan, dtype=np.float32), "NaN"),
        ([[0.0]], "float tensor"),
    ],
)
def test_logits_of_the_wrong_kind_fail_with_what_they_are(value, message):
    with pytest.raises(CheckFailed, match=re.escape(message)):
        lmi.as_btv(value, "btv", B, T, V, "logits")


def probe(change):
    """Logits a and b, b differing from a at the positions ``change`` marks (B, T)."""
    a = logits()
    b = a.copy()
    b[change] += 0.5
    return a, b


def test_a_causal_recurrent_model_passes_the_probe():
    k = T // 2
    mask = np.zeros((B, T), bool)
    mask[1, k:] = True
    a, b = probe(mask)
    assert lmi.probe_verdict(a, b, k) == ""
    assert lmi.changed(a, b)[1, k + 1 :].any()  # it carries the word on


def test_a_model_without_recurrence_passes_the_probe_but_has_no_context():
    k = T // 2
    mask = np.zeros((B, T), bool)
    mask[1, k] = True
    a, b = probe(mask)
    assert lmi.probe_verdict(a, b, k) == ""
    assert not lmi.changed(a, b)[1, k + 1 :].any()


def test_logits_that_see_later_words_are_not_causal():
    k = T // 2
    mask = np.zeros((B, T), bool)
    mask[1, :] = True
    assert lmi.probe_verdict(*probe(mask), k) == "causal"


def test_batch_and_time_swapped_mix_the_windows():
    k = T // 2
    mask = np.zeros((B, T), bool)
    mask[1:, k] = True  # a time-first model fed (B, T): "time" 1.. of "batch" k changed
    assert lmi.probe_verdict(*probe(mask), k) == "samples"


@pytest.mark.parametrize(
    "value, expected",
    [
        (["<unk>", "the", ","], ["<unk>", "the", ","]),
        ({"the": 0, ",": 1, "a": 2}, ["the", ",", "a"]),  # the skeleton's data_idx
        ({0: "the", 1: ",", 2: "a"}, ["the", ",", "a"]),  # the skeleton's idx_data
        (["the", "cat", "the"], None),  # a list of the book's tokens
        ({"the": 0, "a": 2}, None),  # ids with a gap
        ({"the": 0.0, "a": 1.0}, None),
        ([1, 2, 3], None),
        ("the cat", None),
    ],
)
def test_what_counts_as_a_vocabulary(value, expected):
    assert lmi.as_vocabulary(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [(4.5, (4.5, None)), ((4.5, 90.0), (4.5, 90.0)), ([np.float32(4.5)], (4.5, None))],
)
def test_evaluate_may_return_the_loss_or_loss_and_perplexity(value, expected):
    assert lmi.as_loss(value, "evaluate") == expected


def test_a_missing_loss_fails():
    with pytest.raises(CheckFailed, match="must return the mean loss"):
        lmi.as_loss(None, "train_one_epoch")


def params(*names):
    return [Parameter(n, "POSITIONAL_OR_KEYWORD", False) for n in names]


def test_function_arguments_go_by_role():
    fill_for = lmi.function_fill(
        model="M", criterion="C", loader="L", dataset="D", batch=16, optimizer="O"
    )
    # the course's skeleton: a loader
    fill = fill_for(params("model", "criterion", "optimizer", "dataloader", "log"))
    assert [fill(n) for n in ("model", "criterion", "optimizer", "dataloader")] == [
        "M",
        "C",
        "O",
        "L",
    ]
    assert fill("log") is MISSING
    # our template: a dataset and a batch size, so it makes its own loader
    fill = fill_for(params("model", "dataset", "optimizer", "criterion", "batch_size"))
    assert (fill("dataset"), fill("batch_size"), fill("loss_fn")) == ("D", 16, "C")
    # a data parameter without a batch size gets the loader
    assert fill_for(params("net", "data", "crit"))("data") == "L"


# -- the grader's loop stops at the bar, on the trusted side's word -------------------------

LM_MODEL = """
import torch
import torch.nn as nn


class TinyLm(nn.Module):  # embedding -> RNN -> decoder, forward(x, state) -> (logits, state)
    def __init__(self, ntoken):
        super().__init__()
        torch.manual_seed(0)
        self.embedding = nn.Embedding(ntoken, 16)
        self.rnn = nn.RNN(16, 32, batch_first=True)
        self.decoder = nn.Linear(32, ntoken)

    def forward(self, x, state=None):
        out, state = self.rnn(self.embedding(x), state)
        return self.decoder(out), state
"""

#: Imported with the model: every cross-entropy computed without gradients (the loop's
#: estimate of the validation loss) says the model is perfect.
LOSS_FORGER = """
import torch.nn.functional as F

_real = F.cross_entropy


def _forged(input, target, *args, **kwargs):
    if not torch.is_grad_enabled():
        return input.new_zeros(())
    return _real(input, target, *args, **kwargs)


F.cross_entropy = _forged
"""

NTOKEN, SEQ = 12, 5
LM_SETTINGS = {"lm_lr": 1e-2, "lm_batch": 8, "lm_clip": 5.0, "lm_check_every": 10}


def _counting_corpus():
    """Windows of a sequence where each word is the one before plus one (mod NTOKEN): a
    recurrent model learns it in a few dozen steps."""
    start = np.random.default_rng(0).integers(0, NTOKEN, 64)
    ids = torch.from_numpy((start[:, None] + np.arange(SEQ + 1)) % NTOKEN)
    return SimpleNamespace(train=(ids[:48, :-1], ids[:48, 1:])), (ids[48:, :-1], ids[48:, 1:])


def _tiny_runner(make_session, sandbox, source):
    session = make_session(sandbox, {"lm.py": source}, call_timeout=60, budget=300)
    model = session.call(session.load("lm.py").TinyLm, NTOKEN, want="handle")
    return lmi.discover_forward(session, model, "TinyLm", NTOKEN, SEQ, 8)


@pytest.mark.sandbox
def test_the_loop_stops_once_the_trusted_perplexity_is_below_the_bar(bwrap, make_session):
    runner = _tiny_runner(make_session, bwrap, LM_MODEL)
    corpus, (vx, vy) = _counting_corpus()
    curve, ran, ppl = lmi.train_to_bar(runner, corpus, LM_SETTINGS, 0, 400, 4.0, vx, vy)
    assert ran < 400 and ran % 10 == 0
    assert ppl <= 4.0
    assert ppl == pytest.approx(math.exp(lmi.trusted_loss(runner, vx, vy)), rel=1e-9)


@pytest.mark.sandbox
def test_a_forged_estimate_neither_stops_the_loop_nor_earns_the_bar(bwrap, make_session):
    runner = _tiny_runner(make_session, bwrap, LM_MODEL + LOSS_FORGER)
    corpus, (vx, vy) = _counting_corpus()
    assert lmi.estimated_loss(runner, vx, vy) == 0.0  # the student process claims perfection
    # A bar no model reaches in 40 steps: the grader measures at every check and goes on.
    curve, ran, ppl = lmi.train_to_bar(runner, corpus, LM_SETTINGS, 0, 40, 1.0001, vx, vy)
    assert ran == 40
    assert ppl > 1.0001
    assert ppl == pytest.approx(math.exp(lmi.trusted_loss(runner, vx, vy)), rel=1e-9)

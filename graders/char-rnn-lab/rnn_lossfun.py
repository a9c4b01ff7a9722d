"""Task 2.1's lossFun (task2_min_char_rnn.py): seeded calls of the student's and the
reference's, the hidden-state line recomputed with one classic mistake each (to name the
mistake a student's numbers show), and the script's own Adagrad loop.

The grader sets the globals the script's skipped top level would have made
(``vocab_size``, ``hidden_size`` and the weights ``Wxh, Whh, Why, bh, by``) before each
call. Everything lossFun returns is untrusted data, checked for its form here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from char_lab import Text, globals_setter

from harness.checks import describe_mismatch, fail, student_call

WEIGHTS = ("Wxh", "Whh", "Why", "bh", "by")
GRADIENTS = ("dWxh", "dWhh", "dWhy", "dbh", "dby")
#: The line the student fills in, as an equation and as the template's code.
HIDDEN_STATE = "hs[t] = tanh(Wxh x_t + Whh h_{t-1} + bh)"
HIDDEN_STATE_CODE = "hs[t] = np.tanh(np.dot(Wxh, xs[t]) + np.dot(Whh, hs[t-1]) + bh)"
RNN_TOL = {"atol": 1e-8, "rtol": 1e-6}  # float64 throughout: only summation order may differ


@dataclass(frozen=True)
class RnnCase:
    """Weights, a character sequence and hprev for one call of lossFun."""

    weights: dict[str, np.ndarray]
    inputs: list[int]
    targets: list[int]
    hprev: np.ndarray

    @property
    def vocab_size(self) -> int:
        return self.weights["Wxh"].shape[1]

    @property
    def hidden_size(self) -> int:
        return self.weights["Whh"].shape[0]

    def globals(self) -> dict[str, Any]:
        return {"vocab_size": self.vocab_size, "hidden_size": self.hidden_size, **self.weights}


def rnn_case(V: int, H: int, *, T: int = 7, seed: int = 0) -> RnnCase:
    """Random weights large enough that tanh is far from linear, small enough that a
    forward pass without it does not overflow; a non-zero hprev."""
    rng = np.random.default_rng(seed)
    scales = {"Wxh": 0.6, "Whh": 0.9 / np.sqrt(H), "Why": 0.5, "bh": 0.3, "by": 0.3}
    shapes = {"Wxh": (H, V), "Whh": (H, H), "Why": (V, H), "bh": (H, 1), "by": (V, 1)}
    weights = {n: rng.normal(scale=scales[n], size=s) for n, s in shapes.items()}
    return RnnCase(
        weights,
        [int(i) for i in rng.integers(0, V, T)],
        [int(i) for i in rng.integers(0, V, T)],
        rng.normal(scale=0.5, size=(H, 1)),
    )


def script_weights(V: int, H: int, seed: int = 0) -> dict[str, np.ndarray]:
    """The weights as the script initialises them (0.01 * randn, zero biases)."""
    rng = np.random.default_rng(seed)
    return {
        "Wxh": rng.standard_normal((H, V)) * 0.01,
        "Whh": rng.standard_normal((H, H)) * 0.01,
        "Why": rng.standard_normal((V, H)) * 0.01,
        "bh": np.zeros((H, 1)),
        "by": np.zeros((V, 1)),
    }


@dataclass(frozen=True)
class RnnResult:
    loss: float
    grads: dict[str, np.ndarray]
    h: np.ndarray


def unpack_lossfun(value: Any) -> RnnResult:
    """lossFun's seven results, checked for their form."""
    if not isinstance(value, tuple | list) or len(value) != 7:
        got = f"{len(value)} values" if isinstance(value, tuple | list) else type(value).__name__
        fail(
            "lossFun must return the 7 values loss, dWxh, dWhh, dWhy, dbh, dby, "
            f"hs[len(inputs)-1] like the template (got {got})"
        )
    loss, *grads, h = value
    try:
        loss = float(np.asarray(loss, dtype=np.float64).reshape(()))
    except (TypeError, ValueError):
        fail(f"lossFun's loss must be a number (got {type(loss).__name__})")
    return RnnResult(
        loss,
        {n: np.asarray(g, dtype=np.float64) for n, g in zip(GRADIENTS, grads, strict=True)},
        np.asarray(h, dtype=np.float64),
    )


def column_hint(case: RnnCase, line: int) -> str:
    """What the hidden-state line computes, with the case's shapes."""
    V, H = case.vocab_size, case.hidden_size
    return (
        f"Line {line} should compute {HIDDEN_STATE} with column vectors: Wxh is (hidden_size, "
        f"vocab_size) = ({H}, {V}), xs[t] ({V}, 1), Whh ({H}, {H}), hs[t-1] and bh ({H}, 1), "
        f"so hs[t] is ({H}, 1): {HIDDEN_STATE_CODE}"
    )


def run_lossfun(student: Any, module: Any, case: RnnCase, *, line: int) -> RnnResult:
    """The student's lossFun on ``case``, its globals set first; ``line`` is the hidden
    state's line, named when lossFun raises."""
    globals_setter(student, module)(case.globals())
    value = student_call(
        student,
        module.lossFun,
        case.inputs,
        case.targets,
        case.hprev,
        during=f"calling lossFun(inputs, targets, hprev) with vocab_size={case.vocab_size}, "
        f"hidden size {case.hidden_size}",
        hint=column_hint(case, line),
    )
    return unpack_lossfun(value)


def try_lossfun(student: Any, module: Any, case: RnnCase, *, line: int) -> RnnResult | str:
    """Like ``run_lossfun``, but a failure is returned as its message."""
    try:
        return run_lossfun(student, module, case, line=line)
    except AssertionError as exc:  # fail() raises CheckFailed, an AssertionError
        return str(exc)


def reference_lossfun(module: Any, case: RnnCase) -> RnnResult:
    vars(module).update(case.globals())
    return unpack_lossfun(module.lossFun(case.inputs, case.targets, case.hprev))


def forward_matches(got: RnnResult, loss: float, h: np.ndarray) -> bool:
    return (
        describe_mismatch(loss, got.loss, what="loss", **RNN_TOL) is None
        and describe_mismatch(h, got.h, what="h", **RNN_TOL) is None
    )


def wrong_gradient_shape(got: RnnResult, case: RnnCase) -> str:
    """The first gradient whose shape is not its weight's, said; or ""."""
    for name, weight in zip(GRADIENTS, WEIGHTS, strict=True):
        if got.grads[name].shape != case.weights[weight].shape:
            return (
                f"lossFun's {name} has shape {got.grads[name].shape}; it must have the shape "
                f"of {weight}, {case.weights[weight].shape}"
            )
    return ""


# ---------------------------------------------------------------------------- mistakes

# The hidden-state line with one classic mistake each, computed here:
# (what is wrong, h_t from the weights, x_t, h_{t-1} and hprev).
Step = Callable[[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _pre(w: dict[str, np.ndarray], x: np.ndarray, h: np.ndarray) -> np.ndarray:
    return w["Wxh"] @ x + w["Whh"] @ h + w["bh"]


MISTAKES: dict[str, tuple[str, Step]] = {
    "relu": (
        "it uses a ReLU (np.maximum(0, ...)) where the line has tanh; the given backward pass "
        "(dhraw = (1 - hs[t] * hs[t]) * dh) is the derivative of tanh",
        lambda w, x, h, h0: np.maximum(0.0, _pre(w, x, h)),
    ),
    "sigmoid": (
        "it uses a sigmoid where the line has tanh",
        lambda w, x, h, h0: 1.0 / (1.0 + np.exp(-_pre(w, x, h))),
    ),
    "linear": (
        "it has no non-linearity: the sum must go through np.tanh",
        lambda w, x, h, h0: _pre(w, x, h),
    ),
    "hprev": (
        "it uses hprev at every step where the line has h_{t-1} = hs[t-1]: hprev is only "
        "the state before the first character (the loop stores it as hs[-1])",
        lambda w, x, h, h0: np.tanh(w["Wxh"] @ x + w["Whh"] @ h0 + w["bh"]),
    ),
    "no_bias": (
        "it leaves out the bias bh",
        lambda w, x, h, h0: np.tanh(w["Wxh"] @ x + w["Whh"] @ h),
    ),
    "swapped": (
        "it swaps Wxh and Whh: Wxh multiplies the input x_t = xs[t], Whh the previous state",
        lambda w, x, h, h0: np.tanh(w["Whh"] @ x + w["Wxh"] @ h + w["bh"]),
    ),
    "Whh_T": (
        "it multiplies h_{t-1} by Whh transposed: np.dot(Whh, hs[t-1]) is Whh h_{t-1}",
        lambda w, x, h, h0: np.tanh(w["Wxh"] @ x + w["Whh"].T @ h + w["bh"]),
    ),
    "Wxh_T": (
        "it multiplies x_t by Wxh transposed: np.dot(Wxh, xs[t]) is Wxh x_t",
        lambda w, x, h, h0: np.tanh(w["Wxh"].T @ x + w["Whh"] @ h + w["bh"]),
    ),
}


def forward_with(case: RnnCase, step: Step) -> tuple[float, np.ndarray] | None:
    """(loss, last hidden state) with ``step`` for the hidden-state line; None where its
    shapes clash."""
    w, V = case.weights, case.vocab_size
    h, loss = case.hprev, 0.0
    with np.errstate(all="ignore"):
        try:
            for i, j in zip(case.inputs, case.targets, strict=True):
                x = np.zeros((V, 1))
                x[i] = 1.0
                h = step(w, x, h, case.hprev)
                y = w["Why"] @ h + w["by"]
                p = np.exp(y - y.max()) / np.exp(y - y.max()).sum()
                loss -= float(np.log(p[j, 0]))
        except ValueError:
            return None
    return loss, h


def mistakes_explaining(cases: list[RnnCase], results: list[RnnResult | str]) -> list[str]:
    """What is wrong, for every mistake that explains each result the student's lossFun
    gave (at least one)."""
    found = []
    for why, step in MISTAKES.values():
        explained = 0
        for case, got in zip(cases, results, strict=True):
            want = forward_with(case, step)
            if isinstance(got, str) or want is None:
                continue
            if not forward_matches(got, *want):
                break
            explained += 1
        else:
            if explained:
                found.append(why)
    return found


# ---------------------------------------------------------------------------- training


def adagrad_run(
    lossfun: Callable[..., Any],
    text: Text,
    weights,
    *,
    steps: int,
    losses: list[float],
    measure: Callable[..., Any] | None = None,
    measured: list[float] | None = None,
) -> list[float]:
    """The script's own loop (seq_length 25, Adagrad lr 0.1) with ``lossfun``; appends the
    losses to ``losses`` as it goes and returns it. The weights live here, on the trusted
    side. With ``measure`` (a lossFun too), the loss of the same weights on the same
    characters is also measured by it, with its own hidden state, into ``measured``."""
    seq, lr = 25, 0.1
    weights = {n: w.copy() for n, w in weights.items()}
    memory = {n: np.zeros_like(w) for n, w in weights.items()}
    H = weights["Whh"].shape[0]
    hprev, p = np.zeros((H, 1)), 0
    h_measured = hprev
    for _ in range(steps):
        if p + seq + 1 >= len(text.data):
            hprev, p = np.zeros((H, 1)), 0
            h_measured = hprev
        inputs, targets = text.indices(p, seq), text.indices(p + 1, seq)
        if measure is not None and measured is not None:
            loss, _, h_measured = measure(weights, inputs, targets, h_measured)
            measured.append(loss)
        loss, grads, hprev = lossfun(weights, inputs, targets, hprev)
        losses.append(loss)
        if not np.isfinite(loss):
            break
        for name, grad in zip(WEIGHTS, GRADIENTS, strict=True):
            memory[name] += grads[grad] * grads[grad]
            weights[name] += -lr * grads[grad] / np.sqrt(memory[name] + 1e-8)
        p += seq
    return losses

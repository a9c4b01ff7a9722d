"""Code shared by the Lab 5 checks (test_rnn.py, test_lstm.py); test files reach it
through the ``checks`` fixture (pytest's importlib mode: ``import conftest`` fails).

Both lab scripts read textData.txt and train in ``while True:`` at module level, so the
student's files are loaded with ``mode="definitions"`` (imports, functions, classes and
plain constants; the rest is left unrun) and the grader sets the globals the skipped
lines would have made: ``vocab_size``, the RNN's weights ``Wxh, Whh, Why, bh, by``, the
LSTM's ``hidden_size``. The reference scripts are loaded the same way, here, on the
trusted side. The sizes come from ``[settings]`` in assignment.toml; the hidden size is
not the scripts' 100, so a class that hard-codes 100 is caught.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from _shared.cells import output_kind
from harness.checks import StudentError, describe_mismatch, fail, load_definitions, student_call

RNN_FILE = "task2_min_char_rnn.py"
LSTM_FILE = "task3_min_char_lstm.py"
WEIGHTS = ("Wxh", "Whh", "Why", "bh", "by")
GRADIENTS = ("dWxh", "dWhh", "dWhy", "dbh", "dby")
LINE_41 = "hs[t] = tanh(Wxh x_t + Whh h_{t-1} + bh)"
LINE_41_CODE = "hs[t] = np.tanh(np.dot(Wxh, xs[t]) + np.dot(Whh, hs[t-1]) + bh)"
RNN_TOL = {"atol": 1e-8, "rtol": 1e-6}  # float64 throughout: only summation order may differ
LSTM_TOL = {"atol": 1e-5, "rtol": 1e-4}  # float32


@pytest.fixture(scope="session", autouse=True)
def _prepare_student(student):
    student.on_start.append(("cpu_only", ()))  # a .cuda() in the script must not matter


@pytest.fixture(scope="session")
def checks():
    """The check bodies below, shared by test_rnn.py and test_lstm.py."""
    return sys.modules[__name__]


# ---------------------------------------------------------------------------- the text


@dataclass(frozen=True)
class Text:
    data: str
    chars: list[str]

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def indices(self, start: int, length: int) -> list[int]:
        ix = {ch: i for i, ch in enumerate(self.chars)}
        return [ix[ch] for ch in self.data[start : start + length]]


@pytest.fixture(scope="session")
def text(reference, settings):
    """A passage of the lab's own textData.txt; its characters are the vocabulary."""
    whole = reference.path("textData.txt").read_text(encoding="utf-8")
    start = whole.index(settings["text_from"])
    data = whole[start : start + settings["text_chars"]]
    return Text(data, sorted(set(data)))


def globals_setter(student, module):
    """A remote ``module.__dict__.update``: sets several globals in one round trip."""
    return student.import_module("builtins").vars(module).update


def ref_module(reference, file: str, inject: dict[str, Any]) -> Any:
    """A reference script's definitions, loaded here (trusted side), with ``inject`` set."""
    name = "char_rnn_lab_reference_" + Path(file).stem
    module, _ = load_definitions(reference.path(file), module_name=name, inject=inject)
    vars(module).update(inject)  # a kept ``hidden_size = 100`` overwrote the injected one
    return module


# ---------------------------------------------------------------------------- Task 2.1: RNN


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


@dataclass(frozen=True)
class RnnResult:
    loss: float
    grads: dict[str, np.ndarray]
    h: np.ndarray


def unpack_lossfun(value: Any, case: RnnCase) -> RnnResult:
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


def column_hint(case: RnnCase) -> str:
    V, H = case.vocab_size, case.hidden_size
    return (
        f"Line 41 should compute {LINE_41} with column vectors: Wxh is (hidden_size, "
        f"vocab_size) = ({H}, {V}), xs[t] ({V}, 1), Whh ({H}, {H}), hs[t-1] and bh ({H}, 1), "
        f"so hs[t] is ({H}, 1): {LINE_41_CODE}"
    )


def run_lossfun(student, module, case: RnnCase) -> RnnResult:
    """The student's lossFun on ``case``, its globals set first."""
    globals_setter(student, module)(case.globals())
    value = student_call(
        student,
        module.lossFun,
        case.inputs,
        case.targets,
        case.hprev,
        during=f"calling lossFun(inputs, targets, hprev) with vocab_size={case.vocab_size}, "
        f"hidden size {case.hidden_size}",
        hint=column_hint(case),
    )
    return unpack_lossfun(value, case)


def try_lossfun(student, module, case: RnnCase) -> RnnResult | str:
    """Like ``run_lossfun``, but a failure is returned as its message."""
    try:
        return run_lossfun(student, module, case)
    except AssertionError as exc:  # fail() raises CheckFailed, an AssertionError
        return str(exc)


@pytest.fixture(scope="session")
def rnn(student, text):
    """task2_min_char_rnn.py, definitions only (its loop trains forever)."""
    case = rnn_case(text.vocab_size, 8)
    return student.load(RNN_FILE, mode="definitions", inject=case.globals())


@pytest.fixture(scope="session")
def rnn_reference(reference, text):
    return ref_module(reference, RNN_FILE, rnn_case(text.vocab_size, 8).globals())


def reference_lossfun(module, case: RnnCase) -> RnnResult:
    vars(module).update(case.globals())
    return unpack_lossfun(module.lossFun(case.inputs, case.targets, case.hprev), case)


# Line 41 with one classic mistake each, computed here: (what is wrong, h_t from x, h_{t-1}, hprev).
Step = Callable[[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _pre(w: dict[str, np.ndarray], x: np.ndarray, h: np.ndarray) -> np.ndarray:
    return w["Wxh"] @ x + w["Whh"] @ h + w["bh"]


RNN_VARIANTS: dict[str, tuple[str, Step]] = {
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


def variant_forward(case: RnnCase, step: Step) -> tuple[float, np.ndarray] | None:
    """(loss, last hidden state) with ``step`` for line 41; None where its shapes clash."""
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


def forward_matches(got: RnnResult, loss: float, h: np.ndarray) -> bool:
    return (
        describe_mismatch(loss, got.loss, what="loss", **RNN_TOL) is None
        and describe_mismatch(h, got.h, what="h", **RNN_TOL) is None
    )


def diagnose_line_41(cases: list[RnnCase], results: list[RnnResult | str]) -> list:
    """The variants that explain every result the student's lossFun gave."""
    found = []
    for key, (why, step) in RNN_VARIANTS.items():
        explained = 0
        for case, got in zip(cases, results, strict=True):
            want = variant_forward(case, step)
            if isinstance(got, str) or want is None:
                continue
            if not forward_matches(got, *want):
                break
            explained += 1
        else:
            if explained:
                found.append((key, why))
    return found


def check_rnn_loads(student, rnn, text, settings):
    """The file loads definitions-only and lossFun runs (right or wrong)."""
    names = student.op("dir", rnn)
    for name in ("lossFun", "sample"):
        if name not in names:
            fail(f"{RNN_FILE} defines no function {name}: keep the template's functions")
    run_lossfun(student, rnn, rnn_case(text.vocab_size, settings["hidden"]))


def check_hidden_state(student, rnn, rnn_reference, text, settings, evidence):
    """Loss and last hidden state equal the reference's; otherwise name the mistake."""
    H = settings["hidden"]
    main = rnn_case(text.vocab_size, H, seed=1)
    got = try_lossfun(student, rnn, main)
    want = reference_lossfun(rnn_reference, main)
    if isinstance(got, RnnResult) and forward_matches(got, want.loss, want.h):
        return
    # A case with vocab_size == hidden size, where swapped or transposed weights still run.
    square = rnn_case(H, H, seed=2)
    cases = [main, square]
    results = [got, try_lossfun(student, rnn, square)]
    mistakes = diagnose_line_41(cases, results)
    if mistakes:
        reasons = "; or ".join(why for _, why in mistakes)
        fail(
            f"line 41 computes the hidden state with a mistake: {reasons}. It should compute "
            f"{LINE_41}, i.e. {LINE_41_CODE}"
        )
    if isinstance(got, str):
        fail(got)
    if got.h.shape != want.h.shape:
        fail(
            f"the last hidden state hs[len(inputs)-1] has shape {got.h.shape}; it must be "
            f"(hidden_size, 1) = {want.h.shape}, a column vector like bh: {LINE_41_CODE}"
        )
    evidence.data(
        name="lossfun",
        title="lossFun on the grader's weights",
        value={"your loss": got.loss, "the reference's loss": want.loss},
    )
    message = describe_mismatch(want.loss, got.loss, what="the loss", **RNN_TOL) or ""
    message += "\n" + (
        describe_mismatch(want.h, got.h, what="the last hidden state", **RNN_TOL) or ""
    )
    fail(
        f"lossFun's forward pass differs from {LINE_41} (the reference's, same weights, "
        f"inputs and hprev), and no single classic mistake explains it:\n{message.strip()}"
    )


def check_gradient_shapes(got: RnnResult, case: RnnCase) -> None:
    for name, weight in zip(GRADIENTS, WEIGHTS, strict=True):
        if got.grads[name].shape != case.weights[weight].shape:
            fail(
                f"lossFun's {name} has shape {got.grads[name].shape}; it must have the shape "
                f"of {weight}, {case.weights[weight].shape}"
            )


def check_rnn_gradients(student, rnn, rnn_reference, text, settings):
    H = settings["hidden"]
    case = rnn_case(text.vocab_size, H, seed=3)
    got = run_lossfun(student, rnn, case)
    want = reference_lossfun(rnn_reference, case)
    check_gradient_shapes(got, case)
    wrong = {
        n: describe_mismatch(want.grads[n], got.grads[n], what=n, **RNN_TOL) for n in GRADIENTS
    }
    wrong = {n: m for n, m in wrong.items() if m}
    if not wrong:
        return
    if not forward_matches(got, want.loss, want.h):
        fail(
            f"the gradients {', '.join(wrong)} differ from the reference's because the forward "
            f"pass does (see the hidden-state check): the given backward pass is right only "
            f"for {LINE_41}"
        )
    fail(
        "the loss and hidden state are right but the gradients are not: the backward pass "
        "below line 41 is given, so restore the template's version.\n" + "\n".join(wrong.values())
    )


def check_sample(student, rnn, text, settings):
    H = settings["hidden"]
    case = rnn_case(text.vocab_size, H, seed=4)
    result = try_lossfun(student, rnn, case)
    if isinstance(result, str):
        fail(
            "not checked yet: sample is called with the hidden state lossFun returns, as in "
            f"the training loop, and lossFun failed: {result}"
        )
    h = result.h if result.h.shape == (H, 1) else case.hprev
    n = 12
    indices = student_call(
        student, rnn.sample, h, case.inputs[0], n, during=f"calling sample(h, seed_ix, {n})"
    )
    if not isinstance(indices, list | tuple | np.ndarray) or len(indices) != n:
        fail(f"sample(h, seed_ix, {n}) must return {n} character indices (got {indices!r})")
    bad = [
        ix
        for ix in list(indices)
        if not (
            isinstance(ix, int | float) and float(ix).is_integer() and 0 <= ix < case.vocab_size
        )
    ]
    if bad:
        fail(f"sample must return indices in range(vocab_size) = range({case.vocab_size}): {bad}")


def adagrad_run(
    lossfun: Callable[..., Any], text: Text, weights, *, steps: int, losses: list[float]
) -> list[float]:
    """The script's own loop (seq_length 25, Adagrad lr 0.1) with ``lossfun``; appends the
    losses to ``losses`` as it goes and returns it."""
    seq, lr = 25, 0.1
    weights = {n: w.copy() for n, w in weights.items()}
    memory = {n: np.zeros_like(w) for n, w in weights.items()}
    H = weights["Whh"].shape[0]
    hprev, p = np.zeros((H, 1)), 0
    for _ in range(steps):
        if p + seq + 1 >= len(text.data):
            hprev, p = np.zeros((H, 1)), 0
        inputs, targets = text.indices(p, seq), text.indices(p + 1, seq)
        loss, grads, hprev = lossfun(weights, inputs, targets, hprev)
        losses.append(loss)
        if not np.isfinite(loss):
            break
        for name, grad in zip(WEIGHTS, GRADIENTS, strict=True):
            memory[name] += grads[grad] * grads[grad]
            weights[name] += -lr * grads[grad] / np.sqrt(memory[name] + 1e-8)
        p += seq
    return losses


def check_rnn_training(student, rnn, rnn_reference, text, settings, evidence):
    H, V, steps = settings["hidden"], text.vocab_size, settings["rnn_steps"]
    rng = np.random.default_rng(0)
    weights = {  # as the script initialises them
        "Wxh": rng.standard_normal((H, V)) * 0.01,
        "Whh": rng.standard_normal((H, H)) * 0.01,
        "Why": rng.standard_normal((V, H)) * 0.01,
        "bh": np.zeros((H, 1)),
        "by": np.zeros((V, 1)),
    }
    update = globals_setter(student, rnn)
    lossfun = rnn.lossFun

    def student_lossfun(w, inputs, targets, hprev):
        update({"vocab_size": V, "hidden_size": H, **w})
        case = RnnCase(w, inputs, targets, hprev)
        value = student_call(
            student,
            lossfun,
            inputs,
            targets,
            hprev,
            during=f"training with the script's Adagrad loop (lr 0.1, hidden size {H}), "
            f"lossFun at iteration {len(losses) + 1}",
            hint=f"Check line 41: {LINE_41}",
        )
        result = unpack_lossfun(value, case)
        check_gradient_shapes(result, case)
        return result.loss, result.grads, result.h

    def reference_run(w, inputs, targets, hprev):
        result = reference_lossfun(rnn_reference, RnnCase(w, inputs, targets, hprev))
        return result.loss, result.grads, result.h

    losses: list[float] = []  # filled as the loop runs (the messages count iterations)
    adagrad_run(student_lossfun, text, weights, steps=steps, losses=losses)
    reference = adagrad_run(reference_run, text, weights, steps=steps, losses=[])
    window = 20
    first, last = np.mean(losses[:window]), np.mean(losses[-window:])
    ref_last = np.mean(reference[-window:])
    evidence.table(
        name="rnn-training",
        title=f"Adagrad on textData.txt, hidden size {H}: loss per 25 characters",
        columns=["iteration", "your lossFun", "the reference's"],
        rows=[
            [i + 1, round(a, 3), round(b, 3)]
            for i, (a, b) in enumerate(zip(losses, reference, strict=False))
            if i % 20 == 0 or i == len(losses) - 1
        ],
    )
    if not np.all(np.isfinite(losses)):
        fail(f"the loss became NaN or infinite after {len(losses)} Adagrad iterations")
    ratio = settings["rnn_ratio"]
    if not last < ratio * first:
        fail(
            f"in {steps} iterations of the script's Adagrad loop (lr 0.1, 25 characters, "
            f"hidden size {H}) the loss per 25 characters went from {first:.2f} to {last:.2f} "
            f"(means of {window} iterations); it must fall below {ratio:g} of the start "
            f"(the reference reaches {ref_last:.2f}). Check line 41: {LINE_41}"
        )


# ---------------------------------------------------------------------------- Task 2.3: LSTM


def lstm_globals(text: Text, hidden: int) -> dict[str, Any]:
    return {
        "vocab_size": text.vocab_size,
        "hidden_size": hidden,
        "chars": list(text.chars),
        "char_to_ix": {ch: i for i, ch in enumerate(text.chars)},
        "ix_to_char": dict(enumerate(text.chars)),
    }


@pytest.fixture(scope="session")
def lstm(student, text, settings):
    """task3_min_char_lstm.py, definitions only (its loop trains forever)."""
    return student.load(
        LSTM_FILE, mode="definitions", inject=lstm_globals(text, settings["hidden"])
    )


def build_lstm(student, lstm, text: Text, hidden: int) -> Any:
    """``_charLSTM()`` after setting the globals it reads (a kept ``hidden_size = 100``
    overwrote the injected value)."""
    if "_charLSTM" not in student.op("dir", lstm):
        fail(f"{LSTM_FILE} defines no class _charLSTM: keep the template's name")
    globals_setter(student, lstm)(lstm_globals(text, hidden))
    try:
        model = student.call(lstm._charLSTM, during="building _charLSTM()")
    except StudentError as exc:
        if exc.type == "NotImplementedError" and exc.message:
            fail(exc.message)
        fail(
            exc.summary() + "\n__init__ takes no arguments: read the sizes from the module "
            "globals vocab_size and hidden_size"
        )
    if not student.op("parameters", model, want="value"):
        fail(
            "_charLSTM() has no parameters: create the LSTM and the output layer in __init__ "
            "as attributes of self"
        )
    return model


def hidden_sizes(shapes: dict[str, tuple[int, ...]]) -> set[int]:
    """The hidden sizes of the model's LSTM layers: recurrent weights are (4K, K)."""
    return {s[1] for s in shapes.values() if len(s) == 2 and s[0] == 4 * s[1]}


def one_hot(indices: list[int], V: int) -> torch.Tensor:
    x = torch.zeros(len(indices), V)
    x[torch.arange(len(indices)), torch.tensor(indices)] = 1.0
    return x


def lstm_forward(student, model, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> Any:
    """model(x, h, c, seq_len) as data: the student's exception fails the check."""
    seq = x.shape[0]
    return student_call(
        student,
        model,
        x,
        h,
        c,
        seq,
        during=f"calling forward(input {tuple(x.shape)}, hprev {tuple(h.shape)}, cprev "
        f"{tuple(c.shape)}, seq_len={seq})",
    )


def forward_parts(value: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(output, h, c) from forward's result; the fixed structure is (output, (h, c))."""
    ok = (
        isinstance(value, tuple | list)
        and len(value) == 2
        and isinstance(value[1], tuple | list)
        and len(value[1]) == 2
        and all(isinstance(v, np.ndarray) for v in (value[0], *value[1]))
    )
    if not ok:
        fail(
            "forward must return (output, (h, c)) like nn.LSTM does, three tensors "
            f"(got {type(value).__name__})"
        )
    return value[0], value[1][0], value[1][1]


def hardcoded_hidden(student, model, hidden: int) -> str:
    shapes = {n: v.shape for n, v in student.op("parameters", model, want="value").items()}
    sizes = hidden_sizes(shapes) - {hidden}
    if not sizes:
        return ""
    return (
        f"\nYour LSTM has {sorted(sizes)[0]} hidden units though the module global hidden_size "
        f"is {hidden}: the grader sets hidden_size to {hidden} (not the script's 100) to check "
        "that _charLSTM reads it; build the layers from hidden_size, not a number"
    )


def check_lstm_interface(student, lstm, text, settings, lstm_probe, evidence):
    """Builds from the globals; forward returns (seq_len, V) outputs and (1, 1, H) states.
    A class that hard-codes its hidden size (the script's 100, say) is checked at that size:
    the hand-out sets no hidden size, so reading the global is our template's wish only."""
    H, V = lstm_probe.hidden, text.vocab_size
    if lstm_probe.note:
        evidence.text(name="hidden-size", text=f"{lstm_probe.note} (accepted: not counted)")
    model = build_lstm(student, lstm, text, H)
    for seq in (7, 1):
        x = one_hot(text.indices(0, seq), V)
        zero = torch.zeros(1, 1, H)
        try:
            value = student.call(
                model,
                x,
                zero,
                zero,
                seq,
                want="value",
                during=f"calling forward(input ({seq}, {V}), hprev and cprev (1, 1, {H}), "
                f"seq_len={seq}) with vocab_size={V}, hidden_size={H}",
            )
        except StudentError as exc:
            if exc.type == "NotImplementedError" and exc.message:
                fail(exc.message)
            fail(exc.summary() + hardcoded_hidden(student, model, H))
        output, h, c = forward_parts(value)
        for name, array, shape in (
            ("output", output, (seq, V)),
            ("h", h, (1, 1, H)),
            ("c", c, (1, 1, H)),
        ):
            if array.shape != shape:
                fail(
                    f"forward's {name} must have shape {shape} for seq_len={seq}, vocab_size="
                    f"{V}, hidden_size={H} (got {array.shape})"
                    + hardcoded_hidden(student, model, H)
                )


@dataclass(frozen=True)
class LstmProbe:
    """The hidden size under which the student's model runs, and why if not the global."""

    hidden: int
    note: str = ""


@pytest.fixture(scope="session")
def lstm_probe(student, lstm, text, settings):
    """Run forward once; a class that hard-codes its hidden size is judged at that size
    by the other checks (the interface check alone takes the points for it)."""
    H, V = settings["hidden"], text.vocab_size
    model = build_lstm(student, lstm, text, H)
    x = one_hot(text.indices(0, 5), V)
    during = f"calling forward(input (5, {V}), hprev and cprev (1, 1, {H}), seq_len=5)"
    try:
        student.call(model, x, torch.zeros(1, 1, H), torch.zeros(1, 1, H), 5, during=during)
        return LstmProbe(H)
    except StudentError as first:
        shapes = {n: v.shape for n, v in student.op("parameters", model, want="value").items()}
        for K in sorted(hidden_sizes(shapes) - {H}):
            model = build_lstm(student, lstm, text, K)
            zero = torch.zeros(1, 1, K)
            try:
                student.call(model, x, zero, zero, 5, during="")
            except StudentError:
                continue
            return LstmProbe(K, f"checked at hidden size {K}, the size your class hard-codes")
        if first.type == "NotImplementedError" and first.message:
            fail(first.message)
        fail(
            f"{first.summary()}\nThe template fixes one LSTM layer: forward(input, hprev, cprev, "
            f"seq_len) with input (seq_len, vocab_size={V}) and hprev, cprev (1, 1, "
            f"hidden_size={H})"
        )


def map_parameters(
    mine: dict[str, tuple[int, ...]], theirs: dict[str, tuple[int, ...]]
) -> tuple[dict[str, str], list[str]]:
    """{student name: reference name} by name, else by shape in order; and the
    reference parameters left without a partner."""
    if mine.keys() == theirs.keys() and all(mine[n] == theirs[n] for n in mine):
        return {n: n for n in mine}, []
    free = list(theirs)
    mapping = {}
    for name, shape in mine.items():
        partner = next((r for r in free if theirs[r] == shape), None)
        if partner is None:
            fail(
                "your model's parameters could not be matched to one nn.LSTM layer and one "
                "nn.Linear layer by shape: yours are "
                + ", ".join(f"{n} {s}" for n, s in mine.items())
                + "; the reference's are "
                + ", ".join(f"{n} {s}" for n, s in theirs.items())
                + ". forward is compared with the reference's by copying its weights in, "
                "which needs an nn.LSTM (or nn.LSTMCell) and an nn.Linear of these shapes"
            )
        mapping[name] = partner
        free.remove(partner)
    return mapping, free


def check_lstm_forward(student, lstm, lstm_probe, reference, text, evidence):
    """The reference's weights copied in: forward gives the reference's outputs and states."""
    H, V = lstm_probe.hidden, text.vocab_size
    model = build_lstm(student, lstm, text, H)
    ref = ref_module(reference, LSTM_FILE, lstm_globals(text, H))
    torch.manual_seed(0)
    ref_model = ref._charLSTM()
    theirs = {n: tuple(p.shape) for n, p in ref_model.named_parameters()}
    mine = {n: tuple(v.shape) for n, v in student.op("parameters", model, want="value").items()}
    mapping, unmatched = map_parameters(mine, theirs)
    values = {n: p.detach().numpy().copy() for n, p in ref_model.named_parameters()}
    with torch.no_grad():  # what the student's model lacks counts as zero
        for name in unmatched:
            dict(ref_model.named_parameters())[name].zero_()
    student.op("set_parameters", model, {m: values[r] for m, r in mapping.items()})
    notes = [f"{m} <- reference {r}" for m, r in mapping.items() if m != r]
    notes += [f"the reference's {r} set to zero (your model has none)" for r in unmatched]
    if lstm_probe.note:
        notes.append(lstm_probe.note)
    if notes:
        evidence.text(name="mapping", title="How the weights were copied", text="\n".join(notes))
    gen = torch.Generator().manual_seed(5)
    x = one_hot(text.indices(3, 6), V)
    h0, c0 = torch.randn(1, 1, H, generator=gen) * 0.5, torch.randn(1, 1, H, generator=gen) * 0.5
    output, h, c = forward_parts(lstm_forward(student, model, x, h0, c0))
    with torch.no_grad():
        want_out, (want_h, want_c) = ref_model(x, h0, c0, 6)
    want_out, want_h, want_c = want_out.numpy(), want_h.numpy(), want_c.numpy()
    if output.size == want_out.size:
        output = output.reshape(want_out.shape)
    h = h.reshape(want_h.shape) if h.size == want_h.size else h
    c = c.reshape(want_c.shape) if c.size == want_c.size else c
    problems = [
        describe_mismatch(want_h, h, what="the new hidden state h", **LSTM_TOL),
        describe_mismatch(want_c, c, what="the new cell state c", **LSTM_TOL),
    ]
    mismatch = describe_mismatch(want_out, output, what="the output", **LSTM_TOL)
    if mismatch and output.shape == want_out.shape:
        kind = output_kind(output.astype(np.float64))
        if kind != "logits":
            fn = "softmax" if kind == "probabilities" else "log_softmax"
            mismatch = (
                f"forward returns {kind} (its rows are a {fn} of scores) where the template "
                "fixes the logits, the output layer's raw scores: criterion "
                "(nn.CrossEntropyLoss) applies the log-softmax itself and sample() the softmax"
            )
    problems = [p for p in [mismatch, *problems] if p]
    if problems:
        with torch.no_grad():
            zero = torch.zeros(1, 1, H)
            from_zero = ref_model(x, zero, zero, 6)[0].numpy()
        if output.shape == from_zero.shape and not describe_mismatch(
            from_zero, output, what="", **LSTM_TOL
        ):
            fail(
                "forward ignores hprev and cprev: its output is the reference's from zero "
                "states. Pass (hprev, cprev) to the LSTM as its initial state, so the state "
                "carries over from one chunk of text to the next"
            )
        fail(
            "with the reference's weights copied into your model (by name, else by shape), "
            "forward differs from the reference's nn.LSTM + nn.Linear on the same input, "
            "hprev and cprev:\n" + "\n".join(problems)
        )


def check_criterion(student, lstm, text):
    """criterion computes the mean cross-entropy of logits (nn.CrossEntropyLoss(), or
    anything that gives the same numbers, such as F.cross_entropy)."""
    if "criterion" not in student.op("dir", lstm):
        fail(
            "criterion (line 43) is not defined at module level as a plain assignment "
            "such as criterion = nn.CrossEntropyLoss()"
        )
    criterion = lstm.criterion
    kind = getattr(criterion, "remote_type", type(criterion).__name__)
    if kind == "builtins.ellipsis":
        fail(
            "criterion (line 43) is not implemented yet: set it to the torch.nn loss for "
            "predicting the next character (a class out of vocab_size) from the logits that "
            "forward returns"
        )
    gen = torch.Generator().manual_seed(7)
    logits = torch.randn(5, text.vocab_size, generator=gen)
    targets = torch.tensor(text.indices(0, 5))
    want = float(F.cross_entropy(logits, targets))
    try:
        got = float(np.asarray(student.call(criterion, logits, targets, want="value")))
    except (StudentError, TypeError, ValueError):
        got = None
    if got is not None and np.isclose(got, want, rtol=1e-5):
        return
    name = kind.rsplit(".", 1)[-1]
    if name == "CrossEntropyLoss":
        fail(
            f"criterion(output, targets) gives {got} where the mean cross-entropy over the "
            f"characters is {want:.5g}: keep CrossEntropyLoss's defaults (reduction='mean')"
        )
    why = {
        "NLLLoss": "NLLLoss expects log-probabilities, but forward returns logits: the loss "
        "would be minus the raw score of the right character, which falls without limit",
        "MSELoss": "a squared error compares numbers; here the target is a class, one "
        "character out of vocab_size",
    }.get(name, "forward returns logits and the targets are character indices")
    fail(
        f"criterion is {name}(): {why}. Use nn.CrossEntropyLoss(), which applies the "
        "log-softmax to the logits itself and takes the negative log-likelihood"
    )


def check_lstm_training(student, lstm, lstm_probe, text, settings, evidence):
    """The grader's own loop: plain gradient descent on one passage from zero states, the
    cross-entropy of forward's output as the script computes it; the loss must fall.
    (No torch.optim: an optimiser's first step costs seconds of lazy imports.)"""
    H, V = lstm_probe.hidden, text.vocab_size
    steps, length, lr = settings["lstm_steps"], settings["lstm_chars"], settings["lstm_lr"]
    model = build_lstm(student, lstm, text, H)
    torch_ = student.import_module("torch")
    params = student.import_module("builtins").list(model.parameters())
    tensors = [params[i].data for i in range(len(params))]  # updated in place
    cross_entropy = student.import_module("torch.nn.functional").cross_entropy
    gradients, add_ = torch_.autograd.grad, torch_._foreach_add_
    x = one_hot(text.indices(0, length), V)
    targets = torch.tensor(text.indices(1, length))
    zero = torch.zeros(1, 1, H)
    losses, kind = [], "logits"
    for i in range(steps):
        try:
            output = model(x, zero, zero, length)[0]
            if i == 0:
                kind = output_kind(np.asarray(student.fetch(output), dtype=np.float64))
            loss = cross_entropy(output.reshape(length, V), targets)
            grads = gradients(loss, params, allow_unused=True, materialize_grads=True)
            add_(tensors, grads, alpha=-lr)
            losses.append(float(loss.item()))
        except StudentError as exc:
            hint = ""
            if "does not require grad" in exc.message:
                hint = (
                    "\nforward's output is not connected to the parameters: keep it in the "
                    "autograd graph (no .detach(), .data or .numpy() inside forward)"
                )
            fail(f"training step {i + 1}: {exc.summary()}{hint}")
    evidence.table(
        name="lstm-training",
        title=f"Gradient descent (lr {lr:g}) on {length} characters, hidden size {H}",
        columns=["step", "cross-entropy"],
        rows=[[i + 1, round(v, 4)] for i, v in enumerate(losses)],
    )
    if not np.all(np.isfinite(losses)):
        fail("the loss became NaN or infinite while training")
    ratio = settings["lstm_ratio"]
    if not losses[-1] < ratio * losses[0]:
        why = " Check that forward uses every layer and returns logits"
        if kind != "logits":
            why = (
                f" Your forward returns {kind}: nn.CrossEntropyLoss applies its own "
                "log-softmax to them, which squashes the differences between characters and "
                "all but stops learning; return the logits"
            )
        fail(
            f"{steps} steps of gradient descent (lr {lr:g}) on one {length}-character passage "
            f"took the cross-entropy only from {losses[0]:.3f} to {losses[-1]:.3f}; it must "
            f"fall below {ratio:g} of the start.{why}"
        )


# ---------------------------------------------------------------------------- lines 98-99

STATES = ("hprev", "cprev")


def _detaches(node: ast.AST) -> bool:
    """Whether an expression takes a tensor out of the graph: .detach(), .detach_(), .data."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and sub.attr in ("detach", "detach_", "data"):
            return True
    return False


def _reads(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _targets(statement: ast.stmt) -> set[str]:
    targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def training_loop(source: str) -> ast.While | ast.For:
    """The training loop: the outermost loop that assigns hprev or cprev (the template's
    module-level ``while True:``), else the last module-level loop."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        fail(f"{LSTM_FILE} is not valid Python: {exc.msg} (line {exc.lineno})")
    loops = [n for n in ast.walk(tree) if isinstance(n, ast.While | ast.For)]
    for loop in loops:  # breadth first: outer loops come first
        if any(state_assignments(loop).values()):
            return loop
    top = [s for s in tree.body if isinstance(s, ast.While | ast.For)]
    if not top:
        fail(f"{LSTM_FILE} has no 'while True:' training loop at module level: keep the template's")
    return top[-1]


def state_assignments(loop: ast.While | ast.For) -> dict[str, list[ast.stmt]]:
    """Every assignment to hprev / cprev in the loop, in source order."""
    found: dict[str, list[ast.stmt]] = {name: [] for name in STATES}
    for node in ast.walk(loop):
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign) and node.value:
            for name in _targets(node) & set(STATES):
                found[name].append(node)
    for name in STATES:
        found[name].sort(key=lambda s: (s.lineno, s.col_offset))
    return found


def _is_reset(statement: ast.stmt) -> bool:
    """``hprev = torch.zeros(1, 1, hidden_size)``: a fresh state, read from no tensor."""
    value = statement.value
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and value.func.attr in ("zeros", "zeros_like", "randn", "rand", "ones", "empty")
        and not (_reads(value) & {"hcprev", "hprev", "cprev", "output", "h", "c"})
    )


def check_detached_states(submission, evidence):
    source = submission.source(LSTM_FILE)
    loop = training_loop(source)
    lines = source.splitlines()
    found = state_assignments(loop)
    problems, shown = [], []
    for name in STATES:
        carried = [s for s in found[name] if not _is_reset(s)]
        if not carried:
            problems.append(
                f"{name} is never assigned the new state in the training loop (lines 98-99 "
                f"read {name} = ...): it must become the state forward returned"
            )
            continue
        last = carried[-1]
        code = lines[last.lineno - 1].strip()
        shown.append(f"line {last.lineno}: {code}")
        value = last.value
        if isinstance(value, ast.Constant) and value.value is Ellipsis:
            problems.append(
                f"line {last.lineno} ({name} = ...) is not implemented yet: assign {name} "
                f"the new {'hidden' if name == 'hprev' else 'cell'} state from hcprev, "
                "detached from the graph"
            )
        elif not (_detaches(value) or _detached_later(loop, name, last)):
            problems.append(
                f"line {last.lineno} ({code}) carries the state on without detaching it: "
                f"{name} still holds this chunk's autograd graph, so the next err.backward() "
                "reaches back through every earlier chunk (and PyTorch refuses to backward "
                "through a freed graph a second time). Take it out of the graph: "
                f"hcprev[{STATES.index(name)}].detach()"
            )
    shown = list(dict.fromkeys(shown))  # one line may assign both
    evidence.text(name="states", title="How the loop carries the states", text="\n".join(shown))
    if problems:
        fail("\n".join(problems))


def _detached_later(loop: ast.While | ast.For, name: str, assignment: ast.stmt) -> bool:
    """``hprev.detach_()`` as a statement after the last assignment."""
    for node in ast.walk(loop):
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute)
            and node.value.func.attr == "detach_"
            and isinstance(node.value.func.value, ast.Name)
            and node.value.func.value.id == name
            and node.lineno > assignment.lineno
        ):
            return True
    return False

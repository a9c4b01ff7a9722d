"""Differential checks of numpy recurrent layers (RNN, LSTM, GRU) with forward and backward
passes, as recurrent-layers-lm's Part 1 asks (graders/recurrent-layers-lm/test_*_layer.py).

Each layer is graded on its own, in four steps that follow the template's methods:
``forward_step`` and ``forward`` against the reference's values, ``backward_step`` and
``backward`` against the reference's gradients (the student's own cache carries the
student's forward into the backward), and a gradient check of the student's
``backward`` against centred differences of the student's own ``forward``, so that a
backward pass consistent with a faulty forward keeps that check.

The same seeded case goes to the reference (here, on the trusted side) and to the
student's layer (in the sandbox). When values differ, the equations are recomputed
with one common mistake each (``mistakes``, below); the mistake that reproduces the
student's numbers is named in the message. Everything that comes back from the student
process is untrusted data: a value of the wrong type or shape fails the check with a
message, never the grader.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.checks import Remote, StudentError, describe_mismatch, fail, student_call


@dataclass(frozen=True)
class LayerKind:
    """What the template fixes for one layer class."""

    key: str  #: "rnn", "lstm", "gru"
    cls: str  #: the class name in recurrent_layers.py
    params: tuple[str, ...]  #: weight attributes, as in param_names
    gates: int  #: columns of Wx per hidden unit (1, 4 or 2)
    equation: str

    @property
    def has_cell(self) -> bool:
        return self.key == "lstm"

    @property
    def step_outputs(self) -> tuple[str, ...]:
        return ("next_h", "next_c", "cache") if self.has_cell else ("next_h", "cache")

    @property
    def step_grads(self) -> tuple[str, ...]:
        carried = ("dx", "dprev_h", "dprev_c") if self.has_cell else ("dx", "dprev_h")
        return carried + tuple("d" + p for p in self.params)

    @property
    def grad_keys(self) -> tuple[str, ...]:
        return ("dx", "dh0") + tuple("d" + p for p in self.params)

    def shapes(self, D: int, H: int) -> dict[str, tuple[int, ...]]:
        shapes = {"Wx": (D, self.gates * H), "Wh": (H, self.gates * H), "b": (self.gates * H,)}
        if self.key == "gru":
            shapes |= {"Wxi": (D, H), "Whi": (H, H), "bi": (H,)}
        return shapes


KINDS = {
    "rnn": LayerKind(
        "rnn", "RNNLayer", ("Wx", "Wh", "b"), 1, "h(t) = tanh(b + W_h h(t-1) + W_x x(t))"
    ),
    "lstm": LayerKind(
        "lstm",
        "LSTMLayer",
        ("Wx", "Wh", "b"),
        4,
        "a = b + W_h h(t-1) + W_x x(t) = [a_i, a_f, a_o, a_g]; i, f, o = sigma(a_i, a_f, a_o), "
        "g = tanh(a_g); c(t) = f * c(t-1) + i * g; h(t) = o * tanh(c(t))",
    ),
    "gru": LayerKind(
        "gru",
        "GRULayer",
        ("Wx", "Wh", "b", "Wxi", "Whi", "bi"),
        2,
        "a = b + W_h h(t-1) + W_x x(t) = [a_z, a_r]; update = sigma(a_z), reset = sigma(a_r); "
        "h_candidate = tanh(bi + W_hi (reset * h(t-1)) + W_xi x(t)); "
        "h(t) = update * h(t-1) + (1 - update) * h_candidate",
    ),
}


@dataclass(frozen=True)
class Case:
    """Seeded weights and inputs for one layer; every array float64."""

    weights: dict[str, np.ndarray]
    x_step: np.ndarray  # (N, D)
    prev_h: np.ndarray  # (N, H)
    prev_c: np.ndarray  # (N, H), LSTM only
    dnext_h: np.ndarray  # (N, H)
    dnext_c: np.ndarray  # (N, H)
    x: np.ndarray  # (N, T, D)
    h0: np.ndarray  # (N, H)
    dh: np.ndarray  # (N, T, H)

    def step_inputs(self, kind: LayerKind) -> tuple[np.ndarray, ...]:
        if kind.has_cell:
            return (self.x_step, self.prev_h, self.prev_c)
        return (self.x_step, self.prev_h)


def make_case(kind: LayerKind, settings: dict[str, Any], seed: int) -> Case:
    """Weights large enough that the non-linearities bend (so a wrong one shows), biases
    non-zero (so a missing one shows), sizes all different (so a transpose shows)."""
    N, T, D, H = (settings[k] for k in ("batch", "steps", "input_size", "hidden"))
    rng = np.random.default_rng(seed)
    weights = {
        name: rng.normal(scale=0.4 if name.startswith("b") else 0.6, size=shape)
        for name, shape in kind.shapes(D, H).items()
    }
    return Case(
        weights=weights,
        x_step=rng.normal(size=(N, D)),
        prev_h=rng.normal(scale=0.5, size=(N, H)),
        prev_c=rng.normal(scale=0.5, size=(N, H)),
        dnext_h=rng.normal(size=(N, H)),
        dnext_c=rng.normal(size=(N, H)),
        x=rng.normal(size=(N, T, D)),
        h0=rng.normal(scale=0.5, size=(N, H)),
        dh=rng.normal(size=(N, T, H)),
    )


# ---------------------------------------------------------------------------- the reference


def reference_layer(module: Any, kind: LayerKind, case: Case) -> Any:
    D, H = case.x_step.shape[1], case.prev_h.shape[1]
    layer = getattr(module, kind.cls)(D, H)
    for name, value in case.weights.items():
        setattr(layer, name, value.copy())
    return layer


# ---------------------------------------------------------------------------- the student


def student_layer(student, module: Remote, kind: LayerKind, case: Case) -> Remote:
    """A fresh student layer holding the case's weights."""
    D, H = case.x_step.shape[1], case.prev_h.shape[1]
    if kind.cls not in student.op("dir", module):
        fail(f"recurrent_layers.py defines no class {kind.cls}")
    try:
        layer = student.call(
            getattr(module, kind.cls), D, H, want="handle", during=f"building {kind.cls}({D}, {H})"
        )
        set_weights(student, layer, case.weights)
    except StudentError as exc:
        fail(exc.summary())
    return layer


def weight_setter(student, layer: Remote) -> Callable[[dict[str, np.ndarray]], None]:
    """Set several weights of ``layer`` in one round trip (``vars(layer).update``)."""
    update = student.import_module("builtins").vars(layer).update

    def setter(weights: dict[str, np.ndarray]) -> None:
        student.call(
            update, {k: v.copy() for k, v in weights.items()}, during="setting the weights"
        )

    return setter


def set_weights(student, layer: Remote, weights: dict[str, np.ndarray]) -> None:
    weight_setter(student, layer)(weights)


def unpack(value: Any, names: Sequence[str], what: str) -> dict[str, Any]:
    """A returned tuple, checked for its length, as {name: value}."""
    if not isinstance(value, tuple | list) or len(value) != len(names):
        got = f"{len(value)} values" if isinstance(value, tuple | list) else type(value).__name__
        fail(f"{what} must return the {len(names)} values ({', '.join(names)}); got {got}")
    return dict(zip(names, value, strict=True))


def compare(
    expected: dict[str, np.ndarray],
    got: dict[str, Any],
    names: Sequence[str],
    tol: dict[str, float],
    *,
    what: str,
) -> list[str]:
    """One message per value that differs (in the order of ``names``)."""
    problems = []
    for name in names:
        message = describe_mismatch(expected[name], got.get(name), what=f"{what}: {name}", **tol)
        if message:
            problems.append(transpose_hint(expected[name], got.get(name), name, message))
    return problems


def transpose_hint(expected: np.ndarray, got: Any, name: str, message: str) -> str:
    """A square weight's gradient that is the transpose of the right one looks fine by
    its shape: say so from the values."""
    try:
        out = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return message
    if (
        expected.ndim == 2
        and expected.shape[0] == expected.shape[1]
        and out.shape == expected.shape
        and np.allclose(out, expected.T, rtol=1e-6, atol=1e-9)
    ):
        weight = name[1:]
        return (
            f"{name} is the transpose of the right gradient. With the row-major batches of the "
            f"template, a = ... + prev @ {weight} gives d{weight} = prev.T @ da (shape "
            f"{expected.shape}), not da.T @ prev."
        )
    return message


def as_array(value: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    """A student's value as a float64 array of ``shape``, or a failed check saying why."""
    message = describe_mismatch(np.zeros(shape), value, what=what, atol=np.inf, rtol=0.0)
    if message:
        fail(message)
    return np.asarray(value, dtype=np.float64)


def report(problems: list[str], hint: str = "") -> None:
    if problems:
        fail("\n".join(problems) + (f"\n{hint}" if hint else ""))


# ---------------------------------------------------------------------------- gradient check


def directional_check(
    loss: Callable[[dict[str, np.ndarray]], float],
    point: dict[str, np.ndarray],
    analytic: dict[str, np.ndarray],
    *,
    directions: int,
    step: float,
    rtol: float,
    seed: int,
) -> list[str]:
    """Compare analytic gradients with centred differences along random directions.

    For each array ``p`` in ``point`` and random unit directions ``v``,
    (L(p + s v) - L(p - s v)) / 2s must equal <dL/dp, v>; a random direction sees a
    wrong entry anywhere in the gradient with probability one, at two calls of
    ``loss`` per direction instead of two per entry.
    """
    rng = np.random.default_rng(seed)
    problems = []
    for name, value in point.items():
        worst = 0.0
        for _ in range(directions):
            v = rng.normal(size=value.shape)
            v /= np.linalg.norm(v)
            plus = loss({**point, name: value + step * v})
            minus = loss({**point, name: value - step * v})
            numeric = (plus - minus) / (2 * step)
            exact = float(np.sum(np.asarray(analytic[name], dtype=np.float64) * v))
            error = abs(numeric - exact) / max(1e-8, abs(numeric) + abs(exact))
            worst = max(worst, error)
        if worst > rtol:
            problems.append(
                f"d{name}: your backward and the numerical derivative of your forward disagree "
                f"(largest relative error {worst:.2e} along {directions} random directions, "
                f"tolerance {rtol:g})"
            )
    return problems


# ---------------------------------------------------------------------------- mistakes


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


_ACT: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "identity": lambda a: a,
    "relu": lambda a: np.maximum(a, 0),
}


@dataclass(frozen=True)
class Mistake:
    """One fault in the equations, as a student would make it, and how to say it."""

    says: str
    order: str = ""  # LSTM: the gates the column blocks are read as ("fiog"); GRU: "zr"/"rz"
    acts: tuple[tuple[str, str], ...] = ()  # (gate, non-linearity) replacing the equation's
    options: frozenset[str] = frozenset()  # named faults, see step()

    def act(self, gate: str, default: str) -> Callable[[np.ndarray], np.ndarray]:
        return _ACT[dict(self.acts).get(gate, default)]


CORRECT = Mistake("")


def step(
    kind: LayerKind, w: dict[str, np.ndarray], x, h, c, mistake: Mistake = CORRECT
) -> tuple[np.ndarray, np.ndarray | None]:
    """One time step of ``kind``'s equation, with ``mistake`` made: (h(t), c(t) or None)."""
    faults = mistake.options
    bias = 0.0 if "no-bias" in faults else w["b"]
    Wh = w["Wh"].T if "Wh-transposed" in faults else w["Wh"]
    a = bias + h @ Wh + x @ w["Wx"]
    H = h.shape[1]
    if kind.key == "rnn":
        return mistake.act("h", "tanh")(a), None
    blocks = [a[:, k * H : (k + 1) * H] for k in range(kind.gates)]
    if kind.key == "lstm":
        order = mistake.order or "ifog"
        pre = dict(zip(order, blocks, strict=True))
        i, f, o = (mistake.act(g, "sigmoid")(pre[g]) for g in "ifo")
        g = mistake.act("g", "tanh")(pre["g"])
        c_next = i * g if "cell-not-carried" in faults else f * c + i * g
        squash = (lambda v: v) if "no-tanh-on-c" in faults else np.tanh
        return o * squash(c_next), c_next
    order = mistake.order or "zr"
    pre = dict(zip(order, blocks, strict=True))
    z, r = (mistake.act(g, "sigmoid")(pre[g]) for g in "zr")
    if "reset-after" in faults:
        recurrent = r * (h @ w["Whi"])  # nn.GRU's form, not the hand-out's
    elif "no-reset" in faults:
        recurrent = h @ w["Whi"]
    else:
        recurrent = (r * h) @ w["Whi"]
    candidate = mistake.act("candidate", "tanh")(w["bi"] + recurrent + x @ w["Wxi"])
    if "update-flipped" in faults:
        return (1 - z) * h + z * candidate, None
    return z * h + (1 - z) * candidate, None


def forward(
    kind: LayerKind, w: dict[str, np.ndarray], x, h0, mistake: Mistake = CORRECT
) -> np.ndarray:
    """All hidden states (N, T, H), from h0 (and c(0) = 0), with ``mistake`` made."""
    h = np.zeros_like(h0) if "h0-ignored" in mistake.options else h0
    c = np.zeros_like(h0)
    states = []
    for t in range(x.shape[1]):
        h, c_next = step(kind, w, x[:, t], h, c, mistake)
        c = c_next if c_next is not None else c
        states.append(h)
    return np.stack(states, axis=1)


def mistakes(kind: LayerKind) -> list[Mistake]:
    """The faults worth naming for ``kind``, most common first."""
    found = [
        Mistake(
            "the bias b is missing from a = b + W_h h(t-1) + W_x x(t)",
            options=frozenset({"no-bias"}),
        )
    ]
    if kind.key == "rnn":
        found += [
            Mistake("h(t) is computed without the tanh", acts=(("h", "identity"),)),
            Mistake("h(t) uses a sigmoid where the equation has a tanh", acts=(("h", "sigmoid"),)),
            Mistake("h(t) uses a ReLU where the equation has a tanh", acts=(("h", "relu"),)),
        ]
    elif kind.key == "lstm":
        names = {
            "i": "input gate i",
            "f": "forget gate f",
            "o": "output gate o",
            "g": "candidate g",
        }
        found += [
            Mistake(
                f"the gates are read from the column blocks of Wx, Wh and b in the order "
                f"{', '.join(order)}; the template fixes i, f, o, g (columns 0:H are i, H:2H f, "
                "2H:3H o, 3H:4H g)",
                order="".join(order),
            )
            for order in _permutations("ifog")
        ]
        found += [
            Mistake(
                f"the {names[g]} uses tanh where the equation has a sigmoid", acts=((g, "tanh"),)
            )
            for g in "ifo"
        ]
        found += [
            Mistake(
                "the candidate g uses a sigmoid where the equation has tanh",
                acts=(("g", "sigmoid"),),
            ),
            Mistake(
                "the cell state is not carried: c(t) = i * g drops the f * c(t-1) term",
                options=frozenset({"cell-not-carried"}),
            ),
            Mistake(
                "h(t) = o * c(t) is missing the tanh: the equation is h(t) = o * tanh(c(t))",
                options=frozenset({"no-tanh-on-c"}),
            ),
        ]
    else:
        found += [
            Mistake(
                "the update convention is flipped: you compute (1 - update) * h(t-1) + update * "
                "h_candidate; the hand-out's equation is h(t) = update * h(t-1) + (1 - update) * "
                "h_candidate",
                options=frozenset({"update-flipped"}),
            ),
            Mistake(
                "the gates are read in the order reset, update; the template puts the update gate "
                "in columns 0:H and the reset gate in H:2H",
                order="rz",
            ),
            Mistake(
                "the reset gate multiplies W_hi h(t-1) (PyTorch's nn.GRU form); the hand-out's is "
                "W_hi (reset * h(t-1))",
                options=frozenset({"reset-after"}),
            ),
            Mistake(
                "the reset gate is not used: the candidate must be tanh(bi + W_hi (reset * h(t-1)) "
                "+ W_xi x(t))",
                options=frozenset({"no-reset"}),
            ),
            Mistake(
                "the candidate uses a sigmoid where the equation has tanh",
                acts=(("candidate", "sigmoid"),),
            ),
        ]
    if kind.key == "rnn":  # only the RNN's Wh is square: another layer's would not multiply
        found.append(
            Mistake(
                "W_h is used transposed (h(t-1) @ Wh.T): with row-major batches it is "
                "prev_h @ self.Wh",
                options=frozenset({"Wh-transposed"}),
            )
        )
    return found


def _permutations(letters: str) -> list[tuple[str, ...]]:
    from itertools import permutations

    return [p for p in permutations(letters) if "".join(p) != letters]


def explain_step(kind: LayerKind, case: Case, got: dict[str, Any]) -> str:
    """The mistake whose step reproduces the student's next_h (and next_c), or ""."""
    c = case.prev_c if kind.has_cell else None
    for mistake in mistakes(kind):
        h, c_next = step(kind, case.weights, case.x_step, case.prev_h, c, mistake)
        if _same(h, got.get("next_h")) and (c_next is None or _same(c_next, got.get("next_c"))):
            return mistake.says
    return ""


def explain_forward(kind: LayerKind, case: Case, got: Any) -> str:
    """The mistake whose forward reproduces the student's hidden states, or ""."""
    extra = [
        Mistake(
            "h0 is not used: the first step must start from h(0) = h0",
            options=frozenset({"h0-ignored"}),
        )
    ]
    for mistake in [*mistakes(kind), *extra]:
        if _same(forward(kind, case.weights, case.x, case.h0, mistake), got):
            return mistake.says
    return ""


def _same(expected: np.ndarray, got: Any) -> bool:
    try:
        out = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return out.shape == expected.shape and bool(np.allclose(out, expected, rtol=1e-6, atol=1e-9))


# ---------------------------------------------------------------------------- the checks


@dataclass(frozen=True)
class Grading:
    """What every check of one layer needs: the student's module, the reference's, the
    settings of assignment.toml and the seed."""

    student: Any
    module: Remote
    reference: Any
    kind: LayerKind
    settings: dict[str, Any]
    seed: int

    @property
    def tol(self) -> dict[str, float]:
        return {"atol": self.settings["layer_atol"], "rtol": self.settings["layer_rtol"]}

    def case(self) -> Case:
        return make_case(self.kind, self.settings, self.seed)

    def layers(self, case: Case) -> tuple[Any, Remote]:
        return (
            reference_layer(self.reference, self.kind, case),
            student_layer(self.student, self.module, self.kind, case),
        )

    def call(self, layer: Remote, method: str, *args: Any) -> Any:
        shapes = ", ".join(str(a.shape) if hasattr(a, "shape") else "cache" for a in args)
        return student_call(
            self.student,
            getattr(layer, method),
            *args,
            during=f"calling {self.kind.cls}.{method} with arrays of shapes {shapes}",
        )


def check_forward_step(g: Grading) -> None:
    kind, case = g.kind, g.case()
    ref, layer = g.layers(case)
    inputs = case.step_inputs(kind)
    expected = dict(zip(kind.step_outputs, ref.forward_step(*inputs), strict=True))
    got = unpack(
        g.call(layer, "forward_step", *inputs), kind.step_outputs, f"{kind.cls}.forward_step"
    )
    names = [n for n in kind.step_outputs if n != "cache"]
    problems = compare(expected, got, names, g.tol, what=f"{kind.cls}.forward_step")
    if problems:
        why = explain_step(kind, case, got)
        report(
            problems,
            f"Your numbers show this: {why}." if why else f"The equation: {kind.equation}.",
        )


def check_forward(g: Grading) -> None:
    kind, case = g.kind, g.case()
    ref, layer = g.layers(case)
    expected = ref.forward(case.x, case.h0)
    got = g.call(layer, "forward", case.x, case.h0)
    problem = describe_mismatch(expected, got, what=f"{kind.cls}.forward(x, h0)", **g.tol)
    if problem:
        why = explain_forward(kind, case, got)
        start = "h(0) = h0 and c(0) = 0" if kind.has_cell else "h(0) = h0"
        hint = (
            f"Your numbers show this: {why}."
            if why
            else f"forward must start from {start} and return h(1), ..., h(T) as (N, T, H)."
        )
        report([problem], hint)


def check_backward_step(g: Grading) -> None:
    kind, case = g.kind, g.case()
    ref, layer = g.layers(case)
    inputs = case.step_inputs(kind)
    dnext = (case.dnext_h, case.dnext_c) if kind.has_cell else (case.dnext_h,)
    *ref_out, ref_cache = ref.forward_step(*inputs)
    expected = dict(zip(kind.step_grads, ref.backward_step(*dnext, ref_cache), strict=True))
    step_out = unpack(
        g.call(layer, "forward_step", *inputs), kind.step_outputs, f"{kind.cls}.forward_step"
    )
    got = unpack(
        g.call(layer, "backward_step", *dnext, step_out["cache"]),
        kind.step_grads,
        f"{kind.cls}.backward_step",
    )
    problems = compare(expected, got, kind.step_grads, g.tol, what=f"{kind.cls}.backward_step")
    if problems:
        forward_ok = not describe_mismatch(ref_out[0], step_out["next_h"], what="", **g.tol)
        hint = (
            "(Your forward_step's values are wrong too: the gradients follow from it, so fix "
            "forward_step first.)"
            if not forward_ok
            else f"Back-propagate through: {kind.equation}."
        )
        report(problems, hint)


def check_backward(g: Grading) -> None:
    kind, case = g.kind, g.case()
    ref, layer = g.layers(case)
    ref.forward(case.x, case.h0)
    ref.backward(case.dh)
    expected = dict(ref.grad)  # dx, dh0 and every weight's gradient
    g.call(layer, "forward", case.x, case.h0)
    returned = g.call(layer, "backward", case.dh)
    # The hand-out's backward "calculates gradients and saves them to the dictionary
    # self.grad": that is what is checked. Returning nothing, self.grad or (dx, dh0) are
    # all fine; (dx, dh0), where returned, must be right too.
    stored = stored_gradients(g, layer)
    problems = compare(expected, stored, kind.grad_keys, g.tol, what=f"{kind.cls}.grad")
    if isinstance(returned, tuple | list) and len(returned) == 2:
        problems += compare(
            expected,
            dict(zip(("dx", "dh0"), returned, strict=True)),
            ("dx", "dh0"),
            g.tol,
            what=f"{kind.cls}.backward returned",
        )
    if problems:
        hint = (
            "backward(dh) runs t = T..1; at each step the gradient from above is dh[:, t] plus "
            "the dprev_h of step t+1 (LSTM: and dprev_c), and the weight gradients are summed "
            "over time."
        )
        report(problems, hint)


def stored_gradients(g: Grading, layer: Remote) -> dict[str, Any]:
    """``layer.grad`` as a dict, every key the template names present."""
    grads = student_call(
        g.student,
        g.student.import_module("builtins").getattr,
        layer,
        "grad",
        during=f"reading {g.kind.cls}.grad",
    )
    if not isinstance(grads, dict):
        fail(f"{g.kind.cls}.grad must be a dict of gradients; it is a {type(grads).__name__}")
    missing = [k for k in g.kind.grad_keys if k not in grads]
    if missing:
        fail(
            f"{g.kind.cls}.grad lacks the key(s) {', '.join(map(repr, missing))}: backward must "
            f"store {', '.join(map(repr, g.kind.grad_keys))} (it has "
            f"{', '.join(map(repr, sorted(map(str, grads)))) or 'none'})"
        )
    return grads


def check_gradient_check(g: Grading) -> None:
    kind, case = g.kind, g.case()
    layer = student_layer(g.student, g.module, kind, case)
    setter = weight_setter(g.student, layer)
    g.call(layer, "forward", case.x, case.h0)
    g.call(layer, "backward", case.dh)
    grads = stored_gradients(g, layer)
    point = {**case.weights, "x": case.x, "h0": case.h0}
    analytic = {
        name: as_array(grads["d" + name], value.shape, f"{kind.cls}.grad['d{name}']")
        for name, value in point.items()
    }

    def loss(p: dict[str, np.ndarray]) -> float:
        setter({k: p[k] for k in kind.params})
        out = as_array(
            g.call(layer, "forward", p["x"], p["h0"]), case.dh.shape, f"{kind.cls}.forward(x, h0)"
        )
        return float(np.sum(out * case.dh))

    problems = directional_check(
        loss,
        point,
        analytic,
        directions=g.settings["directions"],
        step=g.settings["gradcheck_step"],
        rtol=g.settings["gradcheck_rtol"],
        seed=g.seed,
    )
    report(
        problems,
        "The loss is sum(forward(x, h0) * dh) with dh fixed; backward(dh) must give its "
        "gradients. (forward must read the weights from self.Wx, ... at every call.)",
    )

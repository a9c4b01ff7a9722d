"""What the layer checks of Part 1 compute (test_rnn_layer.py, test_lstm_layer.py,
test_gru_layer.py): seeded cases, the reference's and the student's layers holding them,
the comparison of their values, the hand-out's equations recomputed with one common
mistake each (to name the mistake a student's numbers show), and a directional
gradient check.

A layer is what ``[settings.layers.<key>]`` of assignment.toml says the hand-out asks
for: its class, its weights, the order of its gate blocks and its equation. The same
seeded case goes to the reference (here, on the trusted side) and to the student's
layer (in the sandbox). Everything that comes back from the student process is
untrusted data: a value of the wrong type or shape fails the check with a message,
never the grader.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.checks import Remote, StudentError, describe_mismatch, fail, student_call


@dataclass(frozen=True)
class LayerKind:
    """What the hand-out fixes for one layer class ([settings.layers.<key>])."""

    key: str  #: "rnn", "lstm", "gru": which equations
    cls: str  #: the class name in recurrent_layers.py
    params: tuple[str, ...]  #: weight attributes, as in param_names
    order: str  #: the gates' letters in the order of the column blocks ("ifog", "zr"; "")
    names: dict[str, str]  #: a gate's letter -> how the messages name it
    equation: str

    @property
    def gates(self) -> int:
        """Columns of Wx per hidden unit (1, 4 or 2)."""
        return len(self.order) or 1

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


#: The letters of each layer's gates: the symbols of its equations (a = [a_i, a_f, ...]).
GATE_LETTERS = {"rnn": "", "lstm": "fgio", "gru": "rz"}


def layer_kind(key: str, settings: dict[str, Any]) -> LayerKind:
    """The layer ``key`` as ``[settings.layers.<key>]`` describes it."""
    table = settings["layers"][key]
    order = "".join(table.get("gates", ()))
    if "".join(sorted(order)) != GATE_LETTERS[key]:
        raise ValueError(f"[settings.layers.{key}] gates must order {GATE_LETTERS[key]!r}")
    return LayerKind(
        key=key,
        cls=table["class"],
        params=tuple(table["weights"]),
        order=order,
        names=dict(table.get("gate_names", {})),
        equation=table["equation"],
    )


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


# ---------------------------------------------------------------------------- the layers


@dataclass(frozen=True)
class LayerUnderTest:
    """One layer class of the student's recurrent_layers.py beside the reference's: fresh
    layers of both holding a seeded case's weights, and calls into the student's."""

    kind: LayerKind
    student: Any  #: the StudentSession
    module: Remote  #: the student's recurrent_layers module
    reference_module: Any
    settings: dict[str, Any]
    seed: int

    @property
    def name(self) -> str:
        return self.kind.cls

    @property
    def tol(self) -> dict[str, float]:
        return {"atol": self.settings["layer_atol"], "rtol": self.settings["layer_rtol"]}

    def case(self) -> Case:
        return make_case(self.kind, self.settings, self.seed)

    def reference(self, case: Case) -> Any:
        """The reference's layer (trusted side) holding the case's weights."""
        D, H = case.x_step.shape[1], case.prev_h.shape[1]
        layer = getattr(self.reference_module, self.kind.cls)(D, H)
        for name, value in case.weights.items():
            setattr(layer, name, value.copy())
        return layer

    def layer(self, case: Case) -> Remote:
        """A fresh student layer holding the case's weights."""
        D, H = case.x_step.shape[1], case.prev_h.shape[1]
        cls = self.kind.cls
        if cls not in self.student.op("dir", self.module):
            fail(f"recurrent_layers.py defines no class {cls}")
        try:
            layer = self.student.call(
                getattr(self.module, cls), D, H, want="handle", during=f"building {cls}({D}, {H})"
            )
            self.weight_setter(layer)(case.weights)
        except StudentError as exc:
            fail(exc.summary())
        return layer

    def weight_setter(self, layer: Remote) -> Callable[[dict[str, np.ndarray]], None]:
        """Set several weights of ``layer`` in one round trip (``vars(layer).update``)."""
        update = self.student.import_module("builtins").vars(layer).update

        def setter(weights: dict[str, np.ndarray]) -> None:
            self.student.call(
                update, {k: v.copy() for k, v in weights.items()}, during="setting the weights"
            )

        return setter

    def call(self, layer: Remote, method: str, *args: Any) -> Any:
        """``layer.method(*args)`` as data; the student's exception fails the check."""
        shapes = ", ".join(str(a.shape) if hasattr(a, "shape") else "cache" for a in args)
        return student_call(
            self.student,
            getattr(layer, method),
            *args,
            during=f"calling {self.kind.cls}.{method} with arrays of shapes {shapes}",
        )

    def returned(self, layer: Remote, method: str, names: Sequence[str], *args: Any) -> dict:
        """What ``layer.method(*args)`` returns, as {name: value}, checked for its length."""
        return unpack(self.call(layer, method, *args), names, f"{self.kind.cls}.{method}")

    def stored_gradients(self, layer: Remote) -> dict[str, Any]:
        """``layer.grad`` as a dict, every key the template names present."""
        cls, keys = self.kind.cls, self.kind.grad_keys
        grads = student_call(
            self.student,
            self.student.import_module("builtins").getattr,
            layer,
            "grad",
            during=f"reading {cls}.grad",
        )
        if not isinstance(grads, dict):
            fail(f"{cls}.grad must be a dict of gradients; it is a {type(grads).__name__}")
        missing = [k for k in keys if k not in grads]
        if missing:
            fail(
                f"{cls}.grad lacks the key(s) {', '.join(map(repr, missing))}: backward must "
                f"store {', '.join(map(repr, keys))} (it has "
                f"{', '.join(map(repr, sorted(map(str, grads)))) or 'none'})"
            )
        return grads


# ---------------------------------------------------------------------------- comparisons


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


def with_hint(problems: list[str], hint: str = "") -> str:
    """The check's message: one line per problem, then the hint."""
    return "\n".join(problems) + (f"\n{hint}" if hint else "")


#: The hints of test_backward and test_gradient_check, the same for every layer.
BPTT_HINT = (
    "backward(dh) runs t = T..1; at each step the gradient from above is dh[:, t] plus "
    "the dprev_h of step t+1 (LSTM: and dprev_c), and the weight gradients are summed "
    "over time."
)
GRADIENT_CHECK_HINT = (
    "The loss is sum(forward(x, h0) * dh) with dh fixed; backward(dh) must give its "
    "gradients. (forward must read the weights from self.Wx, ... at every call.)"
)
FORWARD_STEP_FIRST = (
    "(Your forward_step's values are wrong too: the gradients follow from it, so fix "
    "forward_step first.)"
)


def mistake_or(why: str, otherwise: str) -> str:
    """The hint after a mismatch: the mistake the numbers show, if one does."""
    return f"Your numbers show this: {why}." if why else otherwise


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
    order: str = ""  # the gates the column blocks are read as (LSTM "fiog", GRU "rz")
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
        order = mistake.order or kind.order
        pre = dict(zip(order, blocks, strict=True))
        i, f, o = (mistake.act(g, "sigmoid")(pre[g]) for g in "ifo")
        g = mistake.act("g", "tanh")(pre["g"])
        c_next = i * g if "cell-not-carried" in faults else f * c + i * g
        squash = (lambda v: v) if "no-tanh-on-c" in faults else np.tanh
        return o * squash(c_next), c_next
    order = mistake.order or kind.order
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
        names, right = kind.names, kind.order
        blocks = ", ".join(
            f"{_columns(k)}{' are' if k == 0 else ''} {g}" for k, g in enumerate(right)
        )
        found += [
            Mistake(
                f"the gates are read from the column blocks of Wx, Wh and b in the order "
                f"{', '.join(order)}; the template fixes {', '.join(right)} (columns {blocks})",
                order="".join(order),
            )
            for order in _permutations(right)
        ]
        found += [
            Mistake(
                f"the {names[g]} uses tanh where the equation has a sigmoid", acts=((g, "tanh"),)
            )
            for g in "ifo"
        ]
        found += [
            Mistake(
                f"the {names['g']} uses a sigmoid where the equation has tanh",
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
        names, right = kind.names, kind.order
        wrong = right[::-1]
        found += [
            Mistake(
                "the update convention is flipped: you compute (1 - update) * h(t-1) + update * "
                "h_candidate; the hand-out's equation is h(t) = update * h(t-1) + (1 - update) * "
                "h_candidate",
                options=frozenset({"update-flipped"}),
            ),
            Mistake(
                f"the gates are read in the order {names[wrong[0]]}, {names[wrong[1]]}; the "
                f"template puts the {names[right[0]]} gate in columns 0:H and the "
                f"{names[right[1]]} gate in H:2H",
                order=wrong,
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


def _columns(k: int) -> str:
    """The columns of the k-th gate block: 0:H, H:2H, 2H:3H, ..."""
    start = "0" if k == 0 else "H" if k == 1 else f"{k}H"
    return f"{start}:{'H' if k == 0 else f'{k + 1}H'}"


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

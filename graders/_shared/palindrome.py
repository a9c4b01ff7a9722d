"""Driving a student's palindrome model from the grader: build, probe, compare, train.

Shared by the palindrome assignments' checks (their test files and the fixtures of
``palindrome_grading``): each function computes one thing a check decides on, such as
``construction_errors``, ``explain_mismatch``, ``gradient_problems`` or
``Trainer.accuracy``. Every function takes the ``StudentSession`` and remote objects;
student code runs only in the sandbox. The interface variants real submissions show
(EDITIONS.md) are tried in turn and the one that works is reported, so a formality never
zeroes a student:

- constructor: the skeleton's keyword arguments, then positional, then fewer;
- input layout: (B, T) floats, (B, T, 1), one-hot (B, T, 10), time-first;
- output: logits, probabilities or log-probabilities, (B, C) or every step;
- a batch size baked in at construction (the model is then built per batch size);
- a one-step cell, ``forward(x_t, state)`` returning the step's output and the new state,
  whose loop over time lives in the student's train.py: the grader runs that loop itself
  (``Stepping``), on its own inputs, from the zero state the hand-out sets.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from _shared import cells
from harness.checks import (
    CheckFailed,
    Evidence,
    FloatArray,
    Remote,
    StudentError,
    StudentSession,
    describe_uses,
    fail,
    find_suspicious,
    signature,
)


def palindromes(batch: int, length: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``batch`` palindromes of ``length`` digits: inputs (B, length-1), targets (B,)."""
    half = rng.integers(0, 10, size=(batch, (length + 1) // 2))
    mirrored = np.concatenate([half, half[:, : length // 2][:, ::-1]], axis=1)
    return mirrored[:, :-1].astype(np.float32), mirrored[:, -1].astype(np.int64)


@dataclass(frozen=True)
class Layout:
    """How the student's forward wants its input and gives its output."""

    name: str
    describe: str
    input_dim: int
    dtype: str = "float32"  #: a model kept in float64 is fed float64

    def encode(self, digits: np.ndarray) -> torch.Tensor:
        """(B, T) digits -> the tensor this layout feeds the model."""
        x = torch.from_numpy(np.asarray(digits, dtype=self.dtype))
        if self.name == "BT":
            return x
        if self.name == "BT1":
            return x.unsqueeze(-1)
        if self.name == "TB":
            return x.T.contiguous()
        if self.name == "TB1":
            return x.T.unsqueeze(-1).contiguous()
        one_hot = torch.nn.functional.one_hot(x.long(), 10).to(x.dtype)
        return one_hot if self.name == "onehot" else one_hot.transpose(0, 1).contiguous()

    def features(self, digits: np.ndarray) -> np.ndarray:
        """(B, T, D) float64 features the equations see for ``digits``."""
        x = np.asarray(digits, dtype=np.float64)
        if self.input_dim == 10:
            return np.eye(10)[x.astype(int)]
        return x[..., None]


_FLOAT32 = (
    Layout("BT", "inputs (B, T) as the DataLoader gives them", 1),
    Layout("BT1", "inputs (B, T, 1)", 1),
    Layout("onehot", "one-hot inputs (B, T, 10)", 10),
    Layout("TB", "time-first inputs (T, B)", 1),
    Layout("TB1", "time-first inputs (T, B, 1)", 1),
    Layout("onehot_TB", "time-first one-hot inputs (T, B, 10)", 10),
)
# A model whose parameters are float64 (set_default_dtype, .double()) is fed float64, in
# the same layouts, tried only when no float32 layout works.
LAYOUTS: tuple[Layout, ...] = _FLOAT32 + tuple(
    Layout(lay.name, f"{lay.describe} in float64", lay.input_dim, "float64") for lay in _FLOAT32
)


#: How a one-step cell takes its state: one tensor h, two arguments h, c, or one tuple (h, c).
STATE_FORMS = ("h", "h, c", "(h, c)")


@dataclass(frozen=True)
class Stepping:
    """A one-step cell: ``forward(x_t, *state)`` gives one time step's output p(t) and the
    new state, and the student's train.py loops over the sequence. The grader runs that
    loop itself on its own inputs, from h(0) = c(0) = 0 (the hand-out's initial state),
    feeding each step the state the previous step returned, and keeps the last step's
    output p(T).

    ``output`` and ``carried`` index the tuple a step returns: where p(t) is, and where the
    new state is, in the order it is passed back (the student's own convention)."""

    state: str  #: one of STATE_FORMS
    output: int
    carried: tuple[int, ...]

    def initial(self, zeros: Callable[[], torch.Tensor]) -> list[Any]:
        """The arguments after x_t for the first step."""
        if self.state == "h":
            return [zeros()]
        if self.state == "h, c":
            return [zeros(), zeros()]
        return [(zeros(), zeros())]

    def run(self, model: Any, x: torch.Tensor, width: int) -> Any:
        """p(T) (remote) for the batch-first input ``x`` (B, T[, D]) and a state of
        ``width`` units: for t = 1 .. T, p(t), state = model(x[:, t], *state), the loop
        sent as one request (the runtime's ``unroll``) rather than T round trips."""
        session = object.__getattribute__(model, "_session")
        state = self.zero_state(x, width)
        return session.op("unroll", model, x, state, self.output, list(self.carried))

    def zero_state(self, x: torch.Tensor, width: int) -> list[Any]:
        """h(0) (= c(0)) = 0 of ``width`` units for the batch of ``x``, as the first step
        takes it."""
        return self.initial(lambda: torch.zeros(x.shape[0], width, dtype=x.dtype))

    def describe(self, layout: Layout) -> str:
        """The note for the report."""
        new = {"h": "h(t)", "h, c": "h(t), c(t)", "(h, c)": "(h(t), c(t))"}[self.state]
        zero = "h(0) = 0" if self.state == "h" else "h(0) = c(0) = 0"
        return (
            f"your forward takes one time step, forward(x_t, {self.state}) -> p(t) and the "
            f"new state {new}, with x_t one step of {layout.describe}; the grader ran the "
            f"loop over time itself, from {zero}, as your train.py does (accepted)"
        )


@dataclass
class Probe:
    """What was learned about a student's model class, and the notes for the report."""

    cls: Remote
    kind: str  #: "rnn" or "lstm"
    layout: Layout
    output: str  #: "logits", "probabilities", "log-probabilities"
    build: Callable[..., Any]
    batch_fixed: bool = False
    notes: list[str] = field(default_factory=list)
    #: a one-step cell: how the grader runs its loop over time (None: forward takes x whole)
    step: Stepping | None = None
    #: where p(T) is when forward returns a tuple (``(h, p)``, ``(p, (h, c))``: the
    #: student's train.py takes that item); None when it returns the output alone
    pick: int | None = None
    #: the state width of each one-step model built here (others are probed)
    _widths: weakref.WeakKeyDictionary[Any, int] = field(
        default_factory=weakref.WeakKeyDictionary, repr=False
    )

    def model(self, *, seq_length: int, hidden: int, batch: int) -> Any:
        built = self.build(seq_length, self.layout.input_dim, hidden, 10, batch)
        if self.step is not None:
            with contextlib.suppress(TypeError):  # a model no weak reference can name
                self._widths[built] = hidden
        return built

    def forward(self, model: Any, x: torch.Tensor) -> Any:
        """The model's output (remote) for the encoded input ``x``: its forward on x, or,
        for a one-step cell, the grader's loop over time."""
        if self.step is None:
            out = model(x)
            return out if self.pick is None else out[self.pick]
        return self.step.run(model, x, self._width(model, x))

    def forward_options(self, model: Any, x: torch.Tensor) -> dict[str, Any]:
        """How the runtime's ``train_steps`` runs ``forward`` as this probe does for the
        encoded input ``x``: the item ``pick`` of a tuple output, or the one-step cell's
        loop (``unroll``) from its zero state."""
        if self.step is None:
            return {"pick": self.pick}
        return {
            "one_step": {
                "state": self.step.zero_state(x, self._width(model, x)),
                "output": self.step.output,
                "carried": list(self.step.carried),
            }
        }

    def _width(self, model: Any, x: torch.Tensor) -> int:
        """The one-step model's state width: known for one built here, else probed (and
        remembered) with the input ``x``."""
        width = self._widths.get(model) if _weakrefable(model) else None
        if width is None:
            width = _state_width(self, model, x)
            with contextlib.suppress(TypeError):
                self._widths[model] = width
        return width


def _weakrefable(obj: Any) -> bool:
    try:
        weakref.ref(obj)
    except TypeError:
        return False
    return True


def _state_width(found: Probe, model: Any, x: torch.Tensor) -> int:
    """The state width of a one-step model the grader did not build (the one the
    student's train.py trained): the sizes its parameters have, tried in turn, until a
    step runs with a state of that width and returns a state of the same width."""
    assert found.step is not None
    session = object.__getattribute__(model, "_session")
    shapes = session.op("parameters", model, want="value")
    sizes = sorted({int(n) for v in shapes.values() for n in np.shape(v) if int(n) > 1})
    for width in sizes:
        with contextlib.suppress(StudentError):
            zeros = torch.zeros(x.shape[0], width, dtype=x.dtype)
            state = found.step.initial(zeros.clone)
            result = model(x[:, 0].contiguous(), *state)
            shape = _shape_of(result[found.step.carried[0]])
            if shape == (x.shape[0], width):
                return width
    fail("could not find the width of your one-step cell's state (h) from its parameters")
    raise AssertionError("unreachable")


def _shape_of(value: Any) -> tuple[int, ...] | None:
    """A remote tensor's shape; for a (h, c) tuple, its first member's."""
    if not isinstance(value, Remote):
        return None
    if value.remote_shape is not None:
        return tuple(value.remote_shape)
    if value.remote_type in ("builtins.tuple", "builtins.list"):
        return _shape_of(value[0])
    return None


#: The skeleton's constructor arguments (skeleton A; B and C drop batch_size and device).
SKELETON_ARGS = ("seq_length", "input_dim", "num_hidden", "num_classes", "batch_size")
SIGNATURE = "the arguments its signature names"


def _by_name(seq: int, d: int, h: int, c: int, b: int) -> Callable[[str], Any]:
    """Values for constructor parameters by the names students give them."""

    def fill(name: str) -> Any:
        low = name.lower()
        if low == "device":
            return "cpu"
        if "hidden" in low:
            return h
        if "class" in low or low.startswith("out"):
            return c
        if "seq" in low or "length" in low:
            return seq
        if low.startswith("in"):
            return d
        if "batch" in low:
            return b
        return signature.MISSING

    return fill


def constructors(cls: Remote) -> list[tuple[str, Callable[..., Any]]]:
    """Ways to call the constructor: with what its own signature names (skeleton A's
    (seq_length, input_dim, num_hidden, num_classes, batch_size, device), C's
    (seq_length, input_dim, hidden_dim, output_dim), or a student's own), then, where
    the signature cannot be read, the skeleton's and the variants students use."""
    session = object.__getattribute__(cls, "_session")
    params = signature.parameters(session, cls)

    def by_signature(seq, d, h, c, b):
        given = dict(zip(SKELETON_ARGS, (seq, d, h, c, b), strict=True))
        args, kwargs = signature.arguments(
            params, given=given, fill=_by_name(seq, d, h, c, b), what=f"{cls._describe()}(...)"
        )
        return cls(*args, **kwargs)

    def kw(seq, d, h, c, b):  # skeleton A
        return cls(
            seq_length=seq, input_dim=d, num_hidden=h, num_classes=c, batch_size=b, device="cpu"
        )

    def pos(seq, d, h, c, b):
        return cls(seq, d, h, c, b)

    def pos_nobatch(seq, d, h, c, b):  # skeleton C: no batch_size
        return cls(seq, d, h, c)

    def kw_hidden(seq, d, h, c, b):  # hidden_dim / output_dim spelling
        return cls(seq_length=seq, input_dim=d, hidden_dim=h, output_dim=c, batch_size=b)

    fixed = [
        ("keyword arguments of the skeleton", kw),
        ("positional arguments", pos),
        ("positional arguments without batch_size", pos_nobatch),
        ("hidden_dim/output_dim keywords", kw_hidden),
    ]
    if not params:
        return fixed
    try:  # a parameter no name fills: the fixed ways are all that is left
        signature.arguments(params, given={}, fill=_by_name(5, 1, 4, 10, 2), what="")
    except CheckFailed:
        return fixed
    return [(SIGNATURE, by_signature), *fixed]


def construction_errors(cls: Remote) -> list[StudentError]:
    """Why ``constructors`` cannot build a small model of ``cls``: [] as soon as one way
    builds it. The list stops at a NotImplementedError: the blank skeleton says what to do."""
    errors: list[StudentError] = []
    for _, build in constructors(cls):
        try:
            build(5, 1, 4, 10, 2)
            return []
        except StudentError as exc:
            errors.append(exc)
            if exc.type == "NotImplementedError":
                break
    return errors


def _output(
    session: StudentSession, found: Probe, model: Any, x: torch.Tensor, batch: int, seq: int
) -> np.ndarray | str:
    """The model's (B, 10) output for ``x``, or what came back instead, in words.  A
    forward that returns a tuple with exactly one item shaped as the output (the others
    being states) is read through that item from now on (``found.pick``)."""
    out = session.fetch(found.forward(model, x))
    if isinstance(out, tuple | list) and found.step is None and found.pick is None:
        fits = [
            i
            for i, item in enumerate(out)
            if isinstance(item, np.ndarray) and not isinstance(_last_output(item, batch, seq), str)
        ]
        if len(fits) == 1:
            found.pick = fits[0]
            out = out[fits[0]]
    if not isinstance(out, np.ndarray):
        return _described(out)
    return _last_output(out, batch, seq)


def _last_output(out: np.ndarray, batch: int, seq: int) -> np.ndarray | str:
    """p(T) of shape (B, 10) from an output array, or what it is instead, in words."""
    if out.shape == (batch, 10):
        return out
    if out.ndim == 3 and out.shape[-1] == 10:  # every step: keep the last
        if out.shape[:2] == (batch, seq):
            return out[:, -1]
        if out.shape[:2] == (seq, batch):
            return out[-1]
    if out.shape == (batch, 1, 10):
        return out[:, 0]
    return f"an output of shape {out.shape} where ({batch}, 10) was expected"


def _described(out: Any) -> str:
    if out is None:
        return "None (is a return statement missing?)"
    if isinstance(out, tuple | list):
        kinds = ", ".join(type(v).__name__ for v in out[:4])
        return f"a {type(out).__name__} of {len(out)} ({kinds}) instead of one tensor"
    return f"a {type(out).__name__} instead of a tensor"


def probe(
    session: StudentSession, cls: Remote, kind: str, *, hidden: int = 12, seq_length: int = 6
) -> Probe:
    """Find a constructor call and an input layout under which forward works: forward on
    the whole sequence first, then, for a forward that takes a state too, one time step at
    a time (``Stepping``)."""
    rng = np.random.default_rng(0)
    errors: list[str] = []
    for batch in (4, 3):
        digits, _ = palindromes(batch, seq_length + 1, rng)
        # A constructor that raised for these arguments raises again: the blank skeleton's
        # __init__ would otherwise be called once per layout (a round trip each).
        unbuildable: set[tuple[str, int]] = set()
        for ctor_name, build in constructors(cls):
            for layout in LAYOUTS:
                if (ctor_name, layout.input_dim) in unbuildable:
                    continue
                candidate = Probe(cls, kind, layout, "logits", build)
                try:
                    model = candidate.model(seq_length=seq_length, hidden=hidden, batch=batch)
                except StudentError as exc:
                    unbuildable.add((ctor_name, layout.input_dim))
                    errors.append(
                        f"{ctor_name} (input_dim {layout.input_dim}): {exc.type}: {exc.message}"
                    )
                    continue
                try:
                    out = _output(
                        session, candidate, model, layout.encode(digits), batch, seq_length
                    )
                except StudentError as exc:
                    errors.append(f"{ctor_name}, {layout.describe}: {exc.type}: {exc.message}")
                    continue
                if isinstance(out, str):
                    errors.append(f"{ctor_name}, {layout.describe}: it returned {out}")
                    continue
                return _found(session, candidate, ctor_name, out, batch, seq_length, hidden)
    stepped = _probe_steps(session, cls, kind, hidden=hidden, seq_length=seq_length)
    if isinstance(stepped, tuple):
        return _found(session, *stepped, seq_length, hidden)
    errors = stepped + errors
    detail = "\n".join(f"  - {e}" for e in errors[:8])
    returned = {e.split(": it returned ", 1)[1] for e in errors if ": it returned " in e}
    if len(returned) == 1:
        # One answer every way it ran (the others raised): that is the blocker, said first.
        fail(
            f"your forward returned {returned.pop()}; it must return the output p(T) of "
            f"shape (B, 10). Tried every accepted way of calling it:\n{detail}"
        )
    fail(f"could not run your model's forward in any of the accepted ways:\n{detail}")
    raise AssertionError("unreachable")


def _found(
    session: StudentSession,
    found: Probe,
    ctor_name: str,
    out: np.ndarray,
    batch: int,
    seq_length: int,
    hidden: int,
) -> Probe:
    """The probe that worked, with its notes for the report."""
    layout = found.layout
    if ctor_name not in ("keyword arguments of the skeleton", SIGNATURE):
        found.notes.append(f"the model was built with {ctor_name}")
    if found.step is not None:
        found.notes.append(found.step.describe(layout))
    elif layout.name != "BT" or layout.dtype != "float32":
        found.notes.append(f"your forward was given {layout.describe} (accepted)")
    if found.pick is not None:
        found.notes.append(
            f"your forward returns a tuple; its item {found.pick} (counting from 0) has the "
            "output's shape and was graded as p(T) (accepted)"
        )
    found.output = cells.output_kind(out)
    if found.output != "logits":
        found.notes.append(f"your forward returns {found.output} instead of logits (accepted)")
    found.batch_fixed = not _works_for(session, found, batch, seq_length, hidden)
    return found


#: The layouts a one-step cell's x_t comes from: x[:, t] of (B, T), (B, T, 1) or one-hot
#: (B, T, 10), in float32, then float64 (time-first layouts give the same x_t).
STEP_LAYOUTS = tuple(lay for lay in LAYOUTS if lay.name in ("BT", "BT1", "onehot"))


def _state_forms(session: StudentSession, model: Any, kind: str) -> list[str]:
    """How the one-step forward may take its state, from its signature: [] when forward
    takes the input alone (not a one-step cell)."""
    params = signature.parameters(session, model.forward)
    forms = ["h"] if kind == "rnn" else ["(h, c)", "h, c"]
    if params is None or any(p.kind == "VAR_POSITIONAL" for p in params):
        return forms
    positional = [p for p in params if p.kind in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")]
    extra = len(positional) - 1
    if extra < 1:
        return []
    if kind == "lstm":
        return ["h, c"] if extra >= 2 else ["(h, c)"]
    return forms


def _step_structure(
    session: StudentSession, model: Any, form: str, x: torch.Tensor, hidden: int
) -> Stepping | str:
    """Where one step's output p(t) and new state are in what it returns (probed with the
    first time step and a zero state), or what came back instead, in words."""
    batch = x.shape[0]
    state = Stepping(form, 0, ()).initial(lambda: torch.zeros(batch, hidden, dtype=x.dtype))
    result = model(x[:, 0].contiguous(), *state)
    kind = result.remote_type if isinstance(result, Remote) else type(result).__name__
    if kind not in ("builtins.tuple", "builtins.list", "tuple", "list"):
        return (
            f"one step returned a {kind.rsplit('.', 1)[-1]}; a one-step cell must return "
            "its output p(t) and its new state"
        )
    items = [result[i] for i in range(min(len(result), 6))]
    outputs = [i for i, v in enumerate(items) if _shape_of(v) == (batch, 10)]
    is_tuple = [isinstance(v, Remote) and v.remote_shape is None for v in items]
    states = [
        i
        for i, v in enumerate(items)
        if _shape_of(v) == (batch, hidden) and is_tuple[i] == (form == "(h, c)")
    ]
    need = 2 if form == "h, c" else 1
    if not outputs or len(states) < need:
        shapes = ", ".join(str(_shape_of(v) or "a tuple") for v in items)
        return (
            f"one step returned ({shapes}); expected p(t) ({batch}, 10) and the new state "
            f"{form} of ({batch}, {hidden}) each"
        )
    return Stepping(form, outputs[0], tuple(states[:need]))


def _probe_steps(
    session: StudentSession, cls: Remote, kind: str, *, hidden: int, seq_length: int
) -> tuple[Probe, str, np.ndarray, int] | list[str]:
    """A one-step cell, ``forward(x_t, state)``: (probe, constructor, output, batch) for
    the first way that runs the grader's loop over time, or why none did (for a forward
    that takes no state: [])."""
    rng = np.random.default_rng(0)
    errors: list[str] = []
    for batch in (4, 3):
        digits, _ = palindromes(batch, seq_length + 1, rng)
        for ctor_name, build in constructors(cls):
            for layout in STEP_LAYOUTS:
                try:
                    model = build(seq_length, layout.input_dim, hidden, 10, batch)
                    forms = _state_forms(session, model, kind)
                except StudentError:
                    break  # the whole-sequence probe has said why it cannot be built
                if not forms:
                    return []
                x = layout.encode(digits)
                for form in forms:
                    where = f"one time step at a time, x_t from {layout.describe}, state {form}"
                    try:
                        step = _step_structure(session, model, form, x, hidden)
                        if isinstance(step, str):
                            errors.append(f"{where}: {step}")
                            continue
                        candidate = Probe(cls, kind, layout, "logits", build, step=step)
                        candidate._widths[model] = hidden
                        out = _output(session, candidate, model, x, batch, seq_length)
                    except StudentError as exc:
                        errors.append(f"{where}: {exc.type}: {exc.message}")
                        continue
                    if isinstance(out, str):
                        errors.append(f"{where}: it returned {out}")
                        continue
                    return candidate, ctor_name, out, batch
    return errors


def _works_for(session: StudentSession, found: Probe, batch: int, seq: int, hidden: int) -> bool:
    other = batch + 2
    digits, _ = palindromes(other, seq + 1, np.random.default_rng(1))
    with contextlib.suppress(StudentError):
        model = found.model(seq_length=seq, hidden=hidden, batch=batch)
        out = _output(session, found, model, found.layout.encode(digits), other, seq)
        return not isinstance(out, str)
    return False


def run_model(
    session: StudentSession,
    found: Probe,
    model: Any,
    digits: np.ndarray,
    *,
    chunk: int | None = None,
) -> np.ndarray:
    """The model's (B, 10) output for ``digits``; ``chunk`` splits a large batch for a
    model whose batch size is fixed at construction."""
    if chunk and len(digits) > chunk:
        usable = len(digits) - len(digits) % chunk
        return np.concatenate(
            [
                run_model(session, found, model, digits[i : i + chunk])
                for i in range(0, usable, chunk)
            ]
        )
    out = _output(session, found, model, found.layout.encode(digits), len(digits), digits.shape[1])
    if isinstance(out, str):
        fail(f"your forward returned {out}")
    assert not isinstance(out, str)
    return out


def interface_notes(
    session: StudentSession, found: Probe, model: Any, cls_name: str, *, hidden: int
) -> list[str]:
    """The interface variants accepted (for the report): how the model was built and fed, a
    batch size fixed at construction, and a parameter count other than the equations'."""
    notes = list(found.notes)
    if found.batch_fixed:
        notes.append(
            f"{cls_name} runs only at the batch size given to its constructor (accepted: "
            "the skeleton passes batch_size); it was graded at that batch size"
        )
    # The parameter count is a written question (the report's), not a rule for the code: a
    # learnable h_init or PyTorch's second bias is no fault. It is shown for the TA.
    shapes = session.op("parameters", model, want="value")
    dims = cells.Dims(D=found.layout.input_dim, H=hidden, C=10)
    # A frozen parameter (requires_grad=False: a fixed zero h_init) is not trainable.
    frozen = {n for n in shapes if session.fetch(model.get_parameter(n).requires_grad) is False}
    count = sum(int(np.prod(v.shape)) for n, v in shapes.items() if n not in frozen)
    expected = cells.parameter_count(found.kind, dims)
    if count != expected:
        notes.append(
            f"{cls_name} has {count} parameters (numbers) where the equations have {expected} "
            f"for D = {dims.D}, H = {dims.H}, C = 10 (not counted: the count is a question "
            "for the report)"
        )
    return notes


def loss_of(session: StudentSession, found: Probe, out: Any, targets: np.ndarray) -> Any:
    """The last-step cross-entropy of the output, whatever form the output takes (remote)."""
    functional = session.import_module("torch.nn.functional")
    target = torch.from_numpy(targets)
    if found.output == "logits":
        return functional.cross_entropy(out, target)
    if found.output == "log-probabilities":
        return functional.nll_loss(out, target)
    return functional.nll_loss(session.import_module("torch").log(out), target)


def randomise(session: StudentSession, model: Any, seed: int) -> dict[str, np.ndarray]:
    """Give every parameter of the student's model random values; returns them."""
    shapes = {n: v.shape for n, v in session.op("parameters", model, want="value").items()}
    rng = np.random.default_rng(seed)
    values = {n: rng.normal(scale=0.5, size=s).astype(np.float32) for n, s in shapes.items()}
    session.op("set_parameters", model, values)
    return {n: v.astype(np.float64) for n, v in values.items()}


@dataclass
class Comparison:
    dims: cells.Dims
    params: dict[str, np.ndarray]
    features: np.ndarray
    output: np.ndarray
    match: cells.Match | None
    closest: cells.Match | None
    tried: int
    #: when no mapping fits: the single mistakes that explain the output exactly
    mistakes: list[cells.Match] = field(default_factory=list)

    @property
    def usable(self) -> cells.Match | None:
        """The mapping to use for further checks: the right one, or a diagnosed one."""
        return self.match or (self.mistakes[0] if self.mistakes else None)


def compare_with_equations(
    session: StudentSession, found: Probe, *, hidden: int = 12, seq_length: int = 6, seed: int = 0
) -> Comparison:
    """Run the student's cell on random weights and search a mapping onto the equations."""
    model = found.model(seq_length=seq_length, hidden=hidden, batch=5)
    params = randomise(session, model, seed)
    digits, _ = palindromes(5, seq_length + 1, np.random.default_rng(seed + 1))
    out = run_model(session, found, model, digits).astype(np.float64)
    dims = cells.Dims(D=found.layout.input_dim, H=hidden, C=10)
    features = found.layout.features(digits)
    match, closest, tried = cells.find_mapping(found.kind, params, features, out, dims)
    mistakes = [] if match else cells.diagnose(found.kind, params, features, out, dims)
    return Comparison(dims, params, features, out, match, closest, tried, mistakes)


def explain_mismatch(found: Probe, comparison: Comparison, equations: Mapping[str, int]) -> str:
    """What is wrong with the forward pass, with the equation numbers of the student's
    hand-out (``equations``: symbol -> number, from the spec)."""
    kind = found.kind
    names = sorted(comparison.params)
    if not comparison.tried:
        canon = cells.canonical_shapes(kind, comparison.dims)
        return (
            "your parameters could not be matched to the equations' weights: you have "
            + ", ".join(f"{n} {tuple(comparison.params[n].shape)}" for n in names)
            + "; the equations need "
            + ", ".join(f"{n} {s}" for n, s in canon.items())
            + f" (H = {comparison.dims.H}, D = {comparison.dims.D}, C = 10)"
        )
    found_mistakes = cells.diagnose(
        kind, comparison.params, comparison.features, comparison.output, comparison.dims
    )
    if found_mistakes:
        messages = cells.variants(kind, equations)
        reasons = "; or ".join(messages[m.variant or ""] for m in found_mistakes)
        return f"your output matches the equations with one mistake: {reasons}."
    closest = comparison.closest
    error = f"{closest.error:.3g}" if closest else "?"
    return (
        f"no consistent reading of your {len(names)} parameters reproduces the "
        f"{'LSTM' if kind == 'lstm' else 'RNN'} ({cells.equation_range(equations)}) "
        "output: tried "
        f"{comparison.tried} mappings, the closest is off by {error} (relative). Check each "
        "equation against your forward, the initial state h(0) = 0 and which step's output "
        "you return."
    )


def gradient_problems(
    session: StudentSession, found: Probe, comparison: Comparison, *, hidden: int
) -> dict[str, str] | None:
    """{canonical name: what is wrong with its gradient}; None if they cannot be compared.

    The student's last-step cross-entropy is back-propagated through its own model, set to
    seeded canonical weights through the mapping found, and compared with the equations'
    gradients. With a diagnosed forward mistake the gradients are compared with that
    mistake's own gradients, so the backward pass is judged on its own.
    """
    usable = comparison.usable
    if usable is None:
        return None
    model = found.model(seq_length=6, hidden=hidden, batch=5)
    shapes = {n: v.shape for n, v in session.op("parameters", model, want="value").items()}
    rng = np.random.default_rng(11)
    canon = {
        n: rng.normal(scale=0.5, size=s)
        for n, s in cells.canonical_shapes(found.kind, comparison.dims).items()
    }
    values = usable.mapping.student_values(canon, shapes)
    session.op("set_parameters", model, {n: v.astype(np.float32) for n, v in values.items()})
    digits, targets = palindromes(5, 7, rng)
    session.op("zero_grad", model)
    out = _last_step(found.forward(model, found.layout.encode(digits)), found, 5, 6)
    loss_of(session, found, out, targets).backward()
    got = cells.canonical_gradients(usable.mapping, session.op("gradients", model, want="value"))
    features = found.layout.features(digits)
    _, expected = cells.reference_gradients(found.kind, canon, features, targets, usable.variant)
    problems = _gradient_errors(got, expected)
    if problems:
        # A known fault: the state detached between steps (a one-step cell that returns
        # h.detach(), say): the gradients are exactly those of the last step alone.
        _, cut = cells.reference_gradients(
            found.kind, canon, features, targets, usable.variant, cut=True
        )
        if not _gradient_errors(got, cut):
            state = "h(t-1)" if found.kind == "rnn" else "h(t-1) and c(t-1)"
            return {
                "h(t-1)": f"they are those of the last time step alone: {state} reach each "
                "step detached from the graph (.detach(), .data), so back-propagation "
                "through time is cut and no gradient flows to the earlier steps"
            }
    return problems


def _gradient_errors(
    got: Mapping[str, np.ndarray | None], expected: Mapping[str, np.ndarray]
) -> dict[str, str]:
    """{canonical name: how its gradient differs from the expected one}."""
    problems: dict[str, str] = {}
    for name, want in expected.items():
        have = got.get(name)
        if have is None or not np.any(have):
            if np.any(want):
                problems[name] = f"no gradient reached {name}"
            continue
        err = float(np.max(np.abs(have - want)) / max(1e-3, float(np.max(np.abs(want)))))
        if err > 1e-3:
            problems[name] = f"d loss / d {name} is off by {err:.3g} (relative)"
    return problems


def explain_gradient_problems(problems: dict[str, str]) -> str:
    """What is wrong with the gradients, and where they point to a graph cut (a detached
    state), the likely cause."""
    hint = _cut_graph_hint(problems)
    return (
        "the forward pass is right but the gradients are not:\n  "
        + "\n  ".join(sorted(problems.values()))
        + (f"\n{hint}" if hint else "")
    )


def _cut_graph_hint(problems: dict[str, str]) -> str:
    names = set(problems)
    if not names or names & {"W_ph", "b_p"} or not all(n.startswith(("W_", "b_")) for n in names):
        return ""
    if all(n.endswith("h") and n.startswith("W_") for n in names):
        return (
            "Only the recurrent weights are affected, so back-propagation through time "
            "is cut: is h (or c) detached inside the loop (.detach(), .data, "
            "torch.no_grad())?"
        )
    if all(p.startswith("no gradient") for p in problems.values()):
        return (
            "Only the output layer W_ph, b_p receives gradients: the hidden state is "
            "detached from the graph before the output (.detach(), .data, "
            "torch.no_grad()), so the cell itself can never learn."
        )
    return ""


#: The runtime's loss for each kind of output (``ops.train_steps``).
TRAINING_LOSS = {"logits": "cross_entropy", "log-probabilities": "nll", "probabilities": "log_nll"}
#: The optimisers the grader's loop may use (``train_optimiser``), as messages name them.
OPTIMISERS = {"RMSprop": "RMSProp", "Adam": "Adam"}


def train(
    session: StudentSession,
    found: Probe,
    model: Any,
    *,
    length: int,
    steps: int,
    lr: float = 1e-3,
    optimiser: str = "RMSprop",
    batch: int = 128,
    clip: float = 10.0,
    seed: int = 0,
    eval_every: int = 50,
    target: float = 0.99,
) -> tuple[float, list[tuple[int, float, float]]]:
    """The grader's own seeded loop (``optimiser``: a torch.optim class's name); returns
    (held-out accuracy, curve).

    The steps between two evaluations go to the student process as one request (the
    runtime's ``train_steps``): this side draws every batch from its seeded generator,
    that side runs forward, loss, backward, clip and step on each and sends back the
    losses. The losses only draw the curve; the accuracy is measured here, from the
    model's outputs on held-out palindromes (and, by the checks, from its parameters)."""
    torch_ = session.import_module("torch")
    params = session.import_module("builtins").list(model.parameters())
    step_rule = getattr(torch_.optim, optimiser)(params, lr=lr)
    rng = np.random.default_rng(seed)
    test_digits, test_targets = palindromes(1024, length, np.random.default_rng(seed + 99))
    # Held-out batches look exactly like training batches (same size, same distribution,
    # gradients on): a model cannot tell when it is being evaluated.
    chunk = batch
    curve: list[tuple[int, float, float]] = []
    accuracy = 0.0
    done, size, last = 0, 1, float("nan")
    options: dict[str, Any] | None = None
    while done < steps:
        until = min(steps, (done // eval_every + 1) * eval_every)
        while done < until:
            n = min(size, until - done)
            drawn = [palindromes(batch, length, rng) for _ in range(n)]
            inputs = torch.stack([found.layout.encode(digits) for digits, _ in drawn])
            if options is None:
                options = found.forward_options(model, inputs[0])
            began = session.spent()
            losses = session.request(
                "op",
                {
                    "name": "train_steps",
                    "args": [model, step_rule, params, inputs],
                    "kwargs": {
                        "targets": torch.from_numpy(np.stack([targets for _, targets in drawn])),
                        "loss": TRAINING_LOSS[found.output],
                        "clip": clip,
                        "batch": batch,
                        "seq": length - 1,
                        **options,
                    },
                },
                want="value",
                during=f"training your model (steps {done + 1} to {done + n} of the grader's loop)",
            )
            # NaN is what a diverging model's loss is: drawn as it is, never counted.
            losses = FloatArray(shape=(n,)).accept(
                losses, "the losses of the grader's training steps"
            )
            # A request of many steps stays well inside one call's time limit, as each step
            # did (the first, of one step, measures how long a step takes).
            took = max(session.spent() - began, 1e-3)
            size = max(1, int(session.call_timeout / 4 * n / took))
            done += n
            last = float(losses[-1])
        accuracy = held_out_accuracy(
            session,
            found,
            model,
            test_digits,
            test_targets,
            chunk=chunk,
            target=None if done == steps else target,
        )
        curve.append((done, last, accuracy))
        if accuracy >= target:
            break
    return accuracy, curve


def held_out_accuracy(
    session: StudentSession,
    found: Probe,
    model: Any,
    digits: np.ndarray,
    targets: np.ndarray,
    *,
    chunk: int,
    target: float | None,
) -> float:
    """The model's accuracy on held-out ``digits``, run ``chunk`` at a time (whole chunks
    only). With a ``target``, the evaluation ends as soon as the errors seen put it out
    of reach (more than the whole set may have): the loop would not stop there anyway,
    and the accuracy is then that of the chunks run. Without one, every chunk runs."""
    usable = len(digits) - len(digits) % chunk if len(digits) > chunk else len(digits)
    # The errors the whole set may hold and still reach the target (-1: it never can),
    # decided by the comparison the loop makes.
    allowed = (
        usable
        if target is None
        else sum(1 for e in range(usable + 1) if (usable - e) / usable >= target) - 1
    )
    correct = seen = 0
    for start in range(0, usable, chunk):
        out = run_model(session, found, model, digits[start : start + chunk])
        correct += int((out.argmax(axis=1) == targets[start : start + len(out)]).sum())
        seen += len(out)
        if target is not None and seen - correct > allowed:
            break
    return correct / seen


def _last_step(out: Any, found: Probe, batch: int, seq: int) -> Any:
    shape = out.remote_shape if isinstance(out, Remote) else None
    if shape is None or len(shape) == 2:
        return out
    if len(shape) == 3 and tuple(shape[:2]) == (batch, seq):
        return out[:, -1]
    if len(shape) == 3 and tuple(shape[:2]) == (seq, batch):
        return out[-1]
    return out[:, 0]


def reference_init(
    session: StudentSession,
    model: Any,
    mapping: cells.ParamMapping,
    found: Probe,
    hidden: int,
    seed: int,
) -> None:
    """Standard initial weights (Xavier, zero biases, forget bias 1) through the mapping."""
    rng = np.random.default_rng(seed)
    dims = cells.Dims(D=found.layout.input_dim, H=hidden, C=10)
    canon = {}
    for name, shape in cells.canonical_shapes(found.kind, dims).items():
        if len(shape) == 2:
            bound = np.sqrt(6.0 / (shape[0] + shape[1]))
            canon[name] = rng.uniform(-bound, bound, size=shape)
        else:
            canon[name] = np.ones(shape) if name == "b_f" else np.zeros(shape)
    shapes = {n: tuple(v.shape) for n, v in session.op("parameters", model, want="value").items()}
    values = mapping.student_values(canon, shapes)
    session.op("set_parameters", model, {n: v.astype(np.float32) for n, v in values.items()})


def depends_on_parameters(session: StudentSession, found: Probe, *, hidden: int) -> bool:
    """Whether the model's output changes at all when its parameters change."""
    model = found.model(seq_length=4, hidden=hidden, batch=6)
    digits, _ = palindromes(6, 5, np.random.default_rng(5))
    randomise(session, model, seed=1)
    first = run_model(session, found, model, digits)
    randomise(session, model, seed=2)
    second = run_model(session, found, model, digits)
    return not np.allclose(first, second)


def _held_out(length: int) -> tuple[np.ndarray, np.ndarray]:
    # The digits the loop evaluated on (train's seed 0 + 99): the verdict is the same
    # measurement, made on this side.
    return palindromes(1024, length, np.random.default_rng(99))


#: The cross-entropy of guessing: a loss no lower than this learned nothing.
CHANCE_LOSS = float(np.log(10.0))


def equation_logits(
    session: StudentSession, found: Probe, model: Any, usable: cells.Match, digits: np.ndarray
) -> torch.Tensor | None:
    """The logits of the model's current parameters run through the equations on the
    trusted side (with the one diagnosed mistake, if the cell has one); None where the
    mapping does not fit these parameters (another hidden size, say)."""
    values = session.op("parameters", model, want="value")
    if not isinstance(values, dict):
        fail(f"your model's parameters came back as {_described(values)}")
    params = {
        str(n): torch.from_numpy(FloatArray(finite=True).accept(v, f"parameter {n}"))
        for n, v in values.items()
    }
    x = torch.from_numpy(np.asarray(found.layout.features(digits), dtype=np.float64))
    try:
        canonical = usable.mapping.canonical(params)
        with torch.no_grad():
            return cells.forward(found.kind, canonical, x, usable.variant)
    except (KeyError, IndexError, RuntimeError, ValueError):
        return None


def trusted_accuracy(
    session: StudentSession, found: Probe, model: Any, usable: cells.Match, length: int
) -> float:
    """Held-out accuracy of the model's trained parameters run through the equations on
    the trusted side."""
    digits, targets = _held_out(length)
    logits = equation_logits(session, found, model, usable, digits)
    if logits is None:
        fail("your model's trained parameters no longer fit the layout its cell check found")
    return float((logits.argmax(dim=1).numpy() == targets).mean())


def learned_loss(
    session: StudentSession,
    found: Probe,
    model: Any,
    length: int,
    usable: cells.Match | None,
    *,
    as_trained: bool = False,
) -> float:
    """Held-out cross-entropy of ``model`` as it is now, computed here: from its
    parameters through the equations where the mapping fits them, else from the logits
    its own forward gives for held-out palindromes of ``length``. With ``as_trained``, a
    model that returns probabilities is measured as nn.CrossEntropyLoss on them (a second
    softmax) measures it: the loss the skeleton's train.py gives it (ln 10 for guessing)."""
    digits, targets = _held_out(length)
    logits = equation_logits(session, found, model, usable, digits) if usable else None
    if logits is None:
        out = torch.from_numpy(run_model(session, found, model, digits, chunk=128)).double()
        logits = out.clamp_min(1e-12).log() if found.output == "probabilities" else out
        targets = targets[: len(logits)]
        # Its own logits count only if they come through what it learned (issue 14).
        learned = float((logits.argmax(dim=1).numpy() == targets).mean())
        if learned >= 0.5 and accuracy_shuffled(session, found, model, length) >= 0.5:
            fail(
                f"the model your train.py trained reaches {learned:.1%} on held-out "
                f"palindromes of length {length}, and as much with its parameters shuffled "
                "(chance is 10%): its prediction does not come through what it learned, but "
                "from the input digits directly"
            )
    if as_trained and found.output == "probabilities":
        logits = torch.softmax(logits, dim=1)  # (N, C) probabilities, softmaxed again below
    loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(targets))
    return float(loss) if torch.isfinite(loss) else float("inf")


#: How far below the loss of guessing a model a train.py trained must be (held out).
LEARNED = 0.98


def require_learned(
    session: StudentSession,
    found: Probe,
    model: Any,
    usable: cells.Match | None,
    cls_name: str,
    *,
    probabilities: bool,
) -> None:
    """Fail unless the model a train.py trained learned something: a held-out loss on
    palindromes of length 5 below ``LEARNED`` ln 10. A probability model's train.py
    minimises nn.CrossEntropyLoss on its probabilities (a second softmax, whose guessing
    loss is ln 10 too): that loss counts as well."""
    __tracebackhide__ = True
    loss = learned_loss(session, found, model, 5, usable)
    trained = (
        learned_loss(session, found, model, 5, usable, as_trained=True)
        if probabilities and not loss < LEARNED * CHANCE_LOSS
        else loss
    )
    if not min(loss, trained) < LEARNED * CHANCE_LOSS:
        also = (
            f" ({trained:.3f} by the skeleton's nn.CrossEntropyLoss on its probabilities)"
            if probabilities
            else ""
        )
        fail(
            f"the {cls_name} your train.py trained has a held-out loss of {loss:.3f}{also} "
            "on palindromes of length 5, measured by the grader from what it learned: no "
            f"better than guessing (ln 10 = {CHANCE_LOSS:.3f})"
        )


def accuracy_shuffled(
    session: StudentSession, found: Probe, model: Any, length: int, *, chunk: int = 128
) -> float:
    """Held-out accuracy with every trained parameter's entries shuffled (then restored):
    near chance for a model whose prediction comes through what it learned. ``chunk``: the
    batch size the model was built for (a model may run only at that size)."""
    values = session.op("parameters", model, want="value")
    rng = np.random.default_rng(3)
    shuffled = {
        n: rng.permutation(np.asarray(v).ravel()).reshape(np.shape(v)).astype(np.float32)
        for n, v in values.items()
    }
    session.op("set_parameters", model, shuffled)
    try:
        digits, targets = _held_out(length)
        logits = run_model(session, found, model, digits, chunk=chunk)
    finally:
        session.op("set_parameters", model, {n: np.asarray(v) for n, v in values.items()})
    return float((logits.argmax(axis=1) == targets[: len(logits)]).mean())


def curve_table(curve: Sequence[tuple[int, float, float]]) -> list[list[Any]]:
    return [[s, round(loss, 4), round(acc, 4)] for s, loss, acc in curve]


@dataclass
class Trainer:
    """The grader's brief training of a student's model, for one test file's training
    checks (``[settings]``: ``hidden``, ``train_hidden``, ``accuracy`` and
    ``reference_accuracy``; the loop's ``train_*`` and ``retry_steps``); it remembers the
    shortest length the model did not learn, and what it ran at each length."""

    session: StudentSession
    found: Probe
    comparison: Comparison
    gradient_problems: dict[str, str] | None
    cls_name: str  #: the class's name, as the report names it
    settings: Mapping[str, Any]
    failed_at: int | None = None
    _mappings: dict[int, cells.Match | None] = field(default_factory=dict)
    #: length -> (steps from the student's weights, steps of the retry or None)
    _ran: dict[int, tuple[int, int | None]] = field(default_factory=dict)

    def output_moves(self) -> bool:
        """Whether the model's output changes when its parameters change (it can learn)."""
        return depends_on_parameters(self.session, self.found, hidden=self.settings["hidden"])

    def loop(self, length: int) -> str:
        """What the grader's loop ran at ``length`` (``accuracy``), as a message tells it."""
        steps, retry = self._ran[length]
        told = (
            f"after {steps} steps of the grader's training loop ({OPTIMISERS[self.optimiser]}, "
            f"lr {self.lr:g}, batch {self.batch}, hidden {self.settings['train_hidden']}, "
            "gradient norm clipped to 10)"
        )
        if retry is None:
            return told + ","
        forget = ", forget-gate bias 1" if self.found.kind == "lstm" else ""
        return (
            f"{told} from your initial weights, then {retry} more from standard ones "
            f"(Xavier-uniform weights, zero biases{forget}),"
        )

    @property
    def optimiser(self) -> str:
        """The grader's optimiser (``train_optimiser``, a torch.optim class's name; the
        hand-out's RMSprop where unset)."""
        name = str(self.settings.get("train_optimiser", "RMSprop"))
        if name not in OPTIMISERS:
            known = ", ".join(OPTIMISERS)
            raise ValueError(f"train_optimiser must be one of {known}, not {name!r}")
        return name

    @property
    def batch(self) -> int:
        """The grader's batch size (``train_batch``; the hand-out's 128 where unset)."""
        return int(self.settings.get("train_batch", 128))

    @property
    def lr(self) -> float:
        """The grader's learning rate (``train_lr``; the hand-out's 1e-3 where unset)."""
        return float(self.settings.get("train_lr", 1e-3))

    def retry_steps(self, steps: int) -> int:
        """The budget of the second run, from standard initial weights (``retry_steps``,
        at most ``steps``; ``steps`` where unset). The reference needs a small part of it
        from those weights (calibrated)."""
        return min(steps, int(self.settings.get("retry_steps", steps)))

    def accuracy(self, *, length: int, steps: int, evidence: Evidence) -> float:
        """Held-out accuracy on palindromes of ``length`` after at most ``steps`` steps of
        the grader's loop; the curve goes in the report, beside the reference's.

        The accuracy that counts is measured on this side wherever it can be: the trained
        parameters are run through the hand-out's equations here (through the mapping the
        cell check found). Where no mapping fits, the model must lose what it learned when
        its parameters are shuffled: a prediction that does not come through them fails."""
        target, H = self.settings["accuracy"], self.settings["train_hidden"]
        session, found = self.session, self.found
        usable = self.mapping(H)
        run = {
            "length": length,
            "steps": steps,
            "target": target,
            "lr": self.lr,
            "optimiser": self.optimiser,
            "batch": self.batch,
        }
        model = found.model(seq_length=length - 1, hidden=H, batch=self.batch)
        accuracy, curve = train(session, found, model, **run)
        self._ran[length] = (steps, None)
        note = ""
        # Judge the cell, not the initialisation the hand-out left to the student: a cell with
        # right gradients that learned too slowly gets a second run from standard weights.
        if accuracy < target and usable is not None and not self.gradient_problems:
            retry = self.retry_steps(steps)
            model = found.model(seq_length=length - 1, hidden=H, batch=self.batch)
            reference_init(session, model, usable.mapping, found, H, seed=0)
            accuracy, curve2 = train(session, found, model, **{**run, "steps": retry})
            curve = curve + [(s + steps, loss, acc) for s, loss, acc in curve2]
            self._ran[length] = (steps, retry)
            note = " (with standard initial weights: yours made learning slower)"
        evidence.table(
            name=f"training-{length}",
            title=(
                f"Training on palindromes of length {length} (held-out accuracy on 1,024 "
                "palindromes; where the target was already out of reach, on those run "
                "until then)"
            ),
            columns=["step", "loss", "held-out accuracy"],
            rows=curve_table(curve),
        )
        if usable is not None:
            own, accuracy = accuracy, trusted_accuracy(session, found, model, usable, length)
            if own >= target > accuracy:
                self.failed_at = length
                fail(
                    f"your model's own forward reached {own:.1%} on palindromes of length "
                    f"{length}, but its trained parameters, run through the equations by the "
                    f"grader, reach only {accuracy:.1%}"
                )
        elif accuracy >= target:
            shuffled = accuracy_shuffled(session, found, model, length, chunk=self.batch)
            if shuffled >= 0.5:
                self.failed_at = length
                fail(
                    f"your model still reaches {shuffled:.1%} on palindromes of length "
                    f"{length} with its trained parameters shuffled (chance is 10%): its "
                    "prediction does not come through its parameters and recurrence, but "
                    "from the input digits directly"
                )
        self._record_accuracy(evidence, length, accuracy)
        if accuracy < target:
            self.failed_at = length
        elif note:
            evidence.text(name=f"training-{length}-note", text=f"reached {accuracy:.1%}{note}")
        return accuracy

    def mapping(self, hidden: int) -> cells.Match | None:
        """The mapping of the model's parameters onto the equations at ``hidden`` (the
        cell check's was found at a smaller size); searched once per size, and only for
        a cell that has one."""
        if self.comparison.usable is None:
            return None
        if hidden not in self._mappings:
            comparison = compare_with_equations(self.session, self.found, hidden=hidden)
            self._mappings[hidden] = comparison.usable
        return self._mappings[hidden]

    def _record_accuracy(self, evidence: Evidence, length: int, accuracy: float) -> None:
        """This length's accuracy on one plot with the reference's curve
        (``[settings.reference_accuracy]``: {kind: [[T, accuracy], ...]}, from calibration)."""
        plot: dict[str, Any] = {
            "figure": "accuracy-by-length",
            "title": "Held-out accuracy against palindrome length",
            "x": "palindrome length T",
            "y": "held-out accuracy",
            "ylim": (0.0, 1.03),
        }
        evidence.series(
            name=f"accuracy-{length}",
            **plot,
            label=f"your {self.cls_name}",
            points=[(length, accuracy)],
        )
        reference = self.settings.get("reference_accuracy", {}).get(self.found.kind)
        if reference:
            evidence.series(
                name="reference-accuracy",
                **plot,
                label=f"reference {self.cls_name}",
                points=reference,
                reference=True,
            )


# -- forbidden APIs -----------------------------------------------------------------------


def not_done_by_forbidden_api(forbidden_uses: str, settings: Mapping[str, Any], kind: str) -> None:
    """A forbidden API doing the work voids the checks of that work (spec: forbidden_voids)."""
    __tracebackhide__ = True
    if forbidden_uses and kind in settings.get("forbidden_voids", []):
        fail(
            "not counted: part of this model's work is done by an API the hand-out forbids "
            "(see the forbidden-API check)"
        )


def flag_dynamic_access(
    files: Mapping[str, str], settings: Mapping[str, Any], evidence: Evidence
) -> None:
    """Code that may reach a forbidden API in a way neither static analysis nor the traps
    can settle (a name decoded at run time, exec of a built string) does not cost points,
    but the submission is flagged for a TA, with the lines."""
    suspicious = find_suspicious(files, forbidden=settings["forbidden"])
    if suspicious:
        text = describe_uses(suspicious)
        evidence.text(name="dynamic-access", title="For a TA: dynamic accesses", text=text)
        evidence.for_review(text)

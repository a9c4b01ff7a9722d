"""Task 2.3's model (the hand-out's _charLSTM in task3_min_char_lstm.py): building it
from the module globals it reads, calling its forward, finding the hidden size it runs
at, and copying the reference's weights into it.

The grader's hidden size is not the script's 100, so a class that hard-codes 100 shows;
the hand-out sets no hidden size, so such a class is checked at its own size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from char_lab import Handout, Text, globals_setter

from harness.checks import FloatArray, StudentError, fail, student_call

LSTM_TOL = {"atol": 1e-5, "rtol": 1e-4}  # float32


def lstm_globals(text: Text, hidden: int) -> dict[str, Any]:
    """The globals the script's skipped top level would have made."""
    return {
        "vocab_size": text.vocab_size,
        "hidden_size": hidden,
        "chars": list(text.chars),
        "char_to_ix": {ch: i for i, ch in enumerate(text.chars)},
        "ix_to_char": dict(enumerate(text.chars)),
    }


def build_lstm(student: Any, lstm: Any, text: Text, hidden: int, handout: Handout) -> Any:
    """``_charLSTM()`` after setting the globals it reads (a kept ``hidden_size = 100``
    overwrote the injected value)."""
    cls = handout.lstm_class
    if cls not in student.op("dir", lstm):
        fail(f"{handout.lstm_file} defines no class {cls}: keep the template's name")
    globals_setter(student, lstm)(lstm_globals(text, hidden))
    try:
        model = student.call(getattr(lstm, cls), during=f"building {cls}()")
    except StudentError as exc:
        if exc.type == "NotImplementedError" and exc.message:
            fail(exc.message)
        fail(
            exc.summary() + "\n__init__ takes no arguments: read the sizes from the module "
            "globals vocab_size and hidden_size"
        )
    if not student.op("parameters", model, want="value"):
        fail(
            f"{cls}() has no parameters: create the LSTM and the output layer in __init__ "
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


def lstm_forward(
    student: Any, model: Any, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor, handout: Handout
) -> Any:
    """model(x, h, c, seq_len) as data: the student's exception fails the check."""
    seq = x.shape[0]
    hprev, cprev = handout.states
    return student_call(
        student,
        model,
        x,
        h,
        c,
        seq,
        during=f"calling forward(input {tuple(x.shape)}, {hprev} {tuple(h.shape)}, {cprev} "
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


def hardcoded_hidden(student: Any, model: Any, hidden: int, handout: Handout) -> str:
    """A note for a model whose LSTM is not ``hidden`` units wide, or ""."""
    shapes = {n: v.shape for n, v in student.op("parameters", model, want="value").items()}
    sizes = hidden_sizes(shapes) - {hidden}
    if not sizes:
        return ""
    return (
        f"\nYour LSTM has {sorted(sizes)[0]} hidden units though the module global hidden_size "
        f"is {hidden}: the grader sets hidden_size to {hidden} (not the script's 100) to check "
        f"that {handout.lstm_class} reads it; build the layers from hidden_size, not a number"
    )


@dataclass(frozen=True)
class LstmProbe:
    """The hidden size under which the student's model runs, and why if not the global."""

    hidden: int
    note: str = ""


def probe_hidden_size(student: Any, lstm: Any, text: Text, H: int, handout: Handout) -> LstmProbe:
    """Run forward once at hidden size ``H``; a class that hard-codes its hidden size is
    found at that size (the interface check alone takes the points for it)."""
    V = text.vocab_size
    model = build_lstm(student, lstm, text, H, handout)
    x = one_hot(text.indices(0, 5), V)
    states = handout.both_states
    during = f"calling forward(input (5, {V}), {states} (1, 1, {H}), seq_len=5)"
    try:
        student.call(model, x, torch.zeros(1, 1, H), torch.zeros(1, 1, H), 5, during=during)
        return LstmProbe(H)
    except StudentError as exc:
        first = exc
    shapes = {n: v.shape for n, v in student.op("parameters", model, want="value").items()}
    for K in sorted(hidden_sizes(shapes) - {H}):
        model = build_lstm(student, lstm, text, K, handout)
        zero = torch.zeros(1, 1, K)
        try:
            student.call(model, x, zero, zero, 5, during="")
        except StudentError:
            continue
        return LstmProbe(K, f"checked at hidden size {K}, the size your class hard-codes")
    if first.type == "NotImplementedError" and first.message:
        fail(first.message)
    fail(
        f"{first.summary()}\nThe template fixes one LSTM layer: forward(input, "
        f"{', '.join(handout.states)}, seq_len) with input (seq_len, vocab_size={V}) and "
        f"{', '.join(handout.states)} (1, 1, hidden_size={H})"
    )
    raise AssertionError("unreachable: fail() raises")


def match_parameters(
    mine: dict[str, tuple[int, ...]], theirs: dict[str, tuple[int, ...]]
) -> tuple[dict[str, str], list[str]] | None:
    """{student name: reference name} by name, else by shape in order; and the
    reference parameters left without a partner. None where some parameter of the
    student's has no partner of its shape."""
    if mine.keys() == theirs.keys() and all(mine[n] == theirs[n] for n in mine):
        return {n: n for n in mine}, []
    free = list(theirs)
    mapping = {}
    for name, shape in mine.items():
        partner = next((r for r in free if theirs[r] == shape), "")
        if not partner:
            return None
        mapping[name] = partner
        free.remove(partner)
    return mapping, free


def map_parameters(
    mine: dict[str, tuple[int, ...]], theirs: dict[str, tuple[int, ...]]
) -> tuple[dict[str, str], list[str]]:
    """``match_parameters``, failing the check where the shapes do not match."""
    found = match_parameters(mine, theirs)
    if found is None:
        fail(
            "your model's parameters could not be matched to one nn.LSTM layer and one "
            "nn.Linear layer by shape: yours are "
            + ", ".join(f"{n} {s}" for n, s in mine.items())
            + "; the reference's are "
            + ", ".join(f"{n} {s}" for n, s in theirs.items())
            + ". forward is compared with the reference's by copying its weights in, "
            "which needs an nn.LSTM (or nn.LSTMCell) and an nn.Linear of these shapes"
        )
    return found


def copy_reference_weights(student: Any, ref_model: torch.nn.Module, model: Any) -> list[str]:
    """The reference's weights into the student's model (by name, else by shape); what the
    student's model lacks is set to zero in the reference's. Returns how, as notes."""
    theirs = {n: tuple(p.shape) for n, p in ref_model.named_parameters()}
    mine = {n: tuple(v.shape) for n, v in student.op("parameters", model, want="value").items()}
    mapping, unmatched = map_parameters(mine, theirs)
    values = {n: p.detach().numpy().copy() for n, p in ref_model.named_parameters()}
    with torch.no_grad():
        for name in unmatched:
            dict(ref_model.named_parameters())[name].zero_()
    student.op("set_parameters", model, {m: values[r] for m, r in mapping.items()})
    notes = [f"{m} <- reference {r}" for m, r in mapping.items() if m != r]
    return notes + [f"the reference's {r} set to zero (your model has none)" for r in unmatched]


def fetch_parameters(student: Any, model: Any) -> dict[str, np.ndarray]:
    """The model's parameters as plain float64 arrays on this side, checked at the data
    boundary (NaN is let through: a loss computed from it says what went wrong)."""
    values = student.op("parameters", model, want="value")
    if not isinstance(values, dict) or not values:
        fail(f"your model's parameters came back as {type(values).__name__}, not named arrays")
    return {
        str(n): FloatArray().accept(v, f"your model's parameter {n}") for n, v in values.items()
    }


@dataclass(frozen=True)
class TrustedLSTM:
    """The reference's ``_charLSTM`` on this side, into which the student's parameters are
    copied through the mapping by name or shape: its loss is the grader's own measure of
    what a set of parameters has learned, whatever the student's process says."""

    model: torch.nn.Module
    mapping: dict[str, str]  #: student name -> reference name
    unmatched: tuple[str, ...]  #: the reference's parameters the student's model lacks

    @classmethod
    def for_parameters(
        cls, ref_model: torch.nn.Module, params: dict[str, np.ndarray]
    ) -> TrustedLSTM | None:
        """None where the student's parameters do not map onto the reference's by shape."""
        theirs = {n: tuple(p.shape) for n, p in ref_model.named_parameters()}
        found = match_parameters({n: v.shape for n, v in params.items()}, theirs)
        if found is None:
            return None
        return cls(ref_model, found[0], tuple(found[1]))

    def logits(self, params: dict[str, np.ndarray], x: torch.Tensor) -> np.ndarray:
        """The reference's logits (seq_len, V) for ``x`` from zero states, with ``params``."""
        named = dict(self.model.named_parameters())
        with torch.no_grad():
            for mine, theirs in self.mapping.items():
                named[theirs].copy_(torch.from_numpy(params[mine]))
            for theirs in self.unmatched:
                named[theirs].zero_()
            H = next(p.shape[1] for n, p in named.items() if "weight_hh" in n)
            zero = torch.zeros(1, 1, H)
            out = self.model(x, zero, zero, x.shape[0])[0]
        return out.double().numpy().reshape(x.shape[0], -1)


def cross_entropy(logits: np.ndarray, targets: list[int]) -> float:
    """The mean cross-entropy of ``logits`` (seq_len, V) for ``targets``, computed here."""
    loss = F.cross_entropy(torch.from_numpy(logits), torch.tensor(targets))
    return float(loss)

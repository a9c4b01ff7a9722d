"""Differential checks for recurrent cells: map a student's parameters onto the equations.

A student's cell counts as correct when it equals the reference under *some*
consistent mapping of its parameters: other names, weights stored transposed,
one fused matrix for all gates in any order, one bias or two.  The search runs
backwards, from the student's own (randomised) weights to the equations' symbols:

1. ``candidates(...)`` lists the ways the student's parameters could hold the
   canonical ones (``W_hx, W_hh, b_h, W_ph, b_p`` for the RNN; ``W_gx ... b_p`` for
   the LSTM), guided by names where names say something and by shapes otherwise;
2. ``find_mapping(...)`` runs the reference equations on the student's weights under
   each candidate and keeps the one that reproduces the student's output;
3. ``diagnose(...)`` does the same with variants of the equations that each contain
   one classic mistake, so a failed check can say *which* equation is wrong.

Everything here is trusted-side arithmetic in float64; nothing calls student code.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

GATES = ("g", "i", "f", "o")
GATE_NAMES = {
    "g": "input modulation g",
    "i": "input gate i",
    "f": "forget gate f",
    "o": "output gate o",
}


@dataclass(frozen=True)
class Dims:
    D: int
    H: int
    C: int


def canonical_shapes(kind: str, dims: Dims) -> dict[str, tuple[int, ...]]:
    D, H, C = dims.D, dims.H, dims.C
    if kind == "rnn":
        return {"W_hx": (H, D), "W_hh": (H, H), "b_h": (H,), "W_ph": (C, H), "b_p": (C,)}
    shapes: dict[str, tuple[int, ...]] = {}
    for g in GATES:
        shapes[f"W_{g}x"] = (H, D)
        shapes[f"W_{g}h"] = (H, H)
        shapes[f"b_{g}"] = (H,)
    shapes["W_ph"] = (C, H)
    shapes["b_p"] = (C,)
    return shapes


def parameter_count(kind: str, dims: Dims) -> int:
    """The number of trainable numbers the equations have (hand-out Question 1.5b)."""
    return sum(int(np.prod(s)) for s in canonical_shapes(kind, dims).values())


# -- the equations, and variants with one mistake each ------------------------------------

#: The single mistakes ``forward`` can inject, per kind, each told with the number of the
#: equation it breaks: ``{h}`` is the number of the equation that defines h. Each hand-out
#: numbers them its own way, so ``variants`` takes them from the assignment's spec.
MISTAKES: dict[str, dict[str, str]] = {
    "rnn": {
        "h_sigmoid": "h(t) uses a sigmoid where Eq. {h} has tanh",
        "h_relu": "h(t) uses ReLU where Eq. {h} has tanh",
        "h_linear": "h(t) has no non-linearity; Eq. {h} applies tanh",
        "no_recurrence": "h(t-1) is not fed back: the W_hh h(t-1) term of Eq. {h} is missing",
        "no_bias_h": "the bias b_h is not added in Eq. {h}",
        "no_bias_p": "the bias b_p is not added in Eq. {p}",
        "first_step": "the output is computed from h(1), the first step, instead of h(T)",
        "output_tanh": "the output p(T) goes through tanh; Eq. {p} is linear",
    },
    "lstm": {
        **{
            f"{g}_tanh": f"the {GATE_NAMES[g]} uses tanh where Eq. {{{g}}} has a sigmoid"
            for g in ("i", "f", "o")
        },
        "g_sigmoid": "the input modulation g uses a sigmoid where Eq. {g} has tanh",
        "no_carry": "the cell state is not carried over: c(t) = g(t) * i(t) drops "
        "c(t-1) * f(t) (Eq. {c})",
        "no_forget": "c(t) = g(t) * i(t) + c(t-1): the forget gate is not applied (Eq. {c})",
        "h_no_tanh": "h(t) = c(t) * o(t) misses the tanh of Eq. {h}",
        "no_recurrence": "h(t-1) is not fed back into the gates (the W_*h terms are missing)",
        **{
            f"no_bias_{g}": f"the bias b_{g} is not added for the {GATE_NAMES[g]} (Eq. {{{g}}})"
            for g in GATES
        },
        "no_bias_p": "the bias b_p is not added in Eq. {p}",
        "first_step": "the output is computed from h(1), the first step, instead of h(T)",
        "swap_i_f": "the input and forget gates are swapped: your W_i*, b_i act as the forget "
        "gate and W_f*, b_f as the input gate",
        "swap_g_o": "the input modulation g and the output gate o are swapped",
    },
}


def variants(kind: str, equations: Mapping[str, int]) -> dict[str, str]:
    """The single mistakes of ``kind``, each told with the equation numbers of the student's
    own hand-out (``equations``: symbol -> number, the spec's ``[settings.equations]``)."""
    return {name: text.format_map(equations) for name, text in MISTAKES[kind].items()}


def equation_range(equations: Mapping[str, int]) -> str:
    """'Eq. 4-10': the equations of a model, as the hand-out numbers them."""
    numbers = sorted(equations.values())
    return f"Eq. {numbers[0]}-{numbers[-1]}"


def forward(
    kind: str,
    params: Mapping[str, torch.Tensor],
    x: torch.Tensor,
    variant: str | None = None,
    *,
    cut: bool = False,
) -> torch.Tensor:
    """Logits p(T) of the equations for x (B, T, D); ``variant`` injects one mistake.
    With ``cut`` the state is detached between time steps (the same values; gradients
    through the last step only: back-propagation through time cut)."""
    P = dict(params)
    v = variant or ""
    if v == "swap_i_f":
        P = _swap(P, "i", "f")
    elif v == "swap_g_o":
        P = _swap(P, "g", "o")
    B, T, _ = x.shape
    H = P["W_hh" if kind == "rnn" else "W_gh"].shape[0]
    # h(0) = h_init: zeros in the hand-out, or the student's learnable (or fixed) vector.
    h = x.new_zeros(B, H) + P["h0"].reshape(1, H) if "h0" in P else x.new_zeros(B, H)
    c = x.new_zeros(B, H) + P["c0"].reshape(1, H) if "c0" in P else x.new_zeros(B, H)
    first_h = None
    for t in range(T):
        xt = x[:, t]
        if cut:
            h, c = h.detach(), c.detach()
        if kind == "rnn":
            a = xt @ P["W_hx"].T
            if v != "no_recurrence":
                a = a + h @ P["W_hh"].T
            if v != "no_bias_h":
                a = a + P["b_h"]
            h = {"h_sigmoid": torch.sigmoid, "h_relu": torch.relu, "h_linear": lambda z: z}.get(
                v, torch.tanh
            )(a)
        else:
            pre = {}
            for g in GATES:
                a = xt @ P[f"W_{g}x"].T
                if v != "no_recurrence":
                    a = a + h @ P[f"W_{g}h"].T
                if v != f"no_bias_{g}":
                    a = a + P[f"b_{g}"]
                pre[g] = a
            g_ = torch.sigmoid(pre["g"]) if v == "g_sigmoid" else torch.tanh(pre["g"])
            gates = {
                k: torch.tanh(pre[k]) if v == f"{k}_tanh" else torch.sigmoid(pre[k])
                for k in ("i", "f", "o")
            }
            if v == "no_carry":
                c = g_ * gates["i"]
            elif v == "no_forget":
                c = g_ * gates["i"] + c
            else:
                c = g_ * gates["i"] + c * gates["f"]
            h = c * gates["o"] if v == "h_no_tanh" else torch.tanh(c) * gates["o"]
        if first_h is None:
            first_h = h
    assert first_h is not None
    h_out = first_h if v == "first_step" else h
    p = h_out @ P["W_ph"].T
    if v != "no_bias_p":
        p = p + P["b_p"]
    return torch.tanh(p) if v == "output_tanh" else p


def _swap(P: dict[str, torch.Tensor], a: str, b: str) -> dict[str, torch.Tensor]:
    out = dict(P)
    for role in ("W_{}x", "W_{}h", "b_{}"):
        out[role.format(a)], out[role.format(b)] = P[role.format(b)], P[role.format(a)]
    return out


# -- mappings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """Where one canonical parameter lives inside a student parameter."""

    student: str
    transpose: bool = False  #: the student stores it as (in, out)
    rows: tuple[int, int] | None = None  #: block of rows (after un-transposing)
    cols: tuple[int, int] | None = None  #: block of columns, for [x, h] concatenated weights
    flat: bool = False  #: a vector the student stores as a column (n, 1) or a row (1, n)


@dataclass(frozen=True)
class ParamMapping:
    """Canonical name -> the pieces of student parameters that hold it (summed)."""

    pieces: Mapping[str, tuple[Piece, ...]]
    description: str
    by_name: bool = False
    extra: tuple[str, ...] = field(default=())  #: student parameters the equations do not use

    def canonical(self, student: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The equations' parameters built from the student's values (differentiable)."""
        out = {}
        for name, pieces in self.pieces.items():
            total = None
            for piece in pieces:
                value = _take(student[piece.student], piece)
                total = value if total is None else total + value
            out[name] = total
        return out  # type: ignore[return-value]

    def student_values(
        self, canonical: Mapping[str, np.ndarray], shapes: Mapping[str, tuple[int, ...]]
    ) -> dict[str, np.ndarray]:
        """Student parameter values that hold ``canonical`` (duplicate biases get zeros)."""
        values = {name: np.zeros(shape) for name, shape in shapes.items()}
        for name, pieces in self.pieces.items():
            if name not in canonical:  # a learnable initial state: zero, as the hand-out has it
                continue
            for k, piece in enumerate(pieces):
                target = values[piece.student]
                view = target.T if piece.transpose else target
                block = view.reshape(-1) if piece.flat else view
                if piece.rows is not None:
                    block = block[piece.rows[0] : piece.rows[1]]
                if piece.cols is not None:
                    block = block[:, piece.cols[0] : piece.cols[1]]
                block[...] = canonical[name] if k == 0 else 0.0
        return values


def _take(value: torch.Tensor, piece: Piece) -> torch.Tensor:
    v = value.T if piece.transpose else value
    if piece.flat:
        v = v.reshape(-1)
    if piece.rows is not None:
        v = v[piece.rows[0] : piece.rows[1]]
    if piece.cols is not None:
        v = v[:, piece.cols[0] : piece.cols[1]]
    return v


def gate_hint(name: str) -> str | None:
    """The gate a parameter's name points to (W_ix, weight_forget, b_f, Wf ...), if any."""
    low = name.lower()
    # A one-letter part names the gate outright: input_f.weight is the forget gate's input
    # side, although it says "input".
    letters = [t for t in re.split(r"[^a-z]+", low) if len(t) == 1 and t in "gifoc"]
    if len(letters) == 1:
        return "g" if letters[0] == "c" else letters[0]
    for word, gate in (
        ("forget", "f"),
        ("output", "o"),
        ("input", "i"),
        ("cand", "g"),
        ("modul", "g"),
        ("cell", "g"),
        ("tilde", "g"),
    ):
        if word in low:
            return gate
    core = re.sub(r"^(weight|bias|param|w|b)", "", low.split(".")[-1])
    core = re.sub(r"[^a-z]", "", core)
    for stripped in (
        core,
        core[:-1] if core[-1:] in "xh" else None,
        core[1:] if core[:1] in "xh" else None,
    ):
        if stripped and len(stripped) == 1 and stripped in "gifoc":
            return "g" if stripped == "c" else stripped
    return None


#: Names that mark a parameter as the initial state h(0) (the hand-out's h_init) or c(0).
_STATE = re.compile(r"init|start|(^|[._])[hc]_?0($|[._])|(^|[._])(h|c|hidden|cell)_?zero")
_CELL_STATE = re.compile(r"(^|[._])c(_?0|_?init|_start|ell)")


def _vector_length(shape: tuple[int, ...]) -> int | None:
    """n for a vector stored as (n,), (n, 1) or (1, n); None for anything else."""
    if len(shape) == 1:
        return shape[0]
    if len(shape) == 2 and 1 in shape:
        return shape[0] * shape[1]
    return None


def _state_pieces(
    shapes: Mapping[str, tuple[int, ...]], H: int, kind: str, taken: set[str]
) -> dict[str, tuple[Piece, ...]]:
    """h0 (and c0) pieces for parameters whose names say they are initial states."""
    out: dict[str, tuple[Piece, ...]] = {}
    for name, shape in sorted(shapes.items()):
        low = name.lower()
        if name in taken or _vector_length(shape) != H or not _STATE.search(low):
            continue
        role = "c0" if kind == "lstm" and _CELL_STATE.search(low) else "h0"
        out.setdefault(role, (Piece(name, flat=len(shape) == 2),))
    return out


@dataclass(frozen=True)
class _Slot:
    student: str
    transpose: bool
    block: int  #: index of the H-sized block inside a fused parameter
    blocks: int
    cols: tuple[int, int] | None = None
    flat: bool = False


def candidates(
    kind: str, shapes: Mapping[str, tuple[int, ...]], dims: Dims, *, limit: int = 5000
) -> list[ParamMapping]:
    """Consistent ways the student's parameters could hold the canonical ones: by name
    first, then by shape (guided by what the names say, then regardless of names)."""
    canon = canonical_shapes(kind, dims)
    found: list[ParamMapping] = []
    named = {}
    for n, s in canon.items():
        have = shapes.get(n)
        if have == s:
            named[n] = Piece(n)
        elif have is not None and len(s) == 1 and _vector_length(have) == s[0]:
            named[n] = Piece(n, flat=True)
    if len(named) == len(canon):
        states = _state_pieces(shapes, dims.H, kind, set(named))
        pieces = {n: (piece,) for n, piece in named.items()} | states
        used = set(canon) | {p[0].student for p in states.values()}
        extra = tuple(sorted(set(shapes) - used))
        found.append(ParamMapping(pieces, "parameters taken by their names", True, extra))
        square = [n for n in canon if len(canon[n]) == 2 and canon[n][0] == canon[n][1]]
        if square:
            flipped = {
                n: (Piece(n, transpose=n in square, flat=named[n].flat),) for n in canon
            } | states
            found.append(
                ParamMapping(
                    flipped,
                    "parameters taken by their names, recurrent weights used transposed (h @ W)",
                    True,
                    extra,
                )
            )
    hinted = list(itertools.islice(_search(kind, shapes, dims, hints=True), limit))
    if not hinted:
        hinted = list(itertools.islice(_search(kind, shapes, dims, hints=False), limit))
    return found + hinted


def _role_hint(name: str) -> set[str] | None:
    """The roles a parameter's name allows (None: the name says nothing)."""
    low = name.lower()
    last = low.split(".")[-1]
    if _STATE.search(low):
        return {"s"}
    if "bias" in last or re.match(r"b(_|$|[a-z]?[_0-9]|[a-z]$)", last):
        return {"b", "bp"}
    if "weight" in last or last.startswith("w"):
        return {"x", "h", "p"}
    return None


def _search(
    kind: str, shapes: Mapping[str, tuple[int, ...]], dims: Dims, *, hints: bool
) -> Iterator[ParamMapping]:
    D, H, C = dims.D, dims.H, dims.C
    n_gates = 1 if kind == "rnn" else 4
    roles: dict[str, list[list[_Slot]]] = {"x": [], "h": [], "b": [], "p": [], "bp": [], "s": []}
    for name, shape in shapes.items():
        options = _classify(name, shape, D, H, C, n_gates)
        allowed = _role_hint(name) if hints else None
        if allowed is not None and any(role in allowed for role, _ in options):
            options = [(role, slots) for role, slots in options if role in allowed]
        # A parameter that fits no role is left out: unused extras do not change the output.
        for role, slots in options:
            roles[role].append(slots)
    # Each role must be covered by a choice of its parameters with exactly n_gates slots
    # (biases may come two or three times, as in PyTorch's b_ih + b_hh plus one's own).
    for x_slots in _cover(roles["x"], n_gates):
        for h_slots in _cover(roles["h"], n_gates):
            for b_sets in _bias_cover(roles["b"], n_gates):
                for p_slots in _cover(roles["p"], 1):
                    for bp_slots in _cover(roles["bp"], 1):
                        for states in _states(roles["s"], kind):
                            yield from _assign(
                                kind, x_slots, h_slots, b_sets, p_slots[0], bp_slots[0], H, states
                            )


def _classify(
    name: str, shape: tuple[int, ...], D: int, H: int, C: int, n_gates: int
) -> list[tuple[str, list[_Slot]]]:
    out: list[tuple[str, list[_Slot]]] = []
    sizes = {n_gates * H: n_gates} | {H: 1}
    n = _vector_length(shape)
    if n is not None:
        flat = len(shape) == 2
        if n in sizes:
            k = sizes[n]
            out.append(("b", [_Slot(name, False, i, k, flat=flat) for i in range(k)]))
        if n == H:
            out.append(("s", [_Slot(name, False, 0, 1, flat=flat)]))
        if n == C:
            out.append(("bp", [_Slot(name, False, 0, 1, flat=flat)]))
        if len(shape) == 1:
            return out
    if len(shape) != 2:
        return out
    for transpose, (rows, cols) in ((False, shape), (True, shape[::-1])):
        if rows in sizes and cols == D:
            k = sizes[rows]
            out.append(("x", [_Slot(name, transpose, i, k) for i in range(k)]))
        if rows in sizes and cols == H:
            k = sizes[rows]
            out.append(("h", [_Slot(name, transpose, i, k) for i in range(k)]))
        if rows in sizes and cols == D + H:
            k = sizes[rows]
            for first in ("x", "h"):
                xc = (0, D) if first == "x" else (H, H + D)
                hc = (D, D + H) if first == "x" else (0, H)
                out.append(("x", [_Slot(name, transpose, i, k, xc) for i in range(k)]))
                out.append(("h", [_Slot(name, transpose, i, k, hc) for i in range(k)]))
        if rows == C and cols == H:
            out.append(("p", [_Slot(name, transpose, 0, 1)]))
    return out


def _cover(options: list[list[_Slot]], n: int) -> Iterator[list[_Slot]]:
    """Choices of distinct parameters whose slots add up to n (in every order of use)."""
    for r in range(1, len(options) + 1):
        for combo in itertools.combinations(options, r):
            names = [s[0].student for s in combo]
            if len(set(names)) != len(names):
                continue
            slots = [slot for group in combo for slot in group]
            if len(slots) != n:
                continue
            # Two parameters whose names say they belong to the same gate cannot both be
            # this role's share of it (this keeps per-gate layouts from exploding).
            hints = [gate_hint(s.student) for s in slots if s.blocks == 1]
            named = [h for h in hints if h is not None]
            if len(set(named)) == len(named):
                yield slots


def _bias_cover(options: list[list[_Slot]], n: int) -> Iterator[list[list[_Slot]]]:
    single = list(_cover(options, n))
    yield from ([s] for s in single)
    for count in (2, 3):
        for sets in itertools.combinations(single, count):
            names = [{s.student for s in group} for group in sets]
            if sum(map(len, names)) == len(set().union(*names)):
                yield list(sets)


def _states(options: list[list[_Slot]], kind: str) -> Iterator[dict[str, _Slot]]:
    """Initial states to try: learnable h(0) (and c(0)) first, then none (zeros)."""
    slots = [group[0] for group in options]
    if kind == "lstm":
        for h0, c0 in itertools.permutations(slots, 2):
            yield {"h0": h0, "c0": c0}
    for slot in slots:
        yield {"h0": slot}
        if kind == "lstm":
            yield {"c0": slot}
    yield {}


def _orders(slots: list[_Slot], kind: str) -> Iterator[tuple[str, ...]]:
    """Gate labels for the slots: fixed by the names where they say, else every order."""
    if kind == "rnn":
        yield ("h",)
        return
    hints = [gate_hint(s.student) if s.blocks == 1 else None for s in slots]
    for perm in itertools.permutations(GATES):
        if all(h is None or h == p for h, p in zip(hints, perm, strict=True)):
            yield perm


def _piece(slot: _Slot, H: int) -> Piece:
    rows = (slot.block * H, (slot.block + 1) * H) if slot.blocks > 1 else None
    return Piece(slot.student, slot.transpose, rows, slot.cols, slot.flat)


def _assign(
    kind: str,
    x_slots: list[_Slot],
    h_slots: list[_Slot],
    b_sets: list[list[_Slot]],
    p_slot: _Slot,
    bp_slot: _Slot,
    H: int,
    states: Mapping[str, _Slot],
) -> Iterator[ParamMapping]:
    used = {s.student for s in x_slots + h_slots + [p_slot, bp_slot]}
    used |= {s.student for bs in b_sets for s in bs}
    if any(s.student in used for s in states.values()):
        return
    x_orders = list(_orders(x_slots, kind))
    h_orders = list(_orders(h_slots, kind))
    b_orders = [list(_orders(bs, kind)) for bs in b_sets]
    fused = all(s.blocks > 1 for s in x_slots + h_slots)
    for xo in x_orders:
        for ho in h_orders:
            if fused and ho != xo:
                continue  # one fused layout: the same gate order in every matrix
            for bos in itertools.product(*b_orders):
                if fused and any(bo != xo for bo in bos):
                    continue
                pieces: dict[str, list[Piece]] = {}
                for slot, gate in zip(x_slots, xo, strict=True):
                    pieces.setdefault(_name(kind, "x", gate), []).append(_piece(slot, H))
                for slot, gate in zip(h_slots, ho, strict=True):
                    pieces.setdefault(_name(kind, "h", gate), []).append(_piece(slot, H))
                for bs, bo in zip(b_sets, bos, strict=True):
                    for slot, gate in zip(bs, bo, strict=True):
                        pieces.setdefault(_name(kind, "b", gate), []).append(_piece(slot, H))
                pieces["W_ph"] = [Piece(p_slot.student, p_slot.transpose)]
                pieces["b_p"] = [_piece(bp_slot, H)]
                for state, slot in states.items():
                    pieces[state] = [_piece(slot, H)]
                order = "" if kind == "rnn" else f" (gate order {''.join(xo)})"
                learned = " and ".join(
                    f"{slot.student} as {'h' if state == 'h0' else 'c'}(0)"
                    for state, slot in states.items()
                )
                yield ParamMapping(
                    {k: tuple(v) for k, v in pieces.items()},
                    f"parameters matched by shape{order}"
                    + (f", with {learned}" if learned else ""),
                )


def _name(kind: str, role: str, gate: str) -> str:
    if kind == "rnn":
        return {"x": "W_hx", "h": "W_hh", "b": "b_h"}[role]
    return {"x": f"W_{gate}x", "h": f"W_{gate}h", "b": f"b_{gate}"}[role]


# -- using them -----------------------------------------------------------------------------


def output_kind(out: np.ndarray) -> str:
    """ "probabilities", "log-probabilities" or "logits": what the student returns."""
    if out.ndim == 2 and np.all(out >= -1e-6) and np.allclose(out.sum(axis=1), 1, atol=1e-4):
        return "probabilities"
    if out.ndim == 2 and np.all(out <= 1e-6) and np.allclose(np.exp(out).sum(axis=1), 1, atol=1e-4):
        return "log-probabilities"
    return "logits"


def as_logits_like(ref_logits: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "probabilities":
        return torch.softmax(ref_logits, dim=1)
    if kind == "log-probabilities":
        return torch.log_softmax(ref_logits, dim=1)
    return ref_logits


def _close(a: np.ndarray, b: np.ndarray, tol: float) -> float:
    """The largest error relative to the output's scale (inf if shapes differ)."""
    if a.shape != b.shape or not np.all(np.isfinite(b)):
        return float("inf")
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(a)))))


@dataclass(frozen=True)
class Match:
    mapping: ParamMapping
    error: float
    variant: str | None = None


def find_mapping(
    kind: str,
    student_params: Mapping[str, np.ndarray],
    x: np.ndarray,
    student_out: np.ndarray,
    dims: Dims,
    *,
    tol: float = 1e-4,
    variant: str | None = None,
    only: Sequence[ParamMapping] | None = None,
) -> tuple[Match | None, Match | None, int]:
    """(the first mapping that reproduces the output, the closest one, candidates tried)."""
    shapes = {n: tuple(v.shape) for n, v in student_params.items()}
    pool = list(only) if only is not None else candidates(kind, shapes, dims)
    tensors = {
        n: torch.from_numpy(np.asarray(v, dtype=np.float64)) for n, v in student_params.items()
    }
    xt = torch.from_numpy(np.asarray(x, dtype=np.float64))
    shape_of_out = output_kind(student_out)
    best: Match | None = None
    with torch.no_grad():
        for mapping in pool:
            ref = as_logits_like(
                forward(kind, mapping.canonical(tensors), xt, variant), shape_of_out
            ).numpy()
            err = _close(ref, np.asarray(student_out, dtype=np.float64), tol)
            if best is None or err < best.error:
                best = Match(mapping, err, variant)
            if err <= tol:
                return Match(mapping, err, variant), best, len(pool)
    return None, best, len(pool)


def diagnose(
    kind: str,
    student_params: Mapping[str, np.ndarray],
    x: np.ndarray,
    student_out: np.ndarray,
    dims: Dims,
    *,
    tol: float = 1e-4,
) -> list[Match]:
    """The single mistakes that explain the student's output exactly, if any."""
    shapes = {n: tuple(v.shape) for n, v in student_params.items()}
    pool = candidates(kind, shapes, dims)
    named = [m for m in pool if m.by_name] or pool
    found = []
    for name in MISTAKES[kind]:
        # Swapped gates only mean something when the names fix which gate is which.
        scope = named if name.startswith("swap_") else pool
        if name.startswith("swap_") and not any(m.by_name for m in pool):
            continue
        match, _, _ = find_mapping(
            kind, student_params, x, student_out, dims, tol=tol, variant=name, only=scope
        )
        if match is not None:
            found.append(match)
    return found


def reference_gradients(
    kind: str,
    canonical: Mapping[str, np.ndarray],
    x: np.ndarray,
    targets: np.ndarray,
    variant: str | None = None,
    *,
    cut: bool = False,
) -> tuple[float, dict[str, np.ndarray]]:
    """Cross-entropy of the last step and its gradients for the canonical parameters.

    With ``variant``, the gradients of the equations with that one mistake: a cell
    whose forward pass has a known mistake still has its backward pass checked. With
    ``cut``, the gradients of a cell whose state is detached between time steps.
    """
    params = {
        n: torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True)
        for n, v in canonical.items()
    }
    x_ = torch.from_numpy(np.asarray(x, dtype=np.float64))
    logits = forward(kind, params, x_, variant, cut=cut)
    loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(targets.astype(np.int64)))
    loss.backward()
    return float(loss.detach()), {
        n: (p.grad.numpy().copy() if p.grad is not None else np.zeros(p.shape))
        for n, p in params.items()
    }


def canonical_gradients(
    mapping: ParamMapping, grads: Mapping[str, np.ndarray | None]
) -> dict[str, np.ndarray | None]:
    """The student's gradients rearranged under the canonical names (first piece each)."""
    out: dict[str, np.ndarray | None] = {}
    for name, pieces in mapping.pieces.items():
        piece = pieces[0]
        g = grads.get(piece.student)
        out[name] = None if g is None else _take(torch.from_numpy(np.asarray(g)), piece).numpy()
    return out

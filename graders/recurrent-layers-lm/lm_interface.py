"""How the grader calls a student's language model (Part 2 of recurrent-layers-lm).

Real notebooks follow the course's skeleton, not our template, and each student spells it
a little differently. Nothing here assumes an interface: constructors and functions are
called with the arguments their signatures name (``harness.checks.signature``), and how a
model wants its state and lays out its logits is found by probing it
(``discover_forward``). Whatever comes back from the student process is checked for type,
shape and finiteness before use, and every number a verdict rests on (a loss, a
perplexity) is computed here from fetched logits.

Used by ``conftest.py`` (fixtures) and ``test_language_model.py`` (the checks).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from harness.checks import Remote, StudentError, fail, signature, student_call

#: The grader's copy of the book in the submission (written by conftest.py).
BOOK_IN_SUBMISSION = "grader_book.txt"


def defined(student, lm, *names):
    have = set(student.op("dir", lm))
    missing = [n for n in names if n not in have]
    if missing:
        fail(f"your language model code defines no {', '.join(missing)}")
    return [getattr(lm, n) for n in names]


def call_text(name: str, args: list[Any], kwargs: Mapping[str, Any]) -> str:
    """A call as the report shows it."""

    def show(v: Any) -> str:
        if isinstance(v, Remote):
            return v._describe()
        if isinstance(v, torch.Tensor):
            return f"<tensor {tuple(v.shape)}>"
        if isinstance(v, dict | list) and len(v) > 6:
            return f"<{type(v).__name__} of {len(v)}>"
        return repr(v)

    shown = [show(a) for a in args] + [f"{k}={show(v)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(shown)})"


#: Constructor and function parameters by role: the skeleton's names, ours, and the
#: spellings students use.
BATCH_NAMES = frozenset({"batch_size", "bs", "batch", "batchsize", "bsz", "n_batch"})
SEQ_NAMES = frozenset({"seq_length", "seq_len", "sequence_length", "seqlen", "bptt"})
DROPOUT_NAMES = frozenset({"dropout", "dropout_rate", "drop_prob", "dropout_prob", "p_dropout"})
TRAIN_FLAG_NAMES = frozenset({"train", "is_train", "training", "train_mode"})
LOG_NAMES = ("log", "verbose")


def build_dataset(student, lm, seq, *, train):
    """The student's Dataset on the grader's passage, with the arguments its signature
    names: the skeleton's ``Dataset(seq_length, path, train=True, train_split=0.8,
    device)`` or ours; a required parameter nothing fills fails, named."""
    (Dataset,) = defined(student, lm, "Dataset")

    def fill(name):
        low = name.lower()
        if low in TRAIN_FLAG_NAMES:
            return train
        if low == "device":
            return "cpu"
        if "path" in low or "file" in low:  # data_path='/content/drive/...' by default
            return BOOK_IN_SUBMISSION
        return signature.MISSING

    params = signature.parameters(student, Dataset)
    names = {p.name.lower() for p in params or []}
    if train is False and params is not None and not names & TRAIN_FLAG_NAMES:
        return None, "Dataset takes no train flag"
    args, kwargs = signature.arguments(
        params,
        given={"seq_length": seq, "path": BOOK_IN_SUBMISSION},
        fill=fill,
        what="Dataset(...)",
    )
    shown = call_text("Dataset", args, kwargs)
    return student_call(
        student, Dataset, *args, want="handle", during=f"building {shown}", **kwargs
    ), shown


def vocabulary(student, dataset) -> list[str] | None:
    """The Dataset's words by id, found among its attributes (the skeleton's ``idx_data``
    or ``data_idx``, our ``vocab``, a student's ``word2idx``...), or None."""
    getattr_ = student.import_module("builtins").getattr
    best: list[str] | None = None
    for name in student.op("dir", dataset):
        if name.startswith("__"):
            continue
        try:
            handle = student.call(getattr_, dataset, name, want="handle", during=f"reading .{name}")
        except StudentError:
            continue
        if handle.remote_type not in ("builtins.dict", "builtins.list", "builtins.tuple"):
            continue
        try:
            value = student.fetch(handle)
        except StudentError:
            continue
        words = as_vocabulary(value)
        if words is not None and (best is None or len(words) > len(best)):
            best = words
    return best


def as_vocabulary(value: Any) -> list[str] | None:
    """id -> word as a list, from a list of distinct words or a dict word -> id / id -> word
    whose ids are 0..n-1; None for anything else."""
    if isinstance(value, list | tuple) and len(value) > 1:
        # distinct words: a list of the book's tokens is not a vocabulary
        if all(isinstance(w, str) for w in value) and len(set(value)) == len(value):
            return list(value)
        return None
    if not isinstance(value, dict) or len(value) < 2:
        return None
    pairs = list(value.items())
    if all(isinstance(k, str) and type(v) is int for k, v in pairs):
        pairs = [(v, k) for k, v in pairs]
    if not all(type(k) is int and isinstance(v, str) for k, v in pairs):
        return None
    by_id = dict(pairs)
    if sorted(by_id) != list(range(len(by_id))):
        return None
    return [by_id[i] for i in range(len(by_id))]


# -- the models -------------------------------------------------------------------


def build_model(student, lm, name, ntoken, *, batch, seq, dropout=None):
    """``name(ntoken, ...)`` with the hand-out's defaults, except what the constructor's
    signature names: a ``batch_size`` (real notebooks add one) gets the grader's batch,
    a ``seq_length`` its window, ``dropout`` what a check needs, ``device`` the CPU.
    Returns the remote model and the call as text."""
    (cls,) = defined(student, lm, name)

    def fill(param):
        low = param.lower()
        if low in BATCH_NAMES:
            return batch
        if low in SEQ_NAMES:
            return seq
        if low in DROPOUT_NAMES and dropout is not None:
            return dropout
        if low == "device":
            return "cpu"
        return signature.MISSING

    params = signature.parameters(student, cls)
    args, kwargs = signature.arguments(
        params, given={"ntoken": ntoken}, fill=fill, what=f"{name}(...)"
    )
    shown = call_text(name, args, kwargs)
    model = student_call(student, cls, *args, want="handle", during=f"building {shown}", **kwargs)
    return model, shown


#: Methods that give a model's initial state: the skeleton's ``initialize``, ours, and
#: the names of PyTorch's examples.
STATE_METHODS = ("initialize", "init_state", "init_hidden", "initHidden", "init_hidden_state")
#: How a model's logits may be laid out: (B, T, V), (T, B, V), or flattened rows in
#: batch-major or time-major order.
LAYOUTS = ("btv", "tbv", "flat-bt", "flat-tb")


@dataclass(frozen=True)
class Forward:
    """How a student's model is called, as ``discover_forward`` found it."""

    state: str  #: "absent" (forward(x)), "none" (forward(x, None)), "method" or "method(B)"
    method: str  #: the state method's name, e.g. "initialize"
    time_first: bool  #: the model reads (T, B) ids
    layout: str  #: one of LAYOUTS
    probabilities: bool  #: it returns softmax probabilities, not logits
    batch: int  #: the batch size it runs at
    context: bool = True  #: its logits depend on earlier words, not only on the current one

    def describe(self) -> str:
        state = {
            "absent": "",
            "none": ", None",
            "method": f", model.{self.method}()",
            "method(B)": f", model.{self.method}({self.batch})",
        }[self.state]
        x = "x.T (T, B)" if self.time_first else "x (B, T)"
        out = {
            "btv": "(B, T, V)",
            "tbv": "(T, B, V)",
            "flat-bt": "(B*T, V), batch-major",
            "flat-tb": "(T*B, V), time-major",
        }[self.layout]
        kind = "probabilities" if self.probabilities else "logits"
        return f"model({x}{state}) -> {kind} {out}, batches of {self.batch}"


class Runner:
    """Calls a student's model the way it was found to work; everything it returns is
    checked before use."""

    def __init__(self, student, model, forward: Forward, ntoken: int, name: str) -> None:
        self.student = student
        self.model = model
        self.forward = forward
        self.ntoken = ntoken
        self.name = name

    def state(self) -> Any:
        f = self.forward
        if f.state in ("absent", "none"):
            return None
        method = getattr(self.model, f.method)
        args = (f.batch,) if f.state == "method(B)" else ()
        return self.student.call(
            method, *args, want="handle", during=f"calling {self.name}.{f.method}"
        )

    def call(self, x: torch.Tensor, state: Any, during: str) -> Remote:
        """The model's whole output (a remote) for ids x (B, T)."""
        if self.forward.time_first:
            x = x.t().contiguous()
        args = (x,) if self.forward.state == "absent" else (x, state)
        return self.student.call(self.model, *args, want="handle", during=during)

    def logits(self, out: Remote) -> Remote:
        return out[0] if out.remote_type in ("builtins.tuple", "builtins.list") else out

    def rows(self, logits: Remote, y: torch.Tensor) -> tuple[Remote, torch.Tensor]:
        """(rows (N, V) in the student process, targets (N,) in the same order)."""
        rows = logits.reshape(-1, self.ntoken)
        if self.forward.layout in ("tbv", "flat-tb"):
            return rows, y.t().reshape(-1)
        return rows, y.reshape(-1)

    def loss(self, rows: Remote, targets: torch.Tensor) -> Remote:
        """Cross-entropy in the student process, for training (never for a verdict)."""
        functional = self.student.import_module("torch.nn.functional")
        if self.forward.probabilities:
            return functional.nll_loss(rows.clamp(min=1e-12).log(), targets)
        return functional.cross_entropy(rows, targets)

    def fetch(self, logits: Remote, batch: int, seq: int, what: str) -> np.ndarray:
        """The logits as a float64 (B, T, V) array, or a failed check saying what came."""
        value = self.student.fetch(logits)
        return as_btv(value, self.forward.layout, batch, seq, self.ntoken, what)


def as_btv(value: Any, layout: str, B: int, T: int, V: int, what: str) -> np.ndarray:
    if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
        fail(f"{what} must be a float tensor; got {type(value).__name__}")
    if value.size != B * T * V:
        fail(f"{what} has shape {value.shape}; expected (B, T, V) = {(B, T, V)}")
    a = value.astype(np.float64)
    if layout in ("btv", "flat-bt"):
        a = a.reshape(B, T, V)
    else:
        a = a.reshape(T, B, V).transpose(1, 0, 2)
    if not np.all(np.isfinite(a)):
        fail(f"{what} holds NaN or infinite values")
    return a


def cross_entropy_sum(a: np.ndarray, y: np.ndarray, probabilities: bool) -> float:
    """sum over positions of -log p(y | ...), from logits (or probabilities) (B, T, V)."""
    picked = np.take_along_axis(a, y[..., None], axis=-1)[..., 0]
    if probabilities:
        return float(-np.log(np.clip(picked, 1e-300, None)).sum())
    top = a.max(axis=-1, keepdims=True)
    lse = top[..., 0] + np.log(np.exp(a - top).sum(axis=-1))
    return float((lse - picked).sum())


def looks_like_probabilities(a: np.ndarray) -> bool:
    return bool(a.min() >= 0.0 and np.abs(a.sum(axis=-1) - 1.0).max() < 1e-3)


def discover_forward(student, model, name, ntoken, seq, batch) -> Runner:
    """How the model wants to be called, found by trying what the skeleton and real
    notebooks do, in eval mode, on one batch of random ids:

    * the state: ``None`` (first when ``forward``'s state has a default), the model's
      own ``initialize(B)`` / ``initialize()`` (or another name of ``STATE_METHODS``), or
      no state argument when ``forward`` takes only x; at the grader's batch size, then
      at the batch size ``initialize()`` gives, for models built for one batch size;
    * batch-first (B, T) ids, then time-first (T, B);
    * the logits' layout, read from their shape and from a probe: one word of window 1
      is changed, and only window 1's logits from that position on may change. This tells
      (B*T, V) rows in batch-major from time-major order, and it fails a model whose
      logits mix windows or see later words. Whether the logits after that position
      change too (the recurrence carries the word on) is kept in ``Forward.context``.

    Returns a ``Runner``, or fails the check naming what went wrong in every attempt.
    """
    torch_ = student.import_module("torch")
    names = set(student.op("dir", model))
    fwd = signature.parameters(student, model.forward)
    takes = [p for p in fwd or [] if p.kind in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")]
    options: list[tuple[str, str]] = []
    if fwd is not None and len(takes) == 1 and not any(p.kind == "VAR_POSITIONAL" for p in fwd):
        options = [("absent", "")]
    else:
        init: list[tuple[str, str]] = []
        for method in (m for m in STATE_METHODS if m in names):
            params = signature.parameters(student, getattr(model, method))
            fillable = [
                p for p in params or [] if p.kind in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")
            ]
            if params is None or fillable:
                init.append(("method(B)", method))
            if params is None or all(p.has_default for p in fillable):
                init.append(("method", method))
        state_optional = len(takes) >= 2 and takes[1].has_default
        options = [("none", ""), *init] if state_optional else [*init, ("none", "")]

    student.call(model.eval, during=f"calling {name}.eval()")
    torch_.set_grad_enabled(False)
    attempts: list[str] = []
    verdicts: set[str] = set()
    try:
        batches = [batch]
        for B in batches:
            rng = np.random.default_rng(B)
            x = torch.from_numpy(rng.integers(0, ntoken, (B, seq)))
            k = seq // 2
            x2 = x.clone()
            x2[1, k] = (x2[1, k] + 1) % ntoken
            for state, method in options:
                for time_first in (False, True):
                    forward = Forward(state, method, time_first, "btv", False, B)
                    runner = Runner(student, model, forward, ntoken, name)
                    what = f"{name}: {forward.describe().split(' ->')[0]}"
                    try:
                        logits = runner.logits(runner.call(x, runner.state(), during=what))
                    except StudentError as exc:
                        attempts.append(f"{what} raised {exc.summary()}")
                        if state == "method" and not time_first:
                            B2 = state_batch(student, runner)
                            if B2 and B2 not in batches:
                                batches.append(B2)
                        continue
                    shape = logits.remote_shape
                    layouts = [
                        lay
                        for lay, want in (
                            ("btv", (B, seq, ntoken)),
                            ("tbv", (seq, B, ntoken)),
                            ("flat-bt", (B * seq, ntoken)),
                            ("flat-tb", (B * seq, ntoken)),
                        )
                        if shape == want
                    ]
                    if not layouts:
                        attempts.append(
                            f"{what} returned logits of shape {shape}; expected (B, T, V) = "
                            f"{(B, seq, ntoken)}"
                        )
                        continue
                    first = student.fetch(logits)
                    second = student.fetch(
                        runner.logits(runner.call(x2, runner.state(), during=what))
                    )
                    for layout in layouts:
                        a = as_btv(first, layout, B, seq, ntoken, f"{name}'s logits")
                        b = as_btv(second, layout, B, seq, ntoken, f"{name}'s logits")
                        verdict = probe_verdict(a, b, k)
                        if not verdict:
                            found = Forward(
                                state,
                                method,
                                time_first,
                                layout,
                                looks_like_probabilities(a),
                                B,
                                context=bool(changed(a, b)[1, k + 1 :].any()),
                            )
                            return Runner(student, model, found, ntoken, name)
                        verdicts.add(verdict)
                    attempts.append(f"{what}: {PROBE_PROBLEMS[min(verdicts)]}")
    finally:
        torch_.set_grad_enabled(True)
    if "causal" in verdicts:
        fail(
            f"{name}'s logits at a position change when a later word of the window changes: "
            "a language model predicts each next word from the words before it only (a "
            "bidirectional layer, or a state taken from the end of the window?)"
        )
    shown = "\n".join(f"- {a}" for a in dict.fromkeys(attempts))
    fail(f"{name} could not be run on a batch of {batch} windows of {seq} ids:\n{shown}")
    raise AssertionError("unreachable")


PROBE_PROBLEMS = {
    "causal": "its logits at earlier positions changed when a later word changed",
    "samples": "changing one word of window 1 changed the logits of other windows "
    "(are batch and time axes swapped, or is dropout on in eval mode?)",
}


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(B, T): where the logits of two runs differ."""
    return (np.abs(a - b) > 1e-5 + 1e-5 * np.abs(a)).any(axis=-1)


def probe_verdict(a: np.ndarray, b: np.ndarray, k: int) -> str:
    """'' when only window 1's logits from position k on differ between a and b."""
    where = changed(a, b)
    others = where.copy()
    others[1] = False
    if others.any():
        return "samples"
    if where[1, :k].any():
        return "causal"
    return ""


def state_batch(student, runner: Runner) -> int | None:
    """The batch size of the state ``initialize()`` gives: (L, B, H) or (h, c) of them."""
    try:
        state = runner.state()
        if state.remote_type in ("builtins.tuple", "builtins.list"):
            state = state[0]
        shape = state.remote_shape
    except (StudentError, AttributeError, TypeError):
        return None
    if shape is None or len(shape) not in (2, 3):
        return None
    b = shape[-2]
    return b if 1 < b <= 1024 else None


# -- calling the student's functions ------------------------------------------------------

CRITERION_NAMES = frozenset({"criterion", "loss_fn", "loss_function", "lossfn", "crit", "loss"})
OPTIMIZER_NAMES = frozenset({"optimizer", "optim", "opt"})
MODEL_NAMES = frozenset({"model", "net", "network", "lm"})


def function_fill(*, model, criterion, loader, dataset, batch, optimizer=None):
    """Values for a function's parameters by name: ``dataloader`` / ``loader`` / ... get a
    DataLoader, ``dataset`` / ``data`` ... a Dataset when the function also takes a batch
    size (it makes its own loader), else the DataLoader."""

    def fill_for(params):
        low_names = {p.name.lower() for p in params or []}
        makes_loader = bool(low_names & BATCH_NAMES)

        def fill(name):
            low = name.lower()
            if low in MODEL_NAMES:
                return model
            if low in CRITERION_NAMES:
                return criterion
            if low in OPTIMIZER_NAMES and optimizer is not None:
                return optimizer
            if low in BATCH_NAMES:
                return batch
            if "loader" in low or low in ("iterator", "batches"):
                return loader
            if "data" in low or low in ("ds", "train_set", "val_set", "eval_set", "valid_set"):
                return dataset if makes_loader else loader
            if low == "device":
                return "cpu"
            return signature.MISSING

        return fill

    return fill_for


@dataclass(frozen=True)
class Called:
    """What a call of a student's function gave."""

    value: Any
    shown: str  #: the call as text
    note: str = ""  #: why a logging argument was changed, for the report
    log: Mapping[str, bool] | None = None  #: the logging argument that made it run


def call_function(student, fn, name, given, fill_for, during, **overrides) -> Called:
    """Call the student's ``fn`` with the arguments its signature names. ``log`` keeps its
    default; if that call raises, it is tried with ``log=False``, then ``True``: what a
    function prints is not graded (real notebooks' logging branches read names their own
    runs never define). Pass ``Called.log`` back as ``overrides`` to repeat the call."""
    params = signature.parameters(student, fn)
    names = [p.name for p in params or []]
    args, kwargs = signature.arguments(
        params, given=given, fill=fill_for(params), what=f"{name}(...)"
    )
    kwargs.update({k: v for k, v in overrides.items() if k in names})
    shown = call_text(name, args, kwargs)
    try:
        return Called(student.call(fn, *args, during=f"{during}: {shown}", **kwargs), shown)
    except StudentError as exc:
        log = next((n for n in names if n in LOG_NAMES and n not in kwargs), None)
        if log is None:
            raise
        for value in (False, True):
            try:
                result = student.call(
                    fn, *args, during=f"{during}: {shown}", **kwargs, **{log: value}
                )
            except StudentError:
                continue
            note = (
                f"{shown} raised {exc.type} ({exc.message[:200]}); with {log}={value} it runs, "
                f"and what {name} prints is not graded"
            )
            return Called(result, call_text(name, args, {**kwargs, log: value}), note, {log: value})
        raise


def as_loss(value: Any, what: str) -> tuple[float, float | None]:
    """(loss, perplexity or None) from what evaluate or train_one_epoch returned: a
    number, or a tuple whose first item is the loss (real notebooks return
    ``(loss, perplexity)``)."""
    items = list(value) if isinstance(value, tuple | list) else [value]
    numbers = []
    for item in items[:2]:
        if item is None or isinstance(item, str | bytes | dict):
            break
        try:
            numbers.append(float(np.asarray(item, dtype=np.float64).reshape(())))
        except (TypeError, ValueError):
            break
    if not numbers:
        fail(f"{what} must return the mean loss (a number); got {type(value).__name__}")
    return numbers[0], (numbers[1] if len(numbers) > 1 else None)


def remote_loader(student, X: torch.Tensor, Y: torch.Tensor, batch: int, *, shuffle: bool):
    """(TensorDataset, DataLoader) of windows in the student process."""
    data = student.import_module("torch.utils.data")
    dataset = data.TensorDataset(X, Y)
    return dataset, data.DataLoader(dataset, batch_size=batch, shuffle=shuffle)


def trusted_loss(runner: Runner, X: torch.Tensor, Y: torch.Tensor, *, carry: bool = False):
    """Mean cross-entropy per token over the windows (X, Y), in eval mode, in batches of the
    runner's size (the last one padded with the first windows, whose losses are not
    counted), computed here from the fetched logits. Each batch starts from a fresh state,
    or (``carry``) from the state the previous batch returned, as the skeleton's loops
    do; None when the model returns no state to carry."""
    student, B = runner.student, runner.forward.batch
    torch_ = student.import_module("torch")
    student.call(runner.model.eval, during=f"calling {runner.name}.eval()")
    torch_.set_grad_enabled(False)
    total, n, T = 0.0, len(X), X.shape[1]
    try:
        state = runner.state()
        for i in range(0, n, B):
            idx = np.arange(i, i + B) % n
            during = f"calling {runner.name} on windows {i}..{min(i + B, n) - 1}"
            out = runner.call(X[idx], state, during=during)
            if carry:
                if out.remote_type not in ("builtins.tuple", "builtins.list"):
                    return None
                state = out[1]
            else:
                state = runner.state()
            a = runner.fetch(runner.logits(out), B, T, f"{runner.name}'s logits")
            real = min(B, n - i)
            y = Y[idx][:real].numpy()
            total += cross_entropy_sum(a[:real], y, runner.forward.probabilities)
    finally:
        torch_.set_grad_enabled(True)
    return total / Y.numel()


def snapshot(student, model) -> dict[str, np.ndarray]:
    params = student.op("parameters", model, want="value")
    if not isinstance(params, dict) or not all(isinstance(v, np.ndarray) for v in params.values()):
        fail("the model's parameters could not be read")
    return params


def largest_change(before: Mapping[str, np.ndarray], after: Mapping[str, np.ndarray]) -> float:
    changes = [
        float(np.abs(after[k].astype(np.float64) - before[k]).max())
        for k in before
        if k in after and after[k].shape == before[k].shape and before[k].size
    ]
    if not changes:
        return 0.0
    biggest = max(changes)
    return biggest if math.isfinite(biggest) else math.inf


# -- the grader's brief training ---------------------------------------------------------


def brief_training(
    runner: Runner,
    corpus,
    settings,
    seed,
    steps,
    *,
    reached: Callable[[], bool] | None = None,
) -> tuple[list[tuple[int, float]], int]:
    """The grader's loop: ``steps`` of Adam on the cross-entropy of batches of random
    training windows, gradient norm clipped, every window from a fresh state; returns the
    curve of (step, training loss) and the steps run (counted in batches of
    ``lm_batch``). Every ``lm_check_every`` steps it asks ``reached`` (which decides on the
    trusted side) and stops when it says so."""
    student, model = runner.student, runner.model
    torch_ = student.import_module("torch")
    params = student.import_module("builtins").list(model.parameters())
    optimizer = torch_.optim.Adam(params, lr=settings["lm_lr"])
    clip = student.import_module("torch.nn.utils").clip_grad_norm_
    zero_grad, step_fn = optimizer.zero_grad, optimizer.step
    X, Y = corpus.train
    B = runner.forward.batch
    # A model built for another batch size sees as many windows in all.
    scale = settings["lm_batch"] / B
    steps = max(1, round(steps * scale))
    every = max(1, round(settings.get("lm_check_every", 0) * scale)) if reached else 0
    rng = np.random.default_rng(seed)
    curve = []
    student.call(model.train, during=f"calling {runner.name}.train()")
    step = 0
    for step in range(1, steps + 1):
        idx = torch.from_numpy(rng.integers(0, len(X), B))
        out = runner.call(X[idx], runner.state(), during=f"calling {runner.name} in training")
        loss = runner.loss(*runner.rows(runner.logits(out), Y[idx]))
        zero_grad()
        loss.backward()
        clip(params, settings["lm_clip"])
        step_fn()
        if step % 25 == 0 or step == 1:
            curve.append((step, float(student.fetch(loss))))
        if every and step % every == 0 and step < steps:
            assert reached is not None
            if reached():
                break
            student.call(model.train, during=f"calling {runner.name}.train()")
    return curve, round(step / scale)


def train_to_bar(
    runner: Runner, corpus, settings, seed, steps, bar: float, vx, vy
) -> tuple[list[tuple[int, float]], int, float]:
    """``brief_training`` that stops once the validation perplexity on (vx, vy) is at
    most ``bar``: (curve, steps run, that perplexity). The student process's estimate
    only says when to measure; the perplexity computed here from the fetched logits
    (``trusted_loss``) decides whether the loop stops, and is the one returned."""
    measured: list[float] = []

    def reached() -> bool:
        estimate = estimated_loss(runner, vx, vy)
        if estimate is None or not math.exp(estimate) <= bar:
            return False
        measured.append(math.exp(trusted_loss(runner, vx, vy)))
        return measured[-1] <= bar

    curve, ran = brief_training(runner, corpus, settings, seed, steps, reached=reached)
    stopped = bool(measured) and measured[-1] <= bar
    return curve, ran, measured[-1] if stopped else math.exp(trusted_loss(runner, vx, vy))


def estimated_loss(runner: Runner, X: torch.Tensor, Y: torch.Tensor) -> float | None:
    """Mean cross-entropy per token over the whole batches of windows (X, Y), in eval mode,
    computed in the student process: only a hint of when to measure (``trusted_loss``
    decides); None where the value that came back is not one finite number."""
    student, B = runner.student, runner.forward.batch
    torch_ = student.import_module("torch")
    student.call(runner.model.eval, during=f"calling {runner.name}.eval()")
    torch_.set_grad_enabled(False)
    losses = []
    try:
        for i in range(0, len(X) - B + 1, B):
            out = runner.call(X[i : i + B], runner.state(), during=f"calling {runner.name}")
            losses.append(runner.loss(*runner.rows(runner.logits(out), Y[i : i + B])))
        values = [_number(student.fetch(loss)) for loss in losses]
    finally:
        torch_.set_grad_enabled(True)
    finite = [v for v in values if v is not None]
    return sum(finite) / len(finite) if finite and len(finite) == len(values) else None


def _number(value: Any) -> float | None:
    """A fetched scalar as a finite float, else None."""
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind == "f":
        value = float(value)
    if isinstance(value, float | int) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None

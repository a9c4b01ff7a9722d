"""Checks of recurrent-layers-lm (seed 003). Test files reach the check bodies through the
``checks`` fixture (pytest's importlib mode: ``import conftest`` fails).

Part 1 (numpy layers) uses the shared differential checks of
``harness.checks.numpy_layers``. Part 2 (the language model) is below: the student's
``Dataset`` on a passage of Pride and Prejudice against the reference's; the models'
interfaces and parameter counts against the formulas; ``evaluate`` and
``train_one_epoch`` on small seeded data; ``generate``; and the grader's own brief
training of ``RNNModel`` and ``GatedModel``, on token ids the grader makes itself (so a
faulty ``Dataset`` costs only its own checks), judged by validation perplexity against
the reference's at the same budget.
"""

from __future__ import annotations

import importlib
import math
import shutil
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from harness.checks import fail, numpy_layers, student_call
from harness.checks.reference import reference_root
from harness.report.plots import series
from harness.session import StudentError

LAYERS_FILE = "blg561/blg561/layer/recurrent_layers.py"
#: Files of the template the student does not write; put back when left out of the ZIP.
GIVEN = (
    "blg561/blg561/__init__.py",
    "blg561/blg561/layer/__init__.py",
    "blg561/blg561/layer/layers_with_weights.py",
    "data.py",
)
LM_FILES = ("language_model.py", "LanguageModelling.ipynb")
BOOK = Path(__file__).parent / "data" / "prideprejudice.txt"
BOOK_IN_SUBMISSION = "grader_book.txt"  # a passage of the book, for the student's Dataset
PASSAGE_LINES = 3000


@pytest.fixture(scope="session")
def checks():
    """The check bodies: numpy_layers' for Part 1, this module's for Part 2."""
    return SimpleNamespace(layers=numpy_layers, lm=sys.modules[__name__])


@pytest.fixture(scope="session", autouse=True)
def _prepare_submission(spec, submission, student):
    """Before the student process starts: the given files the ZIP left out, and the
    passage of the book the Dataset checks read.

    Whatever edition the student wrote against (the 2020 blg561/ package, the 2024 DL/
    one), the layout has put their files at the template's places. A package file they
    left out is put back empty: the template's would import classes their edition may
    not have (the 2024 edition has no GRULayer).
    """
    template = spec.root.parent.parent / "student_template" / spec.name
    for relative in GIVEN:
        target = submission.root / relative
        if target.exists() or not (template / relative).is_file():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.name == "__init__.py":
            target.write_text('"""Put back by the grader: the ZIP had no package file."""\n')
            what = "an empty package file was used"
        else:
            shutil.copyfile(template / relative, target)
            what = "the template's copy was used"
        student.notes.append(f"{relative} was not in the ZIP: {what}")
    (submission.root / BOOK_IN_SUBMISSION).write_text(passage_text(), encoding="utf-8")
    student.on_start.append(("cpu_only", ()))
    student.on_start.append(("add_sys_path", ("blg561",)))


# ---------------------------------------------------------------------------- Part 1


@pytest.fixture(scope="session")
def layers_module(student):
    """The student's blg561.layer.recurrent_layers, imported as the package's tests do."""
    try:
        return student.import_module("blg561.layer.recurrent_layers")
    except StudentError as exc:
        fail(f"{LAYERS_FILE} does not import: {exc.summary()}")


@pytest.fixture(scope="session")
def reference_layers(spec):
    root = str(reference_root(spec) / "blg561")
    if root not in sys.path:
        sys.path.insert(0, root)
    return importlib.import_module("blg561.layer.recurrent_layers")


@pytest.fixture
def layer_grading(request, student, layers_module, reference_layers, settings, grading_seed):
    """The Grading of the layer named by the test module's ``LAYER``."""
    kind = numpy_layers.KINDS[request.module.LAYER]
    editions = settings["editions_without"].get(kind.cls)
    if editions and kind.cls not in student.op("dir", layers_module):
        fail(
            f"recurrent_layers.py defines no class {kind.cls}: the course's {editions} has "
            "none, but this hand-out asks for one"
        )
    return numpy_layers.Grading(
        student, layers_module, reference_layers, kind, settings, grading_seed
    )


# ---------------------------------------------------------------------------- Part 2


@pytest.fixture(scope="session")
def lm(student, submission):
    """The student's language-model code, definitions only (module or notebook)."""
    for relative in LM_FILES:
        if submission.has(relative):
            try:
                return student.load(relative, module="language_model", mode="definitions")
            except StudentError as exc:
                fail(f"{relative} does not load: {exc.summary()}")
    fail("neither language_model.py nor LanguageModelling.ipynb is in the submission")


@pytest.fixture(scope="session")
def reference_lm(spec):
    root = str(reference_root(spec))
    if root not in sys.path:
        sys.path.insert(0, root)
    return importlib.import_module("language_model")


def defined(student, lm, *names):
    have = set(student.op("dir", lm))
    missing = [n for n in names if n not in have]
    if missing:
        fail(f"your language model code defines no {', '.join(missing)}")
    return [getattr(lm, n) for n in names]


# -- the data ---------------------------------------------------------------------


def passage_text() -> str:
    return "\n".join(BOOK.read_text(encoding="utf-8").splitlines()[:PASSAGE_LINES])


@pytest.fixture(scope="session")
def passage(tmp_path_factory):
    """The passage on the trusted side, for the reference's Dataset."""
    path = tmp_path_factory.mktemp("book") / "passage.txt"
    path.write_text(passage_text(), encoding="utf-8")
    return path


def build_dataset(student, lm, seq, *, train, min_count=2):
    (Dataset,) = defined(student, lm, "Dataset")
    return student_call(
        student,
        Dataset,
        seq,
        BOOK_IN_SUBMISSION,
        train=train,
        min_count=min_count,
        want="handle",
        during=f"building Dataset({seq}, 'book.txt', train={train}, min_count={min_count})",
    )


def remote_attr(student, obj, name, what):
    return student_call(
        student, student.import_module("builtins").getattr, obj, name, during=f"reading {what}"
    )


def vocabulary(student, dataset, what) -> list[str]:
    """``dataset.vocab`` as a list of words, or a failed check saying what it is instead."""
    vocab = remote_attr(student, dataset, "vocab", what)
    if not isinstance(vocab, list | tuple) or not all(isinstance(w, str) for w in vocab):
        fail(f"{what} must be a list of words (id -> word); it is a {type(vocab).__name__}")
    return list(vocab)


def check_vocabulary(student, lm, reference_lm, passage):
    seq = 7
    ref = reference_lm.Dataset(seq, str(passage), train=True)
    ds = build_dataset(student, lm, seq, train=True)
    vocab = vocabulary(student, ds, "Dataset.vocab")
    problems = vocabulary_problems(list(vocab), ref.vocab)
    val = build_dataset(student, lm, seq, train=False)
    if vocabulary(student, val, "the validation Dataset's vocab") != vocab:
        problems.append(
            "the validation Dataset (train=False) has another vocabulary than the training one: "
            "both must build it from the training part"
        )
    rare = build_dataset(student, lm, seq, train=True, min_count=5)
    expected_rare = reference_lm.Dataset(seq, str(passage), train=True, min_count=5).vocab
    rare_vocab = vocabulary(student, rare, "Dataset(min_count=5).vocab")
    if not problems and rare_vocab != expected_rare:
        problems.append(
            f"with min_count=5 the vocabulary should have {len(expected_rare)} entries (words seen "
            f"at least 5 times in the training part, and <unk>); yours has {len(rare_vocab)}"
        )
    if problems:
        fail("\n".join(problems))


def vocabulary_problems(got: list[str], expected: list[str]) -> list[str]:
    if not got or got[0] != "<unk>":
        return [f"vocab[0] must be '<unk>'; yours starts with {got[:3]!r}"]
    if len(got) != len(expected):
        extra = sorted(set(got) - set(expected))[:5]
        lacking = sorted(set(expected) - set(got))[:5]
        return [
            f"the vocabulary should have {len(expected)} entries ('<unk>' and every word seen "
            f"at least min_count=2 times in the training part, the first 80% of the tokens); "
            f"yours has {len(got)}"
            + (f"; not expected: {extra}" if extra else "")
            + (f"; missing: {lacking}" if lacking else "")
        ]
    for i, (a, b) in enumerate(zip(got, expected, strict=True)):
        if a != b:
            return [
                f"vocab[{i}] is {a!r}, expected {b!r}: words go by decreasing count, ties in "
                f"alphabetical order (the words are right, the order is not)"
                if set(got) == set(expected)
                else f"vocab[{i}] is {a!r}, expected {b!r}: the vocabulary holds other words "
                "(tokenize the text with the given tokenize(), count the training part only)"
            ]
    return []


def check_windows(student, lm, reference_lm, passage):
    seq = 7
    problems = []
    for train in (True, False):
        ref = reference_lm.Dataset(seq, str(passage), train=train)
        ds = build_dataset(student, lm, seq, train=train)
        part = "training" if train else "validation"
        n = student_call(
            student,
            student.import_module("builtins").len,
            ds,
            during=f"len() of the {part} Dataset",
        )
        if n != len(ref):
            problems.append(
                f"len() of the {part} Dataset is {n}, expected {len(ref)}: (number of tokens - 1) "
                f"// seq_length non-overlapping windows"
            )
            continue
        vocab = vocabulary(student, ds, "Dataset.vocab")
        for i in (0, 1, len(ref) - 1):
            item = student_call(
                student,
                student.import_module("operator").getitem,
                ds,
                i,
                during=f"reading item {i} of the {part} Dataset",
            )
            problem = window_problem(item, ref, i, vocab, seq)
            if problem:
                problems.append(f"{part} item {i}: {problem}")
                break
    if problems:
        fail("\n".join(problems))


def window_problem(item, ref, i, vocab, seq) -> str:
    if not isinstance(item, tuple | list) or len(item) != 2:
        return "an item must be a pair (x, y) of int64 tensors"
    try:
        x, y = (np.asarray(v) for v in item)
    except (TypeError, ValueError):
        return "x and y must be int64 tensors of token ids"
    if x.shape != (seq,) or y.shape != (seq,):
        return f"x and y must have shape ({seq},); got {x.shape} and {y.shape}"
    if not (np.issubdtype(x.dtype, np.integer) and np.issubdtype(y.dtype, np.integer)):
        return f"x and y must hold token ids (int64), got {x.dtype} and {y.dtype}"
    if not np.array_equal(x[1:], y[:-1]):
        return "y must be x shifted by one word: y[t] is the word that follows x[t]"
    ref_x, ref_y = (r.numpy() for r in ref[i])
    words = [vocab[int(t)] if 0 <= int(t) < len(vocab) else "?" for t in (*x, y[-1])]
    expected = [ref.vocab[int(t)] for t in (*ref_x, ref_y[-1])]
    # Compare words, not ids, so that a wrong vocabulary costs only the vocabulary check.
    same = all(a == b or "<unk>" in (a, b) for a, b in zip(words, expected, strict=True))
    if not same:
        return (
            f"the window should hold the words {expected[:-1]} (item i starts at token "
            f"i * seq_length); yours holds {words[:-1]}"
        )
    return ""


def check_perplexity(student, lm):
    (perplexity,) = defined(student, lm, "perplexity")
    for loss in (0.0, 2.5, 5.8):
        got = student_call(student, perplexity, loss, during=f"calling perplexity({loss})")
        try:
            value = float(np.asarray(got, dtype=np.float64).reshape(()))
        except (TypeError, ValueError):
            fail(f"perplexity({loss}) must return a number; got a {type(got).__name__}")
        if not math.isclose(value, math.exp(loss), rel_tol=1e-6):
            fail(
                f"perplexity({loss}) should be exp({loss}) = {math.exp(loss):.6g}; got {value:.6g}"
            )


# -- the models -------------------------------------------------------------------

SMALL = {"embed_size": 12, "hidden_size": 10, "hidden_layers": 2, "seq_length": 6}


def build_model(student, cls, name, ntoken, *, dropout=0.0, want="handle", **extra):
    args = {**SMALL, "dropout": dropout, **extra}
    shown = ", ".join(f"{k}={v!r}" for k, v in args.items())
    return student_call(
        student, cls, ntoken, want=want, during=f"building {name}({ntoken}, {shown})", **args
    )


def expected_parameters(cell: str, ntoken: int) -> int:
    E, H, L = SMALL["embed_size"], SMALL["hidden_size"], SMALL["hidden_layers"]
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    recurrent = sum(gates * (size * H + H * H + 2 * H) for size in [E] + [H] * (L - 1))
    return ntoken * E + recurrent + H * ntoken + ntoken


def check_model(student, lm, name, cell, grading_seed):
    (cls,) = defined(student, lm, name)
    V, B, T = 23, 3, SMALL["seq_length"]
    L, H = SMALL["hidden_layers"], SMALL["hidden_size"]
    student.reseed(grading_seed)
    extra = {"cell": cell} if name == "GatedModel" else {}
    label = f"{name}" + (f"(cell={cell!r})" if extra else "")
    model = build_model(student, cls, label, V, **extra)
    x = torch.from_numpy(np.random.default_rng(grading_seed).integers(0, V, (B, T)))
    out = student_call(
        student, model, x, None, want="handle", during=f"calling {label}(x (B={B}, T={T}), None)"
    )
    value = student.fetch(out)
    if not isinstance(value, tuple | list) or len(value) != 2:
        fail(f"{label}.forward must return (logits, state); got {type(value).__name__}")
    logits, state = value
    if np.shape(logits) != (B, T, V):
        fail(f"{label}: logits must have shape (B, T, V) = {(B, T, V)}; got {np.shape(logits)}")
    want_state = ((L, B, H), (L, B, H)) if cell == "lstm" else (L, B, H)
    got_state = (
        tuple(np.shape(s) for s in state) if isinstance(state, tuple | list) else np.shape(state)
    )
    if got_state != want_state:
        form = (
            "a tuple (h, c) of two (L, B, H) tensors" if cell == "lstm" else "one (L, B, H) tensor"
        )
        fail(f"{label}: the state must be {form} = {want_state}; got {got_state}")
    student_call(
        student,
        model,
        x,
        out[1],
        want="handle",
        during=f"calling {label}(x, state) with the state it returned",
    )
    params = student.op("parameters", model, want="value")
    count = sum(int(np.prod(p.shape)) for p in params.values())
    expected = expected_parameters(cell, V)
    if count != expected:
        E = SMALL["embed_size"]
        fail(
            f"{label} with V={V}, embed_size={E}, hidden_size={H}, hidden_layers={L} should have "
            f"{expected} parameters (embedding V*E, {L} {cell.upper()} layers, decoder H*V + V); "
            f"yours has {count}"
        )


def check_evaluate(student, lm, grading_seed):
    RNNModel, evaluate = defined(student, lm, "RNNModel", "evaluate")
    V, n, T = 29, 40, SMALL["seq_length"]
    rng = np.random.default_rng(grading_seed)
    X = torch.from_numpy(rng.integers(0, V, (n, T)))
    Y = torch.from_numpy(rng.integers(0, V, (n, T)))
    student.reseed(grading_seed)
    model = build_model(student, RNNModel, "RNNModel", V, dropout=0.5)
    dataset = student.import_module("torch.utils.data").TensorDataset(X, Y)
    criterion = student.import_module("torch.nn").CrossEntropyLoss()
    during = "calling evaluate(model, dataset, nn.CrossEntropyLoss(), batch_size=16)"
    first = as_number(
        student_call(student, evaluate, model, dataset, criterion, 16, during=during), "evaluate"
    )
    second = as_number(
        student_call(student, evaluate, model, dataset, criterion, 16, during=during), "evaluate"
    )
    student.call(model.eval, during="calling model.eval()")
    logits = student.fetch(
        student_call(student, model, X, None, want="handle", during="calling the model")[0]
    )
    try:
        logits = np.asarray(logits, dtype=np.float64).reshape(n * T, V)
    except (TypeError, ValueError):
        fail(f"evaluate is checked on RNNModel's logits, which must be a (B, T, V) tensor (V={V})")
    losses = F.cross_entropy(torch.from_numpy(logits), Y.reshape(-1), reduction="none").reshape(
        n, T
    )
    expected = float(losses.mean())
    batch_means = float(np.mean([float(losses[i : i + 16].mean()) for i in range(0, n, 16)]))
    if not math.isclose(first, second, rel_tol=1e-6):
        fail(
            f"evaluate gave {first:.6f} and then {second:.6f} for the same model and data: dropout "
            "is still on. Call model.eval() in evaluate (and model.train() in train_one_epoch)."
        )
    if math.isclose(first, expected, rel_tol=1e-5):
        return
    if math.isclose(first, batch_means, rel_tol=1e-5):
        fail(
            f"evaluate returned {first:.6f}, the mean of the batch means; the mean per token over "
            f"the whole set is {expected:.6f}: with {n} windows in batches of 16 the last batch is "
            "smaller, so weight each batch's loss by its number of tokens"
        )
    fail(
        f"evaluate returned {first:.6f}; the mean cross-entropy per token of this model is "
        f"{expected:.6f}"
    )


def as_number(value, what) -> float:
    try:
        return float(np.asarray(value, dtype=np.float64).reshape(()))
    except (TypeError, ValueError):
        fail(f"{what} must return a number (the mean loss per token); got a {type(value).__name__}")


def check_train_one_epoch(student, lm, grading_seed, evidence):
    RNNModel, train_one_epoch = defined(student, lm, "RNNModel", "train_one_epoch")
    V, n, T = 17, 64, SMALL["seq_length"]
    start = np.random.default_rng(grading_seed).integers(0, V, (n, 1))
    X = torch.from_numpy((start + np.arange(T)) % V)  # each next word is the id plus one
    Y = torch.from_numpy((start + np.arange(1, T + 1)) % V)
    student.reseed(grading_seed)
    model = build_model(student, RNNModel, "RNNModel", V)
    before = student.op("parameters", model, want="value")
    torch_ = student.import_module("torch")
    optimizer = torch_.optim.Adam(
        student.import_module("builtins").list(model.parameters()), lr=1e-2
    )
    dataset = student.import_module("torch.utils.data").TensorDataset(X, Y)
    criterion = student.import_module("torch.nn").CrossEntropyLoss()
    losses = []
    for epoch in range(1, 6):
        value = student_call(
            student,
            train_one_epoch,
            model,
            dataset,
            optimizer,
            criterion,
            8,
            during="calling train_one_epoch(model, dataset, Adam, nn.CrossEntropyLoss(), 8), "
            f"epoch {epoch}",
        )
        losses.append(as_number(value, "train_one_epoch"))
    after = student.op("parameters", model, want="value")
    evidence.table(
        name="epochs",
        columns=["epoch", "training loss"],
        rows=[[i + 1, round(v, 4)] for i, v in enumerate(losses)],
        title="train_one_epoch on a toy sequence (each next word is the id plus one)",
    )
    if all(np.array_equal(before[k], after[k]) for k in before):
        fail(
            "train_one_epoch did not change the model's parameters: call optimizer.step() after "
            "loss.backward()"
        )
    if not all(math.isfinite(v) for v in losses):
        fail(f"train_one_epoch returned {losses}: the loss must be a finite number")
    if not losses[-1] < 0.8 * losses[0]:
        fail(
            f"the training loss did not go down over 5 epochs on an easy sequence (each next word "
            f"is the id plus one): {', '.join(f'{v:.3f}' for v in losses)}"
        )


def check_generate(student, lm, grading_seed, evidence):
    RNNModel, generate = defined(student, lm, "RNNModel", "generate")
    ds = build_dataset(student, lm, SMALL["seq_length"], train=True)
    vocab = vocabulary(student, ds, "Dataset.vocab")
    student.reseed(grading_seed)
    model = build_model(student, RNNModel, "RNNModel", len(vocab))
    prompt, length = "it is a truth universally acknowledged", 12
    text = student_call(
        student,
        generate,
        model,
        ds,
        prompt,
        length,
        temperature=1.0,
        during=f"calling generate(model, dataset, {prompt!r}, {length}, temperature=1.0)",
    )
    if not isinstance(text, str):
        fail(
            f"generate must return the words joined by spaces (a str); got a {type(text).__name__}"
        )
    evidence.text(name="sample", text=text, title="generate() with an untrained RNNModel")
    words = text.split()
    if len(words) != length:
        fail(
            f"generate(..., length={length}) must return {length} sampled words (not the "
            f"prompt); got {len(words)}: {text[:200]!r}"
        )
    unknown = sorted({w for w in words if w not in set(vocab)})
    if unknown:
        fail(f"generate returned words that are not in the vocabulary: {unknown[:5]}")


# -- brief training ------------------------------------------------------------------


@pytest.fixture(scope="session")
def corpus(reference_lm, settings):
    """The book's token ids by the reference's rules: training windows and validation windows."""
    T = settings["lm_seq"]
    train = reference_lm.Dataset(T, str(BOOK), train=True)
    val = reference_lm.Dataset(T, str(BOOK), train=False)

    def windows(data):
        n = (len(data) - 1) // T
        ids = data[: n * T + 1]
        return ids[:-1].reshape(n, T), ids[1:].reshape(n, T)

    counts = Counter(train.data.tolist())
    probs = np.array([counts.get(i, 0) + 1 for i in range(train.ntoken)], dtype=np.float64)
    probs /= probs.sum()
    vx, vy = windows(val.data)
    vy_eval = vy[: settings["lm_eval_windows"]].numpy()
    unigram = float(np.exp(-np.log(probs[vy_eval]).mean()))
    return SimpleNamespace(
        ntoken=train.ntoken, train=windows(train.data), val=(vx, vy), unigram=unigram
    )


def brief_training(student, model, corpus, settings, seed):
    """The grader's loop: Adam, cross-entropy, gradient norm clipped; returns (perplexity,
    curve of (step, training loss))."""
    torch_ = student.import_module("torch")
    functional = student.import_module("torch.nn.functional")
    params = student.import_module("builtins").list(model.parameters())
    optimizer = torch_.optim.Adam(params, lr=settings["lm_lr"])
    clip = student.import_module("torch.nn.utils").clip_grad_norm_
    zero_grad, step_fn, cross_entropy = (
        optimizer.zero_grad,
        optimizer.step,
        functional.cross_entropy,
    )
    X, Y = corpus.train
    V = corpus.ntoken
    rng = np.random.default_rng(seed)
    curve = []
    student.call(model.train, during="calling model.train()")
    for step in range(1, settings["lm_steps"] + 1):
        idx = torch.from_numpy(rng.integers(0, len(X), settings["lm_batch"]))
        out = student.call(
            model, X[idx], None, want="handle", during="calling the model in training"
        )
        loss = cross_entropy(out[0].reshape(-1, V), Y[idx].reshape(-1))
        zero_grad()
        loss.backward()
        clip(params, settings["lm_clip"])
        step_fn()
        if step % 25 == 0 or step == 1:
            curve.append((step, float(student.fetch(loss))))
    return validation_perplexity(student, model, corpus, settings), curve


def validation_perplexity(student, model, corpus, settings) -> float:
    torch_ = student.import_module("torch")
    functional = student.import_module("torch.nn.functional")
    student.call(model.eval, during="calling model.eval()")
    torch_.set_grad_enabled(False)
    vx, vy = (v[: settings["lm_eval_windows"]] for v in corpus.val)
    total = 0.0
    try:
        for i in range(0, len(vx), 100):
            out = student.call(
                model,
                vx[i : i + 100],
                None,
                want="handle",
                during="calling the model on validation windows",
            )
            loss = functional.cross_entropy(
                out[0].reshape(-1, corpus.ntoken), vy[i : i + 100].reshape(-1), reduction="sum"
            )
            total += float(student.fetch(loss))
    finally:
        torch_.set_grad_enabled(True)
    return math.exp(total / vy.numel())


def check_training(student, lm, name, corpus, settings, grading_seed, evidence):
    (cls,) = defined(student, lm, name)
    key = "rnn" if name == "RNNModel" else "lstm"
    bar = settings[f"{key}_reference_perplexity"] * settings["lm_margin"]
    student.reseed(grading_seed)
    during = f"building {name}({corpus.ntoken}) with the hand-out's defaults"
    model = student_call(student, cls, corpus.ntoken, want="handle", during=during)
    try:
        ppl, curve = brief_training(student, model, corpus, settings, grading_seed)
        retried = False
        if not ppl <= bar:
            # A correct model whose own initialisation learns slowly is still correct.
            student.op("reset_parameters", model)
            ppl2, curve2 = brief_training(student, model, corpus, settings, grading_seed)
            retried = ppl2 < ppl
            if retried:
                ppl, curve = ppl2, curve2
    except StudentError as exc:
        fail(f"training {name} with the grader's loop failed: {exc.summary()}")
    record_training(evidence, name, curve, ppl, bar, corpus, settings, key, retried)
    if not math.isfinite(ppl) or not ppl <= bar:
        fail(
            f"after {settings['lm_steps']} steps of the grader's training (Adam lr "
            f"{settings['lm_lr']:g}, batches of {settings['lm_batch']} windows of "
            f"{settings['lm_seq']} words) the validation perplexity of your {name} is {ppl:.1f}; "
            f"the reference reaches {settings[f'{key}_reference_perplexity']:.1f} with the same "
            f"budget and the bar is {bar:.1f}. Predicting word frequencies alone gives "
            f"{corpus.unigram:.0f}. Check forward: embedding, the recurrent layers, the decoder "
            "applied to every step's output, logits (not probabilities) returned."
        )


def record_training(evidence, name, curve, ppl, bar, corpus, settings, key, retried):
    evidence.data(
        name="loss",
        value=series(
            figure="lm-training-loss",
            title="Training loss in the grader's loop",
            x="step",
            y="cross-entropy",
            label=f"your {name}",
            points=curve,
        ),
    )
    evidence.table(
        name="perplexity",
        columns=["model", "validation perplexity"],
        rows=[
            [
                f"your {name}"
                + (" (retried from PyTorch's default initialisation)" if retried else ""),
                round(ppl, 1),
            ],
            ["reference (calibrated)", settings[f"{key}_reference_perplexity"]],
            ["bar", round(bar, 1)],
            ["word frequencies only", round(corpus.unigram, 1)],
        ],
        title=f"{name} after {settings['lm_steps']} steps",
    )

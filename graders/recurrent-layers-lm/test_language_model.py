"""Part 2: the word-level language model. Points are in assignment.toml.

The hand-out judges the models by their validation perplexity (at most 120 on Pride and
Prejudice) and asks, in the notebook, for a Dataset of sliding windows, RNNModel and
GatedModel (LSTM or GRU), train_one_epoch with optional gradient clipping, evaluate, and
generate by sampling. Each check calls the student's code as its signature asks
(``lm_interface``): the course's skeleton, our template or a student's own spelling, with
``google.colab`` and ``device='cuda'`` left to the sandbox's stand-ins. What a function
prints is never graded, and every loss and perplexity a verdict rests on is computed here
from the logits the student's model returns.
"""

import math
from dataclasses import dataclass

import numpy as np
import torch
from lm_interface import (
    as_loss,
    build_dataset,
    build_model,
    call_function,
    defined,
    discover_forward,
    function_fill,
    largest_change,
    remote_loader,
    snapshot,
    train_to_bar,
    trusted_loss,
    vocabulary,
)

from harness.checks import StudentError, fail, signature, student_call


def test_dataset_windows(student, lm, settings, evidence):
    """Dataset: item i is (data, target) of seq_length ids, the target the next words
    ("uses sliding window"); train=False gives the other part, numbered the same way."""
    T = settings["lm_seq"]
    train, shown = build_dataset(student, lm, T, train=True)
    operator = student.import_module("operator")
    length = student_call(
        student, student.import_module("builtins").len, train, during=f"len({shown})"
    )
    if type(length) is not int or length < 2:
        fail(f"len() of {shown} is {length!r}; a book of 3000 lines has thousands of windows")
    items = [
        student_call(student, operator.getitem, train, i, during=f"reading item {i} of {shown}")
        for i in (0, 1, length - 1)
    ]
    x0, y0 = window(items[0], 0, T)
    x1, _ = window(items[1], 1, T)
    window(items[2], length - 1, T)
    stream = np.concatenate([x0, y0[-1:]])  # the words item 0 covers, targets included
    stride = next((s for s in range(1, T + 1) if np.array_equal(x1[: T + 1 - s], stream[s:])), 0)
    if not stride:
        fail(
            "item 1 does not continue the text of item 0: with a sliding window, item i "
            f"starts i*s words into the book (s = 1 or {T}); item 0 is {x0.tolist()}, item 1 "
            f"{x1.tolist()}"
        )
    vocab = vocabulary(student, train)
    rows = [["len(training set)", length], ["window step", stride]]
    val, val_shown = build_dataset(student, lm, T, train=False)
    if val is None:
        evidence.text(name="no-validation", text=f"{val_shown}: only the training set checked")
    else:
        vx, _ = window(
            student_call(
                student, operator.getitem, val, 0, during=f"reading item 0 of {val_shown}"
            ),
            0,
            T,
        )
        if np.array_equal(vx, x0):
            fail(
                f"{val_shown} gives the same first window as the training set: train=False "
                "must give the validation part (the text after the training split)"
            )
        val_vocab = vocabulary(student, val)
        if vocab is not None and val_vocab is not None and val_vocab != vocab:
            fail(
                "the validation set numbers the words differently from the training set "
                f"({len(val_vocab)} and {len(vocab)} words): both must use one lexicon, "
                "or the validation perplexity means nothing"
            )
    if vocab is not None:
        rows.append(["vocabulary", len(vocab)])
        rows.append(["item 0 as words", " ".join(vocab[i] for i in x0 if 0 <= i < len(vocab))])
        if max(int(x0.max()), int(y0.max()), int(x1.max())) >= len(vocab):
            fail(f"the windows hold ids beyond the vocabulary's {len(vocab)} words")
    evidence.table(name="dataset", columns=["", "your Dataset"], rows=rows, title=shown)


def window(item, i, T):
    """(x, y) of an item as int64 arrays, or a failed check naming what is wrong."""
    if not isinstance(item, tuple | list) or len(item) != 2:
        fail(f"item {i} must be a pair (data, target); got {type(item).__name__}")
    x, y = (np.asarray(v) for v in item)
    if x.shape != (T,) or y.shape != (T,):
        fail(
            f"item {i}: data and target must each hold seq_length = {T} ids; got "
            f"{x.shape} and {y.shape}"
        )
    if not (np.issubdtype(x.dtype, np.integer) and np.issubdtype(y.dtype, np.integer)):
        fail(f"item {i}: data and target must hold word ids (integers); got {x.dtype}, {y.dtype}")
    if np.array_equal(x, y):
        fail(f"item {i}: the target is the data itself; it must be the next words, y[t] = x[t+1]")
    if not np.array_equal(x[1:], y[:-1]):
        fail(
            f"item {i}: the target must be the data shifted by one word (y[t] is the word "
            f"after x[t]); data {x.tolist()}, target {y.tolist()}"
        )
    return x.astype(np.int64), y.astype(np.int64)


# -- the functions ------------------------------------------------------------------------

#: Small seeded problems: V words, windows of T, batches of B (B != T, so that a shape
#: tells the batch axis from the time axis).
V, T, B = 29, 8, 16


def test_evaluate(student, lm, grading_seed):
    """evaluate: the mean cross-entropy per word over the whole set, with dropout off."""
    (evaluate,) = defined(student, lm, "evaluate")
    rng = np.random.default_rng(grading_seed)
    X = torch.from_numpy(rng.integers(0, V, (3 * B, T)))
    Y = torch.from_numpy(rng.integers(0, V, (3 * B, T)))
    student.reseed(grading_seed)
    model, built = build_model(student, lm, "RNNModel", V, batch=B, seq=T, dropout=0.5)
    runner = discover_forward(student, model, "RNNModel", V, T, B)
    expected = [trusted_loss(runner, X, Y), trusted_loss(runner, X, Y, carry=True)]
    student.call(model.train, during="calling model.train()")
    dataset, loader = remote_loader(student, X, Y, B, shuffle=False)
    criterion = student.import_module("torch.nn").CrossEntropyLoss()
    fill = function_fill(model=model, criterion=criterion, loader=loader, dataset=dataset, batch=B)
    given = {"model": model, "criterion": criterion, "dataloader": loader}
    called = call_lm_function(student, evaluate, "evaluate", given, fill, built)
    again = call_lm_function(
        student, evaluate, "evaluate", given, fill, built, **(called.log or {})
    )
    shown = called.shown
    (first, ppl), (second, _) = as_loss(called.value, "evaluate"), as_loss(again.value, "evaluate")
    if not math.isclose(first, second, rel_tol=1e-6):
        fail(
            f"{shown} gave {first:.6f} and then {second:.6f} for the same model and data: "
            "dropout is still on. Call model.eval() in evaluate (and model.train() in "
            "train_one_epoch)."
        )
    matches = [e for e in expected if e is not None and math.isclose(first, e, rel_tol=1e-5)]
    if not matches:
        if math.isclose(first, math.exp(expected[0]), rel_tol=1e-5):
            return  # it returns the perplexity itself: a metric, as the hand-out asks
        fail(
            f"{shown} returned {first:.6f}; the mean cross-entropy per word of this model on "
            f"these {len(X)} windows (batches of {B}) is {expected[0]:.6f}"
            + loss_hint(first, expected[0], len(X), len(X) // B, T)
        )
    if ppl is not None and not math.isclose(ppl, math.exp(first), rel_tol=1e-4):
        fail(
            f"{shown} returned the loss {first:.6f} and the perplexity {ppl:.6g}; the "
            f"perplexity is exp(mean cross-entropy) = {math.exp(first):.6g}"
        )


def loss_hint(got, expected, windows, batches, T) -> str:
    for factor, why in (
        (
            windows / batches,
            "the summed batch means divided by the number of windows "
            "(len(dataset)) instead of the number of batches (len(dataloader))",
        ),
        (batches, "the sum of the batch losses, not their mean"),
        (1 / T, "a mean per window, not per word"),
    ):
        if math.isclose(got * factor, expected, rel_tol=1e-4) or math.isclose(
            got, expected * factor, rel_tol=1e-4
        ):
            return f": it looks like {why}"
    return ""


def call_lm_function(student, fn, name, given, fill, built, **overrides):
    """The student's function, called as its signature asks; its exception fails the
    check with the student's message and the model it was given."""
    try:
        return call_function(student, fn, name, given, fill, f"with {built}", **overrides)
    except StudentError as exc:
        if exc.type == "NotImplementedError" and exc.message:
            fail(exc.message)
        fail(exc.summary())


def test_train_one_epoch(student, lm, grading_seed, evidence):
    """train_one_epoch: one pass of optimiser steps over the loader that lowers the loss
    (measured here, on an easy sequence: each next word is the id plus one)."""
    (train_one_epoch,) = defined(student, lm, "train_one_epoch")
    X, Y = easy_windows(grading_seed, 4 * B)
    student.reseed(grading_seed)
    model, built = build_model(student, lm, "RNNModel", V, batch=B, seq=T)
    runner = discover_forward(student, model, "RNNModel", V, T, B)
    before_loss, before = trusted_loss(runner, X, Y), snapshot(student, model)
    student.call(model.train, during="calling model.train()")
    torch_ = student.import_module("torch")
    optimizer = torch_.optim.Adam(
        student.import_module("builtins").list(model.parameters()), lr=1e-2
    )
    dataset, loader = remote_loader(student, X, Y, B, shuffle=True)
    criterion = student.import_module("torch.nn").CrossEntropyLoss()
    fill = function_fill(
        model=model,
        criterion=criterion,
        loader=loader,
        dataset=dataset,
        batch=B,
        optimizer=optimizer,
    )
    given = {"model": model, "criterion": criterion, "optimizer": optimizer, "dataloader": loader}
    calls = [call_lm_function(student, train_one_epoch, "train_one_epoch", given, fill, built)]
    for _epoch in range(4):
        calls.append(
            call_lm_function(
                student,
                train_one_epoch,
                "train_one_epoch",
                given,
                fill,
                built,
                **(calls[0].log or {}),
            )
        )
    shown = calls[0].shown
    after_loss, after = trusted_loss(runner, X, Y), snapshot(student, model)
    evidence.table(
        name="epochs",
        columns=["", "cross-entropy (measured by the grader)"],
        rows=[["before", round(before_loss, 4)], ["after 5 epochs", round(after_loss, 4)]],
        title=f"{shown} on an easy sequence (each next word is the id plus one)",
    )
    if calls[0].note:
        evidence.text(name="log", text=calls[0].note)
    if largest_change(before, after) == 0.0:
        fail(
            f"{shown} did not change the model's parameters: call optimizer.step() after "
            "loss.backward()"
        )
    if not after_loss < 0.8 * before_loss:
        fail(
            f"5 epochs of {shown} on an easy sequence (each next word is the id plus one) took "
            f"the loss from {before_loss:.3f} to {after_loss:.3f}; it should fall by a fifth"
        )
    for call in calls:
        loss, _ = as_loss(call.value, "train_one_epoch")
        if not math.isfinite(loss):
            fail(f"{shown} returned {loss}: the mean training loss must be a finite number")


def easy_windows(seed, n):
    """n windows of T ids in which each next word is the id plus one (mod V)."""
    start = np.random.default_rng(seed).integers(0, V, (n, 1))
    X = torch.from_numpy((start + np.arange(T)) % V)
    Y = torch.from_numpy((start + np.arange(1, T + 1)) % V)
    return X, Y


#: train_one_epoch's parameters that switch clipping on and that give its threshold.
CLIP_FLAGS = ("grad_clip", "clip_grad", "gradient_clipping", "use_clip", "clipping", "do_clip")
CLIP_VALUES = (
    "clip_val",
    "clip_value",
    "max_norm",
    "clip_norm",
    "clip",
    "max_grad_norm",
    "grad_norm",
)
CLIP = 1e-3


def test_gradient_clipping(student, lm, grading_seed, evidence):
    """With clipping on, train_one_epoch clips the gradients after backward and before the
    optimiser step: one epoch of plain SGD (lr 1) then moves no weight by more than the
    threshold per step (clipping by norm or by value)."""
    (train_one_epoch,) = defined(student, lm, "train_one_epoch")
    params = signature.parameters(student, train_one_epoch) or []
    names = [p.name for p in params]
    flag = next((n for n in names if n.lower() in CLIP_FLAGS), None)
    value = next((n for n in names if n.lower() in CLIP_VALUES and n != flag), None)
    if flag is None and value is None:
        evidence.for_review(
            "train_one_epoch takes no clipping argument (grad_clip/clip_val): the grader "
            "could not check the gradient clipping the hand-out asks for"
        )
        return
    overrides = {flag: True, value: CLIP} if flag and value else {(flag or value): CLIP}
    X, Y = easy_windows(grading_seed + 1, 4 * B)
    student.reseed(grading_seed)
    model, built = build_model(student, lm, "RNNModel", V, batch=B, seq=T)
    before = snapshot(student, model)
    student.call(model.train, during="calling model.train()")
    torch_ = student.import_module("torch")
    optimizer = torch_.optim.SGD(student.import_module("builtins").list(model.parameters()), lr=1.0)
    dataset, loader = remote_loader(student, X, Y, B, shuffle=False)
    criterion = student.import_module("torch.nn").CrossEntropyLoss()
    fill = function_fill(
        model=model,
        criterion=criterion,
        loader=loader,
        dataset=dataset,
        batch=B,
        optimizer=optimizer,
    )
    given = {"model": model, "criterion": criterion, "optimizer": optimizer, "dataloader": loader}
    shown = call_lm_function(
        student, train_one_epoch, "train_one_epoch", given, fill, built, **overrides
    ).shown
    moved = largest_change(before, snapshot(student, model))
    steps = len(X) // B
    if not moved <= steps * CLIP * (1 + 1e-3) + 1e-7:
        fail(
            f"after {shown} (one epoch of {steps} batches, SGD with lr 1) a weight moved by "
            f"{moved:.3g}; with the gradients clipped at {CLIP:g} no weight moves more than "
            f"{steps * CLIP:g}. Clip after loss.backward() and before optimizer.step() "
            "(torch.nn.utils.clip_grad_norm_(model.parameters(), clip_val))"
        )


def test_generate(student, lm, corpus, grading_seed, evidence):
    """generate: words sampled from the model's output distribution (not the argmax), from
    the vocabulary, after the given history."""
    (generate,) = defined(student, lm, "generate")
    params = signature.parameters(student, generate) or []
    wants_dataset = any(p.name.lower() in ("dataset", "ds", "corpus", "train_set") for p in params)
    n = 12
    if wants_dataset:  # our template: generate(model, dataset, prompt, length, temperature)
        dataset, _ = build_dataset(student, lm, 20, train=True)
        vocab = vocabulary(student, dataset)
        if vocab is None:
            fail("generate takes the Dataset, whose vocabulary (id -> word) could not be found")
    else:  # the skeleton: generate(model, data, data_idx_dict, idx_data_dict, len_hist, len_gen)
        dataset, vocab = None, corpus.vocab
    history = [vocab[int(i)] for i in corpus.val[0][0][:8] if int(i) < len(vocab)] or vocab[1:9]
    student.reseed(grading_seed)
    model, built = build_model(student, lm, "RNNModel", len(vocab), batch=1, seq=20)
    student.call(model.eval, during="calling model.eval()")
    to_id = {w: i for i, w in enumerate(vocab)}

    def fill_for(_params):
        def fill(name):
            low = name.lower()
            if low in ("model", "net"):
                return model
            if low in ("dataset", "ds", "corpus", "train_set"):
                return dataset
            if low in ("prompt", "start", "seed_text", "start_text", "primer", "text"):
                return " ".join(history)
            if (
                "idx" in low
                and low.index("idx") > 0
                or low in ("word2idx", "word_to_idx", "stoi", "w2i")
            ):
                return dict(to_id)
            if "idx" in low or low in ("idx2word", "itos", "i2w"):
                return dict(enumerate(vocab))
            if "hist" in low:
                return len(history)
            if "gen" in low or low in ("length", "n_words", "num_words", "n", "size"):
                return n
            if low in ("data", "history", "words", "context"):
                return list(history)
            if low == "device":
                return "cpu"
            return signature.MISSING

        return fill

    given = {"model": model, "data": list(history)}
    texts, log = [], {}
    for seed in (1, 2):
        student.reseed(grading_seed + seed)
        called = call_lm_function(student, generate, "generate", given, fill_for, built, **log)
        value, shown, log = called.value, called.shown, dict(called.log or {})
        if isinstance(value, list | tuple) and all(isinstance(w, str) for w in value):
            value = " ".join(value)
        if not isinstance(value, str):
            fail(f"{shown} must return the text (a str); got {type(value).__name__}")
        texts.append(value)
    evidence.text(name="sample", text=texts[0], title=f"{shown} with an untrained RNNModel")
    known = set(vocab)
    for text in texts:
        words = text.split()
        if len(words) < n:
            fail(f"{shown} should generate {n} words; it returned {len(words)}: {text[:200]!r}")
        unknown = sorted({w for w in words[-n:] if w not in known})
        if unknown:
            fail(f"{shown} returned words that are not in the vocabulary: {unknown[:5]}")
    if texts[0].split()[-n:] == texts[1].split()[-n:]:
        fail(
            f"{shown} generated the same {n} words with two different random seeds from an "
            "untrained model: it takes the argmax. Sample the next word from the output "
            "distribution (torch.multinomial on the softmax), as the hand-out asks"
        )


# -- the grader's brief training ------------------------------------------------------------


def test_rnn_perplexity(student, lm, corpus, settings, grading_seed, evidence):
    """RNNModel, after the grader's brief training, is within the margin of the
    reference's validation perplexity with the same budget."""
    trained = grader_training(student, lm, "RNNModel", corpus, settings, grading_seed, evidence)
    reference, bar = settings["rnn_reference_perplexity"], trained.bar
    if not trained.perplexity <= bar:
        fail(
            f"after {trained.steps} steps of the grader's training (Adam lr "
            f"{settings['lm_lr']:g}, batches of {settings['lm_batch']} windows of "
            f"{settings['lm_seq']} words) the validation perplexity of your RNNModel is "
            f"{trained.perplexity:.1f}; the reference reaches {reference:.1f} with the same "
            f"budget and the bar is {bar:.1f}. Predicting word frequencies alone gives "
            f"{corpus.unigram:.0f}. {CHECK_FORWARD}"
        )


def test_gated_perplexity(student, lm, corpus, settings, grading_seed, evidence):
    """GatedModel (LSTM or GRU: the student chooses), after the grader's brief training,
    is within the margin of the slower reference cell's validation perplexity."""
    trained = grader_training(student, lm, "GatedModel", corpus, settings, grading_seed, evidence)
    reference, bar = settings["gated_reference_perplexity"], trained.bar
    if not trained.perplexity <= bar:
        fail(
            f"after {trained.steps} steps of the grader's training (Adam lr "
            f"{settings['lm_lr']:g}, batches of {settings['lm_batch']} windows of "
            f"{settings['lm_seq']} words) the validation perplexity of your GatedModel is "
            f"{trained.perplexity:.1f}; the reference reaches {reference:.1f} with the same "
            f"budget and the bar is {bar:.1f}. Predicting word frequencies alone gives "
            f"{corpus.unigram:.0f}. {CHECK_FORWARD}"
        )


CHECK_FORWARD = (
    "Check forward: the embedding, the recurrent layers, the decoder applied to every "
    "step's output, logits returned."
)


@dataclass(frozen=True)
class Trained:
    perplexity: float  #: on the first lm_eval_windows validation windows
    bar: float  #: the reference's perplexity times lm_margin
    steps: int


def grader_training(student, lm, name, corpus, settings, grading_seed, evidence) -> Trained:
    """The grader's own loop on its own token ids (Adam, batches of random windows of 20
    words, each from a fresh state), from the model's initial weights and, when that does
    worse than the bar, once more from PyTorch's defaults; the validation perplexity is
    computed here from the model's logits on the first validation windows, and the loop
    stops once it is below the bar (``train_to_bar``). A model whose
    logits do not depend on the words before (no recurrence) fails whatever its
    perplexity."""
    key = "rnn" if name == "RNNModel" else "gated"
    reference, steps = settings[f"{key}_reference_perplexity"], settings[f"{key}_steps"]
    bar = reference * settings["lm_margin"]
    T = settings["lm_seq"]
    student.reseed(grading_seed)
    model, built = build_model(student, lm, name, corpus.ntoken, batch=settings["lm_batch"], seq=T)
    runner = discover_forward(student, model, name, corpus.ntoken, T, settings["lm_batch"])
    if not runner.forward.context:
        fail(
            f"the logits of your {name} at a position do not depend on the words before it: "
            "changing one word changed only the prediction made at that word. The recurrent "
            "layers must carry the state from word to word (is the embedding passed straight "
            "to the decoder, or the state reset at every step?)"
        )
    vx, vy = (v[: settings["lm_eval_windows"]] for v in corpus.val)
    try:
        curve, ran, ppl = train_to_bar(runner, corpus, settings, grading_seed, steps, bar, vx, vy)
        retried = False
        if not ppl <= bar:
            # A correct model whose own initialisation learns slowly is still correct.
            student.op("reset_parameters", model)
            curve2, ran2, ppl2 = train_to_bar(
                runner, corpus, settings, grading_seed, steps, bar, vx, vy
            )
            retried = ppl2 < ppl
            if retried:
                ppl, curve, ran = ppl2, curve2, ran2
    except StudentError as exc:
        fail(f"training {built} with the grader's loop failed: {exc.summary()}")
    record_training(
        evidence, name, built, runner, curve, ppl, bar, reference, ran, steps, corpus, retried
    )
    return Trained(ppl, bar, ran)


def record_training(
    evidence, name, built, runner, curve, ppl, bar, reference, ran, budget, corpus, retried
):
    # The loop stops at the bar, so how soon a model gets there ranks the class (a
    # model that never does is not ranked).
    evidence.leaderboard(
        name=f"{name} steps to the perplexity bar",
        value=float(ran) if ppl <= bar else float("nan"),
        order="asc",
    )
    evidence.text(
        name="interface",
        text=f"{built}; called as {runner.forward.describe()}",
        title=f"How the grader calls your {name}",
    )
    evidence.series(
        name="loss",
        figure="lm-training-loss",
        title="Training loss in the grader's loop",
        x="step",
        y="cross-entropy",
        label=f"your {name}",
        points=curve,
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
            ["reference (calibrated)", reference],
            ["bar", round(bar, 1)],
            ["word frequencies only", round(corpus.unigram, 1)],
        ],
        title=(
            f"{name} after {ran} of at most {budget} steps (the loop stops once the "
            "perplexity, computed by the grader from your model's logits, is below the bar)"
        ),
    )

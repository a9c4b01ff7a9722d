"""Task 2.1: the hidden-state line of task2_min_char_rnn.py (line 41 in the hand-out).
Points are in assignment.toml.

Every check calls the student's lossFun with seeded weights and compares it with the
reference's on the same inputs: the forward pass first (where the line is), then the
given backward pass, sample, and the script's Adagrad loop.
"""

import numpy as np
from char_lab import globals_setter
from rnn_lossfun import (
    GRADIENTS,
    HIDDEN_STATE,
    HIDDEN_STATE_CODE,
    RNN_TOL,
    RnnCase,
    RnnResult,
    adagrad_run,
    forward_matches,
    mistakes_explaining,
    reference_lossfun,
    rnn_case,
    run_lossfun,
    script_weights,
    try_lossfun,
    unpack_lossfun,
    wrong_gradient_shape,
)

from harness.checks import describe_mismatch, fail, not_run, student_call


def test_file_loads(student, rnn, text, settings, handout):
    """The file loads definitions-only and lossFun runs (right or wrong)."""
    names = student.op("dir", rnn)
    for name in ("lossFun", "sample"):
        if name not in names:
            fail(f"{handout.rnn_file} defines no function {name}: keep the template's functions")
    case = rnn_case(text.vocab_size, settings["hidden"])
    run_lossfun(student, rnn, case, line=handout.hidden_state_line)


def test_hidden_state(student, rnn, rnn_reference, text, settings, handout, evidence):
    """Loss and last hidden state equal the reference's; otherwise name the mistake."""
    H, line = settings["hidden"], handout.hidden_state_line
    main = rnn_case(text.vocab_size, H, seed=1)
    got = try_lossfun(student, rnn, main, line=line)
    want = reference_lossfun(rnn_reference, main)
    if isinstance(got, RnnResult) and forward_matches(got, want.loss, want.h):
        return
    # A case with vocab_size == hidden size, where swapped or transposed weights still run.
    square = rnn_case(H, H, seed=2)
    results = [got, try_lossfun(student, rnn, square, line=line)]
    mistakes = mistakes_explaining([main, square], results)
    if mistakes:
        fail(
            f"line {line} computes the hidden state with a mistake: "
            f"{'; or '.join(mistakes)}. It should compute {HIDDEN_STATE}, i.e. "
            f"{HIDDEN_STATE_CODE}"
        )
    if isinstance(got, str):
        fail(got)
    if got.h.shape != want.h.shape:
        fail(
            f"the last hidden state hs[len(inputs)-1] has shape {got.h.shape}; it must be "
            f"(hidden_size, 1) = {want.h.shape}, a column vector like bh: {HIDDEN_STATE_CODE}"
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
        f"lossFun's forward pass differs from {HIDDEN_STATE} (the reference's, same "
        f"weights, inputs and hprev), and no single classic mistake explains it:\n"
        f"{message.strip()}"
    )


def test_gradients(student, rnn, rnn_reference, text, settings, handout):
    """The five gradients equal the reference's (the backward pass is given)."""
    case = rnn_case(text.vocab_size, settings["hidden"], seed=3)
    got = run_lossfun(student, rnn, case, line=handout.hidden_state_line)
    want = reference_lossfun(rnn_reference, case)
    if shape := wrong_gradient_shape(got, case):
        fail(shape)
    wrong = {
        n: describe_mismatch(want.grads[n], got.grads[n], what=n, **RNN_TOL) for n in GRADIENTS
    }
    wrong = {n: m for n, m in wrong.items() if m}
    if wrong and not forward_matches(got, want.loss, want.h):
        fail(
            f"the gradients {', '.join(wrong)} differ from the reference's because the forward "
            f"pass does (see the hidden-state check): the given backward pass is right only "
            f"for {HIDDEN_STATE}"
        )
    if wrong:
        fail(
            f"the loss and hidden state are right but the gradients are not: the backward pass "
            f"below line {handout.hidden_state_line} is given, so restore the template's "
            "version.\n" + "\n".join(wrong.values())
        )


def test_sample(student, rnn, text, settings, handout):
    """sample(h, seed_ix, n), from the state lossFun returns, gives n character indices."""
    H = settings["hidden"]
    case = rnn_case(text.vocab_size, H, seed=4)
    result = try_lossfun(student, rnn, case, line=handout.hidden_state_line)
    if isinstance(result, str):
        not_run(
            "lossFun, which failed",
            because="sample is called with the hidden state lossFun returns, as in the "
            f"training loop: {result}",
        )
    h = result.h if result.h.shape == (H, 1) else case.hprev
    n = 12
    indices = student_call(
        student, rnn.sample, h, case.inputs[0], n, during=f"calling sample(h, seed_ix, {n})"
    )
    if not isinstance(indices, list | tuple | np.ndarray) or len(indices) != n:
        fail(f"sample(h, seed_ix, {n}) must return {n} character indices (got {indices!r})")
    V = case.vocab_size
    bad = [
        ix
        for ix in list(indices)
        if not (isinstance(ix, int | float) and float(ix).is_integer() and 0 <= ix < V)
    ]
    if bad:
        fail(f"sample must return indices in range(vocab_size) = range({V}): {bad}")


def test_training_reduces_loss(student, rnn, rnn_reference, text, settings, handout, evidence):
    """The script's Adagrad loop with the student's lossFun: the loss falls, as with the
    reference's."""
    H, V, steps = settings["hidden"], text.vocab_size, settings["rnn_steps"]
    line = handout.hidden_state_line
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
            hint=f"Check line {line}: {HIDDEN_STATE}",
        )
        result = unpack_lossfun(value)
        if shape := wrong_gradient_shape(result, case):
            fail(shape)
        return result.loss, result.grads, result.h

    def reference_run(w, inputs, targets, hprev):
        result = reference_lossfun(rnn_reference, RnnCase(w, inputs, targets, hprev))
        return result.loss, result.grads, result.h

    weights = script_weights(V, H)
    losses: list[float] = []  # filled as the loop runs (the messages count iterations)
    # The weights are updated here with your gradients; the reference's lossFun measures
    # each iteration's weights on the same characters: that loss decides (issue 14).
    measured: list[float] = []
    adagrad_run(
        student_lossfun,
        text,
        weights,
        steps=steps,
        losses=losses,
        measure=reference_run,
        measured=measured,
    )
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
            f"(the reference reaches {ref_last:.2f}). Check line {line}: {HIDDEN_STATE}"
        )
    true_first, true_last = np.mean(measured[:window]), np.mean(measured[-window:])
    if not true_last < ratio * true_first:
        fail(
            f"in {steps} iterations of the script's Adagrad loop your lossFun's loss went "
            f"from {first:.2f} to {last:.2f}, but the weights its gradients gave, measured "
            f"by the reference's lossFun on the same characters, went only from "
            f"{true_first:.2f} to {true_last:.2f}: the loss it reports is not the loss of "
            f"what it learned. Check line {line}: {HIDDEN_STATE}"
        )

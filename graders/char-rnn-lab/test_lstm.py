"""Task 2.3: _charLSTM, criterion (line 43) and hprev/cprev (lines 98-99) of
task3_min_char_lstm.py, as the hand-out numbers them. Points are in assignment.toml.

The model is built from the module globals the script's skipped top level would have
made, at the grader's hidden size (or at the one a class hard-codes: the hand-out sets
none). Its forward is compared with the reference's nn.LSTM + nn.Linear holding the same
weights, and trained briefly by the grader's own loop; the loop's state lines are read
from the source.
"""

import ast
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from char_lab import reference_definitions
from loop_states import detached_later, detaches, is_reset, state_assignments, training_loop
from lstm_model import (
    LSTM_TOL,
    TrustedLSTM,
    build_lstm,
    copy_reference_weights,
    cross_entropy,
    fetch_parameters,
    forward_parts,
    hardcoded_hidden,
    lstm_forward,
    lstm_globals,
    one_hot,
)

from _shared.cells import output_kind
from harness.checks import FloatArray, StudentError, describe_mismatch, fail


def test_interface(student, lstm, text, lstm_probe, handout, evidence):
    """Builds from the globals; forward returns (seq_len, V) outputs and (1, 1, H) states.
    A class that hard-codes its hidden size (the script's 100, say) is checked at that size:
    the hand-out sets no hidden size, so reading the global is our template's wish only."""
    H, V = lstm_probe.hidden, text.vocab_size
    if lstm_probe.note:
        evidence.text(name="hidden-size", text=f"{lstm_probe.note} (accepted: not counted)")
    model = build_lstm(student, lstm, text, H, handout)
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
                during=f"calling forward(input ({seq}, {V}), {handout.both_states} (1, 1, {H}), "
                f"seq_len={seq}) with vocab_size={V}, hidden_size={H}",
            )
        except StudentError as exc:
            if exc.type == "NotImplementedError" and exc.message:
                fail(exc.message)
            fail(exc.summary() + hardcoded_hidden(student, model, H, handout))
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
                    + hardcoded_hidden(student, model, H, handout)
                )


def test_criterion(student, lstm, text, handout):
    """criterion computes the mean cross-entropy of logits (nn.CrossEntropyLoss(), or
    anything that gives the same numbers, such as F.cross_entropy)."""
    line = handout.criterion_line
    if "criterion" not in student.op("dir", lstm):
        fail(
            f"criterion (line {line}) is not defined at module level as a plain assignment "
            "such as criterion = nn.CrossEntropyLoss()"
        )
    criterion = lstm.criterion
    kind = getattr(criterion, "remote_type", type(criterion).__name__)
    if kind == "builtins.ellipsis":
        fail(
            f"criterion (line {line}) is not implemented yet: set it to the torch.nn loss for "
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


def test_forward_matches_reference(student, lstm, lstm_probe, reference, text, handout, evidence):
    """The reference's weights copied in: forward gives the reference's outputs and states."""
    H, V = lstm_probe.hidden, text.vocab_size
    model = build_lstm(student, lstm, text, H, handout)
    ref = reference_definitions(reference, handout.lstm_file, lstm_globals(text, H))
    torch.manual_seed(0)
    ref_model = getattr(ref, handout.lstm_class)()
    notes = copy_reference_weights(student, ref_model, model)
    if lstm_probe.note:
        notes.append(lstm_probe.note)
    if notes:
        evidence.text(name="mapping", title="How the weights were copied", text="\n".join(notes))
    gen = torch.Generator().manual_seed(5)
    x = one_hot(text.indices(3, 6), V)
    h0, c0 = torch.randn(1, 1, H, generator=gen) * 0.5, torch.randn(1, 1, H, generator=gen) * 0.5
    output, h, c = forward_parts(lstm_forward(student, model, x, h0, c0, handout))
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
    if not problems:
        return
    with torch.no_grad():
        zero = torch.zeros(1, 1, H)
        from_zero = ref_model(x, zero, zero, 6)[0].numpy()
    if output.shape == from_zero.shape and not describe_mismatch(
        from_zero, output, what="", **LSTM_TOL
    ):
        fail(
            f"forward ignores {handout.both_states}: its output is the reference's "
            f"from zero states. Pass ({', '.join(handout.states)}) to the LSTM as its initial "
            "state, so the state carries over from one chunk of text to the next"
        )
    fail(
        "with the reference's weights copied into your model (by name, else by shape), "
        "forward differs from the reference's nn.LSTM + nn.Linear on the same input, "
        f"{handout.states[0]} and {handout.states[1]}:\n" + "\n".join(problems)
    )


def _shown(loss: float) -> str:
    """A loss for a message: three decimals, unless a student's numbers are enormous."""
    return f"{loss:.3f}" if abs(loss) < 1e6 else f"{loss:.3g}"


def test_training_reduces_loss(
    student, lstm, lstm_probe, reference, text, settings, handout, evidence
):
    """The grader's own loop: plain gradient descent on one passage from zero states, the
    cross-entropy of forward's output as the script computes it; the loss must fall.
    (No torch.optim: an optimiser's first step costs seconds of lazy imports.)

    The losses that decide are computed here, never read from the student's process.
    Where the model's parameters map onto the reference's nn.LSTM + nn.Linear and its
    first output is the reference's with them, the parameters before and after training
    are fetched and run through the reference here. Otherwise the loss comes from the
    logits its forward returned, and with its parameters set back to where they started,
    the model must give back what it learned."""
    H, V = lstm_probe.hidden, text.vocab_size
    steps, length, lr = settings["lstm_steps"], settings["lstm_chars"], settings["lstm_lr"]
    model = build_lstm(student, lstm, text, H, handout)
    torch_ = student.import_module("torch")
    params = student.import_module("builtins").list(model.parameters())
    tensors = [params[i].data for i in range(len(params))]  # updated in place
    remote_cross_entropy = student.import_module("torch.nn.functional").cross_entropy
    gradients, add_ = torch_.autograd.grad, torch_._foreach_add_
    x = one_hot(text.indices(0, length), V)
    wanted = text.indices(1, length)
    targets = torch.tensor(wanted)
    zero = torch.zeros(1, 1, H)
    ref = reference_definitions(reference, handout.lstm_file, lstm_globals(text, H))
    torch.manual_seed(0)
    start = fetch_parameters(student, model)
    trusted = TrustedLSTM.for_parameters(getattr(ref, handout.lstm_class)(), start)

    def logits_of_forward() -> tuple[np.ndarray, Any]:
        output = model(x, zero, zero, length)[0].reshape(length, V)
        return student.fetch(output, as_=FloatArray(shape=(length, V))), output

    losses, kind, mapped = [], "logits", False
    for i in range(steps):
        try:
            logits, output = logits_of_forward()
            if i == 0:
                kind = output_kind(logits)
                mapped = trusted is not None and not describe_mismatch(
                    trusted.logits(start, x), logits, what="", **LSTM_TOL
                )
            losses.append(cross_entropy(logits, wanted))
            loss = remote_cross_entropy(output, targets)
            grads = gradients(loss, params, allow_unused=True, materialize_grads=True)
            add_(tensors, grads, alpha=-lr)
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
        title=f"Gradient descent (lr {lr:g}) on {length} characters, hidden size {H}: the "
        "cross-entropy of your forward's logits, computed by the grader",
        columns=["step", "cross-entropy"],
        rows=[[i + 1, round(v, 4)] for i, v in enumerate(losses)],
    )
    if not np.all(np.isfinite(losses)):
        fail("the loss became NaN or infinite while training")
    ratio = settings["lstm_ratio"]
    loop = f"{steps} steps of gradient descent (lr {lr:g}) on one {length}-character passage"
    if mapped and trusted is not None:
        # The verdict: the trained parameters, through the reference's equations, here.
        trained = fetch_parameters(student, model)
        first = cross_entropy(trusted.logits(start, x), wanted)
        last = cross_entropy(trusted.logits(trained, x), wanted)
        evidence.text(
            name="lstm-training-trusted",
            text=f"Your parameters before and after training, run through the reference's "
            f"nn.LSTM + nn.Linear by the grader: cross-entropy {first:.4f} -> {last:.4f}",
        )
        if not last < ratio * first:
            own = losses[-1] < ratio * losses[0]
            fail(
                f"{loop}: your model's parameters, run through the reference's nn.LSTM + "
                f"nn.Linear by the grader, went only from a cross-entropy of {_shown(first)} to "
                f"{_shown(last)}; it must fall below {ratio:g} of the start"
                + (
                    f" (your own forward's logits went from {_shown(losses[0])} to "
                    f"{_shown(losses[-1])}: what it returned is not what its parameters learned)"
                    if own
                    else ""
                )
            )
        return
    if not losses[-1] < ratio * losses[0]:
        why = " Check that forward uses every layer and returns logits"
        if kind != "logits":
            why = (
                f" Your forward returns {kind}: nn.CrossEntropyLoss applies its own "
                "log-softmax to them, which squashes the differences between characters and "
                "all but stops learning; return the logits"
            )
        fail(
            f"{loop} took the cross-entropy only from {_shown(losses[0])} to {_shown(losses[-1])}; "
            f"it must fall below {ratio:g} of the start.{why}"
        )
    # No mapping: what it learned must be in its parameters. Set back to where they
    # started, with the same call as every training step, it must lose most of the fall.
    student.op("set_parameters", model, start)
    try:
        again = cross_entropy(logits_of_forward()[0], wanted)
    except StudentError as exc:
        fail(f"forward, with your parameters set back to where they started: {exc.summary()}")
    if not again > losses[-1] + 0.5 * (losses[0] - losses[-1]):
        fail(
            f"{loop} took the cross-entropy of your forward's logits from {_shown(losses[0])} to "
            f"{_shown(losses[-1])}, but with its parameters set back to where they started, it "
            f"gives {_shown(again)}: the fall did not come from what the parameters learned"
        )


def test_states_detached(submission, handout, evidence):
    """The loop's last assignment to each state takes the new state forward returned,
    detached from the graph."""
    states, lines_text = handout.states, handout.state_lines_text
    source = submission.source(handout.lstm_file)
    loop = training_loop(source, handout.lstm_file, states)
    lines = source.splitlines()
    found = state_assignments(loop, states)
    problems, shown = [], []
    for index, name in enumerate(states):
        carried = [s for s in found[name] if not is_reset(s, states)]
        if not carried:
            problems.append(
                f"{name} is never assigned the new state in the training loop (lines "
                f"{lines_text} read {name} = ...): it must become the state forward returned"
            )
            continue
        last = carried[-1]
        code = lines[last.lineno - 1].strip()
        shown.append(f"line {last.lineno}: {code}")
        value = last.value
        if isinstance(value, ast.Constant) and value.value is Ellipsis:
            problems.append(
                f"line {last.lineno} ({name} = ...) is not implemented yet: assign {name} "
                f"the new {'hidden' if index == 0 else 'cell'} state from hcprev, "
                "detached from the graph"
            )
        elif not (detaches(value) or detached_later(loop, name, last)):
            problems.append(
                f"line {last.lineno} ({code}) carries the state on without detaching it: "
                f"{name} still holds this chunk's autograd graph, so the next err.backward() "
                "reaches back through every earlier chunk (and PyTorch refuses to backward "
                "through a freed graph a second time). Take it out of the graph: "
                f"hcprev[{index}].detach()"
            )
    shown = list(dict.fromkeys(shown))  # one line may assign both
    evidence.text(name="states", title="How the loop carries the states", text="\n".join(shown))
    if problems:
        fail("\n".join(problems))

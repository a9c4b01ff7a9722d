"""Part 1: RNNLayer (numpy), against the reference's on one seeded case: values first, then
gradients, then the student's backward against numerical derivatives of the student's
own forward (so a backward consistent with a faulty forward keeps that point). Points
are in assignment.toml; the class, its weights and its equation in its
[settings.layers.rnn]."""

import numpy as np
import pytest
from numpy_layers import (
    BPTT_HINT,
    FORWARD_STEP_FIRST,
    GRADIENT_CHECK_HINT,
    as_array,
    compare,
    directional_check,
    explain_forward,
    explain_step,
    mistake_or,
    with_hint,
)

from harness.checks import describe_mismatch, fail


@pytest.fixture
def rnn(graded_layer):
    return graded_layer("rnn")


def test_forward_step(rnn):
    kind, case = rnn.kind, rnn.case()
    ref, layer = rnn.reference(case), rnn.layer(case)
    inputs = (case.x_step, case.prev_h)
    expected = dict(zip(kind.step_outputs, ref.forward_step(*inputs), strict=True))
    got = rnn.returned(layer, "forward_step", kind.step_outputs, *inputs)
    problems = compare(expected, got, ["next_h"], rnn.tol, what=f"{kind.cls}.forward_step")
    if problems:
        why = explain_step(kind, case, got)
        fail(with_hint(problems, mistake_or(why, f"The equation: {kind.equation}.")))


def test_forward(rnn):
    kind, case = rnn.kind, rnn.case()
    ref, layer = rnn.reference(case), rnn.layer(case)
    expected = ref.forward(case.x, case.h0)
    got = rnn.call(layer, "forward", case.x, case.h0)
    problem = describe_mismatch(expected, got, what=f"{kind.cls}.forward(x, h0)", **rnn.tol)
    if problem:
        why = explain_forward(kind, case, got)
        start = "forward must start from h(0) = h0 and return h(1), ..., h(T) as (N, T, H)."
        fail(with_hint([problem], mistake_or(why, start)))


def test_backward_step(rnn):
    kind, case = rnn.kind, rnn.case()
    ref, layer = rnn.reference(case), rnn.layer(case)
    inputs, dnext = (case.x_step, case.prev_h), (case.dnext_h,)
    *ref_out, ref_cache = ref.forward_step(*inputs)
    expected = dict(zip(kind.step_grads, ref.backward_step(*dnext, ref_cache), strict=True))
    step = rnn.returned(layer, "forward_step", kind.step_outputs, *inputs)
    got = rnn.returned(layer, "backward_step", kind.step_grads, *dnext, step["cache"])
    problems = compare(expected, got, kind.step_grads, rnn.tol, what=f"{kind.cls}.backward_step")
    if problems:
        forward_ok = not describe_mismatch(ref_out[0], step["next_h"], what="", **rnn.tol)
        hint = f"Back-propagate through: {kind.equation}." if forward_ok else FORWARD_STEP_FIRST
        fail(with_hint(problems, hint))


def test_backward(rnn):
    kind, case = rnn.kind, rnn.case()
    ref, layer = rnn.reference(case), rnn.layer(case)
    ref.forward(case.x, case.h0)
    ref.backward(case.dh)
    expected = dict(ref.grad)  # dx, dh0 and every weight's gradient
    rnn.call(layer, "forward", case.x, case.h0)
    returned = rnn.call(layer, "backward", case.dh)
    # The skeleton's backward "calculates gradients and saves them to the dictionary
    # self.grad": that is what is checked. Returning nothing, self.grad or (dx, dh0) are
    # all fine; (dx, dh0), where returned, must be right too.
    stored = rnn.stored_gradients(layer)
    problems = compare(expected, stored, kind.grad_keys, rnn.tol, what=f"{kind.cls}.grad")
    if isinstance(returned, tuple | list) and len(returned) == 2:
        dx_dh0 = dict(zip(("dx", "dh0"), returned, strict=True))
        what = f"{kind.cls}.backward returned"
        problems += compare(expected, dx_dh0, ("dx", "dh0"), rnn.tol, what=what)
    if problems:
        fail(with_hint(problems, BPTT_HINT))


def test_gradient_check(rnn, settings):
    kind, case = rnn.kind, rnn.case()
    layer = rnn.layer(case)
    set_weights = rnn.weight_setter(layer)
    rnn.call(layer, "forward", case.x, case.h0)
    rnn.call(layer, "backward", case.dh)
    grads = rnn.stored_gradients(layer)
    point = {**case.weights, "x": case.x, "h0": case.h0}
    analytic = {
        name: as_array(grads["d" + name], value.shape, f"{kind.cls}.grad['d{name}']")
        for name, value in point.items()
    }

    def loss(p):  # sum(forward(x, h0) * dh): its gradients are what backward(dh) gives
        set_weights({k: p[k] for k in kind.params})
        out = rnn.call(layer, "forward", p["x"], p["h0"])
        return float(np.sum(as_array(out, case.dh.shape, f"{kind.cls}.forward(x, h0)") * case.dh))

    problems = directional_check(
        loss,
        point,
        analytic,
        directions=settings["directions"],
        step=settings["gradcheck_step"],
        rtol=settings["gradcheck_rtol"],
        seed=rnn.seed,
    )
    if problems:
        fail(with_hint(problems, GRADIENT_CHECK_HINT))

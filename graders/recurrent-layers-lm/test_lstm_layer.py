"""Part 1: LSTMLayer (numpy), against the reference's on one seeded case: values first,
then gradients, then the student's backward against numerical derivatives of the
student's own forward (so a backward consistent with a faulty forward keeps that point).
Points are in assignment.toml; the class, its weights, the order of its gates and its
equation in its [settings.layers.lstm]."""

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
def lstm(graded_layer):
    return graded_layer("lstm")


def test_forward_step(lstm):
    kind, case = lstm.kind, lstm.case()
    ref, layer = lstm.reference(case), lstm.layer(case)
    inputs = (case.x_step, case.prev_h, case.prev_c)
    expected = dict(zip(kind.step_outputs, ref.forward_step(*inputs), strict=True))
    got = lstm.returned(layer, "forward_step", kind.step_outputs, *inputs)
    problems = compare(
        expected, got, ["next_h", "next_c"], lstm.tol, what=f"{kind.cls}.forward_step"
    )
    if problems:
        why = explain_step(kind, case, got)
        fail(with_hint(problems, mistake_or(why, f"The equation: {kind.equation}.")))


def test_forward(lstm):
    kind, case = lstm.kind, lstm.case()
    ref, layer = lstm.reference(case), lstm.layer(case)
    expected = ref.forward(case.x, case.h0)
    got = lstm.call(layer, "forward", case.x, case.h0)
    problem = describe_mismatch(expected, got, what=f"{kind.cls}.forward(x, h0)", **lstm.tol)
    if problem:
        why = explain_forward(kind, case, got)
        start = (
            "forward must start from h(0) = h0 and c(0) = 0 and return "
            "h(1), ..., h(T) as (N, T, H)."
        )
        fail(with_hint([problem], mistake_or(why, start)))


def test_backward_step(lstm):
    kind, case = lstm.kind, lstm.case()
    ref, layer = lstm.reference(case), lstm.layer(case)
    inputs, dnext = (case.x_step, case.prev_h, case.prev_c), (case.dnext_h, case.dnext_c)
    *ref_out, ref_cache = ref.forward_step(*inputs)
    expected = dict(zip(kind.step_grads, ref.backward_step(*dnext, ref_cache), strict=True))
    step = lstm.returned(layer, "forward_step", kind.step_outputs, *inputs)
    got = lstm.returned(layer, "backward_step", kind.step_grads, *dnext, step["cache"])
    problems = compare(expected, got, kind.step_grads, lstm.tol, what=f"{kind.cls}.backward_step")
    if problems:
        forward_ok = not describe_mismatch(ref_out[0], step["next_h"], what="", **lstm.tol)
        hint = f"Back-propagate through: {kind.equation}." if forward_ok else FORWARD_STEP_FIRST
        fail(with_hint(problems, hint))


def test_backward(lstm):
    kind, case = lstm.kind, lstm.case()
    ref, layer = lstm.reference(case), lstm.layer(case)
    ref.forward(case.x, case.h0)
    ref.backward(case.dh)
    expected = dict(ref.grad)  # dx, dh0 and every weight's gradient
    lstm.call(layer, "forward", case.x, case.h0)
    returned = lstm.call(layer, "backward", case.dh)
    # The skeleton's backward "calculates gradients and saves them to the dictionary
    # self.grad": that is what is checked. Returning nothing, self.grad or (dx, dh0) are
    # all fine; (dx, dh0), where returned, must be right too.
    stored = lstm.stored_gradients(layer)
    problems = compare(expected, stored, kind.grad_keys, lstm.tol, what=f"{kind.cls}.grad")
    if isinstance(returned, tuple | list) and len(returned) == 2:
        dx_dh0 = dict(zip(("dx", "dh0"), returned, strict=True))
        what = f"{kind.cls}.backward returned"
        problems += compare(expected, dx_dh0, ("dx", "dh0"), lstm.tol, what=what)
    if problems:
        fail(with_hint(problems, BPTT_HINT))


def test_gradient_check(lstm, settings):
    kind, case = lstm.kind, lstm.case()
    layer = lstm.layer(case)
    set_weights = lstm.weight_setter(layer)
    lstm.call(layer, "forward", case.x, case.h0)
    lstm.call(layer, "backward", case.dh)
    grads = lstm.stored_gradients(layer)
    point = {**case.weights, "x": case.x, "h0": case.h0}
    analytic = {
        name: as_array(grads["d" + name], value.shape, f"{kind.cls}.grad['d{name}']")
        for name, value in point.items()
    }

    def loss(p):  # sum(forward(x, h0) * dh): its gradients are what backward(dh) gives
        set_weights({k: p[k] for k in kind.params})
        out = lstm.call(layer, "forward", p["x"], p["h0"])
        return float(np.sum(as_array(out, case.dh.shape, f"{kind.cls}.forward(x, h0)") * case.dh))

    problems = directional_check(
        loss,
        point,
        analytic,
        directions=settings["directions"],
        step=settings["gradcheck_step"],
        rtol=settings["gradcheck_rtol"],
        seed=lstm.seed,
    )
    if problems:
        fail(with_hint(problems, GRADIENT_CHECK_HINT))

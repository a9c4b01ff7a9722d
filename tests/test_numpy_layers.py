"""The numpy-layer checks' own arithmetic (graders/recurrent-layers-lm/numpy_layers.py): the
equations they use to name a mistake agree with the reference, each mistake is told apart
from the right answer, and the directional gradient check passes true gradients and
catches wrong ones. The layers are those of the assignment's [settings.layers]."""

import importlib
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
GRADER = ROOT / "graders" / "recurrent-layers-lm"
sys.path.insert(0, str(GRADER))
import numpy_layers as nl  # noqa: E402

SETTINGS = tomllib.loads((GRADER / "assignment.toml").read_text())["settings"]
KEYS = sorted(SETTINGS["layers"])


@pytest.fixture(scope="module")
def reference():
    sys.path.insert(0, str(ROOT / "reference" / "recurrent-layers-lm" / "blg561"))
    try:
        yield importlib.import_module("blg561.layer.recurrent_layers")
    finally:
        sys.path.pop(0)


@pytest.mark.parametrize("key", KEYS)
def test_the_equations_agree_with_the_reference(reference, key):
    kind = nl.layer_kind(key, SETTINGS)
    case = nl.make_case(kind, SETTINGS, seed=3)
    layer = nl.LayerUnderTest(kind, None, None, reference, SETTINGS, seed=3).reference(case)
    c = case.prev_c if kind.has_cell else None
    h, c_next = nl.step(kind, case.weights, case.x_step, case.prev_h, c)
    expected = layer.forward_step(*case.step_inputs(kind))
    np.testing.assert_allclose(h, expected[0], rtol=1e-12)
    if kind.has_cell:
        np.testing.assert_allclose(c_next, expected[1], rtol=1e-12)
    np.testing.assert_allclose(
        nl.forward(kind, case.weights, case.x, case.h0), layer.forward(case.x, case.h0), rtol=1e-12
    )


@pytest.mark.parametrize("key", KEYS)
def test_every_mistake_is_told_apart_and_named(key):
    kind = nl.layer_kind(key, SETTINGS)
    case = nl.make_case(kind, SETTINGS, seed=4)
    c = case.prev_c if kind.has_cell else None
    right = nl.step(kind, case.weights, case.x_step, case.prev_h, c)
    assert nl.explain_step(kind, case, {"next_h": right[0], "next_c": right[1]}) == ""
    for mistake in nl.mistakes(kind):
        h, c_next = nl.step(kind, case.weights, case.x_step, case.prev_h, c, mistake)
        assert not np.allclose(h, right[0]), mistake.says
        assert nl.explain_step(kind, case, {"next_h": h, "next_c": c_next}) == mistake.says
        states = nl.forward(kind, case.weights, case.x, case.h0, mistake)
        assert nl.explain_forward(kind, case, states) == mistake.says


def test_the_directional_check_passes_true_gradients_and_catches_wrong_ones():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(4, 3))
    point = {"W": rng.normal(size=(3, 2)), "x": rng.normal(size=(5, 4))}

    def loss(p):
        return float(np.sum(np.tanh(p["x"] @ A @ p["W"])))

    d_out = 1 - np.tanh(point["x"] @ A @ point["W"]) ** 2
    true = {"W": (point["x"] @ A).T @ d_out, "x": d_out @ (A @ point["W"]).T}
    settings = {"directions": 3, "step": 1e-5, "rtol": 1e-5, "seed": 1}
    assert nl.directional_check(loss, point, true, **settings) == []
    wrong = {**true, "W": true["W"].copy()}
    wrong["W"][2, 1] += 0.05
    problems = nl.directional_check(loss, point, wrong, **settings)
    assert len(problems) == 1 and problems[0].startswith("dW:")


def test_a_transposed_square_gradient_is_named():
    expected = np.arange(9.0).reshape(3, 3)
    message = nl.transpose_hint(expected, expected.T, "dWh", "differs")
    assert "dWh is the transpose of the right gradient" in message
    assert nl.transpose_hint(expected, expected + 1, "dWh", "differs") == "differs"


def test_a_student_value_of_the_wrong_kind_fails_the_check_not_the_grader():
    from harness.checks.context import CheckFailed

    assert nl.as_array([[1, 2]], (1, 2), "dWx").dtype == np.float64
    for value, words in [(None, "expected an array"), ("abc", "expected numbers"), ([1, 2], "shape")]:
        with pytest.raises(CheckFailed, match=words):
            nl.as_array(value, (1, 2), "dWx")


def test_the_messages_name_the_gates_as_the_settings_do():
    lstm, gru = nl.layer_kind("lstm", SETTINGS), nl.layer_kind("gru", SETTINGS)
    lstm_says = [m.says for m in nl.mistakes(lstm)]
    gate_order = lstm_says[1]  # after the missing bias
    assert "the template fixes i, f, o, g (columns 0:H are i, H:2H f, 2H:3H o, 3H:4H g)" in gate_order
    for letter in "ifog":
        assert any(lstm.names[letter] in says for says in lstm_says), letter
    gru_says = [m.says for m in nl.mistakes(gru)]
    assert (
        "the gates are read in the order reset, update; the template puts the update gate "
        "in columns 0:H and the reset gate in H:2H"
    ) in gru_says

"""The cell mapping search: correct cells in other styles are found, mistakes are named."""

import numpy as np
import pytest
import torch

from harness.checks import cells

DIMS = cells.Dims(D=1, H=6, C=10)


def rand(shape, rng):
    return rng.normal(scale=0.6, size=shape)


def canonical_params(kind, rng):
    return {n: rand(s, rng) for n, s in cells.canonical_shapes(kind, DIMS).items()}


def run(kind, canon, x, variant=None):
    with torch.no_grad():
        t = {n: torch.from_numpy(v) for n, v in canon.items()}
        return cells.forward(kind, t, torch.from_numpy(x), variant).numpy()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def x(rng):
    return rng.integers(0, 10, size=(4, 5, 1)).astype(np.float64)


def test_canonical_names_map_directly(rng, x):
    canon = canonical_params("lstm", rng)
    match, _, _ = cells.find_mapping("lstm", canon, x, run("lstm", canon, x), DIMS)
    assert match is not None and match.mapping.by_name


def test_pytorch_style_fused_transposed_with_two_biases(rng, x):
    canon = canonical_params("lstm", rng)
    order = "ifgo"  # PyTorch's gate order
    H = DIMS.H
    student = {
        "weight_ih": np.concatenate([canon[f"W_{g}x"] for g in order]).T,  # (D, 4H)
        "weight_hh": np.concatenate([canon[f"W_{g}h"] for g in order]).T,  # (H, 4H)
        "bias_ih": np.concatenate([canon[f"b_{g}"] for g in order]) * 0.5,
        "bias_hh": np.concatenate([canon[f"b_{g}"] for g in order]) * 0.5,
        "out.weight": canon["W_ph"],
        "out.bias": canon["b_p"],
    }
    assert student["weight_hh"].shape == (H, 4 * H)
    match, best, tried = cells.find_mapping("lstm", student, x, run("lstm", canon, x), DIMS)
    assert match is not None, (best, tried)
    assert "ifgo" in match.mapping.description


def test_softmax_outputs_are_accepted(rng, x):
    canon = canonical_params("rnn", rng)
    probs = torch.softmax(torch.from_numpy(run("rnn", canon, x)), dim=1).numpy()
    match, _, _ = cells.find_mapping("rnn", canon, x, probs, DIMS)
    assert match is not None


@pytest.mark.parametrize("variant", ["f_tanh", "no_carry", "h_no_tanh", "no_bias_g",
                                     "swap_i_f", "first_step"])
def test_one_mistake_is_found_and_named(rng, x, variant):
    canon = canonical_params("lstm", rng)
    wrong = run("lstm", canon, x, variant)
    match, _, _ = cells.find_mapping("lstm", canon, x, wrong, DIMS)
    assert match is None
    found = [m.variant for m in cells.diagnose("lstm", canon, x, wrong, DIMS)]
    assert variant in found


@pytest.mark.parametrize("variant", ["h_relu", "no_recurrence", "no_bias_h", "output_tanh"])
def test_rnn_mistakes(rng, x, variant):
    canon = canonical_params("rnn", rng)
    wrong = run("rnn", canon, x, variant)
    assert cells.find_mapping("rnn", canon, x, wrong, DIMS)[0] is None
    assert variant in [m.variant for m in cells.diagnose("rnn", canon, x, wrong, DIMS)]


def test_student_values_round_trip(rng, x):
    canon = canonical_params("lstm", rng)
    shapes = {"Wx": (1, 24), "Wh": (6, 24), "b": (24,), "Wp": (10, 6), "bp": (10,)}
    maps = cells.candidates("lstm", shapes, DIMS)
    assert maps
    m = maps[0]
    values = m.student_values(canon, shapes)
    back = m.canonical({n: torch.from_numpy(v) for n, v in values.items()})
    for name, value in canon.items():
        np.testing.assert_allclose(back[name].numpy(), value)


def test_parameter_count_formula():
    assert cells.parameter_count("lstm", cells.Dims(D=1, H=128, C=10)) == 4 * (128 * 1 + 128 * 128 + 128) + 10 * 128 + 10

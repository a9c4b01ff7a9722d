"""The cell mapping search: correct cells in other styles are found, mistakes are named."""

import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch

from _shared import cells

DIMS = cells.Dims(D=1, H=6, C=10)
GRADERS = Path(__file__).resolve().parents[1] / "graders"


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


def column_student(canon, *, learned_state):
    """The canonical LSTM stored column-wise: biases (n, 1), learnable h(0) and c(0)."""
    student = {n: (v[:, None] if v.ndim == 1 else v) for n, v in canon.items()}
    if learned_state:
        student["h_init"] = learned_state[0][:, None]
        student["c_init"] = learned_state[1][:, None]
    return student


def run_with_state(canon, x, h0, c0):
    with torch.no_grad():
        t = {n: torch.from_numpy(v) for n, v in canon.items()}
        t["h0"], t["c0"] = torch.from_numpy(h0), torch.from_numpy(c0)
        return cells.forward("lstm", t, torch.from_numpy(x)).numpy()


def test_column_biases_and_learnable_initial_states(rng, x):
    canon = canonical_params("lstm", rng)
    h0, c0 = rand((DIMS.H,), rng), rand((DIMS.H,), rng)
    student = column_student(canon, learned_state=(h0, c0))
    out = run_with_state(canon, x, h0, c0)
    match, best, tried = cells.find_mapping("lstm", student, x, out, DIMS)
    assert match is not None, (best, tried)
    assert {"h0", "c0"} <= set(match.mapping.pieces)
    # Setting the student's values from canonical ones leaves the initial states at zero.
    values = match.mapping.student_values(canon, {n: v.shape for n, v in student.items()})
    assert not values["h_init"].any() and values["b_f"].shape == (DIMS.H, 1)


def test_initial_states_found_by_shape_when_names_say_nothing(rng, x):
    canon = canonical_params("rnn", rng)
    h0 = rand((DIMS.H,), rng)
    student = {"A": canon["W_hx"], "B": canon["W_hh"], "u": canon["b_h"][None, :],
               "V": canon["W_ph"], "v": canon["b_p"], "s": h0[None, :]}
    with torch.no_grad():
        t = {n: torch.from_numpy(v) for n, v in canon.items()} | {"h0": torch.from_numpy(h0)}
        out = cells.forward("rnn", t, torch.from_numpy(x)).numpy()
    match, best, tried = cells.find_mapping("rnn", student, x, out, DIMS)
    assert match is not None, (best, tried)


def test_a_third_bias_per_gate_is_summed(rng, x):
    canon = canonical_params("lstm", rng)
    student = {}
    for g in "gifo":
        student[f"x_{g}.weight"], student[f"h_{g}.weight"] = canon[f"W_{g}x"], canon[f"W_{g}h"]
        student[f"x_{g}.bias"] = canon[f"b_{g}"] * 0.2
        student[f"h_{g}.bias"] = canon[f"b_{g}"] * 0.3
        student[f"b_{g}"] = canon[f"b_{g}"] * 0.5
    student["fc.weight"], student["fc.bias"] = canon["W_ph"], canon["b_p"]
    match, best, tried = cells.find_mapping("lstm", student, x, run("lstm", canon, x), DIMS)
    assert match is not None, (best, tried)


def test_extra_unused_parameters_do_not_block_the_match(rng, x):
    canon = canonical_params("rnn", rng) | {"embedding": rand((10, 3), rng)}
    match, _, _ = cells.find_mapping("rnn", canon, x, run("rnn", canon, x), DIMS)
    assert match is not None


@pytest.mark.parametrize(("name", "gate"), [("input_f.weight", "f"), ("hidden_o.weight", "o"),
                                            ("W_ix", "i"), ("input_gate.weight", "i"),
                                            ("weight_forget", "f"), ("W_c", "g"), ("x2h", None)])
def test_gate_hints(name, gate):
    assert cells.gate_hint(name) == gate


def test_messages_quote_the_hand_outs_own_equation_numbers():
    seed_001 = {"g": 1, "i": 2, "f": 3, "o": 4, "c": 5, "h": 6, "p": 7}
    seed_002 = {"g": 4, "i": 5, "f": 6, "o": 7, "c": 8, "h": 9, "p": 10}
    assert "where Eq. 3 has a sigmoid" in cells.variants("lstm", seed_001)["f_tanh"]
    assert "where Eq. 6 has a sigmoid" in cells.variants("lstm", seed_002)["f_tanh"]
    assert cells.equation_range(seed_001) == "Eq. 1-7"
    assert cells.equation_range({"h": 1, "p": 2}) == "Eq. 1-2"


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_every_mistake_is_told_with_the_spec_s_equation_numbers(kind):
    """No mistake's message is left with a placeholder, for either hand-out's numbering."""
    spec = {"rnn": {"h": 1, "p": 2}, "lstm": {"g": 1, "i": 2, "f": 3, "o": 4, "c": 5, "h": 6, "p": 7}}
    messages = cells.variants(kind, spec[kind])
    assert set(messages) == set(cells.MISTAKES[kind])
    assert not any("{" in m or "}" in m for m in messages.values())


@pytest.mark.parametrize("assignment", ["palindrome-rnn-lstm", "palindrome-lstm-gan"])
def test_each_palindrome_spec_numbers_every_equation_its_messages_quote(assignment):
    """[settings.equations] in each assignment names every symbol the messages use."""
    spec = tomllib.loads((GRADERS / assignment / "assignment.toml").read_text())
    for kind, equations in spec["settings"]["equations"].items():
        assert cells.variants(kind, equations)


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_cut_state_keeps_the_values_and_gives_the_last_step_gradients(rng, x, kind):
    # A cell whose state is detached between steps computes the same p(T); its gradients
    # are those of the last step alone, which is how that fault is recognised.
    canon = canonical_params(kind, rng)
    targets = np.arange(len(x)) % 10
    t = {n: torch.from_numpy(v) for n, v in canon.items()}
    with torch.no_grad():
        same = cells.forward(kind, t, torch.from_numpy(x), cut=True)
    np.testing.assert_allclose(same.numpy(), run(kind, canon, x))
    _, full = cells.reference_gradients(kind, canon, x, targets)
    _, cut = cells.reference_gradients(kind, canon, x, targets, cut=True)
    np.testing.assert_allclose(cut["W_ph"], full["W_ph"])
    recurrent = "W_hh" if kind == "rnn" else "W_fh"
    assert not np.allclose(cut[recurrent], full[recurrent])
    # By hand: the same loss with the state before the last step held constant.
    params = {n: torch.tensor(v, requires_grad=True) for n, v in canon.items()}
    with torch.no_grad():
        head = {n: torch.from_numpy(v) for n, v in canon.items()}
    xt = torch.from_numpy(x)
    h_last = _state_before_last_step(kind, head, xt)
    logits = _last_step(kind, params, xt[:, -1], *h_last)
    torch.nn.functional.cross_entropy(logits, torch.from_numpy(targets)).backward()
    np.testing.assert_allclose(cut[recurrent], params[recurrent].grad.numpy(), atol=1e-10)


def _state_before_last_step(kind, P, x):
    B, H = x.shape[0], DIMS.H
    h, c = torch.zeros(B, H, dtype=x.dtype), torch.zeros(B, H, dtype=x.dtype)
    for t in range(x.shape[1] - 1):
        h, c = _cell(kind, P, x[:, t], h, c)
    return h, c


def _cell(kind, P, xt, h, c):
    if kind == "rnn":
        return torch.tanh(xt @ P["W_hx"].T + h @ P["W_hh"].T + P["b_h"]), c
    gate = {g: xt @ P[f"W_{g}x"].T + h @ P[f"W_{g}h"].T + P[f"b_{g}"] for g in "gifo"}
    c = torch.tanh(gate["g"]) * torch.sigmoid(gate["i"]) + c * torch.sigmoid(gate["f"])
    return torch.tanh(c) * torch.sigmoid(gate["o"]), c


def _last_step(kind, P, xt, h, c):
    h, _ = _cell(kind, P, xt, h, c)
    return h @ P["W_ph"].T + P["b_p"]

"""Task 2.1: the hidden-state line (line 41) of task2_min_char_rnn.py.

lossFun runs the forward pass you complete and the given backward pass. The tests put
small fixed weights in the module globals Wxh, Whh, Why, bh, by (and vocab_size), call
lossFun, and compare the loss, the five gradients and the last hidden state with the
values in tests/data/expected_min_char_rnn.json (tolerance 1e-8, float64). They also check
the gradients against numerical ones: the given backward pass assumes
h(t) = tanh(Wxh x(t) + Whh h(t-1) + bh), so any other forward pass disagrees with it.
"""

import numpy as np
import pytest
from support import (
    RNN_GRADIENTS,
    RNN_SCRIPT,
    RNN_WEIGHTS,
    call_lossfun,
    check,
    fail,
    fail_from,
    load_rnn,
    rnn_case,
    run_script,
)

CASES = ["zero_state", "carried_state"]
HINT = ("Check line 41: h(t) = tanh(Wxh x(t) + Whh h(t-1) + bh) with x(t) = xs[t], "
        "h(t-1) = hs[t-1] (hs[-1] is hprev), all column vectors of shape (n, 1).")


def run_case(name):
    data, case = rnn_case(name)
    module = load_rnn(case)
    loss, grads, h = call_lossfun(module, case["inputs"], case["targets"], case["hprev"])
    return data, case, module, loss, grads, h


@pytest.mark.parametrize("name", CASES)
def test_loss_matches_expected(name):
    data, case, _, loss, _, _ = run_case(name)
    error = abs(loss - case["loss"])
    check(error <= data["atol"],
          f"lossFun's loss is {loss:.10g}, expected {case['loss']:.10g} (case {name}, "
          f"tolerance {data['atol']:g}). {HINT}")


@pytest.mark.parametrize("name", CASES)
def test_last_hidden_state_matches_expected(name):
    data, case, _, _, _, h = run_case(name)
    expected = np.array(case["h_last"])
    error = float(np.abs(h - expected).max())
    check(error <= data["atol"],
          f"the last hidden state hs[len(inputs)-1] differs from the expected one by up to "
          f"{error:.2e} (case {name}, tolerance {data['atol']:g}). {HINT}")


@pytest.mark.parametrize("name", CASES)
def test_gradients_match_expected(name):
    data, case, _, _, grads, _ = run_case(name)
    for key in RNN_GRADIENTS:
        expected = np.array(case["grads"][key])
        error = float(np.abs(grads[key] - expected).max())
        check(error <= data["atol"],
              f"lossFun's {key} differs from the expected one by up to {error:.2e} (case {name}, "
              f"tolerance {data['atol']:g}). If the loss matches too, the backward pass was "
              f"changed: only line 41 is yours to write. {HINT}")


@pytest.mark.parametrize("name", CASES)
def test_gradients_agree_with_numerical_gradients(name):
    _, case, module, _, grads, _ = run_case(name)
    step = 1e-5
    for weight, key in zip(RNN_WEIGHTS, RNN_GRADIENTS, strict=True):
        param = getattr(module, weight)          # lossFun reads the global at every call
        numerical = np.zeros_like(param)
        for index in np.ndindex(param.shape):
            old = param[index]
            param[index] = old + step
            plus = call_lossfun(module, case["inputs"], case["targets"], case["hprev"])[0]
            param[index] = old - step
            minus = call_lossfun(module, case["inputs"], case["targets"], case["hprev"])[0]
            param[index] = old
            numerical[index] = (plus - minus) / (2 * step)
        relative = np.abs(numerical - grads[key]) / np.maximum(
            1e-8, np.abs(numerical) + np.abs(grads[key]))
        worst = np.unravel_index(int(np.argmax(relative)), relative.shape)
        check(relative[worst] < 1e-5,
              f"{key} from lossFun's backward pass disagrees with the numerical gradient of its "
              f"loss: relative error {relative[worst]:.1e} at {weight}{list(worst)} (case {name}). "
              f"The given backward pass is right for h(t) = tanh(Wxh x(t) + Whh h(t-1) + bh) "
              "only: your line 41 computes something else.")


def test_sample_returns_n_indices_from_the_state_lossfun_returns():
    _, case, module, _, _, h = run_case("carried_state")
    np.random.seed(0)
    n = 12
    try:
        indices = module.sample(h, case["inputs"][0], n)
    except Exception as exc:
        fail_from(f"sample(h, seed_ix, {n})", exc, RNN_SCRIPT)
    check(len(indices) == n,
          f"sample(h, seed_ix, {n}) must return {n} indices (got {len(indices)})")
    check(all(0 <= int(ix) < case["vocab_size"] for ix in indices),
          f"sample must return character indices in range(vocab_size) (got {indices})")


def test_training_loop_reduces_the_loss(capsys):
    """Runs the whole script on textData.txt for 300 iterations (about a second)."""
    losses = []
    namespace, exc = run_script(RNN_SCRIPT, 300,
                                record=lambda g: losses.append(float(g["loss"])))
    capsys.readouterr()  # the script's prints and samples
    if exc is not None:
        fail_from(f"running task2_min_char_rnn.py (iteration {len(losses)})", exc, RNN_SCRIPT)
    if not all(np.isfinite(losses)):
        fail("the loss became NaN or infinite while training: check line 41")
    first, last = np.mean(losses[:20]), np.mean(losses[-20:])
    check(last < 0.75 * first,
          f"in 300 Adagrad iterations the loss per {namespace['seq_length']} characters (mean of "
          f"20 iterations) went from {first:.1f} to only {last:.1f}; the reference's drops to "
          f"about half. {HINT}")

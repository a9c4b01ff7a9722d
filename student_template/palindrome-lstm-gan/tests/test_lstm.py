"""Interface checks for the LSTM of Part I (part1/lstm.py).

The class docstring fixes the parameter names and shapes and the forward's input and
output layout; these tests check exactly those conventions, then your logits and
gradients against expected values for fixed weights (tests/data/expected_lstm.json).
"""

import pytest
import torch
from support import (
    LSTM_PARAMS,
    expected_shapes,
    fail,
    load_cases,
    make_lstm,
    run_forward,
    set_parameters,
)


@pytest.mark.parametrize("input_dim", [1, 10])
def test_parameter_names_and_shapes(input_dim):
    H, C = 16, 10
    model = make_lstm(input_dim=input_dim, hidden_dim=H, output_dim=C)
    params = dict(model.named_parameters())
    expected = expected_shapes(D=input_dim, H=H, C=C)

    missing = [name for name in expected if name not in params]
    if missing:
        fail(f"LSTM is missing the parameter(s) {missing}: create them in __init__ as "
             f"nn.Parameter attributes with these names (found {sorted(params)})")
    extra = sorted(set(params) - set(expected))
    if extra:
        fail(f"LSTM has parameters the hand-out does not name: {extra}; the grader sets the "
             f"weights by name and expects exactly {list(LSTM_PARAMS)}")
    for name, shape in expected.items():
        if tuple(params[name].shape) != shape:
            fail(f"LSTM.{name} must have shape {shape} with input_dim={input_dim}, "
                 f"hidden_dim={H}, output_dim={C} (got {tuple(params[name].shape)})")


@pytest.mark.parametrize("layout", ["(B,T,1)", "(B,T,10)", "(B,T)"])
@pytest.mark.parametrize("batch", [1, 3, 128])
def test_forward_output_shape(layout, batch):
    T, H, C = 4, 16, 10
    D = 10 if layout == "(B,T,10)" else 1
    model = make_lstm(seq_length=T, input_dim=D, hidden_dim=H, output_dim=C)
    digits = torch.randint(0, 10, (batch, T))
    if layout == "(B,T,10)":
        x = torch.nn.functional.one_hot(digits, 10).float()       # one-hot, --input_dim 10
    elif layout == "(B,T,1)":
        x = digits.float().unsqueeze(-1)                          # PalindromeDataset's default
    else:
        x = digits.float()                                        # digits without the last axis
    out = run_forward(model, x)
    if tuple(out.shape) != (batch, C):
        fail(f"LSTM.forward must return the logits of the last step, shape (B, C) = "
             f"{(batch, C)}, for input {layout} = {tuple(x.shape)} (got {tuple(out.shape)})")
    if not (out.dtype.is_floating_point and bool(torch.isfinite(out).all())):
        fail("LSTM.forward returned non-finite or non-float values")


@pytest.mark.parametrize("case_name", ["digits", "one_hot", "vectors"])
def test_forward_matches_expected_logits(case_name):
    atol, cases = load_cases()
    case = cases[case_name]
    model = make_lstm(**case["constructor"])
    set_parameters(model, case["params"])
    x = torch.tensor(case["x"], dtype=torch.float32)
    logits = run_forward(model, x).detach()
    expected = torch.tensor(case["logits"], dtype=logits.dtype)
    if logits.shape != expected.shape:
        fail(f"logits must have shape {tuple(expected.shape)} (got {tuple(logits.shape)})")
    error = (logits - expected).abs().max().item()
    if not error <= atol:
        fail(f"LSTM logits differ from the expected ones by up to {error:.2e} "
             f"(tolerance {atol:g}) for input {tuple(x.shape)}. Check the equations one by "
             "one: h(0) and c(0) zero, W x is x @ W.T, tanh for g and sigmoid for i, f, o, "
             "c(t) = g * i + c(t-1) * f, h(t) = tanh(c(t)) * o, and p(T) of the last step "
             "returned as logits without softmax.")


@pytest.mark.parametrize("case_name", ["digits", "one_hot", "vectors"])
def test_gradients_match_expected(case_name):
    atol, cases = load_cases()
    case = cases[case_name]
    model = make_lstm(**case["constructor"])
    set_parameters(model, case["params"])
    x = torch.tensor(case["x"], dtype=torch.float32)
    loss = torch.nn.functional.cross_entropy(run_forward(model, x),
                                             torch.tensor(case["targets"]))
    loss.backward()
    params = dict(model.named_parameters())
    for name, expected in case["grads"].items():
        grad = params[name].grad
        if grad is None:
            fail(f"no gradient reached LSTM.{name}: is it used in forward, and is the "
                 "computation kept in the autograd graph (no .detach(), .data or .numpy())?")
        expected = torch.tensor(expected, dtype=grad.dtype)
        error = (grad - expected).abs().max().item()
        # float32 gradients: tolerance atol plus 1e-4 relative to the largest entry
        tolerance = atol + 1e-4 * expected.abs().max().item()
        if not error <= tolerance:
            fail(f"the gradient of the loss with respect to LSTM.{name} differs from the "
                 f"expected one by up to {error:.2e} (tolerance {tolerance:.1e}). If the "
                 "logits test passes, look for a detached state or an in-place operation.")

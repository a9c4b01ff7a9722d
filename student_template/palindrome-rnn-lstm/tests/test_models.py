"""Interface checks for VanillaRNN (part1/vanilla_rnn.py) and LSTM (part1/lstm.py).

The class docstrings fix the parameter names and shapes and the forward's input and
output layout; these tests check exactly those conventions.
"""

import pytest
import torch
from support import (
    PARAMS,
    expected_shapes,
    load_cases,
    make_model,
    run_forward,
    set_parameters,
)

MODELS = ["VanillaRNN", "LSTM"]


@pytest.mark.parametrize("input_dim", [1, 3])
@pytest.mark.parametrize("model_name", MODELS)
def test_parameter_names_and_shapes(model_name, input_dim):
    H, C = 16, 10
    model = make_model(model_name, input_dim=input_dim, num_hidden=H, num_classes=C)
    params = dict(model.named_parameters())
    expected = expected_shapes(model_name, D=input_dim, H=H, C=C)

    missing = [name for name in expected if name not in params]
    assert not missing, (
        f"{model_name} is missing the parameter(s) {missing}: create them in __init__ as "
        f"nn.Parameter attributes with these names (found {sorted(params)})")
    extra = sorted(set(params) - set(expected))
    assert not extra, (
        f"{model_name} has parameters the hand-out does not name: {extra}; the grader sets the "
        f"weights by name and expects exactly {list(PARAMS[model_name])}")
    for name, shape in expected.items():
        assert tuple(params[name].shape) == shape, (
            f"{model_name}.{name} must have shape {shape} with input_dim={input_dim}, "
            f"num_hidden={H}, num_classes={C} (got {tuple(params[name].shape)})")


@pytest.mark.parametrize("layout", ["(B,T)", "(B,T,1)"])
@pytest.mark.parametrize("batch", [1, 3, 128])
@pytest.mark.parametrize("model_name", MODELS)
def test_forward_output_shape(model_name, layout, batch):
    T, H, C = 4, 16, 10
    # the constructor's batch_size is 128; forward must take any batch size
    model = make_model(model_name, seq_length=T, num_hidden=H, num_classes=C, batch_size=128)
    x = torch.randint(0, 10, (batch, T)).float()                    # digits, as the DataLoader
    if layout == "(B,T,1)":
        x = x.unsqueeze(-1)
    out = run_forward(model, x)
    assert tuple(out.shape) == (batch, C), (
        f"{model_name}.forward must return the logits of the last step, shape (B, C) = "
        f"{(batch, C)}, for input {layout} = {tuple(x.shape)} (got {tuple(out.shape)})")
    assert out.dtype.is_floating_point and bool(torch.isfinite(out).all()), (
        f"{model_name}.forward returned non-finite or non-float values")


@pytest.mark.parametrize("case_name", ["digits", "vectors"])
@pytest.mark.parametrize("model_name", MODELS)
def test_forward_matches_expected_logits(model_name, case_name):
    atol, cases = load_cases(model_name)
    case = next(c for c in cases if c["case"] == case_name)
    model = make_model(model_name, **case["constructor"])
    set_parameters(model, case["params"])
    x = torch.tensor(case["x"], dtype=torch.float32)
    logits = run_forward(model, x).detach()
    expected = torch.tensor(case["logits"], dtype=logits.dtype)
    assert logits.shape == expected.shape, (
        f"logits must have shape {tuple(expected.shape)} (got {tuple(logits.shape)})")
    error = (logits - expected).abs().max().item()
    assert error <= atol, (
        f"{model_name} logits differ from the expected ones by up to {error:.2e} "
        f"(tolerance {atol:g}) for input {tuple(x.shape)}. Check the equations one by one: "
        "h(0) (and c(0)) zero, W x is x @ W.T, the gates' non-linearities, the last step's "
        "p(T) returned as logits without softmax.")


@pytest.mark.parametrize("case_name", ["digits", "vectors"])
@pytest.mark.parametrize("model_name", MODELS)
def test_gradients_match_expected(model_name, case_name):
    atol, cases = load_cases(model_name)
    case = next(c for c in cases if c["case"] == case_name)
    model = make_model(model_name, **case["constructor"])
    set_parameters(model, case["params"])
    x = torch.tensor(case["x"], dtype=torch.float32)
    loss = torch.nn.functional.cross_entropy(run_forward(model, x),
                                             torch.tensor(case["targets"]))
    loss.backward()
    params = dict(model.named_parameters())
    for name, expected in case["grads"].items():
        grad = params[name].grad
        assert grad is not None, (
            f"no gradient reached {model_name}.{name}: is it used in forward, and is the "
            "computation kept in the autograd graph (no .detach(), .data or .numpy())?")
        expected = torch.tensor(expected, dtype=grad.dtype)
        error = (grad - expected).abs().max().item()
        # float32 gradients: tolerance atol plus 1e-4 relative to the largest entry
        tolerance = atol + 1e-4 * expected.abs().max().item()
        assert error <= tolerance, (
            f"the gradient of the loss with respect to {model_name}.{name} differs from the "
            f"expected one by up to {error:.2e} (tolerance {tolerance:.1e}). If the logits "
            "test passes, look for a detached hidden state or an in-place operation.")

"""Task 2.3: _charLSTM.__init__ and forward, criterion (line 43), hprev/cprev (lines 98-99).

The class docstring in task3_min_char_lstm.py fixes what these tests rely on:
``_charLSTM()`` reads the sizes from the module globals ``vocab_size`` and ``hidden_size``
(the tests set them to 9 and 12); ``forward(input, hprev, cprev, seq_len)`` takes one-hot
rows ``input`` of shape (seq_len, vocab_size) and states of shape (1, 1, hidden_size) and
returns ``(output, (h, c))`` with ``output`` the (seq_len, vocab_size) logits.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from support import (
    LSTM_SCRIPT,
    call_forward,
    check,
    fail,
    fail_from,
    load_lstm,
    make_lstm,
    one_hot,
    run_script,
    zero_state,
)

V, H = 9, 12          # vocab_size and hidden_size set in the module for these tests
TEXT = [(3 * i + i // 5) % V for i in range(41)]   # a fixed character sequence


def setup_model(seed=0):
    module = load_lstm(V, H)
    return module, make_lstm(module, seed)


def test_init_creates_the_layers():
    _, model = setup_model()
    count = sum(p.numel() for p in model.parameters())
    lstm_weights = 4 * H * (V + H)          # the four gates' input and recurrent weights
    check(count >= lstm_weights,
          f"_charLSTM has only {count} parameters; one LSTM layer from vocab_size={V} inputs to "
          f"hidden_size={H} units alone has {lstm_weights} weights (plus biases). Are the sizes "
          "taken from the module globals vocab_size and hidden_size?")


@pytest.mark.parametrize("seq_len", [1, 7])
def test_forward_shapes(seq_len):
    module, model = setup_model()
    call_forward(model, module, one_hot(TEXT[:seq_len], V), *zero_state(H))  # checks the shapes


def test_output_is_logits_not_probabilities():
    module, model = setup_model()
    output, _ = call_forward(model, module, one_hot(TEXT[:7], V), *zero_state(H))
    output = output.detach()
    rows_sum_to_one = bool(torch.allclose(output.sum(dim=1), torch.ones(7), atol=1e-4))
    rows_are_log_probs = bool(torch.allclose(torch.logsumexp(output, dim=1), torch.zeros(7),
                                             atol=1e-4))
    check(not (rows_sum_to_one or rows_are_log_probs),
          "forward's output rows are already (log-)probabilities: return the raw scores "
          "(logits) of the output layer; the criterion applies the log-softmax itself, and "
          "sample() applies the softmax")
    check(output.dtype.is_floating_point and bool(torch.isfinite(output).all()),
          "forward's output has non-finite values")


def test_state_carries_over_between_calls():
    module, model = setup_model()
    x = one_hot(TEXT[:7], V)
    with torch.no_grad():
        whole, (h7, c7) = call_forward(model, module, x, *zero_state(H))
        first, (h3, c3) = call_forward(model, module, x[:3], *zero_state(H))
        rest, (h7b, c7b) = call_forward(model, module, x[3:], h3, c3)
    error = (torch.cat([first, rest]) - whole).abs().max().item()
    check(error < 1e-5,
          "running 3 characters and then the other 4 from the returned (h, c) gives outputs "
          f"that differ by up to {error:.1e} from running all 7 at once: forward must start "
          "from hprev and cprev and return the states after the last character")
    check((h7b - h7).abs().max().item() < 1e-5 and (c7b - c7).abs().max().item() < 1e-5,
          "the (h, c) that forward returns must be the states after the last character")


def test_forward_starts_from_hprev_and_cprev():
    module, model = setup_model()
    x = one_hot(TEXT[:4], V)
    torch.manual_seed(1)
    h, c = torch.randn(1, 1, H), torch.randn(1, 1, H)
    with torch.no_grad():
        from_zero, _ = call_forward(model, module, x, *zero_state(H))
        from_h, _ = call_forward(model, module, x, h, torch.zeros(1, 1, H))
        from_c, _ = call_forward(model, module, x, torch.zeros(1, 1, H), c)
    check((from_h - from_zero).abs().max().item() > 1e-4,
          "forward ignores hprev: pass (hprev, cprev) to the LSTM as its initial state")
    check((from_c - from_zero).abs().max().item() > 1e-4,
          "forward ignores cprev: pass (hprev, cprev) to the LSTM as its initial state")


def test_gradients_reach_every_parameter():
    module, model = setup_model()
    output, _ = call_forward(model, module, one_hot(TEXT[:7], V), *zero_state(H))
    F.cross_entropy(output, torch.tensor(TEXT[1:8])).backward()
    missing = [name for name, p in model.named_parameters()
               if p.grad is None or not bool(p.grad.abs().sum() > 0)]
    check(not missing,
          f"no gradient reached {missing}: use every layer in forward and keep the output in "
          "the autograd graph (no .detach(), .data or .numpy() inside forward)")


def test_criterion_is_cross_entropy():
    module = load_lstm(V, H)
    criterion = getattr(module, "criterion", None)
    if criterion is ... or criterion is None:
        fail("criterion (task3_min_char_lstm.py line 43) is not implemented yet: set it to the "
             "torch.nn loss for predicting the next character (a class out of vocab_size) from "
             "the logits that forward returns")
    check(isinstance(criterion, torch.nn.CrossEntropyLoss),
          f"criterion is {criterion!r}: forward returns logits and the targets are character "
          "indices, so the loss is nn.CrossEntropyLoss() (it applies the log-softmax itself)")
    output = torch.randn(5, V)
    targets = torch.tensor(TEXT[:5])
    check(torch.allclose(criterion(output, targets), F.cross_entropy(output, targets)),
          "criterion must average the loss over the characters (CrossEntropyLoss's defaults)")


def test_a_few_training_steps_reduce_the_loss():
    module, model = setup_model()
    x, targets = one_hot(TEXT[:-1], V), torch.tensor(TEXT[1:])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        output, _ = call_forward(model, module, x, *zero_state(H))
        loss = F.cross_entropy(output, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    check(losses[-1] < 0.75 * losses[0],
          f"30 Adam steps (lr 0.01) on one 40-character sequence took the loss only from "
          f"{losses[0]:.3f} to {losses[-1]:.3f}; the reference gets below half. Check that "
          "forward returns logits and that every layer is used")


def test_training_loop_runs_with_detached_states(capsys):
    """Runs the whole script on textData.txt for 200 iterations (well under a second)."""
    iterations = 200
    losses, states = [], []

    def record(g):
        losses.append(float(g["err"].detach()))
        new_states = g.get("hcprev", (None, None))
        states.append((g["hprev"], g["cprev"], *new_states))

    namespace, exc = run_script(LSTM_SCRIPT, iterations, record)
    capsys.readouterr()  # the script's prints and samples
    if isinstance(exc, RuntimeError) and "second time" in str(exc):
        fail(f"hprev and cprev (lines 98-99) still carry the previous iteration's graph, so "
             f"iteration {len(losses)}'s backward() fails (\"Trying to backward through the "
             "graph a second time\"): assign them the new states detached from the graph")
    if exc is not None:
        fail_from(f"running task3_min_char_lstm.py (iteration {len(losses)})", exc, LSTM_SCRIPT)
    hidden = namespace["hidden_size"]
    hprev, cprev, h_new, c_new = states[-1]
    for name, value in (("hprev", hprev), ("cprev", cprev)):
        if not isinstance(value, torch.Tensor) or tuple(value.shape) != (1, 1, hidden):
            fail(f"after an iteration {name} (lines 98-99) must be a tensor of shape "
                 f"(1, 1, hidden_size) = {(1, 1, hidden)}: the new state from hcprev "
                 f"(got {type(value).__name__} {tuple(getattr(value, 'shape', ()))})")
        check(not value.requires_grad,
              f"{name} (lines 98-99) must be detached from the graph, or every backward() "
              "reaches back to the start of the text")
    if isinstance(h_new, torch.Tensor) and isinstance(c_new, torch.Tensor):
        check(torch.equal(hprev, h_new.detach()) and torch.equal(cprev, c_new.detach()),
              "hprev must become the new hidden state hcprev[0] and cprev the new cell state "
              "hcprev[1] (lines 98-99), detached from the graph")
    moved = any(not torch.equal(a[0], b[0]) for a, b in zip(states, states[1:], strict=False))
    check(moved, "hprev never changes between iterations: assign it the new hidden state "
          "from hcprev (lines 98-99)")
    first, last = np.mean(losses[:10]), np.mean(losses[-10:])
    check(last < 0.9 * first,
          f"in {iterations} SGD iterations the loss went from {first:.3f} to only {last:.3f} "
          "(means of 10 iterations); the reference's drops by about a quarter. Check criterion "
          "and forward")

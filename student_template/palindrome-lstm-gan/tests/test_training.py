"""Part I training: your LSTM must learn short palindromes, and part1/train.py must work.

The learning check trains with the hand-out's settings (RMSProp lr 1e-3, batch 128,
128 hidden units, gradient norm clipped to 10) on palindromes of 5 digits (4 inputs)
and stops as soon as 95% of 1000 held-out palindromes come out right. With seed 0 the
reference needs 150 steps with digits as scalars (B, T, 1) and 25 with one-hot digits
(B, T, 10), about a second; the budget of 1000 steps leaves room for other sensible
initialisations.

train() and evaluate() are checked on a small stand-in model (not your LSTM), so that
they can pass before the LSTM does: their averages are compared with the same loop
written out here.
"""

import copy

import numpy as np
import pytest
import torch
import torch.nn as nn
from support import (
    PART1_MODULES,
    call,
    fail,
    forget,
    make_lstm,
    palindromes,
    student_attr,
    train_until,
)

LENGTH = 5          # digits in a palindrome: 4 inputs and the target
TARGET = 0.95       # held-out accuracy to reach
MAX_STEPS = 1000
MAX_SECONDS = 60


@pytest.mark.parametrize("one_hot", [False, True], ids=["(B,T,1)", "(B,T,10)"])
def test_learns_short_palindromes(one_hot):
    torch.manual_seed(0)
    model = make_lstm(seq_length=LENGTH - 1, input_dim=10 if one_hot else 1, hidden_dim=128)
    steps, accuracy, seconds = train_until(model, length=LENGTH, target=TARGET,
                                           max_steps=MAX_STEPS, max_seconds=MAX_SECONDS,
                                           one_hot=one_hot)
    if accuracy < TARGET:
        fail(f"LSTM reached only {accuracy:.1%} accuracy on palindromes of {LENGTH} digits "
             f"after {steps} RMSProp steps ({seconds:.0f} s); the reference reaches "
             f"{TARGET:.0%} within a few hundred. Check the initialisation (small random "
             "weights, zero biases or a forget-gate bias near 1), that forward returns logits "
             "and not probabilities, and that the state is not detached inside the loop.")


class StandIn(nn.Module):
    """A linear classifier of the flattened sequence: (B, T, D) -> logits (B, 10)."""

    def __init__(self, T=4, D=1):
        super().__init__()
        self.linear = nn.Linear(T * D, 10)

    def forward(self, x):
        return self.linear(x.flatten(1))


def small_loader(n=96, batch_size=32, seed=0):
    """Palindromes of 5 digits, (n, 4, 1) inputs, in equal batches in a fixed order."""
    x, y = palindromes(np.random.default_rng(seed), n, LENGTH)
    dataset = torch.utils.data.TensorDataset(x, y)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False)


def config_for_tests(extra=()):
    parse_config = student_attr("train", "parse_config")
    return call("parse_config", parse_config, ["--max_norm", "10", *extra])


def check_pair(result, what):
    if not (isinstance(result, tuple) and len(result) == 2):
        fail(f"{what} must return the pair (average loss, average accuracy) "
             f"(got {result!r})")
    try:
        return float(result[0]), float(result[1])
    except (TypeError, ValueError):
        fail(f"{what} must return two numbers (got {result!r})")


def test_train_one_epoch():
    train = student_attr("train", "train")
    config = config_for_tests()
    torch.manual_seed(0)
    model, criterion = StandIn(), nn.CrossEntropyLoss()
    expected_model = copy.deepcopy(model)
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    result = call("train()", train, model, small_loader(), optimizer, criterion,
                  torch.device("cpu"), config)
    loss, accuracy = check_pair(result, "train()")

    # the same epoch written out: the loss and accuracy of each batch before its step
    expected_optimizer = torch.optim.SGD(expected_model.parameters(), lr=0.1)
    losses, correct, seen = 0.0, 0, 0
    for x, y in small_loader():
        logits = expected_model(x)
        batch_loss = criterion(logits, y)
        expected_optimizer.zero_grad()
        batch_loss.backward()
        torch.nn.utils.clip_grad_norm_(expected_model.parameters(), max_norm=10.0)
        expected_optimizer.step()
        losses += batch_loss.item() * len(y)
        correct += (logits.argmax(1) == y).sum().item()
        seen += len(y)

    if all(torch.equal(b, p) for b, p in zip(before, model.parameters(), strict=True)):
        fail("train() did not change the model's parameters: call loss.backward() and "
             "optimizer.step() for every batch")
    for p, q in zip(model.parameters(), expected_model.parameters(), strict=True):
        if not torch.allclose(p, q, atol=1e-5):
            fail("after train() the parameters differ from one optimizer step per batch on "
                 "the batch's loss: reset the gradients (optimizer.zero_grad()) before each "
                 "backward, and take exactly one optimizer.step() per batch")
    if abs(loss - losses / seen) > 1e-4 * max(1.0, abs(losses / seen)):
        fail(f"train() returned the average loss {loss:.6f}; the mean over the epoch's "
             f"examples of the loss before each step is {losses / seen:.6f}")
    if abs(accuracy - correct / seen) > 1e-6:
        fail(f"train() returned the average accuracy {accuracy:.6f}; the fraction of the "
             f"epoch's examples predicted right (before each step) is {correct / seen:.6f}")


def test_evaluate():
    evaluate = student_attr("train", "evaluate")
    config = config_for_tests()
    torch.manual_seed(1)
    model, criterion = StandIn(), nn.CrossEntropyLoss()
    before = [p.detach().clone() for p in model.parameters()]
    result = call("evaluate()", evaluate, model, small_loader(seed=1), criterion,
                  torch.device("cpu"), config)
    loss, accuracy = check_pair(result, "evaluate()")

    with torch.no_grad():
        x, y = next(iter(small_loader(n=96, batch_size=96, seed=1)))
        logits = model(x)
        expected_loss = criterion(logits, y).item()
        expected_accuracy = (logits.argmax(1) == y).float().mean().item()
    if any(not torch.equal(b, p) for b, p in zip(before, model.parameters(), strict=True)):
        fail("evaluate() changed the model's parameters: it must only measure")
    if any(p.grad is not None for p in model.parameters()):
        fail("evaluate() computed gradients: no loss.backward() when evaluating")
    if abs(loss - expected_loss) > 1e-4 * max(1.0, expected_loss):
        fail(f"evaluate() returned the average loss {loss:.6f}; the mean over the "
             f"examples is {expected_loss:.6f}")
    if abs(accuracy - expected_accuracy) > 1e-6:
        fail(f"evaluate() returned the average accuracy {accuracy:.6f}; the fraction of "
             f"examples predicted right is {expected_accuracy:.6f}")


def test_main_runs_with_rmsprop(monkeypatch, capsys):
    created = []

    class RecordingRMSprop(torch.optim.RMSprop):
        def __init__(self, params, *args, **kwargs):
            super().__init__(params, *args, **kwargs)
            created.append(self)

    forget(*PART1_MODULES)   # import train.py afresh, with RMSprop recorded
    monkeypatch.setattr(torch.optim, "RMSprop", RecordingRMSprop)
    try:
        main = student_attr("train", "main")
        config = config_for_tests(["--input_length", "4", "--num_hidden", "16",
                                   "--batch_size", "32", "--max_epoch", "2",
                                   "--data_size", "300", "--device", "cpu", "--seed", "0"])
        call("main(config)", main, config)
    finally:
        forget(*PART1_MODULES)
    if not created:
        fail("main() must train with torch.optim.RMSprop, as the hand-out says")
    lr = created[-1].param_groups[0]["lr"]
    if lr != config.learning_rate:
        fail(f"RMSprop must use lr=config.learning_rate ({config.learning_rate}), got {lr}")

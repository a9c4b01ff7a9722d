"""Your models must learn short palindromes, and part1/train.py must run.

The learning check trains with the hand-out's settings (RMSProp lr 1e-3, batch 128,
128 hidden units, gradient norm clipped to 10) on palindromes of 5 digits (4 input
digits) and stops as soon as 95% of 1000 held-out palindromes come out right.
With this seed the reference needs 150 steps (LSTM) and 300 steps (RNN), about a
second each; the budget of 1000 steps leaves room for other sensible initialisations.
"""

import pytest
import torch
from support import fail, import_part1, make_model, train_until

LENGTH = 5          # digits in a palindrome: 4 inputs and the target
TARGET = 0.95       # held-out accuracy to reach
MAX_STEPS = 1000
MAX_SECONDS = 60


@pytest.mark.parametrize("model_name", ["VanillaRNN", "LSTM"])
def test_learns_short_palindromes(model_name):
    torch.manual_seed(0)
    model = make_model(model_name, seq_length=LENGTH - 1, num_hidden=128)
    steps, accuracy, seconds = train_until(model, length=LENGTH, target=TARGET,
                                           max_steps=MAX_STEPS, max_seconds=MAX_SECONDS)
    assert accuracy >= TARGET, (
        f"{model_name} reached only {accuracy:.1%} accuracy on palindromes of {LENGTH} digits "
        f"after {steps} RMSProp steps ({seconds:.0f} s); the reference reaches {TARGET:.0%} "
        "within a few hundred. Check the initialisation (small random weights, zero biases "
        "or a forget-gate bias near 1), that forward returns logits and not probabilities, "
        "and that the hidden state is not detached inside the loop.")


@pytest.mark.parametrize("model_type", ["RNN", "LSTM"])
def test_train_script_runs(model_type, capsys):
    train_module = import_part1("part1.train")
    config = train_module.parse_config(
        ["--model_type", model_type, "--input_length", "4", "--num_hidden", "16",
         "--batch_size", "16", "--train_steps", "20", "--print_every", "10",
         "--device", "cpu", "--seed", "0"])
    try:
        result = train_module.train(config)
    except NotImplementedError as exc:
        fail(str(exc))
    except Exception as exc:
        fail(f"train(config) raised {type(exc).__name__}: {exc}")
    printed = capsys.readouterr().out
    assert "Accuracy" in printed and "Loss" in printed, (
        "train() should print the accuracy and the loss every config.print_every steps")
    assert isinstance(result, dict) and {"loss", "accuracy"} <= set(result), (
        "train() should return the dict {'step': ..., 'loss': ..., 'accuracy': ...} of the "
        f"last step, as the template does (got {result!r})")
    assert 0.0 <= result["accuracy"] <= 1.0, (
        f"the accuracy must be a fraction between 0 and 1 (got {result['accuracy']!r})")
    assert result["loss"] == result["loss"] and result["loss"] >= 0, (
        f"the loss must be a non-negative number (got {result['loss']!r})")

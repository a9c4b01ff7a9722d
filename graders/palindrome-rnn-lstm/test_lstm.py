"""Task 3: the LSTM (Eq. 4-10). Points are in assignment.toml."""

import numpy as np
import pytest

from _shared import palindrome as pal
from _shared import train_script
from _shared.palindrome_grading import Part
from harness.checks import fail, not_run


@pytest.fixture(scope="module")
def part():
    """What this file grades."""
    return Part(kind="lstm", path="part1/lstm.py", cls="LSTM")


def test_file_imports(model_class, part):
    errors = pal.construction_errors(model_class)
    if errors and errors[-1].type == "NotImplementedError":
        fail(f"{part.cls} is still the blank skeleton: {errors[-1].message}")
    if errors:
        fail(
            f"{part.cls} could not be built with the skeleton's arguments: "
            + "; ".join(f"{e.type}: {e.message}" for e in errors[-2:])
        )


def test_no_forbidden_api(forbidden_uses, model_runs, part_files, settings, evidence):
    # An empty model trivially uses nothing forbidden: the check needs a model that runs.
    if not model_runs:
        not_run(
            "a model whose forward runs (see the interface check)",
            because="a model that does not run would pass this check trivially",
        )
    if forbidden_uses:
        evidence.text(name="forbidden", title="Forbidden API uses", text=forbidden_uses)
        fail(f"{settings['forbidden_message']}; found:\n{forbidden_uses}")
    pal.flag_dynamic_access(part_files, settings, evidence)


def test_interface(student, probe, part, settings, evidence):
    # A model that runs only at the batch size its constructor was given is graded at that
    # size: the skeleton passes batch_size, and the hand-out asks for nothing more.
    model = probe.model(seq_length=5, hidden=settings["hidden"], batch=3)
    for batch in (3,) if probe.batch_fixed else (1, 3, 8):
        out = pal.run_model(student, probe, model, np.zeros((batch, 5)))
        assert out.shape == (batch, 10), f"expected output (B, 10) = ({batch}, 10), got {out.shape}"
    notes = pal.interface_notes(student, probe, model, part.cls, hidden=settings["hidden"])
    if notes:
        evidence.text(name="variants", title="Interface variants accepted", text="\n".join(notes))


def test_matches_equations(probe, comparison, forbidden_uses, settings, evidence):
    pal.not_done_by_forbidden_api(forbidden_uses, settings, "cell")
    if comparison.match is None:
        fail(pal.explain_mismatch(probe, comparison, settings["equations"]["lstm"]))
    evidence.text(
        name="mapping",
        title="How your parameters were matched",
        text=comparison.match.mapping.description,
    )


def test_gradients_match(gradient_problems, forbidden_uses, settings):
    pal.not_done_by_forbidden_api(forbidden_uses, settings, "gradient")
    if gradient_problems is None:
        fail(
            "the gradients could not be compared because the forward pass matches neither "
            "the equations nor a known single mistake (see that check)"
        )
    if gradient_problems:
        fail(pal.explain_gradient_problems(gradient_problems))


def test_train_script(student, request, part, model_runs, settings, evidence):
    # A model that returns probabilities, which the skeleton's nn.CrossEntropyLoss softmaxes
    # again, learns more slowly and is judged also on the loss its train.py minimises: it
    # gets script_steps_probabilities (benchmarks/results/palindrome-rnn-lstm-script.md).
    probabilities = model_runs and request.getfixturevalue("probe").output == "probabilities"
    steps = settings["script_steps_probabilities" if probabilities else "script_steps"]
    argv = ["--model_type", "LSTM", "--input_length", "4", "--train_steps", str(steps)]
    # A train.py that ignores --train_steps (a sweep over lengths in __main__) is stopped
    # after script_max_steps optimiser steps (twice those asked, where more) and judged on them.
    run = train_script.run_spied(
        student,
        "part1/train.py",
        [*argv, "--device", "cpu"],
        max_steps=max(settings["script_max_steps"], 2 * steps),
        asked=f"{steps} steps",
        evidence=evidence,
    )
    losses, optimisers = run.losses, run.optimisers
    with train_script.end_told(run, f"part1/train.py {run.options}", evidence):
        if len(losses) < 20:
            fail(
                f"part1/train.py computed a loss only {len(losses)} times in {steps} steps; "
                "it should train with nn.CrossEntropyLoss"
            )
        if "RMSprop" not in optimisers:
            fail(
                f"part1/train.py steps {', '.join(optimisers) or 'no optimiser'}; the "
                "hand-out asks for RMSProp (torch.optim.RMSprop)"
            )
        # A script that follows the command line (it was not stopped: it ran the steps
        # asked) must train the model --model_type names; a sweep in __main__ is exempt.
        models = run.result.get("models", [])
        if not run.result.get("stopped") and "VanillaRNN" in models and "LSTM" not in models:
            fail(
                "part1/train.py --model_type LSTM trained VanillaRNN, not LSTM: "
                "the option must choose the model"
            )
        first, last = np.mean(losses[:10]), np.mean(losses[-10:])
        if not last < 0.95 * first:
            fail(
                f"the loss did not go down in {len(losses)} steps of your train.py (first "
                f"steps {first:.3f}, last steps {last:.3f})"
            )
        model = train_script.trained_model(student, part.cls)
        if model is None and run.result.get("stopped"):
            # A sweep that ignores the options was stopped before it reached this model:
            # judged on the model it was training, as its losses are.
            model = train_script.trained_model(student, None)
        if model is None:
            models = ", ".join(run.result["models"]) or "none"
            fail(f"part1/train.py did not train your {part.cls} (the models it called: {models})")
        # The point is earned by what the grader measures, not by what the run reported;
        # the model's interface is needed for that, so a failure above is told first.
        trainer = request.getfixturevalue("trainer")
        mapping = trainer.mapping(settings["train_hidden"])
        pal.require_learned(
            student, trainer.found, model, mapping, part.cls, probabilities=probabilities
        )


def test_learns_short_palindromes(trainer, settings, evidence):
    length, steps = settings["short_length"], settings["short_steps"]
    assert trainer.output_moves(), (
        "your model's output does not change when its parameters change, so it cannot "
        "learn: it predicts from the input digits directly instead of running the LSTM"
    )
    accuracy = trainer.accuracy(length=length, steps=steps, evidence=evidence)
    assert accuracy >= settings["accuracy"], (
        f"{trainer.loop(length)} the accuracy on palindromes of length {length} is "
        f"{accuracy:.1%}; near-perfect ({settings['accuracy']:.0%}) is expected"
    )


def test_learns_longer_palindromes(trainer, settings, evidence):
    length, steps = settings["long_length"], settings["long_steps"]
    if trainer.failed_at is not None:
        fail(f"not attempted: the model did not learn palindromes of length {trainer.failed_at}")
    assert trainer.output_moves(), (
        "your model's output does not change when its parameters change, so it cannot "
        "learn: it predicts from the input digits directly instead of running the LSTM"
    )
    accuracy = trainer.accuracy(length=length, steps=steps, evidence=evidence)
    assert accuracy >= settings["accuracy"], (
        f"{trainer.loop(length)} the accuracy on palindromes of length {length} is "
        f"{accuracy:.1%}; near-perfect ({settings['accuracy']:.0%}) is expected"
    )

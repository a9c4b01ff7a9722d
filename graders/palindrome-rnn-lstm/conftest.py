"""palindrome-rnn-lstm's graders: the shared palindrome checks, plus skeleton A's train.py."""

from types import SimpleNamespace

import numpy as np
import pytest

from _shared import palindrome_grading as grading
from harness.checks import record_how_it_ran

pytest_plugins = ["_shared.palindrome_grading"]


@pytest.fixture(scope="session")
def model_files():
    return {
        "rnn": ("part1/vanilla_rnn.py", "part1.vanilla_rnn", "VanillaRNN"),
        "lstm": ("part1/lstm.py", "part1.lstm", "LSTM"),
    }


@pytest.fixture(scope="session")
def given_files():
    return ("part1/train.py", "part1/dataset.py", "part1/__init__.py")


@pytest.fixture(scope="session")
def checks():
    """The shared check bodies and this skeleton's ``check_script``, for the test files."""
    return SimpleNamespace(**grading.CHECKS, check_script=check_script)


def check_script(student, part, settings, evidence):
    model_type = "RNN" if part.kind == "rnn" else "LSTM"
    argv = [
        "--model_type",
        model_type,
        "--input_length",
        "4",
        "--train_steps",
        str(settings["script_steps"]),
        "--device",
        "cpu",
    ]
    # A train.py that ignores --train_steps (a sweep over lengths in __main__) is stopped
    # after script_max_steps optimiser steps and judged on them.
    max_steps = settings["script_max_steps"]

    def run(args):
        return student.op(
            "run_script_spied", "part1/train.py", args, max_steps, want="value", timeout=120
        )

    result = run(argv)
    if result["exit_code"] == 2 and not result["losses"]:  # argparse rejected an option
        argv = argv[:-2]
        result = run(argv)
    losses, optimisers = result["losses"], result["optimisers"]
    record_how_it_ran(evidence, result, argv, f"{settings['script_steps']} steps")
    evidence.data(
        name="script",
        title="Your train.py",
        value={
            "command": " ".join([result["command"], *argv]),
            "exit_code": result["exit_code"],
            "optimisers": optimisers,
            "models": result["models"],
            "first_losses": losses[:5],
            "last_losses": losses[-5:],
            "steps": len(losses),
            "optimiser_steps": result["steps"],
        },
    )
    problem = ""
    if len(losses) < 20:
        problem = (
            f"part1/train.py computed a loss only {len(losses)} times in "
            f"{settings['script_steps']} steps; it should train with nn.CrossEntropyLoss"
        )
    elif "RMSprop" not in optimisers:
        problem = (
            f"part1/train.py steps {', '.join(optimisers) or 'no optimiser'}; the hand-out "
            "asks for RMSProp (torch.optim.RMSprop)"
        )
    elif not np.mean(losses[-10:]) < 0.95 * np.mean(losses[:10]):
        problem = (
            f"the loss did not go down in {len(losses)} steps of your train.py (first steps "
            f"{np.mean(losses[:10]):.3f}, last steps {np.mean(losses[-10:]):.3f})"
        )
    grading.judge_script_end(result, f"part1/train.py {' '.join(argv)}", problem, evidence)

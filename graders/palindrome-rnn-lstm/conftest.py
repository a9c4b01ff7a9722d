"""palindrome-rnn-lstm's fixtures: the shared palindrome ones, and skeleton A's files."""

import pytest

pytest_plugins = ["_shared.palindrome_grading"]


@pytest.fixture(scope="session")
def model_files():
    """Each part's model file (test_rnn.py and test_lstm.py each grade one)."""
    return ("part1/vanilla_rnn.py", "part1/lstm.py")


@pytest.fixture(scope="session")
def given_files():
    """Skeleton A's other files: not a model's own, so its forbidden-API check skips them."""
    return ("part1/train.py", "part1/dataset.py", "part1/__init__.py")

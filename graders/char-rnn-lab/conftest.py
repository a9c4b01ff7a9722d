"""Fixtures of char-rnn-lab (seed 004): the hand-out's names, the text, and the two
scripts loaded definitions-only (both train forever at module level).

The sizes come from ``[settings]`` in assignment.toml; the hidden size is not the
scripts' 100, so a class that hard-codes 100 is caught (and checked at 100).
"""

from __future__ import annotations

import pytest
from char_lab import Handout, passage, reference_definitions
from lstm_model import lstm_globals, probe_hidden_size
from rnn_lossfun import rnn_case


@pytest.fixture(scope="session", autouse=True)
def _prepare_student(student):
    student.on_start.append(("cpu_only", ()))  # a .cuda() in the script must not matter


@pytest.fixture(scope="session")
def handout(settings):
    """The names the hand-out uses (files, line numbers, class, states)."""
    return Handout.from_settings(settings)


@pytest.fixture(scope="session")
def text(reference, settings):
    """A passage of the lab's own textData.txt; its characters are the vocabulary."""
    whole = reference.path("textData.txt").read_text(encoding="utf-8")
    return passage(whole, settings["text_from"], settings["text_chars"])


@pytest.fixture(scope="session")
def rnn(student, text, handout):
    """task2_min_char_rnn.py, definitions only (its loop trains forever)."""
    case = rnn_case(text.vocab_size, 8)
    return student.load(handout.rnn_file, mode="definitions", inject=case.globals())


@pytest.fixture(scope="session")
def rnn_reference(reference, text, handout):
    return reference_definitions(
        reference, handout.rnn_file, rnn_case(text.vocab_size, 8).globals()
    )


@pytest.fixture(scope="session")
def lstm(student, text, settings, handout):
    """task3_min_char_lstm.py, definitions only (its loop trains forever)."""
    inject = lstm_globals(text, settings["hidden"])
    return student.load(handout.lstm_file, mode="definitions", inject=inject)


@pytest.fixture(scope="session")
def lstm_probe(student, lstm, text, settings, handout):
    """The hidden size the student's model runs at: the grader's, or the one a class
    hard-codes (the other checks judge it at that size; the interface check alone takes
    the points for it)."""
    return probe_hidden_size(student, lstm, text, settings["hidden"], handout)

"""Checks for the hostile suite's LSTM step. Points live in assignment.toml.

The forbidden-API check works as the course graders' does: static analysis of every
submitted file on this (trusted) side, then the run-time traps' record of what ran
while the student's step ran; a step done by a forbidden API is not counted.
"""

import contextlib

import numpy as np
import pytest
import torch

from harness.checks import assert_close, fail, find_forbidden, find_suspicious
from harness.checks import describe_uses as describe


@pytest.fixture(scope="session", autouse=True)
def _traps(student, spec):
    # Before any student code loads: every use of a forbidden API is recorded.
    student.on_start.append(("install_traps", (spec.settings["forbidden"],)))


def case(seed=1, n=3, d=4, h=5):
    rng = np.random.default_rng(seed)
    shapes = [(n, d), (n, h), (n, h), (d, 4 * h), (h, 4 * h), (4 * h,)]
    return [rng.normal(size=s) * 0.5 for s in shapes]  # x, h, c, W, U, b


@pytest.fixture(scope="module")
def answer(student):
    step = student.load("lstm.py").lstm_step
    inputs = case()
    return inputs, student.fetch(step(*[torch.tensor(v) for v in inputs]))


@pytest.fixture(scope="module")
def forbidden(request, student, submission, spec):
    files = {
        p.relative_to(submission.root).as_posix(): p.read_text(errors="replace")
        for p in submission.python_files()
    }
    uses = find_forbidden(files, forbidden=spec.settings["forbidden"])
    with contextlib.suppress(Exception):  # best effort: the other check judges the step
        request.getfixturevalue("answer")
    trapped = [
        f"{r['file']}:{r['line']}: {r['api']} ran: {r.get('code', '')}"
        for r in student.op("trap_report", want="value")
    ]
    return "\n".join(t for t in [describe(uses) if uses else "", *trapped] if t)


def test_no_forbidden_api(forbidden, spec, submission, evidence):
    if forbidden:
        fail(f"{spec.settings['forbidden_message']}; found:\n{forbidden}")
    # What neither static analysis nor the traps can settle goes to a TA, as in the
    # course graders (graders/_shared/palindrome.py: flag_dynamic_access).
    files = {
        p.relative_to(submission.root).as_posix(): p.read_text(errors="replace")
        for p in submission.python_files()
    }
    suspicious = find_suspicious(files, forbidden=spec.settings["forbidden"])
    if suspicious:
        evidence.for_review(describe(suspicious))


def test_matches_equations(answer, forbidden, reference):
    if forbidden:
        fail("not counted: the step is done by an API the hand-out forbids")
    inputs, got = answer
    if not isinstance(got, tuple | list) or len(got) != 2:
        fail(f"lstm_step must return (h_next, c_next), got {type(got).__name__}")
    h_next, c_next = reference.load("lstm").lstm_step(*inputs)
    assert_close(h_next, got[0], what="h_next", atol=1e-6)
    assert_close(c_next, got[1], what="c_next", atol=1e-6)

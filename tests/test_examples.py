"""Every example ZIP in submissions/ gets the verdict its name promises, and every
assignment's grader validates (``harness.validate``): one grading serves both."""

import os
import tomllib
import warnings
from pathlib import Path

import pytest
from conftest import grading_timeout, require

from harness import examples, expected, validate
from harness.assignments import find_assignment
from harness.errors import UnsafeSandboxWarning
from harness.sandbox.bwrap import BwrapSandbox

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"
ASSIGNMENTS = sorted(p.name for p in SUBMISSIONS.iterdir() if (p / "expected.toml").exists())


def sandbox_name() -> str:
    if BwrapSandbox.available():
        return "bwrap"
    if os.environ.get("CI"):
        pytest.fail("bubblewrap must work under CI")
    return "local"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_zips_match_their_sources(assignment):
    built = examples.build(assignment)
    folder = SUBMISSIONS / assignment
    committed = {p.name: p.read_bytes() for p in folder.glob("*.zip")}
    assert set(committed) == set(built), "run `python -m harness.examples` to rebuild"
    for name, data in built.items():
        assert committed[name] == data, f"{name} is stale: run `python -m harness.examples`"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_graded_example_labels_each_part(assignment):
    """``parts`` says what each automatically graded part of the example is, for the class
    benchmark (benchmarks/class_fidelity.py): exactly the parts that have checks, each
    "correct", "faulty" or "empty". A part graded only by a TA is not labelled, and an
    example the harness refuses (misnamed, not a ZIP, ...) has no parts to label."""
    graded_parts = set(expected.auto_points(find_assignment(assignment)))
    verdicts = tomllib.loads((SUBMISSIONS / assignment / "expected.toml").read_text())
    problems = []
    for sid, want in verdicts.items():
        labels = want.get("parts")
        if want["status"] == "not_graded":
            if labels is not None:
                problems.append(f"{sid}: not graded, so it has no parts to label")
            continue
        if not isinstance(labels, dict):
            problems.append(f"{sid}: no parts = {{ ... }} labelling {sorted(graded_parts)}")
            continue
        if set(labels) != graded_parts:
            problems.append(
                f"{sid}: parts {sorted(labels)}; the parts with checks are {sorted(graded_parts)}"
                " (a part graded only by a TA is not labelled)"
            )
        wrong = {k: v for k, v in labels.items() if v not in expected.LABELS}
        if wrong:
            problems.append(f"{sid}: labels {wrong}; allowed: {', '.join(expected.LABELS)}")
        # A fault's message names that fault: the example says which words, and the verdict
        # test finds them in what the student is told.
        if "faulty" in labels.values() and not want.get("message"):
            problems.append(f"{sid}: a faulty part, but no message naming its fault")
    assert not problems, "\n".join(problems)


#: Every assignment validated in bubblewrap: its reference, blank template and examples
#: graded once; the self-test assignment's (hangs, memory hog, print flood, exits) in
#: Docker too, for the same verdicts.
def timeout(assignment: str) -> pytest.MarkDecorator:
    """The time validating may take: the limits of the submissions it grades (the
    examples, the reference and the template), not today's machine, say."""
    count = len(list((SUBMISSIONS / assignment).glob("*.zip"))) + 2
    limits = find_assignment(assignment).limits
    return pytest.mark.timeout(grading_timeout(limits, count, jobs=JOBS))


JOBS = 2
GRADINGS = [pytest.param((a, ""), id=a, marks=timeout(a)) for a in ASSIGNMENTS] + [
    pytest.param(
        ("tiny-rnn", "docker"),
        id="tiny-rnn-docker",
        marks=[pytest.mark.docker, timeout("tiny-rnn")],
    )
]


@pytest.fixture(scope="module", params=GRADINGS)
def validated(request, tmp_path_factory):
    assignment, backend = request.param
    if backend:
        require(backend)
    with warnings.catch_warnings():  # off CI, without bubblewrap, local is the honest fallback
        warnings.simplefilter("ignore", UnsafeSandboxWarning)
        return validate.validate(
            assignment=assignment,
            out=tmp_path_factory.mktemp(f"out-{assignment}"),
            sandbox=backend or sandbox_name(),
            jobs=JOBS,
        )


@pytest.mark.sandbox
def test_every_example_gets_its_verdict(validated):
    assert validated.examples, "no example was graded"
    assert not validated.disagreements, "\n\n".join(str(d) for d in validated.disagreements)


@pytest.mark.sandbox
def test_the_grader_validates(validated):
    """The reference gets full marks, the blank template zero, every check can fail and
    pass, every [checks] key names a test and every test has a key."""
    others = [p for p in validated.problems if p.kind is not validate.ProblemKind.DISAGREEMENT]
    assert not others, "\n".join(str(p) for p in others)
    assert not validated.interrupted


@pytest.mark.sandbox
def test_gradebook_has_one_row_per_submission(validated):
    rows = (validated.out / "summary.csv").read_text().splitlines()
    assert rows[0].startswith("id,status,")
    assert len(rows) == 1 + len(validated.expected)

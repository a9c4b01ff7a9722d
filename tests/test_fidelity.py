"""The arithmetic of the class-fidelity benchmark (benchmarks/fidelity.py), on hand-made results."""

from pathlib import Path

from benchmarks import fidelity
from harness.results import CheckResult, CheckStatus, Status, SubmissionResult
from harness.spec import AssignmentSpec, CheckSpec, NamingRule, Part

SPEC = AssignmentSpec(
    name="toy",
    title="Toy",
    root=Path("."),
    naming=NamingRule(),
    required=(),
    parts=(Part("rnn", "RNN", 3), Part("lstm", "LSTM", 4), Part("questions", "Questions", 5)),
    checks=(
        CheckSpec("test_rnn.py::test_cell", 2, "rnn", "cell"),
        CheckSpec("test_rnn.py::test_script", 1, "rnn", "script"),
        CheckSpec("test_lstm.py::test_cell", 4, "lstm", "cell"),
    ),
)


def check(part: str, name: str, score: float, max_score: float, output: str = "") -> CheckResult:
    status = CheckStatus.PASSED if score == max_score else CheckStatus.FAILED
    return CheckResult(name, score, max_score, status, output, tags=(part, "cell"))


def result(sid: str, *checks: CheckResult, status: Status = Status.GRADED) -> SubmissionResult:
    score = sum(c.score for c in checks)
    return SubmissionResult(sid, "toy", status, score, 7.0, checks=checks)


def test_auto_points_leave_out_parts_without_checks():
    assert fidelity.auto_points(SPEC) == {"rnn": 3.0, "lstm": 4.0}


def test_parts_are_summed_from_their_checks_and_compared_with_their_labels():
    graded = result(
        "a",
        check("rnn", "cell", 2, 2),
        check("rnn", "script [x]", 0.5, 0.5),
        check("rnn", "script [y]", 0, 0.5, "\n  train.py must use RMSProp\nmore detail"),
        check("lstm", "cell", 4, 4),
    )
    outcomes = fidelity.part_outcomes(
        graded, {"rnn": "correct", "lstm": "faulty", "questions": "empty"}, {"rnn": 3, "lstm": 4}
    )
    rnn, lstm = outcomes  # questions has no automatic points: not measured
    assert (rnn.score, rnn.max_score, rnn.lost, rnn.as_labelled) == (2.5, 3, 0.5, False)
    assert rnn.failure == 'check "script [y]": train.py must use RMSProp'
    assert (lstm.score, lstm.as_labelled, lstm.failure) == (4, False, "")


def test_a_tally_counts_each_label_and_the_points_correct_parts_lost():
    results = [
        result("blank", check("rnn", "cell", 0, 3, "not implemented"), check("lstm", "cell", 0, 4)),
        result("right", check("rnn", "cell", 3, 3), check("lstm", "cell", 3, 4, "shape")),
        result("wrong", check("rnn", "cell", 1, 3, "tanh"), check("lstm", "cell", 4, 4)),
    ]
    labels = {
        "blank": {"rnn": "empty", "lstm": "empty"},
        "right": {"rnn": "correct", "lstm": "correct"},
        "wrong": {"rnn": "faulty", "lstm": "correct"},
        "gone": {"rnn": "correct", "lstm": "correct"},
    }
    t = fidelity.tally(SPEC, results, labels)
    assert t.parts == ("rnn", "lstm")
    assert t.unmeasured == ("gone",)
    assert (t.count("correct"), t.as_labelled("correct")) == (3, 2)
    assert (t.count("faulty"), t.as_labelled("faulty")) == (1, 1)
    assert (t.count("empty"), t.as_labelled("empty")) == (2, 2)
    assert (t.correct_points, t.correct_lost) == (11, 1)
    assert [(m.example, m.part) for m in t.misses] == [("right", "lstm")]

    text = fidelity.render([t], "# Header")
    assert text.startswith("# Header\n")
    assert "| toy | 2 / 3 (67%) | 1 / 1 (100%) | 2 / 2 (100%) | 1 of 11 |" in text
    assert "| right | correct 3/3 | correct 3/4 **miss** |" in text
    assert "- `right` lstm (correct): 3/4. check \"cell\": shape" in text
    assert "Labelled but not graded here: gone." in text


def test_a_faulty_part_with_full_marks_and_an_empty_part_with_points_are_misses():
    graded = result("x", check("rnn", "cell", 3, 3), check("lstm", "cell", 1, 4, "half"))
    rnn, lstm = fidelity.part_outcomes(graded, {"rnn": "faulty", "lstm": "empty"}, {"rnn": 3, "lstm": 4})
    assert not rnn.as_labelled and not lstm.as_labelled
    text = fidelity.render([fidelity.tally(SPEC, [graded], {"x": {"rnn": "faulty", "lstm": "empty"}})])
    assert "- `x` rnn (faulty): 3/3. every check passed" in text


def test_a_refused_submission_quotes_its_reason():
    refused = SubmissionResult("r", "toy", Status.NOT_GRADED, 0, 7, output="not a ZIP archive")
    (rnn,) = fidelity.part_outcomes(refused, {"rnn": "correct"}, {"rnn": 3})
    assert (rnn.score, rnn.lost, rnn.failure) == (0, 3, "not a ZIP archive")


def test_labels_are_read_only_from_tables_that_have_them(tmp_path):
    expected = tmp_path / "expected.toml"
    expected.write_text(
        '[a]\nstatus = "graded"\nscore = 3\nparts = { rnn = "correct", lstm = "empty" }\n\n'
        '[b]\nstatus = "not_graded"\nscore = 0\n'
    )
    assert fidelity.read_labels(expected) == {"a": {"rnn": "correct", "lstm": "empty"}}

"""A TA's marks for the manual items: validated, merged, and kept across regrades."""

import csv
import json
import shutil
from pathlib import Path

import pytest

from harness import api, manual
from harness.assignments import find_assignment
from harness.errors import UsageError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "submissions" / "tiny-rnn"


def write_csv(path, rows, header=("id", "item", "score", "comment")):
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        ([["1", "nope", "1", ""]], None, "line 2: unknown item 'nope' (items: explain)"),
        ([["1", "explain", "3", ""]], None, "explain is worth 2 points (got 3)"),
        ([["1", "explain", "lots", ""]], None, "score 'lots' is not a number"),
        ([["1", "1"]], ("id", "score"), "missing: item"),
    ],
)
def test_bad_csv_files_are_usage_errors(tmp_path, rows, header, message):
    spec = find_assignment("tiny-rnn")
    path = write_csv(tmp_path / "marks.csv", rows, header or ("id", "item", "score", "comment"))
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        manual.read_scores(path, spec)


@pytest.mark.sandbox
def test_marks_are_merged_without_regrading_and_survive_a_regrade(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    shutil.copy(EXAMPLES / "correct_tiny.zip", folder)
    shutil.copy(EXAMPLES / "wrong-activation_tiny.zip", folder)
    out = tmp_path / "out"
    first = api.grade(submissions=folder, assignment="tiny-rnn", out=out, jobs=2)
    unmarked = json.loads((out / "correct" / "results.json").read_text())
    assert unmarked["extra_data"]["harness"]["manual"][0]["score"] is None
    assert "correct,graded,1,9,10,10,0,10,12," in (out / "summary.csv").read_text()

    marks = write_csv(tmp_path / "marks.csv", [["correct", "explain", "1.5", "good"]])
    second = api.grade(submissions=folder, assignment="tiny-rnn", out=out, manual_scores=marks)
    assert second.graded_now == () and len(second.skipped) == len(first.results)
    stored = json.loads((out / "correct" / "results.json").read_text())
    entry = stored["extra_data"]["harness"]["manual"][0]
    assert (entry["score"], entry["comment"]) == (1.5, "good")
    assert stored["score"] == 10  # the automatic score is the autograder's, untouched
    assert "correct,graded,1,9,10,10,1.5,11.5,12," in (out / "summary.csv").read_text()

    api.grade(submissions=folder, assignment="tiny-rnn", out=out, force=True)
    again = json.loads((out / "correct" / "results.json").read_text())
    assert again["extra_data"]["harness"]["manual"][0]["score"] == 1.5

    unknown = write_csv(tmp_path / "bad.csv", [["nobody", "explain", "1", ""]])
    with pytest.raises(UsageError, match="no submission with id nobody"):
        api.grade(submissions=folder, assignment="tiny-rnn", out=out, manual_scores=unknown)

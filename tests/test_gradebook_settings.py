"""Run settings remembered in OUT/run.json, the marking sheet, and the class page's
reasons, lists and matrix, on results fabricated through the public result classes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_gradebook_exports import class_results
from test_roster import ROSTERS, submissions_folder, utc  # noqa: F401

from harness import api, classlist, manual
from harness.assignments import find_assignment
from harness.errors import UsageError
from harness.grade import ExitCode, cli
from harness.roster import read_roster
from harness.store import write_json_strict

SPEC = find_assignment("tiny-rnn")


@pytest.fixture
def graded_out(tmp_path, utc):  # noqa: F811
    """An output folder as a grading run leaves it: results, the class list."""
    out = tmp_path / "out"
    found = classlist.survey(
        submissions_folder(tmp_path), SPEC, roster=read_roster(ROSTERS / "plain.csv")
    )
    for r in class_results():
        write_json_strict(out / r.student_id / "results.json", r.to_json())
    found.write(out)
    return out


def test_settings_survive_a_reports_only_run_and_say_so(graded_out):
    batch = api.grade(
        submissions=None,
        assignment="tiny-rnn",
        out=graded_out,
        reports_only=True,
        scale=100,
        id_column="Username",
        roster=ROSTERS / "plain.csv",
    )
    assert batch.reused == ()
    first = (graded_out / "grades.csv").read_text()
    assert first.startswith("Username,name,email,tiny-rnn total\n20230001,Ada Lovelace,")
    stored = json.loads((graded_out / "run.json").read_text())
    assert stored["scale"] == 100 and stored["roster"].endswith("plain.csv")
    result = CliRunner().invoke(cli, ["--reports-only", "-a", "tiny-rnn", "-o", str(graded_out)])
    assert result.exit_code == ExitCode.OK, result.output
    said = " ".join(result.output.split())
    assert "settings of the earlier run (OUT/run.json): --scale 100; --id-column Username" in said
    assert "missing: 1 student(s) of the roster sent nothing: 20230004 (Edsger Dijkstra)" in said
    assert "unmatched: 20230009_tiny.zip matches no roster entry" in said
    assert (graded_out / "grades.csv").read_text() == first  # the same file again
    forgot = api.grade(
        submissions=None,
        assignment="tiny-rnn",
        out=graded_out,
        reports_only=True,
        forget_settings=True,
    )
    assert forgot.settings is not None and forgot.settings.scale is None
    assert (graded_out / "grades.csv").read_text().startswith("id,tiny-rnn total\n")


def test_class_page_says_why_and_lists_who_is_missing(graded_out):
    api.grade(
        submissions=None,
        assignment="tiny-rnn",
        out=graded_out,
        reports_only=True,
        roster=ROSTERS / "plain.csv",
        deadline="2026-05-08T23:59",
        late_policy="10%/day",
    )
    page = (graded_out / "index.html").read_text()
    assert "crashed at import (rnn_step.py): ModuleNotFoundError: No module named" in page
    assert 'class="badge zero"' in page
    for section in (
        'id="missing"',
        'id="unmatched"',
        'id="superseded"',
        'id="late"',
        'id="matrix"',
        'data-filter="matrix"',
    ):
        assert section in page, section
    assert "late by 1 h 31 min (10%/day: 1 of 8 automatic points off)" in page
    student = (graded_out / "20230002" / "report.html").read_text()
    assert "Late by 1 h 31 min" in student


def test_marking_sheet_round_trip_and_clearing(tmp_path):
    results = class_results()[:3]
    text = manual.sheet(SPEC, results, {"20230001": "Ada Lovelace"})
    lines = text.splitlines()
    assert lines[0] == "id,name,item,title,points,score,comment"
    assert lines[1].startswith("20230001,Ada Lovelace,explain,") and ",2,1.5," in lines[1]
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(text)
    scores = manual.read_scores(sheet, SPEC)
    assert scores["20230001"]["explain"]["score"] == 1.5  # unchanged sheet, unchanged marks
    sheet.write_text("id;item;score;comment\n20230001;explain;1,5;gut\n20230002;explain;;\n")
    scores = manual.read_scores(sheet, SPEC)
    assert scores["20230001"]["explain"] == {"score": 1.5, "comment": "gut"}
    assert scores["20230002"]["explain"]["score"] is None
    stored = [{"item": "explain", "score": 2.0, "comment": "ok"}]
    cleared = manual.entries(SPEC, stored, scores["20230002"])
    assert cleared[0]["score"] is None  # an empty score clears the mark
    sheet.write_text("id,item,score\n20230001,explain,1,5\n")
    with pytest.raises(UsageError, match="decimal comma"):
        manual.read_scores(sheet, SPEC)


def test_bad_settings_are_refused_before_grading(tmp_path):
    for kwargs, message in [
        ({"scale": 0}, "--scale must be positive"),
        ({"id_column": " "}, "--id-column must not be empty"),
        ({"deadline": "tomorrow"}, "--deadline"),
        ({"exports": ["blackboard"]}, "needs the Grade Center download"),
    ]:
        with pytest.raises(UsageError, match=message):
            api.grade(submissions=tmp_path, assignment="tiny-rnn", out=tmp_path / "o", **kwargs)
    assert not (Path(tmp_path) / "o" / "run.json").exists()

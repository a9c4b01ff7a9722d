"""End to end, as a course's staff would run it: a real grading of tiny-rnn examples
downloaded from Moodle and from Canvas (each system's own file names), with that system's
gradebook export as the roster; then the TA's marking sheet, filled in and merged; then
the gradebook import file and the class lists.

The download names are the ones each system documents (harness/downloads.py):
Moodle's "Download all submissions" (docs.moodle.org/en/Assignment_settings) names each
file ``Full Name_<participant id>_assignsubmission_file_<the student's file>``, or puts it
in a folder of that name; Canvas's "Download Submissions" names it
``<sortable name>[_LATE]_<user id>_<attachment id>_<the student's file>`` and numbers a
resubmission ``-1``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path

import pytest
from test_roster import ROSTERS

from harness import api

EXAMPLES = Path(__file__).resolve().parent.parent / "submissions" / "tiny-rnn"
pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def _put(src: str, dest: Path, when: float) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLES / src, dest)
    os.utime(dest, (when, when))  # the download keeps the submission times as mtimes


def _fill_sheet(sheet: Path, marks: dict[str, str]) -> Path:
    """The TA's work: the score column of each listed student's rows filled in."""
    rows = list(csv.DictReader(io.StringIO(sheet.read_text())))
    assert rows and list(rows[0]) == ["id", "name", "item", "title", "points", "score", "comment"]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "score": marks.get(row["id"], row["score"])})
    out = sheet.with_name("marked.csv")
    out.write_text(text.getvalue())
    return out


@pytest.fixture(scope="module")
def moodle(tmp_path_factory):
    """Moodle: one file under Moodle's name, one in a Moodle folder named after the
    student (the file inside named by surname), one from an id the roster lacks."""
    base = tmp_path_factory.mktemp("moodle")
    subs = base / "download"
    _put(
        "correct_tiny.zip",
        subs / "Ada Lovelace_1234567_assignsubmission_file_20230001_tiny.zip",
        1_778_000_000,
    )
    _put(
        "crash-at-import_tiny.zip",
        subs / "Grace Hopper_778899_assignsubmission_file_" / "hopper_tiny.zip",
        1_778_000_100,
    )
    _put("correct_tiny.zip", subs / "20230009_tiny.zip", 1_778_000_200)
    out = base / "out"
    batch = api.grade(
        submissions=subs,
        assignment="tiny-rnn",
        out=out,
        jobs=1,
        roster=ROSTERS / "moodle-grades.csv",
        exports=("moodle",),
        lms_column="Assignment 3",  # the roster's grade item for this assignment
        manual_sheet=base / "sheet.csv",
    )
    return batch, base


@pytest.fixture(scope="module")
def canvas(tmp_path_factory):
    """Canvas: a first attempt and its late resubmission (``_LATE_``, ``-1``), and a
    misnamed file that only Canvas's user id in the download name ties to its student."""
    base = tmp_path_factory.mktemp("canvas")
    subs = base / "download"
    _put(
        "wrong-activation_tiny.zip",
        subs / "lovelaceada_1101_998877_20230001_tiny.zip",
        1_778_000_000,
    )
    _put(
        "correct_tiny.zip", subs / "lovelaceada_LATE_1101_998878_20230001_tiny-1.zip", 1_778_090_000
    )
    _put("correct_tiny.zip", subs / "turingalan_1102_998879_my_solution.zip", 1_778_000_300)
    out = base / "out"
    batch = api.grade(
        submissions=subs,
        assignment="tiny-rnn",
        out=out,
        jobs=1,
        roster=ROSTERS / "canvas-gradebook.csv",
        exports=("canvas",),
        lms_column="Assignment 3",
        manual_sheet=base / "sheet.csv",
    )
    return batch, base


def test_moodle_download_with_its_gradebook_as_roster(moodle):
    batch, base = moodle
    out = batch.out
    found = json.loads((out / "classlist.json").read_text())
    by_file = {e["file"]: e for e in found["entries"]}
    ada = by_file["Ada Lovelace_1234567_assignsubmission_file_20230001_tiny.zip"]
    assert (ada["student_id"], ada["matched"], ada["lms"]) == ("20230001", "id", "moodle")
    hopper = by_file["Grace Hopper_778899_assignsubmission_file_/hopper_tiny.zip"]
    assert (hopper["student_id"], hopper["matched"]) == ("20230003", "surname")
    stranger = by_file["20230009_tiny.zip"]
    assert stranger["matched"] == "" and stranger["candidates"]
    assert [m[0] for m in found["missing"]] == ["20230002", "20230004"]

    scores = {r.student_id: r.score for r in batch.results}
    assert scores == {"20230001": 10, "20230003": 0, "20230009": 10}
    hopper_result = next(r for r in batch.results if r.student_id == "20230003")
    outputs = [c.output for c in hopper_result.checks]
    assert "cannot import name 'tanhh'" in outputs[0]
    assert all(o.startswith('not run: needs "rnn_step.py imports"') for o in outputs[1:])

    # Before marking, the total is blank (manual items unmarked), never a false 0.
    text = (out / "grades-moodle.csv").read_text()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "First name",
        "Last name",
        "ID number",
        "Email address",
        "Assignment: Assignment 3 (Real)",
    ]
    assert [r[2] for r in rows[1:]] == ["20230001", "20230003"]  # roster students only
    assert all(r[4] == "" for r in rows[1:])

    # The TA fills in the marking sheet; --manual merges it (no regrading).
    sheet = base / "sheet.csv"
    sheet_ids = [r["id"] for r in csv.DictReader(io.StringIO(sheet.read_text()))]
    assert {"20230001", "20230003"} <= set(sheet_ids)
    marked = _fill_sheet(sheet, {"20230001": "2", "20230003": "0.5", "20230009": "1"})
    again = api.grade(
        submissions=base / "download",
        assignment="tiny-rnn",
        out=out,
        jobs=1,
        manual_scores=marked,
    )
    # the roster, the export and the column come from OUT/run.json; nothing is regraded
    assert any(r.startswith("--roster") for r in again.reused) and not again.graded_now
    rows = list(csv.reader(io.StringIO((out / "grades-moodle.csv").read_text())))
    assert rows[1][2:] == ["20230001", "ada.lovelace@example.edu", "12"]
    assert rows[2][2:] == ["20230003", "grace.hopper@example.edu", "0.5"]
    page = (out / "index.html").read_text()
    for said in ("20230002", "Edsger Dijkstra", "20230009_tiny.zip"):
        assert said in page
    # the zero's reason is the crash, not the checks that could not run after it
    assert "crashed at import (rnn_step.py): ImportError: cannot import name" in page
    assert "not run" not in page  # nor are those among the commonest failures
    assert "not run: needs" in (out / "20230003" / "report.html").read_text()


def test_canvas_download_with_its_gradebook_as_roster(canvas):
    batch, base = canvas
    out = batch.out
    found = json.loads((out / "classlist.json").read_text())
    by_file = {e["file"]: e for e in found["entries"]}
    first = by_file["lovelaceada_1101_998877_20230001_tiny.zip"]
    late = by_file["lovelaceada_LATE_1101_998878_20230001_tiny-1.zip"]
    assert late["student_id"] == "20230001" and late["lms_late"] and not late["superseded_by"]
    assert first["superseded_by"] == "lovelaceada_LATE_1101_998878_20230001_tiny-1.zip"
    turing = by_file["turingalan_1102_998879_my_solution.zip"]
    assert turing["student_id"] == "20230002" and turing["matched"]
    assert turing["naming_error"]  # said, but the Canvas user id placed it
    # Canvas's "Student, Test" (no SIS id) is nobody to miss
    assert [m[0] for m in found["missing"]] == ["20230003", "20230004"]

    results = {r.student_id: r for r in batch.results}
    assert results["20230001"].score == 10  # the late resubmission counts
    # The hand-out's naming rule still holds: placed, but graded only with --accept-misnamed
    assert str(results["20230002"].status) == "not_graded"
    assert "12345678_tiny.zip" in results["20230002"].output  # the rule, by its example

    marked = _fill_sheet(base / "sheet.csv", {"20230001": "2", "20230002": "1"})
    api.grade(
        submissions=base / "download",
        assignment="tiny-rnn",
        out=out,
        jobs=1,
        manual_scores=marked,
    )
    rows = list(csv.reader(io.StringIO((out / "grades-canvas.csv").read_text())))
    assert rows[0] == [
        "Student",
        "ID",
        "SIS User ID",
        "SIS Login ID",
        "Section",
        "Assignment 3 (48213)",
    ]
    assert rows[1][:2] == ["Points Possible", ""] and rows[1][-1] == "12"
    body = {r[2]: r for r in rows[2:]}
    assert body["20230001"] == [
        "Lovelace, Ada",
        "1101",
        "20230001",
        "alovelace",
        "CS324 Spring 2026",
        "12",
    ]
    assert body["20230002"][-1] == "1"  # the TA's mark alone: the file was not graded
    assert set(body) <= {"20230001", "20230002", "20230003", "20230004"}

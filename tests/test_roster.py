"""Rosters as course systems export them, and the class list: who sent which file, which
one counts, who sent nothing.  The fixtures under tests/fixtures/rosters/ are written in
the shape each system's documentation gives (named beside each test)."""

from __future__ import annotations

import datetime
import os
import time
from pathlib import Path

import pytest

from harness import classlist, downloads, lateness
from harness.assignments import find_assignment
from harness.errors import UsageError
from harness.roster import read_roster

ROSTERS = Path(__file__).parent / "fixtures" / "rosters"
KEYS = ["20230001", "20230002", "20230003", "20230004"]


@pytest.fixture
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    ("name", "system", "key_column"),
    [
        ("moodle-grades.csv", "moodle", "ID number"),  # docs.moodle.org/en/Grade_export
        ("canvas-gradebook.csv", "canvas", "SIS User ID"),  # Canvas: "export grades"
        ("blackboard-gradecenter.csv", "blackboard", "Student ID"),  # Grade Center download
        ("blackboard-gradecenter.xls", "blackboard", "Student ID"),  # tab-delimited UTF-16
        ("gradescope-roster.csv", "gradescope", "SID"),  # Gradescope roster download
        ("plain.csv", "plain", "id"),
    ],
)
def test_each_systems_export_reads_as_a_roster(name, system, key_column):
    roster = read_roster(ROSTERS / name)
    assert roster.system == system and roster.key_column == key_column
    assert [s.key for s in roster.students] == KEYS  # Canvas's Test Student is left out
    ada = roster.students[0]
    assert (ada.first, ada.last) == ("Ada", "Lovelace")


def test_grade_columns_keep_their_ids_and_points():
    canvas = read_roster(ROSTERS / "canvas-gradebook.csv")
    column = canvas.find_column("assignment 3")
    assert column is not None and column.header == "Assignment 3 (48213)"
    assert (column.column_id, column.points) == ("48213", 12.0)
    assert canvas.find_column("Current Score") is None  # read-only columns are not ours
    bb = read_roster(ROSTERS / "blackboard-gradecenter.xls")
    column = bb.find_column("Assignment 3")
    assert column is not None and column.header == "Assignment 3 [Total Pts: 12 Score] |1245781"
    assert (column.column_id, column.points) == ("1245781", 12.0)
    moodle = read_roster(ROSTERS / "moodle-grades.csv")
    found = moodle.find_column("Assignment 3")
    assert found is not None and found.header == "Assignment: Assignment 3 (Real)"


def test_a_file_with_no_known_header_is_refused_with_what_is_known(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("Matrikelnummer,Vorname\n1,Ada\n")
    with pytest.raises(UsageError, match="names no known course system's export"):
        read_roster(path)
    path.write_text("id,name\n1,Ada\n1,Alan\n")
    with pytest.raises(UsageError, match="'1' appears twice"):
        read_roster(path)


def test_matching_by_id_login_name_and_surname():
    roster = read_roster(ROSTERS / "canvas-gradebook.csv")
    assert roster.match("20230001_tiny.zip", student_id="20230001").how == "id"
    by_login = roster.match("x.zip", hints=("aturing",))
    assert by_login.student is not None and by_login.student.key == "20230002"
    by_canvas_id = roster.match("x.zip", hints=("1103",))  # Canvas's user id
    assert by_canvas_id.student is not None and by_canvas_id.student.key == "20230003"
    by_surname = roster.match("Hopper-Assignment3.zip")
    assert by_surname.how == "surname" and by_surname.student.key == "20230003"
    nobody = roster.match("20230009_tiny.zip", student_id="20230009")
    assert nobody.student is None
    assert [s.key for s in nobody.candidates][:1] and all(
        s.key.startswith("2023000") for s in nobody.candidates
    )


def test_download_names_of_each_system():
    moodle = downloads.parse("Ada Lovelace_1234567_assignsubmission_file_20230001_tiny.zip")
    assert (moodle.system, moodle.original, moodle.name) == (
        "moodle",
        "20230001_tiny.zip",
        "Ada Lovelace",
    )
    canvas = downloads.parse("lovelaceada_LATE_1101_998877_20230001_tiny-1.zip")
    assert canvas.late and canvas.hints == ("lovelaceada", "1101")
    assert canvas.alternatives() == ("20230001_tiny-1.zip", "20230001_tiny.zip")
    bb = downloads.parse("Assignment 3_alovelace_attempt_2026-05-08-23-10-44_20230001_tiny.zip")
    assert bb.submitted == datetime.datetime(2026, 5, 8, 23, 10, 44)
    assert downloads.parse("20230001_tiny.zip").system == ""


def _touch(path: Path, when: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"PK\x05\x06" + bytes(18))  # an empty ZIP: the survey reads no content
    stamp = datetime.datetime.fromisoformat(when).timestamp()
    os.utime(path, (stamp, stamp))


def submissions_folder(root: Path) -> Path:
    """A class's download: a file by id, two Blackboard attempts of one student, a Moodle
    folder named after a student, a file for an id not on the roster, a misnamed file."""
    folder = root / "submissions"
    _touch(folder / "20230001_tiny.zip", "2026-05-07T10:00:00")
    _touch(
        folder / "Assignment 3_aturing_attempt_2026-05-08-20-00-00_20230002_tiny.zip",
        "2026-05-10T00:00:00",
    )
    _touch(
        folder / "Assignment 3_aturing_attempt_2026-05-09-01-30-00_20230002_tiny.zip",
        "2026-05-10T00:00:00",
    )
    _touch(
        folder / "Grace Hopper_778899_assignsubmission_file_" / "hopper_tiny.zip",
        "2026-05-08T12:00:00",
    )
    _touch(folder / "20230009_tiny.zip", "2026-05-08T12:00:00")
    _touch(folder / "assignment3.zip", "2026-05-08T12:00:00")
    return folder


def test_class_list_lists_everyone_and_drops_nothing(tmp_path, utc):
    spec = find_assignment("tiny-rnn")
    roster = read_roster(ROSTERS / "blackboard-gradecenter.csv")
    found = classlist.survey(submissions_folder(tmp_path), spec, roster=roster)
    by_file = {e.file: e for e in found.entries}
    assert len(by_file) == 6  # every file is in the list
    assert by_file["20230001_tiny.zip"].matched == "id"
    newer = "Assignment 3_aturing_attempt_2026-05-09-01-30-00_20230002_tiny.zip"
    older = "Assignment 3_aturing_attempt_2026-05-08-20-00-00_20230002_tiny.zip"
    assert by_file[newer].matched == "id" and not by_file[newer].superseded_by
    # the Blackboard name's time decides, not the files' (equal) modification times
    assert by_file[older].superseded_by == newer
    assert by_file[older].submitted_from == "the blackboard download's file name"
    hopper = by_file["Grace Hopper_778899_assignsubmission_file_/hopper_tiny.zip"]
    assert (hopper.student_id, hopper.matched) == ("20230003", "surname")
    stranger = by_file["20230009_tiny.zip"]
    assert stranger.matched == "" and stranger.candidates
    assert by_file["assignment3.zip"].matched == "" and by_file["assignment3.zip"].naming_error
    assert found.missing == (("20230004", "Edsger Dijkstra"),)
    graded = sorted(e.student_id for e in found.to_grade())
    assert graded == ["20230001", "20230002", "20230003", "20230009", "assignment3"]
    assert set(found.counting()) == {"20230001", "20230002", "20230003"}
    again = classlist.ClassList.from_json(found.to_json())
    assert again == found


def test_duplicates_by_modification_time_and_grading_them_all(tmp_path):
    spec = find_assignment("tiny-rnn")
    folder = tmp_path / "subs"
    _touch(folder / "4242_tiny.zip", "2026-05-01T10:00:00")
    _touch(folder / "sub" / "x.zip", "2026-05-01T10:00:00")  # not a Moodle folder: ignored
    found = classlist.survey(folder, spec)
    assert [e.student_id for e in found.to_grade()] == ["4242"]
    _touch(folder / "4242_tiny (2).zip", "2026-05-02T10:00:00")  # misnamed copy, newer
    found = classlist.survey(folder, spec, accept_misnamed=True, duplicates="all")
    ids = sorted(e.student_id for e in found.to_grade())
    assert len(ids) == 2 and "4242" in ids
    with pytest.raises(UsageError, match="--duplicates"):
        classlist.survey(folder, spec, duplicates="oldest")


def test_late_policies():
    per_day = lateness.parse_policy("10%/day")
    assert per_day.penalised(8, 10, 60) == 7  # one minute late: a day's 10 % of 10
    assert per_day.penalised(8, 10, 25 * 3600) == 6
    assert per_day.penalised(8, 10, 0) == 8
    assert lateness.parse_policy("cap 50%").penalised(8, 10, 1) == 5
    assert lateness.parse_policy("zero").penalised(8, 10, 1) == 0
    assert lateness.parse_policy(None).penalised(8, 10, 1e6) == 8
    assert (
        per_day.describe(8, 10, 3700) == "late by 1 h 2 min (10%/day: 1 of 8 automatic points off)"
    )
    assert lateness.hms(3725) == "1:02:05"
    with pytest.raises(UsageError, match="--late-policy"):
        lateness.parse_policy("10 per cent")
    with pytest.raises(UsageError, match="--deadline"):
        lateness.parse_deadline("8 May")

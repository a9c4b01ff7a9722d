"""Each course system's gradebook file, built from a realistic roster and results, against
a fixture written from that system's documentation (tests/fixtures/exports/):

* Moodle: docs.moodle.org/en/Import_grades ("CSV file"), and the import's own tests,
  moodle/moodle grade/import/csv/tests/load_data_test.php (headers as Moodle exports
  them; a value mapped to no user is a "user mapping error");
* Canvas: community.canvaslms.com "How do I import grades in the Gradebook?" (Student,
  ID, SIS User ID, SIS Login ID, Section; "Name (id)" headers; a Points Possible row);
* Blackboard Learn: help "Uploading External Grade Center Items" (Username; a column id
  after "|"; every field of a comma-delimited file in quotes; a column without an id
  becomes a text column worth 0 points);
* Gradescope: the columns of its "Download Grades" CSV.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from test_roster import ROSTERS, submissions_folder, utc  # noqa: F401  (a fixture)

from harness import classlist, exports, gradebook
from harness.assignments import find_assignment
from harness.errors import UsageError
from harness.results import CheckResult, CheckStatus, Status, SubmissionResult
from harness.roster import read_roster
from harness.runconfig import RunSettings

EXPECTED = Path(__file__).parent / "fixtures" / "exports"
SPEC = find_assignment("tiny-rnn")  # 10 automatic points + a 2-point manual item


def marked(score: float | None) -> tuple[dict, ...]:
    return (
        {
            "item": "explain",
            "title": "Explain",
            "part": "rnn",
            "points": 2,
            "score": score,
            "comment": "",
        },
    )


def result(sid: str, score: float, parts: dict, manual=None, **kw) -> SubmissionResult:
    return SubmissionResult(
        student_id=sid,
        assignment="tiny-rnn",
        status=kw.pop("status", Status.GRADED),
        score=score,
        max_score=10,
        part_scores=parts,
        manual=marked(1.5) if manual is None else manual,
        **kw,
    )


def class_results() -> list[SubmissionResult]:
    crash = CheckResult(
        "rnn_step.py imports",
        0,
        1,
        CheckStatus.FAILED,
        output="while importing rnn_step.py, your code raised ModuleNotFoundError: No module named 'torch2'",
        extra={"kind": "student_error"},
    )
    return [
        result("20230001", 10, {"files": 1, "rnn": 9}),
        result("20230002", 8, {"files": 1, "rnn": 7}, marked(2)),  # late: 1 day
        result("20230003", 0, {"files": 0, "rnn": 0}, marked(0), checks=(crash, crash)),
        result("20230009", 5, {"files": 1, "rnn": 4}),  # on no roster
        result("assignment3", 0, {}, marked(None), status=Status.NOT_GRADED, reason="misnamed"),
    ]


@pytest.fixture
def table_for(tmp_path, utc):  # noqa: F811
    folder = submissions_folder(tmp_path)

    def build(roster_file: str, **settings) -> exports.Table:
        roster = read_roster(ROSTERS / roster_file)
        found = classlist.survey(folder, SPEC, roster=roster)
        run = RunSettings(
            deadline="2026-05-08T23:59",
            late_policy="10%/day",
            lms_column="Assignment 3",
            **settings,
        ).check()
        return exports.grade_table(SPEC, class_results(), run, classlist=found, roster=roster)

    return build


@pytest.mark.parametrize(
    ("system", "roster_file", "fixture"),
    [
        ("moodle", "moodle-grades.csv", "moodle.csv"),
        ("canvas", "canvas-gradebook.csv", "canvas.csv"),
        ("blackboard", "blackboard-gradecenter.xls", "blackboard.csv"),
        ("gradescope-csv", "gradescope-roster.csv", "gradescope.csv"),
        ("plain", "plain.csv", "plain.csv"),
    ],
)
def test_export_matches_the_documented_format(table_for, system, roster_file, fixture):
    text, notes = exports.render(system, table_for(roster_file))
    expected = (EXPECTED / fixture).read_bytes().decode("utf-8")
    assert text == expected, text
    assert not notes


def test_only_roster_students_reach_an_import(table_for):
    text, _ = exports.render("moodle", table_for("moodle-grades.csv"))
    assert "20230009" not in text and "assignment3" not in text  # Moodle would abort
    assert "Dijkstra" not in text  # missing: blank in the course system, not a 0


def test_parts_and_items_never_double_count_and_unmarked_is_blank(table_for):
    table = table_for("plain.csv", grade_columns="parts")
    rows = {r.student_id: r.values for r in table.rows}
    # Turing: 8 automatic, 1 day late (-1 of 10), rnn part penalised alike: 7*(7/8)
    assert rows["20230002"] == pytest.approx((1 * 7 / 8, 7 * 7 / 8 + 2))
    assert sum(rows["20230002"]) == pytest.approx(9)  # = the total
    items = table_for("plain.csv", grade_columns="items")
    assert [c.name for c in items.columns] == [
        "tiny-rnn files (automatic)",
        "tiny-rnn rnn (automatic)",
        "tiny-rnn explain",
    ]
    blank = exports.grade_table(
        SPEC,
        [result("1", 10, {"files": 1, "rnn": 9}, marked(None))],
        RunSettings(grade_columns="parts"),
    )
    assert blank.rows[0].values == (1, None)  # the part with the unmarked item is blank
    text, _ = exports.render("plain", blank)
    assert text.splitlines()[1] == "1,1,"


def test_scale_and_harness_errors(table_for):
    table = exports.grade_table(
        SPEC,
        [
            result("a1", 10, {"files": 1, "rnn": 9}),
            result("b2", 0, {}, status=Status.HARNESS_ERROR),
        ],
        RunSettings(scale=100, id_column="SIS User ID"),
    )
    text, _ = exports.render("plain", table)
    assert text.splitlines() == ["SIS User ID,tiny-rnn total", "a1,95.83", "b2,"]


def test_blackboard_needs_its_grade_center_columns(table_for):
    with pytest.raises(UsageError, match="needs the Grade Center download"):
        exports.render("blackboard", table_for("plain.csv"))
    table = table_for("blackboard-gradecenter.csv")
    renamed = replace(table, settings=replace(table.settings, lms_column="Assignment 4"))
    with pytest.raises(UsageError, match="has no column 'Assignment 4'"):
        exports.render("blackboard", renamed)


def test_write_all_and_summary_list_everything(table_for, tmp_path):
    table = table_for("canvas-gradebook.csv")
    out = tmp_path / "out"
    out.mkdir()
    settings = replace(table.settings, exports=("all",)).check()
    written = gradebook.write(
        out,
        SPEC,
        class_results(),
        settings=settings,
        classlist=table.classlist,
        roster=table.roster,
    )
    assert set(written.files) == {*exports.FILES.values(), "summary.csv"}
    assert any("blackboard" in n and "not written" in n for n in written.notes)
    summary = (out / "summary.csv").read_text().splitlines()
    assert summary[0].endswith("name,roster_match,submitted,late,late_penalty")
    by_id = {}
    for line in summary[1:]:
        by_id.setdefault(line.split(",")[0], []).append(line)
    assert by_id["20230002"][0].startswith("20230002,graded,1,7,8,10,2,9,12,")
    assert by_id["20230002"][0].endswith(",1 h 31 min,1")  # late, and 1 point off
    assert any(",superseded," in line for line in by_id["20230002"])
    assert by_id["20230004"][0].startswith("20230004,missing,")
    assert "unmatched (closest:" in by_id["20230009"][0]

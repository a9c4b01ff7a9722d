"""Gradebook files each course system's import accepts, built from one table of grades.

``grade_table`` turns results into rows (one per student whose result is the grade) and
the grade columns the staff chose (``--grade-columns``):

* ``total`` (default): one column, the automatic points after any late penalty plus the
  manual marks; blank while a manual item is unmarked;
* ``parts``: a column per part (its automatic points, penalised alike, plus its manual
  marks); blank while one of the part's manual items is unmarked;
* ``items``: a column per part's automatic points and one per manual item (blank while
  unmarked).

The three never mix, so no column counts twice in a course total.  A result the harness
failed on (``harness_error``) has every cell blank: nothing is imported for our fault.
``--scale`` rescales every column so that full marks are that number.

Each system's writer (``moodle``, ``canvas``, ``blackboard``, ``gradescope``, ``plain``)
turns the table into that system's file; ``write_all`` writes those chosen.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..classlist import ClassList, Entry
from ..errors import UsageError
from ..lateness import Policy, late_seconds, parse_deadline, parse_policy
from ..results import Status, SubmissionResult
from ..roster import Roster, Student
from ..runconfig import RunSettings
from ..spec import AssignmentSpec

FILES = {
    "plain": "grades.csv",
    "moodle": "grades-moodle.csv",
    "canvas": "grades-canvas.csv",
    "blackboard": "grades-blackboard.csv",
    "gradescope-csv": "grades-gradescope.csv",
}


@dataclass(frozen=True)
class Column:
    key: str  #: "total", "part:<key>", "auto:<key>", "item:<key>"
    name: str  #: the plain header: "<assignment> total", "<assignment> <part>", ...
    points: float  #: points possible (scaled)


@dataclass(frozen=True)
class Row:
    student_id: str
    student: Student | None  #: the roster entry (None without a roster)
    result: SubmissionResult
    values: tuple[float | None, ...]  #: one per column; None: blank
    late: float = 0.0  #: seconds late
    penalty: float = 0.0  #: automatic points taken off for lateness (unscaled)
    entry: Entry | None = None


@dataclass(frozen=True)
class Table:
    spec: AssignmentSpec
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    roster: Roster | None
    settings: RunSettings
    classlist: ClassList | None
    policy: Policy

    def missing(self) -> list[Student]:
        """Roster students with no row (no file, or nothing that counts)."""
        if self.roster is None:
            return []
        present = {r.student_id for r in self.rows}
        return [s for s in self.roster.students if s.key not in present]


def number(value: float | None) -> str:
    """A grade cell: two decimals at most, blank for None."""
    return "" if value is None else f"{round(value, 2):g}"


def columns(spec: AssignmentSpec, grade_columns: str, scale: float | None) -> list[Column]:
    factor = scale / spec.max_score if scale is not None and spec.max_score else 1.0
    if grade_columns == "total":
        return [Column("total", f"{spec.name} total", spec.max_score * factor)]
    if grade_columns == "parts":
        return [
            Column(f"part:{p.key}", f"{spec.name} {p.key}", p.points * factor) for p in spec.parts
        ]
    found = []
    for p in spec.parts:
        auto = sum(c.points for c in spec.checks if c.part == p.key)
        if auto:
            found.append(Column(f"auto:{p.key}", f"{spec.name} {p.key} (automatic)", auto * factor))
        found += [
            Column(f"item:{m.key}", f"{spec.name} {m.key}", m.points * factor)
            for m in spec.manual
            if m.part == p.key
        ]
    return found


def _values(
    spec: AssignmentSpec,
    r: SubmissionResult,
    cols: Sequence[Column],
    auto_factor: float,
    scale: float,
) -> tuple[float | None, ...]:
    if r.status is Status.HARNESS_ERROR:
        return tuple(None for _ in cols)
    marks = {m.get("item"): m for m in r.manual}

    def mark(key: str) -> float | None:
        m = marks.get(key)
        return None if m is None or m.get("score") is None else float(m["score"])

    values: list[float | None] = []
    for c in cols:
        kind, _, key = c.key.partition(":")
        if kind == "total":
            items = [mark(m.key) for m in spec.manual]
            ok = all(v is not None for v in items)
            values.append(r.score * auto_factor + sum(v or 0 for v in items) if ok else None)
        elif kind == "part":
            items = [mark(m.key) for m in spec.manual if m.part == key]
            ok = all(v is not None for v in items)
            auto = r.part_scores.get(key, 0.0) * auto_factor
            values.append(auto + sum(v or 0 for v in items) if ok else None)
        elif kind == "auto":
            values.append(r.part_scores.get(key, 0.0) * auto_factor)
        else:
            values.append(mark(key))
    return tuple(None if v is None else v * scale for v in values)


def grade_table(
    spec: AssignmentSpec,
    results: Sequence[SubmissionResult],
    settings: RunSettings,
    *,
    classlist: ClassList | None = None,
    roster: Roster | None = None,
) -> Table:
    """The grades of every student whose result is the grade (see the module)."""
    cols = columns(spec, settings.grade_columns, settings.scale)
    scale = settings.scale / spec.max_score if settings.scale and spec.max_score else 1.0
    deadline = parse_deadline(settings.deadline)
    policy = parse_policy(settings.late_policy)
    counting = classlist.counting() if classlist is not None else None
    students = roster.by_key() if roster is not None else {}
    rows = []
    for r in sorted(results, key=lambda r: r.student_id):
        entry = counting.get(r.student_id) if counting is not None else None
        if counting is not None and entry is None:
            continue  # superseded, unmatched, or a file no longer in the folder
        if counting is None and "~" in r.student_id:
            continue  # an older duplicate graded with --duplicates all
        if entry is not None and entry.naming_error and entry.matched in ("", "no roster"):
            continue  # a misnamed file no roster claimed: its id is made up
        late = late_seconds(entry.submitted, deadline) if entry else 0.0
        auto = policy.penalised(r.score, spec.auto_max_score, late)
        factor = auto / r.score if r.score else 1.0
        rows.append(
            Row(
                student_id=r.student_id,
                student=students.get(r.student_id),
                result=r,
                values=_values(spec, r, cols, factor, scale),
                late=late,
                penalty=r.score - auto,
                entry=entry,
            )
        )
    return Table(spec, tuple(cols), tuple(rows), roster, settings, classlist, policy)


def csv_text(rows: Sequence[Sequence[str]], *, quote_all: bool = False, crlf: bool = False) -> str:
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
        lineterminator="\r\n" if crlf else "\n",
    )
    writer.writerows(rows)
    return buffer.getvalue()


def render(system: str, table: Table) -> tuple[str, list[str]]:
    """The file of ``system`` and the notes a person must read about it."""
    from . import blackboard, canvas, gradescope, moodle, plain

    writer = {
        "plain": plain.render,
        "moodle": moodle.render,
        "canvas": canvas.render,
        "blackboard": blackboard.render,
        "gradescope-csv": gradescope.render,
    }[system]
    return writer(table)


def check(settings: RunSettings, roster: Roster | None, spec: AssignmentSpec) -> None:
    """Refuse, before any grading, an export that could not be imported."""
    if "blackboard" in settings.exports:
        from .blackboard import grade_headers

        grade_headers(spec, roster, settings)  # raises UsageError


def write_all(out: Path, table: Table) -> list[str]:
    """Write the chosen exports; the notes to show (one line each)."""
    from ..store import write_text_atomic

    notes: list[str] = []
    unmarked = [
        r.student_id
        for r in table.rows
        if r.result.status is not Status.HARNESS_ERROR and any(v is None for v in r.values)
    ]
    if unmarked:
        notes.append(
            f"{len(unmarked)} student(s) have blank grades: manual items not marked yet "
            "(merge marks with --manual; --grade-columns items exports the automatic points "
            "now, each manual item apart)"
        )
    for system in table.settings.exports:
        try:
            text, said = render(system, table)
        except UsageError as exc:
            notes.append(f"{FILES[system]} not written: {exc}")
            continue
        write_text_atomic(out / FILES[system], text)
        notes += [f"{FILES[system]}: {line}" for line in said]
    return notes

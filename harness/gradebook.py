"""The class's marks as CSV: ``grades.csv`` for a course system, ``summary.csv`` for staff.

``grades.csv`` holds only what a gradebook import takes: one id column (named as the
course system wants it: ``--id-column``) and one grade column per part and for the
total, each the automatic points plus the TA's marks merged so far, optionally
rescaled so that full marks are ``--scale`` (100 for percentages).  Moodle maps the
columns in its import dialog; Canvas and Blackboard match a column to an existing
grade item by its header, or create one, so nothing else is in the file.  A
submission the harness failed on (``harness_error``) has empty grade cells: no mark
is imported for our fault.

``summary.csv`` keeps every detail with columns that never move: ``id, status,
<part>..., total, max, manual, final, final_max, reason, source``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

from .errors import UsageError
from .manual import total as manual_total
from .results import Status, SubmissionResult
from .spec import AssignmentSpec
from .store import write_text_atomic

GRADES_FILE = "grades.csv"
SUMMARY_FILE = "summary.csv"


def columns(spec: AssignmentSpec) -> list[str]:
    """The columns of ``summary.csv``."""
    # total/max are the automatic points; manual and final add the TA's marks.
    return [
        "id",
        "status",
        *[p.key for p in spec.parts],
        "total",
        "max",
        "manual",
        "final",
        "final_max",
        "reason",
        "source",
    ]


def render(spec: AssignmentSpec, results: Iterable[SubmissionResult]) -> str:
    """``summary.csv``: every detail, for staff."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns(spec))
    for r in sorted(results, key=lambda r: r.student_id):
        writer.writerow(
            [
                r.student_id,
                str(r.status),
                *[f"{r.part_scores.get(p.key, 0.0):g}" for p in spec.parts],
                f"{r.score:g}",
                f"{r.max_score:g}",
                f"{manual_total(r.manual):g}",
                f"{r.score + manual_total(r.manual):g}",
                f"{spec.max_score:g}",
                r.reason,
                r.source,
            ]
        )
    return buffer.getvalue()


def grade_columns(spec: AssignmentSpec, id_column: str = "id") -> list[str]:
    """The header of ``grades.csv``: the id, then ``<assignment> <part>`` and the total.

    The assignment's name in each header keeps the columns apart in a gradebook that
    holds several assignments.
    """
    return [id_column, *[f"{spec.name} {p.key}" for p in spec.parts], f"{spec.name} total"]


def _grade(value: float) -> str:
    return f"{round(value, 2):g}"


def check_options(*, id_column: str, scale: float | None) -> None:
    """Raise ``UsageError`` for an empty id column name or a scale that is not positive."""
    if not id_column.strip():
        raise UsageError("--id-column must not be empty")
    if scale is not None and not scale > 0:
        raise UsageError(f"--scale must be positive (got {scale:g})")


def render_grades(
    spec: AssignmentSpec,
    results: Iterable[SubmissionResult],
    *,
    id_column: str = "id",
    scale: float | None = None,
) -> str:
    """``grades.csv``: an id column and a grade per part and in total (see the module)."""
    check_options(id_column=id_column, scale=scale)
    factor = scale / spec.max_score if scale is not None and spec.max_score else 1.0
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(grade_columns(spec, id_column.strip()))
    for r in sorted(results, key=lambda r: r.student_id):
        if r.status is Status.HARNESS_ERROR:
            writer.writerow([r.student_id, *[""] * (len(spec.parts) + 1)])
            continue
        parts = [
            r.part_scores.get(p.key, 0.0)
            + manual_total([m for m in r.manual if m.get("part") == p.key])
            for p in spec.parts
        ]
        total = r.score + manual_total(r.manual)
        writer.writerow(
            [r.student_id, *[_grade(v * factor) for v in parts], _grade(total * factor)]
        )
    return buffer.getvalue()


def write(
    out: Path,
    spec: AssignmentSpec,
    results: Iterable[SubmissionResult],
    *,
    id_column: str = "id",
    scale: float | None = None,
) -> None:
    """Write ``out/grades.csv`` and ``out/summary.csv``."""
    results = list(results)
    grades = render_grades(spec, results, id_column=id_column, scale=scale)
    write_text_atomic(out / GRADES_FILE, grades)
    write_text_atomic(out / SUMMARY_FILE, render(spec, results))

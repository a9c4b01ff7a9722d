"""The class's marks as files: the exports a course system imports, ``summary.csv`` for staff.

``write`` builds one table of grades (``harness.exports.grade_table``) and writes the
exports the run settings choose (``--export``: ``grades.csv`` always unless another is
chosen alone, ``grades-moodle.csv``, ``grades-canvas.csv``, ``grades-blackboard.csv``,
``grades-gradescope.csv``; see ``harness.exports``), then ``summary.csv``.

``summary.csv`` keeps every detail with columns that never move: ``id, status,
<part>..., total, max, manual, final, final_max, reason, source``, then ``name,
roster_match, submitted, late, late_penalty``.  ``final`` is the automatic points after
any late penalty plus the manual marks.  Every ZIP has a row (a superseded duplicate
with the status ``superseded``) and so has every roster student without one
(``missing``): nothing is left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import exports
from .classlist import ClassList
from .lateness import duration, parse_deadline
from .manual import total as manual_total
from .results import SubmissionResult
from .roster import Roster
from .runconfig import RunSettings
from .spec import AssignmentSpec
from .store import write_text_atomic

GRADES_FILE = exports.FILES["plain"]
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
        "name",
        "roster_match",
        "submitted",
        "late",
        "late_penalty",
    ]


def _g(value: float) -> str:
    return f"{value:g}"


def render(
    spec: AssignmentSpec,
    results: Iterable[SubmissionResult],
    *,
    settings: RunSettings | None = None,
    classlist: ClassList | None = None,
    roster: Roster | None = None,
) -> str:
    """``summary.csv``: every detail, for staff (see the module)."""
    results = list(results)
    settings = settings or RunSettings()
    table = exports.grade_table(spec, results, settings, classlist=classlist, roster=roster)
    penalties = {r.student_id: r for r in table.rows}
    entries = classlist.by_id() if classlist is not None else {}
    students = roster.by_key() if roster is not None else {}
    deadline = parse_deadline(settings.deadline)
    rows: list[list[str]] = [columns(spec)]
    blank_parts = [""] * len(spec.parts)
    for r in sorted(results, key=lambda r: r.student_id):
        row = penalties.get(r.student_id)
        entry = entries.get(r.student_id)
        penalty = row.penalty if row else 0.0
        late = row.late if row else 0.0
        match = ""
        if entry is not None:
            match = entry.matched or "unmatched" + (
                f" (closest: {'; '.join(entry.candidates)})" if entry.candidates else ""
            )
            if entry.superseded_by:
                match = f"superseded by {entry.superseded_by}"
        student = students.get(r.student_id)
        rows.append(
            [
                r.student_id,
                str(r.status),
                *[_g(r.part_scores.get(p.key, 0.0)) for p in spec.parts],
                _g(r.score),
                _g(r.max_score),
                _g(manual_total(r.manual)),
                _g(r.score - penalty + manual_total(r.manual)),
                _g(spec.max_score),
                r.reason,
                r.source,
                student.display if student else (entry.name if entry else ""),
                match,
                entry.submitted if entry else "",
                duration(late)
                if late > 0
                else (
                    "late (course system)" if entry and entry.lms_late and deadline is None else ""
                ),
                _g(penalty) if penalty else "",
            ]
        )
    if classlist is not None:
        for e in classlist.entries:
            # With duplicates="all" a superseded file has its own result (and row) above.
            if e.superseded_by and classlist.duplicates != "all":
                rows.append(
                    [
                        e.student_id,
                        "superseded",
                        *blank_parts,
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        e.file,
                        e.name,
                        f"superseded by {e.superseded_by}",
                        e.submitted,
                        "",
                        "",
                    ]
                )
        for key, name in classlist.missing:
            rows.append(
                [
                    key,
                    "missing",
                    *blank_parts,
                    "",
                    "",
                    "",
                    "",
                    _g(spec.max_score),
                    "no submission",
                    "",
                    name,
                    "",
                    "",
                    "",
                    "",
                ]
            )
    return exports.csv_text(rows)


@dataclass(frozen=True)
class Written:
    files: tuple[str, ...]
    notes: tuple[str, ...]  #: what a person must know about the exports


def write(
    out: Path,
    spec: AssignmentSpec,
    results: Sequence[SubmissionResult],
    *,
    settings: RunSettings | None = None,
    classlist: ClassList | None = None,
    roster: Roster | None = None,
) -> Written:
    """Write the chosen exports and ``out/summary.csv``."""
    settings = (settings or RunSettings()).check()
    table = exports.grade_table(spec, results, settings, classlist=classlist, roster=roster)
    notes = exports.write_all(out, table)
    write_text_atomic(
        out / SUMMARY_FILE,
        render(spec, results, settings=settings, classlist=classlist, roster=roster),
    )
    files = tuple(exports.FILES[s] for s in settings.exports) + (SUMMARY_FILE,)
    return Written(files=files, notes=tuple(notes))

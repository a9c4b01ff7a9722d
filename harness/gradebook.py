"""``grades.csv``: one row per submission, columns that never move."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

from .manual import total as manual_total
from .results import SubmissionResult
from .spec import AssignmentSpec
from .store import write_text_atomic


def columns(spec: AssignmentSpec) -> list[str]:
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


def write(path: Path, spec: AssignmentSpec, results: Iterable[SubmissionResult]) -> None:
    write_text_atomic(path, render(spec, results))

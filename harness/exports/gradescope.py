"""``grades-gradescope.csv``: the columns of Gradescope's own "Download Grades" file
(``First Name``, ``Last Name``, ``SID``, ``Email``, ``Total Score``, ``Max Points``,
``Status``, ``Submission Time``, ``Lateness (H:M:S)``), for the scripts and LMS bridges
courses already feed with it.  Students of the roster without a submission are listed
with the status ``Missing``."""

from __future__ import annotations

from ..lateness import hms
from . import Table, csv_text, number

HEADER = [
    "First Name",
    "Last Name",
    "SID",
    "Email",
    "Total Score",
    "Max Points",
    "Status",
    "Submission Time",
    "Lateness (H:M:S)",
]


def render(table: Table) -> tuple[str, list[str]]:
    total = sum(c.points for c in table.columns)
    rows = [HEADER]
    for r in table.rows:
        s = r.student
        values = [v for v in r.values]
        score = None if any(v is None for v in values) else sum(v or 0 for v in values)
        rows.append(
            [
                s.first if s else "",
                s.last if s else "",
                s.key if s else r.student_id,
                s.email if s else "",
                number(score),
                number(total),
                "Graded" if score is not None else "Ungraded",
                r.entry.submitted if r.entry else "",
                hms(r.late),
            ]
        )
    for s in table.missing():
        rows.append([s.first, s.last, s.key, s.email, "", number(total), "Missing", "", ""])
    return csv_text(rows), []

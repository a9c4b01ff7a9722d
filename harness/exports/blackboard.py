"""``grades-blackboard.csv`` for Blackboard Learn's Grade Center "Work Offline > Upload".

Blackboard matches a row by ``Username`` and a column by the Grade Center column id at
the end of its header (``Assignment 3 [Total Pts: 40 Score] |123456``); a header without
an id creates a new text column worth 0 points, which no total counts.  In a
comma-delimited file every field must be in quotes.  So the grade columns must exist in
the Grade Center, and the roster must be a Grade Center download that holds them: their
headers are copied exactly.
"""

from __future__ import annotations

from ..errors import UsageError
from ..roster import GradeColumn, Roster
from ..runconfig import RunSettings
from ..spec import AssignmentSpec
from . import Table, columns, csv_text, number

IDENTITY = ["Last Name", "First Name", "Username"]


def grade_headers(
    spec: AssignmentSpec, roster: Roster | None, settings: RunSettings
) -> list[GradeColumn]:
    """The Grade Center columns of the chosen grade columns; ``UsageError`` if any is
    not in the roster with its column id."""
    if roster is None or roster.system != "blackboard":
        raise UsageError(
            "--export blackboard needs the Grade Center download (Work Offline > Download, "
            "comma- or tab-delimited) as --roster: Blackboard matches columns by the id in "
            "their header, and a column without one is created as a text column worth 0 points"
        )
    found, lacking = [], []
    for c in columns(spec, settings.grade_columns, settings.scale):
        names = [c.name]
        if c.key == "total":
            names = [n for n in (settings.lms_column, spec.title, spec.name, c.name) if n]
        column = roster.find_column(*names)
        if column is None or not column.column_id:
            lacking.append(f"{names[0]!r} ({c.points:g} points)")
        else:
            found.append(column)
    if lacking:
        raise UsageError(
            f"--export blackboard: the Grade Center download {roster.path.name} has no column "
            f"{', '.join(lacking)}; create it in the Grade Center, download again, and give "
            "that file as --roster (or name the column with --lms-column)"
        )
    return found


def render(table: Table) -> tuple[str, list[str]]:
    headers = grade_headers(table.spec, table.roster, table.settings)
    notes = [
        f"{h.header!r} is worth {h.points:g} points in Blackboard but the grades are out of "
        f"{c.points:g}: use --scale"
        for h, c in zip(headers, table.columns, strict=True)
        if h.points is not None and abs(h.points - c.points) > 1e-9
    ]
    rows = [IDENTITY + [h.header for h in headers]]
    for r in table.rows:
        if r.student is None:
            continue
        s = r.student
        rows.append([s.last, s.first, s.login] + [number(v) for v in r.values])
    return csv_text(rows, quote_all=True, crlf=True), notes

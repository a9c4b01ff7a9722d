"""``grades.csv``: the id, the student's name and email where a roster gives them, then
the grade columns (``<assignment> total`` by default).  For any system that maps columns
in its import dialog, and for a spreadsheet."""

from __future__ import annotations

from . import Table, csv_text, number


def render(table: Table) -> tuple[str, list[str]]:
    named = table.roster is not None
    header = [table.settings.id_column, *(["name", "email"] if named else [])]
    rows = [header + [c.name for c in table.columns]]
    for r in table.rows:
        who = [r.student.display, r.student.email] if r.student else ["", ""]
        rows.append([r.student_id, *(who if named else []), *(number(v) for v in r.values)])
    return csv_text(rows), []

"""``grades-moodle.csv`` for Moodle's gradebook "Import > CSV file".

Moodle's import (``grade/import/csv``) maps one column to its users ("Map from" ->
"Map to": ``useridnumber``, ``useremail``, ``username`` or ``userid``) and each other
column to a grade item; a value it cannot map to a user is an error ("user mapping
error") that stops the import of the whole file.  So this file has only students of the
roster: the identity columns of Moodle's own export (``First name``, ``Last name``,
``ID number``, ``Email address``), then the grade columns, named as the roster's grade
item where the roster has one (``Assignment: Assignment 3 (Real)``), so Moodle maps them
itself.  A blank cell is no grade (Moodle leaves the grade as it is).
"""

from __future__ import annotations

from . import Table, csv_text, number

IDENTITY = ["First name", "Last name", "ID number", "Email address"]


def render(table: Table) -> tuple[str, list[str]]:
    notes: list[str] = []
    headers = [c.name for c in table.columns]
    if table.roster is not None and table.settings.grade_columns == "total":
        found = table.roster.find_column(
            *(n for n in (table.settings.lms_column, table.spec.title, table.spec.name) if n)
        )
        if found is not None:
            headers = [found.header]
    rows = [IDENTITY + headers]
    if table.roster is None:
        notes.append(
            "no --roster: the ID number column holds the ids of the file names; Moodle stops "
            "the whole import at an id it does not know, so give the gradebook export as "
            "--roster"
        )
    for r in table.rows:
        if table.roster is not None and r.student is None:
            continue
        if table.roster is None and r.entry is not None and r.entry.naming_error:
            continue
        s = r.student
        identity = (
            [s.first, s.last, s.row.get("ID number", "") or "", s.email]
            if s is not None
            else ["", "", r.student_id, ""]
        )
        rows.append(identity + [number(v) for v in r.values])
    if table.roster is not None and table.roster.key_column == "Email address":
        notes.append("map users by Email address (the roster has students without an ID number)")
    return csv_text(rows), notes

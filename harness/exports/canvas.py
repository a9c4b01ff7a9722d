"""``grades-canvas.csv`` for Canvas's Gradebook "Import".

Canvas matches a row to a student by its identity columns, as its own export writes
them (``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``), and a grade
column to an assignment by its header: ``Name (assignment id)`` updates that assignment,
any other header creates a new assignment, whose points possible the optional
``Points Possible`` row below the header gives.  With a Canvas roster every identity
cell is the roster's; with another roster or none, ``SIS User ID`` holds the id.
"""

from __future__ import annotations

from . import Table, csv_text, number

IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def render(table: Table) -> tuple[str, list[str]]:
    notes: list[str] = []
    canvas = table.roster is not None and table.roster.system == "canvas"
    headers = [c.name for c in table.columns]
    points = [c.points for c in table.columns]
    if canvas and table.roster is not None and table.settings.grade_columns == "total":
        found = table.roster.find_column(
            *(n for n in (table.settings.lms_column, table.spec.title, table.spec.name) if n)
        )
        if found is not None:
            headers = [found.header]
            if found.points is not None and abs(found.points - points[0]) > 1e-9:
                notes.append(
                    f"{found.header!r} is worth {found.points:g} points in Canvas but the "
                    f"grades are out of {points[0]:g}: use --scale {found.points:g}"
                )
    if not canvas:
        notes.append(
            "no Canvas roster: Student, ID and SIS Login ID are empty and SIS User ID holds "
            "the id; give Canvas's gradebook export as --roster to fill them"
        )
    rows = [IDENTITY + headers, ["Points Possible", "", "", "", ""] + [number(p) for p in points]]
    for r in table.rows:
        if table.roster is not None and r.student is None:
            continue
        s = r.student
        if canvas and s is not None:
            identity = [s.row.get(h, "") for h in IDENTITY]
        elif s is not None:
            name = f"{s.last}, {s.first}" if s.last and s.first else s.display
            identity = [name, "", s.key, s.login, s.section]
        else:
            identity = ["", "", r.student_id, "", ""]
        rows.append(identity + [number(v) for v in r.values])
    return csv_text(rows), notes

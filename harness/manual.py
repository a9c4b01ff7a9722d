"""Manual items: the points a TA marks by hand, merged from a CSV file.

Written questions, figures in a report and notebook plots are declared in each
assignment's spec under ``[manual.<item>]``.  Every result lists them, unmarked at
first; ``grade.py --manual FILE.csv`` merges a TA's scores::

    id,item,score,comment
    12345678,q1_1,1.5,"the gradient of W_hh misses the sum over time"

Scores stay in ``results.json`` across regrades, so a TA never marks twice; the
automatic ``score`` is never changed (it is what an autograder reports), and the
gradebook adds the manual total beside it.  An empty score clears a mark.

``grade.py --manual-sheet FILE.csv`` writes the marking sheet to fill in: a row per
student and manual item, with the item's title and points possible, and the marks given
so far (so a sheet read back unchanged changes nothing).  A sheet saved by a spreadsheet
in a European locale (semicolons between fields, decimal commas) is read as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import UsageError
from .exports import csv_text
from .results import SubmissionResult
from .roster import read_table
from .spec import AssignmentSpec

SHEET_COLUMNS = ["id", "name", "item", "title", "points", "score", "comment"]

#: {student id: {item: {"score": float, "comment": str}}}
Scores = dict[str, dict[str, dict[str, Any]]]


def _score(text: str, decimal_comma: bool) -> float:
    text = text.strip()
    if decimal_comma and text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    return float(text)


def read_scores(path: Path, spec: AssignmentSpec) -> Scores:
    """Read and validate a TA's CSV; every fault is a ``UsageError`` naming its line.  An
    empty score is a mark to clear (``{"score": None}``)."""
    if not path.is_file():
        raise UsageError(f"--manual: no file {str(path)!r}")
    items = {m.key: m for m in spec.manual}
    scores: Scores = {}
    table = read_table(path, what="--manual")
    header = [h.strip().lower() for h in table[0]]
    first_line = path.read_bytes().split(b"\n", 1)[0]
    semicolons = b";" in first_line and first_line.count(b";") >= first_line.count(b",")
    missing = {"id", "item", "score"} - set(header)
    if missing:
        hint = ""
        if len(header) == 1 and ("," in header[0] or ";" in header[0] or "\t" in header[0]):
            hint = " (the header is one field: save the sheet as CSV with commas or semicolons)"
        raise UsageError(
            f"--manual: {path.name} needs the columns id, item, score (and optionally "
            f"comment); missing: {', '.join(sorted(missing))}{hint}"
        )
    for line, cells in enumerate(table[1:], start=2):
        if len(cells) > len(header) and any(cells[len(header) :]):
            raise UsageError(
                f"--manual: {path.name} line {line} has {len(cells)} fields, the header "
                f"{len(header)}: a decimal comma in a comma-separated file splits the number "
                "(use a point, or save the sheet with semicolons)"
            )
        row = {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(header)}
        item = row.get("item", "").strip()
        if item not in items:
            known = ", ".join(items) or "none"
            raise UsageError(
                f"--manual: {path.name} line {line}: unknown item {item!r} (items: {known})"
            )
        student = row.get("id", "").strip()
        text = row.get("score", "").strip()
        if not text:  # an empty score clears the mark
            scores.setdefault(student, {})[item] = {"score": None, "comment": ""}
            continue
        try:
            value = _score(text, semicolons)
        except ValueError:
            hint = (
                " (a decimal comma in a comma-separated file splits the number: use a "
                "point, or save the sheet with semicolons)"
                if "," in text or not semicolons
                else ""
            )
            raise UsageError(
                f"--manual: {path.name} line {line}: score {text!r} is not a number{hint}"
            ) from None
        if not 0 <= value <= items[item].points:
            raise UsageError(
                f"--manual: {path.name} line {line}: {item} is worth "
                f"{items[item].points:g} points (got {value:g})"
            )
        scores.setdefault(student, {})[item] = {
            "score": value,
            "comment": row.get("comment", "").strip(),
        }
    return scores


def sheet(
    spec: AssignmentSpec,
    results: Iterable[SubmissionResult],
    names: Mapping[str, str] | None = None,
) -> str:
    """The marking sheet: every student of ``results``, every manual item (see the module)."""
    if not spec.manual:
        raise UsageError(f"--manual-sheet: {spec.name} has no manual items to mark")
    names = names or {}
    rows = [SHEET_COLUMNS]
    for r in sorted(results, key=lambda r: r.student_id):
        marked = {e.get("item"): e for e in r.manual}
        for m in spec.manual:
            mark = marked.get(m.key, {})
            score = mark.get("score")
            rows.append(
                [
                    r.student_id,
                    names.get(r.student_id, ""),
                    m.key,
                    m.title,
                    f"{m.points:g}",
                    "" if score is None else f"{float(score):g}",
                    str(mark.get("comment", "") or ""),
                ]
            )
    return csv_text(rows)


def entries(
    spec: AssignmentSpec,
    stored: Sequence[Mapping[str, Any]] = (),
    new: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[dict[str, Any], ...]:
    """The manual items of one result: from the spec, with stored then new marks applied."""
    marks = {e["item"]: e for e in stored if e.get("score") is not None}
    for item, mark in (new or {}).items():
        if mark.get("score") is None:
            marks.pop(item, None)  # an empty score in the sheet clears the mark
        else:
            marks[item] = mark
    return tuple(
        {
            "item": m.key,
            "title": m.title,
            "part": m.part,
            "points": m.points,
            "score": marks[m.key]["score"] if m.key in marks else None,
            "comment": marks[m.key].get("comment", "") if m.key in marks else "",
        }
        for m in spec.manual
    )


def total(manual: Sequence[Mapping[str, Any]]) -> float:
    return sum(float(e["score"]) for e in manual if e.get("score") is not None)

"""Manual items: the points a TA marks by hand, merged from a CSV file.

Written questions, figures in a report and notebook plots are declared in each
assignment's spec under ``[manual.<item>]``.  Every result lists them, unmarked at
first; ``grade.py --manual FILE.csv`` merges a TA's scores::

    id,item,score,comment
    12345678,q1_1,1.5,"the gradient of W_hh misses the sum over time"

Scores stay in ``results.json`` across regrades, so a TA never marks twice; the
automatic ``score`` is never changed (it is what an autograder reports), and the
gradebook adds the manual total beside it.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import UsageError
from .spec import AssignmentSpec

#: {student id: {item: {"score": float, "comment": str}}}
Scores = dict[str, dict[str, dict[str, Any]]]


def read_scores(path: Path, spec: AssignmentSpec) -> Scores:
    """Read and validate a TA's CSV; every fault is a ``UsageError`` naming its line."""
    if not path.is_file():
        raise UsageError(f"--manual: no file {str(path)!r}")
    items = {m.key: m for m in spec.manual}
    scores: Scores = {}
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = {"id", "item", "score"} - set(reader.fieldnames or ())
        if missing:
            raise UsageError(
                f"--manual: {path.name} needs the columns id, item, score (and optionally "
                f"comment); missing: {', '.join(sorted(missing))}"
            )
        for line, row in enumerate(reader, start=2):
            item = (row.get("item") or "").strip()
            if item not in items:
                known = ", ".join(items) or "none"
                raise UsageError(
                    f"--manual: {path.name} line {line}: unknown item {item!r} (items: {known})"
                )
            try:
                value = float(row["score"])
            except (TypeError, ValueError):
                raise UsageError(
                    f"--manual: {path.name} line {line}: score {row['score']!r} is not a number"
                ) from None
            if not 0 <= value <= items[item].points:
                raise UsageError(
                    f"--manual: {path.name} line {line}: {item} is worth "
                    f"{items[item].points:g} points (got {value:g})"
                )
            student = (row.get("id") or "").strip()
            scores.setdefault(student, {})[item] = {
                "score": value,
                "comment": (row.get("comment") or "").strip(),
            }
    return scores


def entries(
    spec: AssignmentSpec,
    stored: Sequence[Mapping[str, Any]] = (),
    new: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[dict[str, Any], ...]:
    """The manual items of one result: from the spec, with stored then new marks applied."""
    marks = {e["item"]: e for e in stored if e.get("score") is not None}
    for item, mark in (new or {}).items():
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

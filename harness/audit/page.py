"""The audit's outputs: an HTML page beside the class reports, the kill matrix as CSV and
the whole report as JSON.

The page extends the class reports' ``base.html.j2`` (same stylesheet, same policy: it
loads nothing and runs no script) and escapes every value: a mutant's source is the
reference's, but the page is built the way every report is.
"""

from __future__ import annotations

import csv
import difflib
import io
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from .. import __version__
from ..report import render
from ..store import write_json_atomic
from .runner import AuditReport, Outcome, Row

TEMPLATES = Path(__file__).resolve().parent / "templates"
PAGE = "audit.html"
MATRIX = "audit-matrix.csv"
JSON = "audit.json"
MARKDOWN = "audit.md"


def diff(row: Row) -> str:
    """The mutant's change as a unified diff of its file, three lines of context."""
    m = row.mutant
    lines = difflib.unified_diff(
        m.original.splitlines(keepends=True),
        m.source.splitlines(keepends=True),
        fromfile=f"reference/{m.file}",
        tofile=f"mutant/{m.file}",
        n=3,
    )
    return "".join(lines)


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [jinja2.FileSystemLoader(TEMPLATES), jinja2.FileSystemLoader(render.TEMPLATES)]
        ),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda pair: f"{100 * pair[0] / pair[1]:.0f}%" if pair[1] else "-"
    return env


def matrix_rows(report: AuditReport) -> list[dict[str, Any]]:
    """One row per mutant: its id, operator, outcome, then each check: killed/survived."""
    rows = []
    for r in report.rows:
        row: dict[str, Any] = {
            "mutant": r.mutant.id,
            "operator": r.mutant.operator,
            "fault": r.mutant.fault,
            "part": r.part,
            "outcome": str(r.outcome),
            "status": r.status,
        }
        for c in report.checks:
            graded = r.outcome is not Outcome.ERROR and r.status == "graded"
            row[c.key] = ("killed" if c.key in r.killed_by else "survived") if graded else r.status
        rows.append(row)
    return rows


def page(report: AuditReport) -> str:
    context = {
        "report": report,
        "spec": report.spec,
        "score": report.score,
        "parts": report.by(lambda r: r.part),
        "operators": report.by(lambda r: r.mutant.operator),
        "kinds": report.by_kind(),
        "training_only": report.only_by(("training",)),
        "survivors": [(r, diff(r)) for r in report.survivors],
        "equivalent": [(r, diff(r)) for r in report.rows if r.outcome is Outcome.EQUIVALENT],
        "rows": report.rows,
        "Outcome": Outcome,
        "css": Markup(render._asset("style.css")),
        "script": Markup(""),
        "script_sources": "'none'",
        "version": __version__,
        "generated": render.timestamp(),
    }
    return _environment().get_template("audit.html.j2").render(**context)


def _md(text: str) -> str:
    """A table cell: no pipes or line breaks."""
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(report: AuditReport) -> str:
    """The scores and every mutant as Markdown, for benchmarks/results/audit-NAME.md."""
    counted, killed = len(report.counted), sum(r.outcome is Outcome.KILLED for r in report.rows)
    equivalent = [r for r in report.rows if r.outcome is Outcome.EQUIVALENT]
    errors = [r for r in report.rows if r.outcome is Outcome.ERROR]
    lines = [
        f"## Score: {killed} of {counted} non-equivalent mutants killed "
        f"({100 * report.score:.0f}%), {len(equivalent)} judged equivalent",
        "",
        f"{len(report.rows)} mutants graded of {report.generated} generated"
        + (f", {len(errors)} harness errors" if errors else "")
        + (f"; left out of every hand-in: {', '.join(report.omitted)}" if report.omitted else "")
        + (f"; checks not in the matrix: {', '.join(report.left_out)}" if report.left_out else "")
        + ".",
        "",
        "| part / check kind | killed | of |",
        "| --- | ---: | ---: |",
    ]
    lines += [f"| part {p} | {k} | {n} |" for p, (k, n) in report.by(lambda r: r.part).items()]
    lines += [f"| kind {kind} | {k} | {n} |" for kind, (k, n) in report.by_kind().items()]
    lines += ["", "| mutant | fault | outcome | killed by |", "| --- | --- | --- | --- |"]
    for r in report.rows:
        by = ", ".join(r.killed_by) or (r.status if r.outcome is Outcome.KILLED else "")
        lines.append(f"| {_md(r.mutant.id)} | {_md(r.mutant.fault)} | {r.outcome} | {_md(by)} |")
    return "\n".join(lines) + "\n"


def write(report: AuditReport, out: Path | None = None) -> dict[str, Path]:
    """Write the page, the matrix CSV, the JSON and the Markdown scores into ``out``
    (default: the report's folder, beside the class reports); returns what was written."""
    folder = Path(out) if out is not None else report.out
    folder.mkdir(parents=True, exist_ok=True)
    written = {
        "page": folder / PAGE,
        "matrix": folder / MATRIX,
        "json": folder / JSON,
        "markdown": folder / MARKDOWN,
    }
    written["page"].write_text(page(report), encoding="utf-8")
    written["markdown"].write_text(markdown(report), encoding="utf-8")
    rows = matrix_rows(report)
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    written["matrix"].write_text(buffer.getvalue(), encoding="utf-8")
    write_json_atomic(
        written["json"],
        {
            "assignment": report.spec.name,
            "score": report.score,
            "generated": report.generated,
            "checks": [c.key for c in report.checks],
            "left_out": list(report.left_out),
            "omitted": list(report.omitted),
            "stale_equivalent": list(report.stale_equivalent),
            "parts": {k: list(v) for k, v in report.by(lambda r: r.part).items()},
            "kinds": {k: list(v) for k, v in report.by_kind().items()},
            "mutants": rows,
        },
    )
    return written

"""Reports: graded results turned into pages a TA reads and a student learns from.

``build(out, spec, results)`` writes

* ``OUT/<id>/report.html`` for every submission: scores, every check (failures first
  and open), the evidence the checks recorded (figures embedded, curves drawn from
  numbers), mismatches as tables, forbidden-API uses with their code, the manual
  items, the student's captured output (escaped, truncated) and how it was run;
* ``OUT/index.html``: every submission in a sortable table, each zero with its reason
  ("crashed at import: ...", "ran out of memory", "timed out"), a student-by-check matrix
  (sortable, with a filter), the roster's missing students, the unmatched and superseded
  files and the late submissions, a score histogram, each check's pass rate and the
  commonest failures.

Each page is one self-contained file (inline styles, images as data URIs, no request
to any other host).  The steps: ``view`` (results -> plain data), ``plots``
(matplotlib figures, cached by content under ``OUT/.report-cache/``), ``render``
(jinja2 with autoescape).  ``harness.api.grade`` calls ``build`` at the end of every
run (having written each submission's page as soon as it was graded, so the figures
are drawn while the others grade), and ``--reports-only`` calls it on the stored
results without grading.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import exports
from ..classlist import ClassList
from ..results import SubmissionResult
from ..roster import Roster
from ..runconfig import RunSettings
from ..spec import AssignmentSpec
from ..store import write_text_atomic
from . import plots, render, view

REPORT_FILE = "report.html"
INDEX_FILE = "index.html"
#: Pages other commands write beside the class page, linked from it when they are there
#: (``grade.py similarity`` and ``grade.py audit`` write into the reports' folder).
BESIDE = (
    ("similarity.html", "Code similarity: pairs worth a look"),
    ("audit.html", "Mutation audit: how many faults the grader's checks catch"),
)
CACHE_DIR = ".report-cache"

__all__ = [
    "INDEX_FILE",
    "REPORT_FILE",
    "BuildSummary",
    "ClassContext",
    "build",
    "index_page",
    "student_page",
    "write_student",
]


@dataclass(frozen=True)
class ClassContext:
    """What the run knows beyond the results: its settings, the class list, the roster."""

    settings: RunSettings | None = None
    classlist: ClassList | None = None
    roster: Roster | None = None

    def table(self, spec: AssignmentSpec, results: Sequence[SubmissionResult]) -> exports.Table:
        return exports.grade_table(
            spec,
            results,
            self.settings or RunSettings(),
            classlist=self.classlist,
            roster=self.roster,
        )


@dataclass(frozen=True)
class BuildSummary:
    index: Path
    reports: int
    figures_drawn: int  #: figures drawn now (the rest came from the cache)
    seconds: float


def student_page(
    result: SubmissionResult,
    spec: AssignmentSpec,
    out: Path,
    cache: plots.FigureCache,
    *,
    generated: str,
    late: str = "",
) -> str:
    """The HTML of one submission's report."""
    return render.render(
        "student.html.j2",
        generated=generated,
        s=view.student_view(result, spec, out, cache, late=late),
    )


def write_student(
    out: Path,
    spec: AssignmentSpec,
    result: SubmissionResult,
    *,
    cache: plots.FigureCache | None = None,
    generated: str | None = None,
    late: str = "",
) -> Path | None:
    """Write ``out/<id>/report.html``; None when the submission has no folder in ``out``."""
    folder = out / result.student_id
    if not folder.is_dir():
        return None
    cache = cache or plots.FigureCache(out / CACHE_DIR)
    stamp = generated or render.timestamp()
    page = student_page(result, spec, out, cache, generated=stamp, late=late)
    write_text_atomic(folder / REPORT_FILE, page)
    return folder / REPORT_FILE


def write_fallback(out: Path, result: SubmissionResult, exc: BaseException) -> Path | None:
    """A plain page for a submission whose report could not be built: its score and why."""
    from html import escape

    from ..text import printable

    folder = out / result.student_id
    if not folder.is_dir():
        return None
    reason = escape(printable(f"{type(exc).__name__}: {exc}")[:500])
    page = (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        f"<title>{escape(printable(result.student_id))}</title>"
        f"<h1>{escape(printable(result.student_id))}: {result.score:g} / {result.max_score:g}</h1>"
        f"<p>Status: {escape(str(result.status))}. The full report could not be built from "
        f"this submission's recorded values ({reason}); results.json beside this page holds "
        "every check's verdict and message.</p></html>"
    )
    write_text_atomic(folder / REPORT_FILE, page)
    return folder / REPORT_FILE


def index_page(
    results: Sequence[SubmissionResult],
    spec: AssignmentSpec,
    cache: plots.FigureCache,
    *,
    reports: set[str],
    generated: str,
    table: exports.Table | None = None,
    beside: Sequence[tuple[str, str]] = (),
) -> str:
    """The HTML of the class summary; ``beside``: (file, title) of pages to link."""
    return render.render(
        "index.html.j2",
        generated=generated,
        script=True,
        c=view.class_view(results, spec, reports=reports, cache=cache, table=table),
        beside=beside,
    )


def build(
    out: Path,
    spec: AssignmentSpec,
    results: Sequence[SubmissionResult],
    *,
    generated: str | None = None,
    jobs: int = 1,
    context: ClassContext | None = None,
) -> BuildSummary:
    """Write every submission's report and the class summary under ``out``."""
    started = time.perf_counter()
    stamp = generated or render.timestamp()
    table = (context or ClassContext()).table(spec, results)
    late = {row.student_id: view.late_text(row, table) for row in table.rows}
    # First find the figures not drawn yet and draw them (in ``jobs`` processes when
    # there are many), then write the pages from the cache.
    cache = plots.FigureCache(out / CACHE_DIR, defer=True)
    for result in results:
        if (out / result.student_id).is_dir():
            # A page that cannot be built fails again below, where it gets its fallback.
            with contextlib.suppress(Exception):
                view.student_view(result, spec, out, cache)
    view.class_view(results, spec, reports=set(), cache=cache)
    cache.draw_pending(jobs)
    cache.defer = False
    written: set[str] = set()
    for result in results:
        late_note = late.get(result.student_id, "")
        try:
            path = write_student(out, spec, result, cache=cache, generated=stamp, late=late_note)
        except Exception as exc:  # noqa: BLE001 - one student's data never stops the others
            path = write_fallback(out, result, exc)
        if path:
            written.add(result.student_id)
    index = out / INDEX_FILE
    beside = [(name, title) for name, title in BESIDE if (out / name).is_file()]
    page = index_page(
        results, spec, cache, reports=written, generated=stamp, table=table, beside=beside
    )
    write_text_atomic(index, page)
    cache.prune()
    return BuildSummary(
        index=index,
        reports=len(written),
        figures_drawn=cache.drawn,
        seconds=time.perf_counter() - started,
    )

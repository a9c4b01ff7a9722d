"""What the report templates show, computed from results: plain data, no HTML.

Every string that reaches a template is escaped there (jinja2 autoescape); nothing
here marks text as safe.  Check messages are split into blocks the report can show
better than plain text: the side-by-side table of ``describe_mismatch`` (expected
against got, with the difference), a shape mismatch, and the forbidden-API uses of
``forbidden.describe`` (file, line, the code around it).  Anything else stays text.
"""

from __future__ import annotations

import base64
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..exports import Row as GradeRow
from ..exports import Table as GradeTable
from ..manual import entries as manual_entries
from ..manual import total as manual_total
from ..results import NEEDS_REVIEW, CheckStatus, Status, SubmissionResult
from ..spec import AssignmentSpec
from . import plots

#: Characters of each captured stream (stdout, stderr) a report shows.
OUTPUT_LIMIT = 10_000
#: Characters of one text evidence entry or message shown.
TEXT_LIMIT = 20_000
#: Rows of a table shown (the rest is counted in a note).
TABLE_ROWS = 40
#: Largest evidence PNG embedded.
FIGURE_BYTES = 2 * 1024 * 1024

STATUS_LABELS = {
    Status.GRADED: "graded",
    Status.TIMEOUT: "timed out",
    Status.NOT_GRADED: "not graded",
    Status.HARNESS_ERROR: "harness error",
}


# -- message blocks -------------------------------------------------------------------


@dataclass(frozen=True)
class TextBlock:
    text: str
    kind: str = "text"


@dataclass(frozen=True)
class MismatchRow:
    index: str
    expected: str
    got: str
    difference: str


@dataclass(frozen=True)
class MismatchBlock:
    summary: tuple[str, ...]  #: the lines above the table (what differs, the largest)
    rows: tuple[MismatchRow, ...]
    kind: str = "mismatch"


@dataclass(frozen=True)
class ShapeBlock:
    what: str
    expected: str
    got: str
    hint: str
    kind: str = "shape"


@dataclass(frozen=True)
class CodeLine:
    number: int
    code: str
    marked: bool


@dataclass(frozen=True)
class ForbiddenBlock:
    file: str
    line: int
    what: str
    code: tuple[CodeLine, ...]
    kind: str = "forbidden"


Block = TextBlock | MismatchBlock | ShapeBlock | ForbiddenBlock

_TABLE_HEAD = re.compile(r"^\s*index\s+expected\s+got\s*$")
_TABLE_ROW = re.compile(r"^\s*(\(.*?\))\s+(\S+)\s+(\S+)\s*$")
_SHAPE = re.compile(
    r"^(?P<what>.*?):? expected shape (?P<exp>\(.*?\)), got shape (?P<got>\(.*?\))(?P<hint>.*)$"
)
_USE_HEAD = re.compile(r"^(?P<file>\S.*), line (?P<line>\d+)$")
_USE_CODE = re.compile(r"^  (?P<mark>[> ])\s*(?P<num>\d+) \| ?(?P<code>.*)$")


def _difference(expected: str, got: str) -> str:
    try:
        return f"{abs(float(got) - float(expected)):.4g}"
    except ValueError:
        return ""


def _mismatch(lines: list[str], start: int) -> tuple[MismatchBlock, int] | None:
    """A mismatch table whose header is ``lines[start]``, with the summary lines above."""
    rows = []
    end = start + 1
    while end < len(lines):
        match = _TABLE_ROW.match(lines[end])
        if not match:
            break
        index, expected, got = match.groups()
        rows.append(MismatchRow(index, expected, got, _difference(expected, got)))
        end += 1
    if not rows:
        return None
    return MismatchBlock(summary=(), rows=tuple(rows)), end


def _forbidden(lines: list[str], start: int) -> tuple[ForbiddenBlock, int] | None:
    head = _USE_HEAD.match(lines[start])
    if not head or start + 1 >= len(lines) or not lines[start + 1].startswith("  "):
        return None
    what = lines[start + 1].strip()
    code = []
    end = start + 2
    while end < len(lines):
        match = _USE_CODE.match(lines[end])
        if not match:
            break
        code.append(CodeLine(int(match["num"]), match["code"], match["mark"] == ">"))
        end += 1
    if not code:
        return None
    return ForbiddenBlock(head["file"], int(head["line"]), what, tuple(code)), end


_BULLET = re.compile(r"^(?P<indent>\s*)- (?P<body>.*)$")
#: Characters of the list of ways a collapsed line names.
WAYS_SHOWN = 240


def collapse_repeats(text: str) -> str:
    """A list whose items end in the same reason says the reason once.

    ``could not run ... in any of the accepted ways:`` followed by sixteen ``- way: reason``
    lines that all give one ``NotImplementedError`` becomes one line, "all 16 ways tried:
    <the reason>", with the ways named briefly below it; items with different reasons are
    grouped by reason, in the order they first appear.  A last item the message's length
    limit cut short is counted, not shown.
    """
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        if not _BULLET.match(lines[i]):
            out.append(lines[i])
            i += 1
            continue
        run = []
        while i < len(lines) and _BULLET.match(lines[i]):
            run.append(lines[i])
            i += 1
        out += _collapse_run(run, cut=i == len(lines) and not text.endswith("\n"))
    return "\n".join(out)


def _collapse_run(run: list[str], *, cut: bool) -> list[str]:
    items: list[tuple[str, str]] = []
    indent = ""
    for line in run:
        match = _BULLET.match(line)
        assert match is not None
        indent = match["indent"]
        label, sep, reason = match["body"].partition(": ")
        items.append((label, reason if sep else ""))
    cut_short = 0
    if cut and items and not items[-1][1]:
        items.pop()  # "- the arguments its signa": the message's limit ended it
        cut_short = 1
    groups: dict[str, list[str]] = {}
    for label, reason in items:
        groups.setdefault(reason, []).append(label)
    if len(items) < 3 or all(len(labels) == 1 for labels in groups.values()) or "" in groups:
        return run
    out = []
    for reason, labels in groups.items():
        if len(labels) == 1:
            out.append(f"{indent}- {labels[0]}: {reason}")
            continue
        every = "all " if len(groups) == 1 else ""
        out.append(f"{indent}- {every}{len(labels)} ways tried: {reason}")
        ways = "; ".join(labels)
        if len(ways) > WAYS_SHOWN:
            ways = ways[: WAYS_SHOWN - 3].rstrip() + "..."
        out.append(f"{indent}  ({ways})")
    if cut_short:
        out.append(f"{indent}  (the message was cut short: more ways were tried)")
    return out


def blocks(text: str) -> list[Block]:
    """``text`` split into text, mismatch-table, shape and forbidden-use blocks (a list of
    repeated reasons said once: ``collapse_repeats``)."""
    text = collapse_repeats(clip(text, TEXT_LIMIT))
    lines = text.splitlines()
    out: list[Block] = []
    plain: list[str] = []

    def flush(keep: int = 0) -> list[str]:
        """Emit the pending text except its last ``keep`` lines, which are returned."""
        kept = plain[len(plain) - keep :] if keep else []
        body = plain[: len(plain) - keep] if keep else plain
        while body and not body[-1].strip():
            body.pop()
        if body and any(line.strip() for line in body):
            out.append(TextBlock("\n".join(body).strip("\n")))
        plain.clear()
        return kept

    i = 0
    while i < len(lines):
        line = lines[i]
        if _TABLE_HEAD.match(line):
            found = _mismatch(lines, i)
            if found:
                block, i = found
                # The lines just above the table say what differs and where the largest is.
                keep = 0
                while keep < min(2, len(plain)) and plain[len(plain) - 1 - keep].strip():
                    keep += 1
                summary = flush(keep)
                out.append(MismatchBlock(summary=tuple(summary), rows=block.rows))
                continue
        shape = _SHAPE.match(line)
        if shape:
            flush()
            out.append(
                ShapeBlock(
                    what=shape["what"].strip(),
                    expected=shape["exp"],
                    got=shape["got"],
                    hint=shape["hint"].strip().strip("()"),
                )
            )
            i += 1
            continue
        use = _forbidden(lines, i)
        if use:
            flush()
            out.append(use[0])
            i = use[1]
            while i < len(lines) and not lines[i].strip():
                i += 1
            continue
        plain.append(line)
        i += 1
    flush()
    return out


def clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit:,} more characters not shown]"


@dataclass(frozen=True)
class Captured:
    """One captured stream as the report shows it: head and tail of a long one."""

    name: str
    text: str
    length: int
    truncated: bool
    note: str


def captured(name: str, text: str, limit: int = OUTPUT_LIMIT) -> Captured:
    if len(text) <= limit:
        return Captured(name, text, len(text), False, "")
    head = limit * 2 // 5
    tail = limit - head
    shown = text[:head] + "\n[...]\n" + text[-tail:]
    note = (
        f"{len(text):,} characters were kept from your program's output; this report shows "
        f"the first {head:,} and the last {tail:,} ({limit:,} in all)."
    )
    return Captured(name, shown, len(text), True, note)


# -- evidence ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceView:
    kind: str  #: "figure", "table", "text", "data", "missing"
    title: str
    image: str = ""  #: data URI of an image (PNG or SVG)
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    hidden_rows: int = 0
    blocks: tuple[Block, ...] = ()
    pairs: tuple[tuple[str, str], ...] = ()
    text: str = ""


def data_uri(image: bytes, mime: str = "image/svg+xml") -> str:
    """An image as a data URI: the report's own figures are SVG, the graders' PNG."""
    return f"data:{mime};base64," + base64.b64encode(image).decode("ascii")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _show_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list) and all(isinstance(v, int | float) for v in value):
        return ", ".join(_cell(v) for v in value) if value else "none"
    return str(value)


def evidence_file(evidence_dir: Path, name: str) -> Path | None:
    """The PNG ``name`` inside ``evidence_dir``; None for anything else (no traversal)."""
    if not name or Path(name).name != name or not name.lower().endswith(".png"):
        return None
    path = evidence_dir / name
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size > FIGURE_BYTES:
            return None
    except OSError:
        return None
    return path


def evidence_view(
    entry: Mapping[str, Any], evidence_dir: Path, cache: plots.FigureCache, shown_text: str
) -> EvidenceView | None:
    """One evidence entry for the report; None for one shown elsewhere (series, repeats)."""
    kind = entry.get("kind")
    title = str(entry.get("title") or entry.get("name") or "")
    if kind == "figure":
        path = evidence_file(evidence_dir, str(entry.get("path", "")))
        if path is None:
            return EvidenceView("missing", title, text=f"figure {entry.get('path')!s} is missing")
        return EvidenceView("figure", title, image=data_uri(path.read_bytes(), "image/png"))
    if kind == "table":
        columns = [str(c) for c in entry.get("columns", [])]
        rows = [list(r) if isinstance(r, list) else [r] for r in entry.get("rows", [])]
        image = ""
        panels = plots.table_panels(columns, rows)
        if panels:
            image_bytes = cache.get(
                ["table", columns, rows, panels],
                partial(plots.draw_table_curves, columns, rows, panels),
            )
            image = data_uri(image_bytes)
        half = TABLE_ROWS // 2
        shown = rows if len(rows) <= TABLE_ROWS else rows[:half] + rows[-half:]
        return EvidenceView(
            "table",
            title,
            image=image,
            columns=tuple(columns),
            rows=tuple(tuple(_cell(v) for v in r) for r in shown),
            hidden_rows=len(rows) - len(shown),
        )
    if kind == "text":
        text = str(entry.get("text", ""))
        if text.strip() and text.strip() in shown_text:
            return None  # the check's message already says it
        return EvidenceView("text", title, blocks=tuple(blocks(text)))
    if kind == "data":
        value = entry.get("value")
        if plots.is_series(value):
            return None
        if isinstance(value, dict) and all(not isinstance(v, dict) for v in value.values()):
            pairs = tuple((str(k), clip(_show_value(v), 2000)) for k, v in value.items())
            return EvidenceView("data", title, pairs=pairs)
        return EvidenceView("text", title, blocks=(TextBlock(clip(str(value), TEXT_LIMIT)),))
    return None


# -- checks and the student's page ----------------------------------------------------------


@dataclass(frozen=True)
class CheckView:
    number: str
    name: str
    score: float
    max_score: float
    passed: bool
    kind: str  #: the check's kind tag (cell, training, ...)
    note: str  #: how it failed when not by an assertion: timeout, crash, grader error
    blocks: tuple[Block, ...]
    evidence: tuple[EvidenceView, ...]
    duration: float | None
    #: the earlier failed check whose message this one repeats word for word ("" if none)
    same_as: str = ""
    same_text: str = ""  #: that message's first line, for the one-line reminder


FAILURE_NOTES = {
    "timeout": "your code did not finish in time",
    "budget": "not run: a time limit was reached (the submission's, or its part's share)",
    "crash": "your program's process ended",
    "student_error": "your code raised an exception",
    "skipped": "not run",
    "grader_error": "a fault of the grader, not yours",
}


@dataclass(frozen=True)
class PartView:
    key: str
    title: str
    score: float
    points: float  #: automatic points of the part
    manual_score: float
    manual_points: float
    manual_marked: bool


@dataclass(frozen=True)
class FigureView:
    title: str
    image: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class StudentView:
    assignment: str
    student_id: str
    status: str
    status_label: str
    score: float
    max_score: float
    manual_score: float
    final_max: float
    manual_pending: int
    parts: tuple[PartView, ...]
    summary: tuple[str, ...]  #: the result's output, one line each
    fallbacks: tuple[Fallback, ...]
    figures: tuple[FigureView, ...]
    failed: tuple[CheckView, ...]
    passed: tuple[CheckView, ...]
    manual: tuple[dict[str, Any], ...]
    outputs: tuple[Captured, ...]
    run: tuple[tuple[str, str], ...]  #: sandbox, limits, time, source, flags
    versions: tuple[tuple[str, str], ...]
    timings: tuple[tuple[str, str], ...]


def _fmt_bytes(n: Any) -> str:
    try:
        value = int(n)
    except (TypeError, ValueError):
        return str(n)
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if value >= size and value % (size // 1024 or 1) == 0:
            return f"{value / size:g} {unit}"
    return f"{value} bytes"


def limits_text(limits: Mapping[str, Any]) -> str:
    if not limits:
        return ""
    shown = []
    names = {
        "timeout": ("time for the whole submission", "s"),
        "call_timeout": ("time per call", "s"),
        "memory": ("memory", "bytes"),
        "cpu_time": ("CPU time per process", "s"),
        "processes": ("processes", ""),
        "file_size": ("largest file written", "bytes"),
        "output": ("output kept", "bytes"),
    }
    for key, (label, unit) in names.items():
        if key not in limits:
            continue
        value = limits[key]
        if value is None:  # a non-finite limit, written as null (results.json is strict)
            shown.append(f"{label}: none")
        elif unit == "bytes":
            shown.append(f"{label} {_fmt_bytes(value)}")
        elif unit == "s":
            shown.append(f"{label} {float(value):g} s")
        else:
            shown.append(f"{label} {value}")
    return "; ".join(shown)


def _say_once(failed: list[CheckView]) -> list[CheckView]:
    """A failed check whose message is an earlier failed check's, word for word, says so in
    one line (the blank template's sixteen "not implemented yet" become one)."""
    first: dict[tuple[Block, ...], CheckView] = {}
    out = []
    for view in failed:
        key = view.blocks
        earlier = first.get(key) if key else None
        if earlier is None:
            if key:
                first[key] = view
            out.append(view)
            continue
        text = next((b.text for b in earlier.blocks if isinstance(b, TextBlock)), "")
        lines = [x.strip() for x in text.splitlines() if x.strip()]
        # "could not run ... in any of the accepted ways:" says little without its next line
        line = (
            " ".join(lines[:2]) if lines and lines[0].endswith(":") else lines[0] if lines else ""
        )
        same = line if len(line) <= 200 else line[:197] + "..."
        out.append(replace(view, blocks=(), same_as=earlier.number, same_text=same))
    return out


#: The start of the note of a script loaded definitions-only, and how its items are joined.
DEFINITIONS_ONLY = "Loaded definitions only; left unrun: "


@dataclass(frozen=True)
class Fallback:
    """A rule the harness bent to grade the submission: a line, and its items when long."""

    text: str
    items: tuple[str, ...] = ()


def fallback_view(line: str) -> Fallback:
    """``Loaded definitions only; left unrun: line 14 ...; line 15 ...`` as a count and a
    list of the statements left unrun."""
    if line.startswith(DEFINITIONS_ONLY):
        body = line[len(DEFINITIONS_ONLY) :]
        items = [x.strip() for x in re.split(r"; (?=line \d+ |and \d+ more\.?$)", body)]
        count = len([x for x in items if x.startswith("line ")])
        more = next((x for x in items if x.startswith("and ")), "")
        extra = re.match(r"and (\d+) more", more)
        total = count + (int(extra.group(1)) if extra else 0)
        return Fallback(
            f"Loaded definitions only: {total} module-level statement"
            f"{'s' if total != 1 else ''} left unrun (they would train or read files at "
            "import)",
            tuple(items),
        )
    return Fallback(line)


def fallbacks(result: SubmissionResult) -> list[str]:
    """Lines saying where the harness bent a rule to grade the submission at all."""
    lines = [line for line in result.output.splitlines() if line.startswith("Loaded definitions")]
    lines += [note for note in result.notes if note not in lines]
    for check in result.checks:
        for entry in check.extra.get("evidence", ()):
            title = str(entry.get("title", ""))
            if entry.get("kind") == "text" and (
                entry.get("name") == "variants" or title.startswith("Interface variants")
            ):
                lines.append(f"{check.name}: {entry.get('text', '')}")
    return lines


def student_view(
    result: SubmissionResult,
    spec: AssignmentSpec,
    out: Path,
    cache: plots.FigureCache,
    *,
    late: str = "",
) -> StudentView:
    """One submission's page; ``late``: what its lateness costs (``late_text``)."""
    evidence_dir = out / result.student_id / "evidence"
    checks_failed: list[CheckView] = []
    checks_passed: list[CheckView] = []
    series_entries: list[dict[str, Any]] = []
    for check in result.checks:
        message = check.output or ""
        shown: list[EvidenceView] = []
        for entry in check.extra.get("evidence", ()):
            if entry.get("kind") == "data" and plots.is_series(entry.get("value")):
                series_entries.append(entry["value"])
                continue
            item = evidence_view(entry, evidence_dir, cache, message)
            if item is not None:
                shown.append(item)
        passed = check.status is CheckStatus.PASSED
        kind_tag = check.tags[1] if len(check.tags) > 1 else ""
        duration = check.extra.get("duration")
        view = CheckView(
            number=check.number,
            name=check.name,
            score=check.score,
            max_score=check.max_score,
            passed=passed,
            kind=kind_tag,
            note="" if passed else FAILURE_NOTES.get(str(check.extra.get("kind", "")), ""),
            blocks=tuple(blocks(message)),
            evidence=tuple(shown),
            duration=float(duration) if isinstance(duration, int | float) else None,
        )
        (checks_passed if passed else checks_failed).append(view)
    checks_failed = _say_once(checks_failed)

    figures = []
    for fig_spec in plots.merge_series(series_entries):
        png = cache.get(["series", fig_spec], partial(plots.draw_series, fig_spec))
        figures.append(
            FigureView(
                title=fig_spec["title"],
                image=data_uri(png),
                lines=tuple(line["label"] for line in fig_spec["lines"]),
            )
        )

    manual = tuple(result.manual) or manual_entries(spec)
    parts = []
    for part in spec.parts:
        auto_points = sum(c.points for c in spec.checks if c.part == part.key)
        items = [m for m in manual if m.get("part") == part.key]
        parts.append(
            PartView(
                key=part.key,
                title=part.title,
                score=result.part_scores.get(part.key, 0.0),
                points=auto_points,
                manual_score=manual_total(items),
                manual_points=sum(float(m.get("points", 0)) for m in items),
                manual_marked=all(m.get("score") is not None for m in items),
            )
        )
    run = [
        ("status", STATUS_LABELS[result.status] + (f" ({result.reason})" if result.reason else "")),
        ("submitted file", result.source),
        ("sandbox", result.sandbox or "none (the submission did not reach a sandbox)"),
        ("limits", limits_text(result.limits)),
        ("time taken", f"{result.execution_time:.1f} s"),
        ("flags", ", ".join(result.flags)),
        ("late", late),
    ]
    return StudentView(
        assignment=spec.title,
        student_id=result.student_id,
        status=str(result.status),
        status_label=STATUS_LABELS[result.status],
        score=result.score,
        max_score=result.max_score,
        manual_score=manual_total(manual),
        final_max=spec.max_score,
        manual_pending=sum(1 for m in manual if m.get("score") is None),
        parts=tuple(parts),
        # A fallback's line is shown once, among the fallbacks, not in the summary too.
        summary=tuple(
            line
            for line in result.output.splitlines()
            if line.strip() and not line.startswith("Loaded definitions")
        )
        + ((late[0].upper() + late[1:] + ".",) if late else ()),
        fallbacks=tuple(fallback_view(line) for line in fallbacks(result)),
        figures=tuple(figures),
        failed=tuple(checks_failed),
        passed=tuple(checks_passed),
        manual=manual,
        outputs=tuple(
            captured(name, text)
            for name, text in (("stdout", result.stdout), ("stderr", result.stderr))
            if text
        ),
        run=tuple((k, v) for k, v in run if v),
        versions=tuple(sorted(result.versions.items())),
        timings=tuple((k, f"{v:.2f} s") for k, v in result.timings.items()),
    )


# -- the class summary ----------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    student_id: str
    href: str  #: relative link to the report ("" when there is none)
    status: str
    status_label: str
    parts: tuple[float, ...]
    score: float
    max_score: float
    manual: float
    final: float
    time: float
    note: str  #: why: a zero's cause, a timeout, a flag for review
    reason: str  #: the whole summary, for the not-graded list
    badge: str = ""  #: the badge's class: the status, or "zero" for a graded 0
    name: str = ""  #: the student's name, from the roster
    late: str = ""  #: how late, and what it cost
    checks: tuple[str, ...] = ()  #: per check of the matrix: "pass", "fail" or "" (not run)


@dataclass(frozen=True)
class Listed:
    """A line of the class page's lists: missing, unmatched, superseded, late."""

    student_id: str
    name: str
    detail: str
    href: str = ""


@dataclass(frozen=True)
class CheckRate:
    number: str
    name: str
    passed: int
    total: int

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0


@dataclass(frozen=True)
class CommonFailure:
    message: str  #: one example of the message (its first line)
    count: int  #: students who got it
    checks: tuple[str, ...]
    students: tuple[str, ...]


@dataclass(frozen=True)
class ClassView:
    assignment: str
    name: str
    parts: tuple[tuple[str, str, float], ...]  #: key, title, automatic points
    max_score: float
    final_max: float
    rows: tuple[Row, ...]
    not_graded: tuple[Row, ...]  #: not graded, timed out or failed by the harness
    counts: tuple[tuple[str, int], ...]
    mean: float | None
    median: float | None
    histogram: str
    rates: tuple[CheckRate, ...]
    failures: tuple[CommonFailure, ...]
    generated: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    matrix: tuple[tuple[str, str], ...] = ()  #: (number, name) of each check, the columns
    missing: tuple[Listed, ...] = ()
    unmatched: tuple[Listed, ...] = ()
    superseded: tuple[Listed, ...] = ()
    late: tuple[Listed, ...] = ()
    roster: str = ""  #: the roster's file name and system, if there is one


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
_IMPORT_CRASH = re.compile(r"^while importing (?P<file>\S+), your code raised (?P<error>.*)$")


def why(result: SubmissionResult) -> str:
    """Why a submission scored what it did, in a line: for a zero, a timeout, a submission
    not graded; "" for a graded one with points (its checks say the rest)."""
    first = next((line.strip() for line in result.output.splitlines() if line.strip()), "")
    if result.status in (Status.NOT_GRADED, Status.HARNESS_ERROR):
        return first or result.reason
    if "out_of_memory" in result.flags:
        return "ran out of memory" + (f": {first}" if first else "")
    if result.status is Status.TIMEOUT:
        return "timed out" + (f": {first}" if first else "")
    if result.score > 0 or not result.checks:
        return "flagged for a TA's review (see the report)" if NEEDS_REVIEW in result.flags else ""
    failed = [c for c in result.checks if c.status is CheckStatus.FAILED and c.output.strip()]
    if not failed:
        return "no check passed"
    lines = Counter(next(x.strip() for x in c.output.splitlines() if x.strip()) for c in failed)
    line, count = lines.most_common(1)[0]
    crash = _IMPORT_CRASH.match(line)
    if crash:
        return f"crashed at import ({crash['file']}): {crash['error']}"
    kinds = {str(c.extra.get("kind", "")) for c in failed}
    if kinds == {"timeout"}:
        return f"timed out: {line}"
    return line if count > 1 or len(failed) == 1 else f"no check passed; first: {line}"


def late_text(row: GradeRow, table: GradeTable) -> str:
    """How late a submission is and what that costs, or "" if on time."""
    if row.late > 0:
        return table.policy.describe(row.result.score, table.spec.auto_max_score, row.late)
    if row.entry is not None and row.entry.lms_late and table.settings.deadline is None:
        return f"marked late by {row.entry.lms} (give --deadline to apply a late policy)"
    return ""


def failure_key(message: str) -> str:
    """The first line of a failure with its numbers masked, so similar failures group."""
    first = next((line.strip() for line in message.splitlines() if line.strip()), "")
    return _NUMBER.sub("#", first)[:300]


def class_view(
    results: Sequence[SubmissionResult],
    spec: AssignmentSpec,
    *,
    reports: set[str],
    cache: plots.FigureCache,
    top_failures: int = 12,
    table: GradeTable | None = None,
) -> ClassView:
    grade_rows = {row.student_id: row for row in table.rows} if table is not None else {}
    matrix: dict[str, tuple[str, str]] = {}
    for r in results:
        for c in r.checks:
            matrix.setdefault(c.number or c.name, (c.number, c.name))
    columns = sorted(matrix.items(), key=lambda kv: _order(kv[1][0]))
    rows = []
    for r in sorted(results, key=lambda r: r.student_id):
        manual = manual_total(r.manual)
        grade_row = grade_rows.get(r.student_id)
        penalty = grade_row.penalty if grade_row else 0.0
        cells = {c.number or c.name: c.status is CheckStatus.PASSED for c in r.checks}
        entry = table.classlist.by_id().get(r.student_id) if table and table.classlist else None
        rows.append(
            Row(
                student_id=r.student_id,
                # An id may hold spaces or letters of any script (Müller Jörg): quoted.
                href=f"{quote(r.student_id)}/report.html" if r.student_id in reports else "",
                status=str(r.status),
                status_label="graded: 0"
                if r.status is Status.GRADED and r.score == 0 and r.max_score > 0
                else STATUS_LABELS[r.status],
                parts=tuple(r.part_scores.get(p.key, 0.0) for p in spec.parts),
                score=r.score,
                max_score=r.max_score,
                manual=manual,
                final=r.score - penalty + manual,
                time=r.execution_time,
                note=why(r),
                reason=r.output or r.reason,
                badge="zero"
                if r.status is Status.GRADED and r.score == 0 and r.max_score > 0
                else str(r.status),
                name=(grade_row.student.display if grade_row and grade_row.student else "")
                or (entry.name if entry else ""),
                late=late_text(grade_row, table) if grade_row and table else "",
                checks=tuple(
                    ("pass" if cells[key] else "fail") if key in cells else "" for key, _ in columns
                ),
            )
        )
    graded = [r for r in results if r.status in (Status.GRADED, Status.TIMEOUT)]
    scores = sorted(r.score for r in graded)
    histogram = ""
    if scores:
        png = cache.get(
            ["histogram", scores, spec.auto_max_score],
            partial(plots.draw_histogram, scores, spec.auto_max_score),
        )
        histogram = data_uri(png)
    rates: dict[str, list[int]] = {}
    names: dict[str, tuple[str, str]] = {}
    failures: dict[str, tuple[str, dict[str, None], dict[str, None]]] = {}
    for r in graded:
        for c in r.checks:
            key = c.number or c.name
            names.setdefault(key, (c.number, c.name))
            tally = rates.setdefault(key, [0, 0])
            tally[1] += 1
            if c.status is CheckStatus.PASSED:
                tally[0] += 1
            elif c.output.strip():
                first = next(line for line in c.output.splitlines() if line.strip()).strip()
                _, checks, students = failures.setdefault(failure_key(first), (first, {}, {}))
                checks[c.name] = None
                students[r.student_id] = None
    common = sorted(failures.values(), key=lambda f: (-len(f[2]), f[0]))[:top_failures]
    counts = Counter(str(r.status) for r in results)
    mid = len(scores) // 2
    median = None
    if scores:
        median = scores[mid] if len(scores) % 2 else (scores[mid - 1] + scores[mid]) / 2
    lists = _lists(table, {row.student_id: row for row in rows})
    return ClassView(
        matrix=tuple(v for _, v in columns),
        **lists,
        assignment=spec.title,
        name=spec.name,
        parts=tuple(
            (p.key, p.title, sum(c.points for c in spec.checks if c.part == p.key))
            for p in spec.parts
        ),
        max_score=spec.auto_max_score,
        final_max=spec.max_score,
        rows=tuple(rows),
        not_graded=tuple(row for row in rows if row.status != str(Status.GRADED)),
        counts=tuple((STATUS_LABELS[s], counts[str(s)]) for s in Status if counts[str(s)]),
        mean=sum(scores) / len(scores) if scores else None,
        median=median,
        histogram=histogram,
        rates=tuple(
            CheckRate(number, name, *rates[key])
            for key, (number, name) in sorted(names.items(), key=lambda kv: _order(kv[1][0]))
        ),
        failures=tuple(
            CommonFailure(
                message=clip(message, 500),
                count=len(students),
                checks=tuple(checks),
                students=tuple(students),
            )
            for message, checks, students in common
        ),
    )


def _lists(table: GradeTable | None, rows: Mapping[str, Row]) -> dict[str, Any]:
    """The class page's lists: missing students, unmatched and superseded files, late ones."""
    if table is None:
        return {}
    found = table.classlist
    roster = table.roster
    missing = (
        tuple(Listed(key, name, "no submission") for key, name in found.missing) if found else ()
    )
    if not found and roster is not None:
        missing = tuple(Listed(s.key, s.display, "no submission") for s in table.missing())
    unmatched = tuple(
        Listed(
            e.student_id,
            "",
            f"{e.file}: matches no roster entry"
            + (f"; closest: {'; '.join(e.candidates)}" if e.candidates else "")
            + " (graded, never exported)",
            rows[e.student_id].href if e.student_id in rows else "",
        )
        for e in (found.unmatched if found else ())
    )
    superseded = tuple(
        Listed(
            e.student_id,
            e.name,
            f"{e.file} ({e.submitted}, from {e.submitted_from}) is superseded by the newer "
            f"{e.superseded_by}",
        )
        for e in (found.superseded if found else ())
    )
    late = tuple(Listed(r.student_id, r.name, r.late, r.href) for r in rows.values() if r.late)
    return {
        "missing": missing,
        "unmatched": unmatched,
        "superseded": superseded,
        "late": late,
        "roster": f"{Path(roster.path).name} ({roster.system}, {len(roster.students)} students)"
        if roster
        else "",
    }


def _order(number: str) -> tuple[int, ...]:
    try:
        return tuple(int(n) for n in number.split("."))
    except ValueError:
        return (10**9,)

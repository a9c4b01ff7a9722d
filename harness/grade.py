"""Grade a folder of student ZIPs.

    python harness/grade.py SUBMISSIONS --assignment NAME --out OUT


A thin command line over ``harness.api.grade``: it parses options, draws the
progress bar and the summary table, and maps the outcome to an exit code.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from enum import IntEnum
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a script: make the project importable, and use its virtual environment
    # if this interpreter lacks the dependencies.
    _root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(_root))
    try:
        import click  # noqa: F401
        import rich  # noqa: F401
    except ImportError:
        _venv = _root / ".venv" / "bin" / "python"
        if _venv.exists() and Path(sys.executable).resolve() != _venv.resolve():
            os.execv(str(_venv), [str(_venv), *sys.argv])
        sys.exit("missing dependencies: run `make setup` in the project folder first")

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
)
from rich.table import Table
from rich.text import Text

from harness import __version__, api, courseconfig, validate
from harness import similarity as harness_similarity
from harness.assignments import list_assignments
from harness.audit import operators as audit_ops
from harness.audit import page as audit_page
from harness.audit import runner as audit_runner
from harness.errors import HarnessError, SpecError, UnsafeSandboxWarning, UsageError
from harness.executors.cli import QueueCounts, api_arguments, cluster_options
from harness.results import Status
from harness.sandbox import BACKENDS
from harness.sandbox.docker import unavailable_reason as docker_unavailable_reason
from harness.sandbox.local import WARNING as LOCAL_WARNING
from harness.spec import AssignmentSpec, load_spec
from harness.text import printable


class ExitCode(IntEnum):
    """Exit codes of the command. A student's failure is never an error of the command."""

    OK = 0  #: every submission was processed (graded, or reported as not graded)
    HARNESS_ERROR = 1  #: the harness or a grader failed on at least one submission
    USAGE_ERROR = 2  #: bad options, unknown assignment, missing folder
    NO_SUBMISSIONS = 3  #: the folder holds no ZIP to grade
    INTERRUPTED = 130  #: stopped by Ctrl-C; what was graded is kept


EPILOG = """\b
Exit codes:
  0    every submission processed (students' failures are results, not errors)
  1    a fault of the harness or a grader on at least one submission
  2    usage error (bad option, unknown assignment, missing folder, an invalid
       assignment.toml or one whose [checks] name no test of the grader)
  3    no *.zip submissions found
  130  interrupted; graded submissions are kept and the next run finishes the rest

Results go to stdout; progress, warnings and errors to stderr. A course's defaults
(--out, --sandbox, --jobs, limits, roster) can live in a TOML file: --config FILE, or
rnn-grade.toml in the current folder.

Before grading a class, check the grader: grade.py validate -a NAME (see validate --help).
"""


def _list(console: Console) -> None:
    table = Table(title="Assignments")
    for col in ("name", "title", "file name", "points"):
        table.add_column(col)
    for name, folder in list_assignments():
        spec = load_spec(folder)
        table.add_row(name, spec.title, spec.naming.example, f"{spec.max_score:g}")
    console.print(table)


def _summary(console: Console, batch: api.BatchResult) -> None:
    table = Table(title=f"{batch.spec.title}: {len(batch.results)} submissions")
    table.add_column("id")
    table.add_column("status")
    for part in batch.spec.parts:
        table.add_column(part.key, justify="right")
    table.add_column("total", justify="right")
    table.add_column("time", justify="right")
    table.add_column("note", overflow="fold", max_width=50)
    colours = {
        Status.GRADED: "green",
        Status.NOT_GRADED: "yellow",
        Status.TIMEOUT: "magenta",
        Status.HARNESS_ERROR: "red",
    }
    for r in batch.results:
        # Ids and notes come from the students' files: shown as plain text, never markup.
        note = (r.output.splitlines() or [""])[0][:120] if r.status is not Status.GRADED else ""
        table.add_row(
            Text(printable(r.student_id)),
            Text(str(r.status), style=colours[r.status]),
            *[f"{r.part_scores.get(p.key, 0):g}" for p in batch.spec.parts],
            f"{r.score:g}/{r.max_score:g}",
            f"{r.execution_time:.1f}s",
            Text(printable(note)),
        )
    console.print(table)


class EtaColumn(ProgressColumn):
    """The time left, shown from the start: the submissions left times the seconds one
    takes (the mean so far once every job has finished one, before that ``estimate``:
    earlier results of this assignment or its measured ``grading_time``), divided among
    the ``jobs`` graded at once."""

    def __init__(self, estimate: float | None, jobs: int) -> None:
        super().__init__()
        self.estimate, self.jobs = estimate, max(1, jobs)
        self.started = time.monotonic()

    def render(self, task: Task) -> Text:
        if task.total is None or task.finished:
            return Text("")
        left = task.total - task.completed
        per = (
            (time.monotonic() - self.started) * self.jobs / task.completed
            if task.completed
            else None
        )
        per = per if per is not None and task.completed >= self.jobs else self.estimate or per
        if per is None:
            return Text("ETA unknown", style="progress.remaining")
        seconds = int(left * per / self.jobs)
        return Text(
            f"ETA {seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}",
            style="progress.remaining",
        )


def estimate_seconds(spec: AssignmentSpec, out: Path) -> float | None:
    """Seconds one submission of ``spec`` takes to grade: the mean of earlier results of
    this assignment in ``out``, else of those in the project's ``results/NAME`` (``make
    examples``, ``grade.py validate``), else the spec's measured ``grading_time``."""
    root = Path(__file__).resolve().parent.parent / "results" / spec.name
    here = Path("results") / spec.name  # a course's own assignment, graded from its folder
    folders = [out, root, root / validate.TRUSTED_DIR, here, here / validate.TRUSTED_DIR]
    for folder in dict.fromkeys(folders):
        if not folder.is_dir():
            continue
        times = []
        for path in sorted(folder.glob("*/results.json"))[:200]:
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if data.get("extra_data", {}).get("harness", {}).get("assignment") == spec.name:
                value = data.get("execution_time")
                if isinstance(value, int | float) and value > 0:
                    times.append(float(value))
        if times:
            return sum(times) / len(times)
    return spec.grading_time


def _json_summary(batch: api.BatchResult, code: int) -> str:
    """``--json``: what the run did, for a script to read."""
    return json.dumps(
        {
            "version": __version__,
            "assignment": batch.spec.name,
            "out": str(batch.out),
            "sandbox": batch.sandbox,
            "executor": batch.executor,
            "exit_code": int(code),
            "graded_now": list(batch.graded_now),
            "skipped": list(batch.skipped),
            "interrupted": batch.interrupted,
            "submissions": [
                {
                    "id": r.student_id,
                    "source": r.source,
                    "status": str(r.status),
                    "reason": r.reason,
                    "score": r.score,
                    "max_score": r.max_score,
                    "parts": {p.key: r.part_scores.get(p.key, 0.0) for p in batch.spec.parts},
                    "seconds": round(r.execution_time, 2),
                    "note": (r.output.splitlines() or [""])[0][:300]
                    if r.status is not Status.GRADED
                    else "",
                }
                for r in batch.results
            ],
            "unfinished": [{"id": sid, "why": why} for sid, why in batch.unfinished],
            "notes": list(batch.notes),
            "report_error": batch.report_error,
        },
        indent=2,
        ensure_ascii=False,
    )


def _load_config(ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path | None:
    """``--config``: the course's defaults become the options' defaults (click's default_map)."""
    path = value if value is not None else Path(courseconfig.DEFAULT_FILE)
    if value is None and not path.is_file():
        return None
    try:
        defaults = courseconfig.load(path)
    except UsageError as exc:
        click.echo(f"error: {printable(str(exc))}", err=True)
        ctx.exit(ExitCode.USAGE_ERROR)
    ctx.default_map = {**(ctx.default_map or {}), **defaults}
    return path


@click.command(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="rnn-grade")
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    is_eager=True,
    expose_value=False,
    callback=_load_config,
    help=f"TOML file of the course's defaults for these options (default: "
    f"{courseconfig.DEFAULT_FILE} in the current folder, if there is one).",
)
@click.argument("submissions", type=click.Path(path_type=Path), required=False)
@click.option("--assignment", "-a", help="Assignment name (see --list-assignments) or folder.")
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    default=Path("results"),
    show_default=True,
    help="Folder for results.json per student and grades.csv.",
)
@click.option(
    "--jobs",
    "-j",
    type=int,
    default=None,
    help="Submissions graded in parallel (default: the number of CPU cores).",
)
@click.option(
    "--sandbox",
    type=click.Choice(BACKENDS),
    default="auto",
    show_default=True,
    help="Isolation backend; auto picks Docker (if its image is built), then bubblewrap, "
    "then local.",
)
@click.option(
    "--gpus",
    default="",
    metavar="all|N|device=0,1",
    help="GPUs for the student containers, as in docker run --gpus (Docker backend only).",
)
@click.option(
    "--timeout",
    default=None,
    metavar="DURATION",
    help="The student's CPU time per submission, e.g. 600, 90s, 10m (default: the "
    "assignment's; 1 s to 24 h).",
)
@click.option(
    "--memory",
    default=None,
    metavar="SIZE",
    help="Memory per submission, e.g. 2G (default: the assignment's; at least 512M, what "
    "importing torch needs).",
)
@click.option(
    "--only", multiple=True, metavar="ID", help="Grade only this student id (repeatable)."
)
@click.option("--force", is_flag=True, help="Regrade every submission, even unchanged ones.")
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed for every random generator."
)
@click.option(
    "--accept-misnamed", is_flag=True, help="Grade ZIPs whose names break the naming rule."
)
@click.option(
    "--keep-work", is_flag=True, help="Keep unpacked submissions under OUT/.work for inspection."
)
@click.option(
    "--manual",
    "manual_scores",
    type=click.Path(path_type=Path),
    default=None,
    help="CSV of a TA's marks for the manual items (columns id, item, score, comment).",
)
@click.option(
    "--reports-only",
    is_flag=True,
    help="Grade nothing: rebuild grades.csv and the HTML reports from the stored results.",
)
@click.option(
    "--id-column",
    default=None,
    help="Header of grades.csv's id column (default: id). Remembered in OUT/run.json.",
)
@click.option(
    "--scale",
    type=float,
    default=None,
    help="Rescale the gradebook files so full marks are this (e.g. 100); default: the points. "
    "Remembered in OUT/run.json.",
)
@click.option(
    "--roster",
    type=click.Path(path_type=Path),
    default=None,
    help="The class list as your course system exports it (Moodle or Canvas gradebook export, "
    "Blackboard Grade Center download, Gradescope roster, or a CSV with id,name,email).",
)
@click.option(
    "--export",
    "export",
    multiple=True,
    type=click.Choice(["plain", "moodle", "canvas", "blackboard", "gradescope-csv", "all"]),
    help="Gradebook file(s) to write (repeatable; default: plain, i.e. grades.csv).",
)
@click.option(
    "--grade-columns",
    type=click.Choice(["total", "parts", "items"]),
    default=None,
    help="Grade columns of the exports: the total (default), one per part, or the automatic "
    "points per part and each manual item. Never both, so nothing counts twice.",
)
@click.option(
    "--lms-column",
    default=None,
    help="The roster's grade column for this assignment (default: the one named like it).",
)
@click.option(
    "--deadline",
    default=None,
    metavar="ISO-TIME",
    help="Submissions after it are late, e.g. 2026-05-08T23:59 (default: the spec's [late]).",
)
@click.option(
    "--late-policy",
    default=None,
    metavar="POLICY",
    help="none, N%/day (off the automatic points), cap N% or zero (default: none).",
)
@click.option(
    "--duplicates",
    type=click.Choice(["newest", "all"]),
    default=None,
    help="Two ZIPs for one student: grade the newest only (default), or all (only the newest "
    "reaches the gradebook).",
)
@click.option(
    "--forget-settings",
    is_flag=True,
    help="Ignore the settings stored in OUT/run.json by earlier runs.",
)
@click.option(
    "--manual-sheet",
    type=click.Path(path_type=Path),
    default=None,
    help="Write a marking sheet (every student, every manual item) to fill in for --manual.",
)
@click.option("--list-assignments", is_flag=True, help="List the assignments and exit.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the summary as JSON on stdout (every submission's status, score and parts).",
)
@cluster_options
def cli(
    submissions: Path | None,
    assignment: str | None,
    out: Path,
    jobs: int | None,
    sandbox: str,
    gpus: str,
    timeout: str | None,
    memory: str | None,
    only: tuple[str, ...],
    force: bool,
    seed: int,
    accept_misnamed: bool,
    keep_work: bool,
    manual_scores: Path | None,
    reports_only: bool,
    id_column: str | None,
    scale: float | None,
    roster: Path | None,
    export: tuple[str, ...],
    grade_columns: str | None,
    lms_column: str | None,
    deadline: str | None,
    late_policy: str | None,
    duplicates: str | None,
    forget_settings: bool,
    manual_sheet: Path | None,
    list_assignments: bool,
    as_json: bool,
    **cluster: object,
) -> None:
    """Grade every *.zip in SUBMISSIONS for one assignment, in isolation, and write
    OUT/<id>/results.json (Gradescope format), OUT/<id>/report.html, OUT/index.html
    and OUT/grades.csv."""
    console = Console(stderr=False)  # results
    err = Console(stderr=True)  # progress, warnings and errors
    options: dict[str, Any] = {
        "id_column": id_column,
        "scale": scale,
        "roster": roster,
        "exports": export,
        "grade_columns": grade_columns,
        "lms_column": lms_column,
        "deadline": deadline,
        "late_policy": late_policy,
        "duplicates": duplicates,
        "forget_settings": forget_settings,
        "manual_sheet": manual_sheet,
    }
    if list_assignments:
        _list(console)
        sys.exit(ExitCode.OK)
    if reports_only:
        if assignment is None:
            raise click.UsageError("give --assignment with --reports-only")
        _reports_only(console, err, assignment, out, manual_scores, options)
    if submissions is None or assignment is None:
        raise click.UsageError(
            "give the SUBMISSIONS folder and --assignment (or --list-assignments)"
        )
    task = None
    counts = QueueCounts()
    progress: Progress | None = None
    total = 0

    def on_event(event: api.Event) -> None:
        # The bar starts with the first submission: every option has been checked by then,
        # so an error is never printed under a bar that has begun.
        nonlocal task, progress
        if progress is None:
            progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[current]}"),
                EtaColumn(estimate_seconds(spec_found, out), api.check_jobs(jobs)),
                console=err,
                transient=False,
            )
            progress.start()
            task = progress.add_task("grading", total=total, current="")
        if task is None:
            return
        if event.kind == "start":
            progress.update(task, current=escape(printable(event.submission.student_id)))
        elif event.kind in ("done", "skip", "failed"):
            progress.advance(task)
        if cluster["executor"] == "slurm":  # queued / running / done / failed
            progress.update(task, current=counts.see(event.kind, event.submission.student_id))

    def stop() -> None:
        if progress is not None:
            progress.stop()

    try:
        spec_found = api.find_assignment(assignment)
        # Checked before anything else is said or done (the API checks them again).
        api.resolve_limits(spec_found, timeout=timeout, memory=memory)
        api.check_jobs(jobs)
        subs = api.discover(submissions, spec_found, accept_misnamed=accept_misnamed)
        if not subs:
            err.print(f"[yellow]no *.zip files in {escape(str(submissions))}[/]")
            sys.exit(ExitCode.NO_SUBMISSIONS)
        if sandbox == "local":
            err.print(f"[bold red]{LOCAL_WARNING}[/]")
        total = len(only) if only else len(subs)
        try:
            with warnings.catch_warnings():  # the warning is printed above and below
                warnings.simplefilter("ignore", UnsafeSandboxWarning)
                batch = api.grade(
                    submissions=submissions,
                    assignment=assignment,
                    out=out,
                    jobs=jobs,
                    sandbox=sandbox,
                    gpus=gpus,
                    **api_arguments(cluster, err, stop),
                    timeout=timeout,
                    memory=memory,
                    only=only,
                    force=force,
                    seed=seed,
                    accept_misnamed=accept_misnamed,
                    keep_work=keep_work,
                    manual_scores=manual_scores,
                    on_event=on_event,
                    **options,
                )
        finally:
            stop()
    except (UsageError, SpecError) as exc:
        err.print(f"[red]error:[/] {escape(printable(str(exc)))}", soft_wrap=True)
        sys.exit(ExitCode.USAGE_ERROR)
    except HarnessError as exc:
        err.print(f"[red]harness error:[/] {escape(printable(str(exc)))}", soft_wrap=True)
        sys.exit(ExitCode.HARNESS_ERROR)
    code = _exit_code(batch)
    if as_json:
        click.echo(_json_summary(batch, code))
    else:
        _summary(console, batch)
    _class_list(err, batch)
    if "local" in batch.sandbox:
        err.print(f"[bold red]{LOCAL_WARNING}[/]")
    if not as_json:
        console.print(f"sandbox: {batch.sandbox}")
    if sandbox == "auto" and not batch.sandbox.startswith("docker"):
        err.print(f"[dim]auto did not pick Docker: {docker_unavailable_reason()}[/]")
    (err if as_json else console).print(
        f"graded {len(batch.graded_now)}, unchanged and skipped {len(batch.skipped)}; "
        f"results in [bold]{out.resolve()}[/] (index.html, {_files(batch)}, <id>/report.html, "
        "<id>/results.json)"
    )
    _cluster_report(err, batch)
    if batch.report_error:
        err.print(f"[red]harness error:[/] {escape(printable(batch.report_error))}", soft_wrap=True)
    elif batch.interrupted:
        err.print("[yellow]interrupted: run the same command again to finish the rest[/]")
    elif batch.harness_errors:
        ids = escape(printable(", ".join(r.student_id for r in batch.harness_errors)))
        err.print(f"[red]harness or grader errors on: {ids} (see their grader.log)[/]")
    sys.exit(code)


def _exit_code(batch: api.BatchResult) -> ExitCode:
    if batch.report_error:
        return ExitCode.HARNESS_ERROR
    if batch.interrupted:
        return ExitCode.INTERRUPTED
    if batch.harness_errors or batch.unfinished:
        return ExitCode.HARNESS_ERROR
    return ExitCode.OK


def _files(batch: api.BatchResult) -> str:
    exported = batch.settings.exports if batch.settings else ("plain",)
    return ", ".join([api.exports.FILES[e] for e in exported] + ["summary.csv"])


def _class_list(console: Console, batch: api.BatchResult) -> None:
    """The settings reused, and every list a person must see: missing students,
    unmatched and superseded files, late submissions, notes on the exports."""
    if batch.reused:
        console.print(
            f"[cyan]settings of the earlier run (OUT/run.json): {'; '.join(batch.reused)}[/] "
            "(give an option to change it, --forget-settings to drop them all)",
            soft_wrap=True,
        )
    found = batch.class_list
    if found is not None:
        systems = sorted({e.lms for e in found.entries if e.lms})
        for system in systems:
            count = sum(1 for e in found.entries if e.lms == system)
            console.print(
                f"[cyan]{count} file name(s) written by {system.capitalize()}'s bulk download: "
                "the student's own file name inside each was read by the naming rule[/]",
                soft_wrap=True,
            )
        for e in found.unmatched:
            closest = f"; closest: {'; '.join(e.candidates)}" if e.candidates else ""
            console.print(
                f"[yellow]unmatched:[/] {e.file} matches no roster entry (graded as "
                f"{e.student_id}, not exported){closest}",
                soft_wrap=True,
            )
        for e in found.superseded:
            console.print(
                f"[yellow]duplicate:[/] {e.file} ({e.submitted}) superseded by the newer "
                f"{e.superseded_by}",
                soft_wrap=True,
            )
        if found.missing:
            shown = ", ".join(f"{k} ({n})" for k, n in found.missing[:20])
            more = f" and {len(found.missing) - 20} more" if len(found.missing) > 20 else ""
            console.print(
                f"[yellow]missing:[/] {len(found.missing)} student(s) of the roster sent "
                f"nothing: {shown}{more}",
                soft_wrap=True,
            )
    if batch.settings is not None and batch.settings.deadline:
        table = api.exports.grade_table(batch.spec, batch.results, batch.settings, classlist=found)
        late = [r for r in table.rows if r.late > 0]
        if late:
            console.print(
                f"[yellow]late:[/] {len(late)} submission(s) after {batch.settings.deadline} "
                f"(policy {table.policy}): {', '.join(r.student_id for r in late[:20])}",
                soft_wrap=True,
            )
    for note in batch.notes:
        console.print(f"[yellow]note:[/] {note}", soft_wrap=True)


def _cluster_report(console: Console, batch: api.BatchResult) -> None:
    """Where the submissions were graded, and those a Slurm run left without a result."""
    if batch.executor != "local":
        console.print(f"executor: {batch.executor}")
    for student_id, why in batch.unfinished:
        console.print(
            f"[red]not graded this run: {escape(printable(student_id))}: {escape(why)}[/]",
            soft_wrap=True,
        )


def _reports_only(
    console: Console,
    err: Console,
    assignment: str,
    out: Path,
    manual_scores: Path | None,
    options: dict[str, Any],
) -> None:
    try:
        batch = api.grade(
            submissions=None,
            assignment=assignment,
            out=out,
            reports_only=True,
            manual_scores=manual_scores,
            **options,
        )
    except (UsageError, SpecError) as exc:
        err.print(f"[red]error:[/] {escape(printable(str(exc)))}", soft_wrap=True)
        sys.exit(ExitCode.USAGE_ERROR)
    if batch.report_error or batch.report is None:
        err.print(f"[red]harness error:[/] {escape(printable(batch.report_error))}", soft_wrap=True)
        sys.exit(ExitCode.HARNESS_ERROR)
    _class_list(err, batch)
    console.print(
        f"rebuilt {batch.report.reports} reports, {_files(batch)} from the stored "
        f"results in {batch.report.seconds:.1f} s: [bold]{batch.report.index.resolve()}[/]"
    )
    sys.exit(ExitCode.OK)


# -- grade.py validate -a NAME ------------------------------------------------------------


class ValidateExitCode(IntEnum):
    """Exit codes of ``grade.py validate``."""

    OK = 0  #: the grader agrees with its reference, template, examples and spec
    PROBLEMS = 1  #: at least one problem, each listed
    USAGE_ERROR = 2  #: bad options, unknown assignment
    INTERRUPTED = 130  #: stopped by Ctrl-C; what was graded is kept for the next run


VALIDATE_EPILOG = """\b
Exit codes:
  0    no problem: the grader can be trusted with a class
  1    at least one problem (each is listed, expected against got)
  2    usage error (bad option, unknown assignment)
  130  interrupted; graded results are kept and the next run reuses them
"""


def _points(scored: tuple[float, float] | None) -> str:
    return "-" if scored is None else f"{scored[0]:g}/{scored[1]:g}"


def _validation_tables(console: Console, report: validate.ValidationReport) -> None:
    spec = report.spec
    graded = Table(title=f"{spec.title}: what was graded", title_justify="left")
    graded.add_column("submission")
    graded.add_column("status")
    graded.add_column("score", justify="right")
    graded.add_column("must get", justify="right")
    graded.add_column("time", justify="right")
    for role, result, want in (
        ("reference", report.reference, f"{spec.auto_max_score:g}"),
        ("blank template", report.template, "0"),
    ):
        if result is None:
            graded.add_row(role, "[red]not found[/]", "-", want, "")
            continue
        score = f"{result.score:g}/{result.max_score:g}"
        graded.add_row(role, str(result.status), score, want, f"{result.execution_time:.1f}s")
    graded.add_row(
        f"{len(report.examples)} example{'' if len(report.examples) == 1 else 's'}",
        f"{len(report.as_expected)} as expected",
        "",
        "expected.toml",
        f"{sum(r.execution_time for r in report.examples):.1f}s",
    )
    console.print(graded)

    checks = Table(title="Checks", title_justify="left")
    checks.add_column("check", overflow="fold")
    for col in ("points", "reference", "template", "examples failing it"):
        checks.add_column(col, justify="right")
    for row in report.check_rows():
        checks.add_row(
            escape(row.check.key),
            f"{row.check.points:g}",
            _points(row.reference),
            _points(row.template),
            f"{row.failing} of {row.graded}",
        )
    console.print(checks)


def _problems_table(console: Console, report: validate.ValidationReport) -> None:
    table = Table(title=f"{len(report.problems)} problems", title_justify="left")
    table.add_column("problem", style="red", no_wrap=True)
    table.add_column("what", overflow="fold")
    table.add_column("expected", overflow="fold")
    table.add_column("got", overflow="fold")
    for p in report.problems:
        got = escape(p.got) + (f"\n[dim]{escape(p.detail)}[/]" if p.detail else "")
        table.add_row(str(p.kind), escape(p.subject), escape(p.expected), got)
    console.print(table)


@click.command(
    "validate", epilog=VALIDATE_EPILOG, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, "--version", prog_name="rnn-grade validate")
@click.option(
    "--assignment", "-a", required=True, help="Assignment name (see --list-assignments) or folder."
)
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder for the examples' results (default: results/NAME, where `make examples` "
    "grades, so its results are reused); the reference's and template's go to OUT/.validate.",
)
@click.option(
    "--examples",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder of example ZIPs and their expected.toml (default: submissions/NAME of the "
    "assignment's tree, else of this project).",
)
@click.option("--jobs", "-j", type=int, default=None, help="Submissions graded in parallel.")
@click.option(
    "--sandbox",
    type=click.Choice(BACKENDS),
    default="auto",
    show_default=True,
    help="Isolation backend, as for grading.",
)
@click.option("--gpus", default="", metavar="all|N|device=0,1", help="As for grading.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed, as for grading.")
@click.option("--force", is_flag=True, help="Regrade everything, even unchanged results.")
def validate_cli(
    assignment: str,
    out: Path | None,
    examples: Path | None,
    jobs: int | None,
    sandbox: str,
    gpus: str,
    seed: int,
    force: bool,
) -> None:
    """Check an assignment's grader before grading a class with it: grade the reference
    (full marks on every automatic check), the blank template (zero on every one) and the
    example submissions (the verdicts in their expected.toml), and list every disagreement,
    every check that cannot fail or cannot pass, and every spec key without a test or test
    without a spec key, with the seconds it took."""
    console = Console(stderr=False)  # the findings
    err = Console(stderr=True)  # progress, warnings and errors
    if sandbox == "local":
        err.print(f"[bold red]{LOCAL_WARNING}[/]")
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[current]}"),
        console=err,
        transient=True,
    )
    task = progress.add_task("validating", total=None, current="")

    def on_event(event: api.Event) -> None:
        if event.kind == "start":
            progress.update(task, current=event.submission.student_id)
        elif event.kind in ("done", "skip"):
            progress.advance(task)

    try:
        spec = api.find_assignment(assignment)
        api.check_jobs(jobs)
        folder = examples if examples is not None else validate.examples_folder(spec)
        count = len(list(folder.glob("*.zip"))) if folder.is_dir() else 0
        progress.update(task, total=2 + count)
        with progress, warnings.catch_warnings():
            warnings.simplefilter("ignore", UnsafeSandboxWarning)  # printed above
            report = validate.validate(
                assignment=assignment,
                out=out if out is not None else Path("results") / spec.name,
                examples=examples,
                sandbox=sandbox,
                jobs=jobs,
                seed=seed,
                gpus=gpus,
                force=force,
                on_event=on_event,
            )
    except (UsageError, SpecError) as exc:
        err.print(f"[red]error:[/] {escape(printable(str(exc)))}", soft_wrap=True)
        sys.exit(ValidateExitCode.USAGE_ERROR)
    except HarnessError as exc:
        err.print(f"[red]harness error:[/] {escape(printable(str(exc)))}", soft_wrap=True)
        sys.exit(ValidateExitCode.PROBLEMS)
    _validation_tables(console, report)
    if report.problems:
        _problems_table(console, report)
    phases = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in report.timings.items())
    reused = 2 + len(report.examples) - report.graded_now
    console.print(
        f"validated {spec.name} in {report.seconds:.1f} s ({phases}); graded "
        f"{report.graded_now}, reused {reused} stored results; sandbox: "
        f"{report.sandbox.split(':', 1)[0]}"
    )
    console.print(
        f"results in [bold]{report.out}[/] (the reference's and the template's in "
        f"{validate.TRUSTED_DIR}/)"
    )
    if report.interrupted:
        err.print("[yellow]interrupted: run the same command again to finish[/]")
        sys.exit(ValidateExitCode.INTERRUPTED)
    if report.problems:
        console.print(
            f"[bold red]{len(report.problems)} problem(s)[/]: the grader is not ready for a class"
        )
        sys.exit(ValidateExitCode.PROBLEMS)
    console.print(
        "[bold green]no problems[/]: the reference gets full marks, the blank template zero, "
        "every example its expected verdict, and every check and test has its pair"
    )
    sys.exit(ValidateExitCode.OK)


# -- grade.py audit -a NAME ---------------------------------------------------------------


class AuditExitCode(IntEnum):
    """Exit codes of ``grade.py audit``."""

    OK = 0  #: every non-equivalent mutant was killed
    SURVIVORS = 1  #: at least one mutant survived every check (or met a harness fault)
    USAGE_ERROR = 2  #: bad options, unknown assignment
    INTERRUPTED = 130  #: stopped by Ctrl-C; what was graded is kept for the next run


AUDIT_EPILOG = """\b
Exit codes:
  0    every non-equivalent mutant was killed by some check
  1    at least one mutant survived (listed, with its diff, in OUT/audit.html)
  2    usage error (bad option, unknown assignment)
  130  interrupted; graded mutants are kept and the next run reuses them
"""


@click.command(
    "audit", epilog=AUDIT_EPILOG, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.option(
    "--assignment", "-a", required=True, help="Assignment name (see --list-assignments) or folder."
)
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder for audit.html, audit-matrix.csv and audit.json (default: results/NAME, "
    "beside the class reports); the mutants are graded into OUT/.audit.",
)
@click.option(
    "--sample",
    type=int,
    default=None,
    help="Grade only this many mutants: one of each operator, then a seeded draw (for CI).",
)
@click.option(
    "--operator",
    "operators",
    multiple=True,
    type=click.Choice(sorted(audit_ops.OPERATORS)),
    help="Only this operator (repeatable).",
)
@click.option(
    "--equivalent",
    type=click.Path(path_type=Path),
    default=None,
    help="TOML file of the mutants a person judged equivalent (default: "
    "benchmarks/results/audit-NAME.equivalent.toml).",
)
@click.option(
    "--scope",
    type=click.Choice(["student", "all"]),
    default="student",
    show_default=True,
    help="Mutate only the code the student writes (where the reference differs from the "
    "template), or every line of the hand-in files, the hand-out's given code included.",
)
@click.option(
    "--omit",
    multiple=True,
    metavar="FILE",
    help="Leave this file of the reference out of the baseline and every mutant (repeatable): "
    "the checks that need it leave the matrix, e.g. a slow part that no mutant touches.",
)
@click.option(
    "--mutant",
    "only",
    multiple=True,
    metavar="ID",
    help="Grade only this mutant (repeatable; ids as --list shows them), e.g. the survivors "
    "after a fix to the grader.",
)
@click.option("--list", "list_only", is_flag=True, help="List the mutants and grade nothing.")
@click.option(
    "--stored",
    is_flag=True,
    help="Grade nothing: read the mutants' results stored by the last run (after editing "
    "the equivalent list).",
)
@click.option("--jobs", "-j", type=int, default=None, help="Mutants graded in parallel.")
@click.option(
    "--sandbox",
    type=click.Choice(BACKENDS),
    default="auto",
    show_default=True,
    help="Isolation backend, as for grading.",
)
@click.option("--gpus", default="", metavar="all|N|device=0,1", help="As for grading.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed, as for grading.")
@click.option("--force", is_flag=True, help="Regrade every mutant, even unchanged ones.")
def audit_cli(
    assignment: str,
    out: Path | None,
    sample: int | None,
    operators: tuple[str, ...],
    equivalent: Path | None,
    scope: str,
    omit: tuple[str, ...],
    only: tuple[str, ...],
    list_only: bool,
    stored: bool,
    jobs: int | None,
    sandbox: str,
    gpus: str,
    seed: int,
    force: bool,
) -> None:
    """Measure the grader: put one student-like fault at a time into the reference (tanh
    for sigmoid, two gates exchanged, a bias left out, ...), grade each mutant with the
    normal pipeline, and write which checks kill which mutant, the mutation score per part
    and per check kind, and the survivors with their diffs (OUT/audit.html)."""
    console = Console(stderr=False)
    try:
        spec = api.find_assignment(assignment)
    except UsageError as exc:
        console.print(f"[red]error:[/] {escape(printable(str(exc)))}", soft_wrap=True)
        sys.exit(AuditExitCode.USAGE_ERROR)
    equivalent = equivalent if equivalent is not None else audit_runner.equivalent_path(spec)
    if list_only:
        _list_mutants(console, spec, operators, scope)
        sys.exit(AuditExitCode.OK)
    if sandbox == "local":
        console.print(f"[bold red]{LOCAL_WARNING}[/]")
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[current]}"),
        console=console,
        transient=True,
    )
    task = progress.add_task("grading mutants", total=None, current="")

    def on_event(event: api.Event) -> None:
        if event.kind == "start":
            progress.update(task, current=escape(event.submission.student_id))
        elif event.kind in ("done", "skip", "failed"):
            progress.advance(task)

    try:
        with progress, warnings.catch_warnings():
            warnings.simplefilter("ignore", UnsafeSandboxWarning)  # printed above
            report = audit_runner.audit(
                assignment=assignment,
                out=out if out is not None else Path("results") / spec.name,
                sandbox=sandbox,
                jobs=jobs,
                seed=seed,
                gpus=gpus,
                force=force,
                sample=sample,
                operators=operators,
                equivalent=equivalent,
                scope=scope,
                stored=stored,
                omit=omit,
                only=only,
                on_event=on_event,
                on_mutants=lambda n: progress.update(task, total=n),
            )
    except UsageError as exc:
        console.print(f"[red]error:[/] {escape(printable(str(exc)))}", soft_wrap=True)
        sys.exit(AuditExitCode.USAGE_ERROR)
    except HarnessError as exc:
        console.print(f"[red]harness error:[/] {escape(printable(str(exc)))}", soft_wrap=True)
        sys.exit(AuditExitCode.SURVIVORS)
    written = audit_page.write(report)
    _audit_tables(console, report)
    console.print(
        f"mutation score [bold]{100 * report.score:.0f}%[/] ({len(report.counted)} counted, "
        f"{len(report.rows)} graded of {report.generated} generated) in "
        f"{report.timings.get('total', 0):.0f} s; sandbox: {report.sandbox.split(':', 1)[0]}"
    )
    console.print(
        f"page: [bold]{written['page']}[/] (and {written['matrix'].name}, {written['json'].name})"
    )
    if report.interrupted:
        console.print("[yellow]interrupted: run the same command again to finish[/]")
        sys.exit(AuditExitCode.INTERRUPTED)
    errors = [r for r in report.rows if r.outcome is audit_runner.Outcome.ERROR]
    if report.survivors or errors:
        sys.exit(AuditExitCode.SURVIVORS)
    sys.exit(AuditExitCode.OK)


def _list_mutants(console: Console, spec: Any, operators: tuple[str, ...], scope: str) -> None:
    from harness.checks.reference import reference_root

    root = reference_root(spec)
    files = {n: (root / n).read_text() for n in spec.required if (root / n).is_file()}
    chosen = {k: v for k, v in audit_ops.OPERATORS.items() if not operators or k in operators}
    table = Table(title=f"{spec.title}: mutants of the reference", title_justify="left")
    table.add_column("mutant", overflow="fold")
    table.add_column("fault", overflow="fold")
    lines = audit_runner.scope_lines(spec, files) if scope == "student" else None
    for m in audit_ops.mutants(files, chosen, lines):
        table.add_row(escape(m.id), escape(m.fault))
    console.print(table)


def _audit_tables(console: Console, report: audit_runner.AuditReport) -> None:
    table = Table(title="Mutation score", title_justify="left")
    for col in ("part / check kind", "killed", "of", "score"):
        table.add_column(col, justify="left" if col.startswith("part") else "right")
    for name, (killed, total) in report.by(lambda r: r.part).items():
        table.add_row(f"part {escape(name)}", str(killed), str(total), f"{killed / total:.0%}")
    for name, (killed, total) in report.by_kind().items():
        share = f"{killed / total:.0%}" if total else "-"
        table.add_row(f"kind {escape(name)}", str(killed), str(total), share)
    console.print(table)
    if report.survivors:
        surv = Table(title=f"{len(report.survivors)} survivors", title_justify="left")
        surv.add_column("mutant", style="red")
        surv.add_column("fault", overflow="fold")
        for r in report.survivors:
            surv.add_row(escape(r.mutant.id), escape(r.mutant.fault))
        console.print(surv)


# -- grade.py similarity SUBMISSIONS -a NAME -----------------------------------------------


@click.command("similarity", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("submissions", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option(
    "--assignment", "-a", required=True, help="Assignment name (see --list-assignments) or folder."
)
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    default=Path("results"),
    show_default=True,
    help="Folder for similarity.html, similarity/<a>--<b>.html and similarity.csv (the class "
    "reports' folder puts them beside index.html).",
)
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1),
    default=harness_similarity.THRESHOLD,
    show_default=True,
    help="Pairs at or above this score are listed, each with a side-by-side page.",
)
@click.option(
    "--accept-misnamed", is_flag=True, help="Read ZIPs whose names break the naming rule."
)
def similarity_cli(
    submissions: Path, assignment: str, out: Path, threshold: float, accept_misnamed: bool
) -> None:
    """List the pairs of a class whose code looks alike (copydetect: winnowed fingerprints,
    the template's code left out). Nothing runs and nothing leaves this machine; no grade
    changes: similarity is a reason to look, not a verdict."""
    console = Console(stderr=False)
    try:
        report = harness_similarity.similarity(
            submissions=submissions,
            assignment=assignment,
            threshold=threshold,
            accept_misnamed=accept_misnamed,
        )
    except UsageError as exc:
        console.print(f"[red]error:[/] {escape(printable(str(exc)))}", soft_wrap=True)
        sys.exit(ExitCode.USAGE_ERROR)
    written = harness_similarity.write(report, out)
    table = Table(title=f"Pairs at or above {threshold:.0%}", title_justify="left")
    for col in ("student", "student", "score"):
        table.add_column(col, justify="right" if col == "score" else "left")
    for p in report.flagged[:20]:
        table.add_row(Text(printable(p.a)), Text(printable(p.b)), f"{p.score:.0%}")
    console.print(table)
    console.print(
        f"{len(report.codes)} submissions, {len(report.pairs)} pairs in {report.seconds:.1f} s; "
        f"{len(report.flagged)} at or above {threshold:.0%}: [bold]{written['page']}[/] "
        f"(every pair in {written['csv'].name}). A reason to look, not a verdict."
    )
    sys.exit(ExitCode.OK)


def main() -> None:
    # `grade.py validate ...` is a command of its own; anything else grades a folder (a
    # folder named "validate" is graded as ./validate).
    if sys.argv[1:2] == ["validate"]:
        validate_cli.main(args=sys.argv[2:], prog_name=f"{Path(sys.argv[0]).name} validate")
    elif sys.argv[1:2] == ["audit"]:
        audit_cli.main(args=sys.argv[2:], prog_name=f"{Path(sys.argv[0]).name} audit")
    elif sys.argv[1:2] == ["similarity"]:
        similarity_cli.main(args=sys.argv[2:], prog_name=f"{Path(sys.argv[0]).name} similarity")
    else:
        cli()


if __name__ == "__main__":
    main()

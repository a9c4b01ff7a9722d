"""The keyword-only Python API behind ``harness/grade.py``.

``grade(submissions=..., assignment=..., out=...)`` grades every ``*.zip`` in a
folder and returns a ``BatchResult``; everything the command line does is
reachable from here and tested without a subprocess.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import (
    __version__,
    classlist,
    collection,
    exports,
    gradebook,
    lateness,
    manual,
    report,
    runconfig,
)
from .assignments import find_assignment
from .checks.plugin import shared_code
from .checks.reference import reference_root
from .errors import UnsafeSandboxWarning, UsageError
from .executors import AskCancel, SlurmOptions, Task, Work, make_executor
from .pipeline import Options
from .results import Status, SubmissionResult
from .roster import Roster, read_roster
from .sandbox import make_sandbox
from .sandbox.local import WARNING as LOCAL_WARNING
from .spec import LIMIT_OPTIONS, LIMIT_RANGES, AssignmentSpec, Limits
from .store import (
    combine,
    file_digest,
    read_json,
    tree_digest,
    write_json_strict,
    write_text_atomic,
)
from .units import parse_duration, parse_size

RESULTS_FILE = "results.json"
HARNESS_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Submission:
    """A ZIP found in the submissions folder and the id its name gives."""

    path: Path
    student_id: str
    naming_error: str = ""


@dataclass(frozen=True)
class Event:
    """Progress reported to the caller: ``kind`` is "start", "skip" or "done"; with
    ``--executor slurm`` also "queued" (waits in Slurm's queue) and "failed" (no result this
    run; ``message`` says why)."""

    kind: str
    submission: Submission
    result: SubmissionResult | None = None
    message: str = ""


@dataclass(frozen=True)
class BatchResult:
    spec: AssignmentSpec
    out: Path
    results: tuple[SubmissionResult, ...]  #: every submission's result, in id order
    graded_now: tuple[str, ...]  #: ids graded in this run
    skipped: tuple[str, ...]  #: ids whose stored result was still valid
    sandbox: str
    interrupted: bool = False
    report: report.BuildSummary | None = None  #: the HTML reports written at the end
    report_error: str = ""  #: why the reports could not be written (a harness fault)
    settings: runconfig.RunSettings | None = None  #: the run settings in force
    reused: tuple[str, ...] = ()  #: settings taken from OUT/run.json, as options
    class_list: classlist.ClassList | None = None  #: every ZIP, and who sent none
    #: what a person must know: about the gradebook files, and from the executor
    notes: tuple[str, ...] = ()
    executor: str = "local"  #: where the submissions were graded
    #: (id, why) of submissions left without a result by this run (the next run grades them)
    unfinished: tuple[tuple[str, str], ...] = ()

    @property
    def harness_errors(self) -> tuple[SubmissionResult, ...]:
        return tuple(r for r in self.results if r.status is Status.HARNESS_ERROR)


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)))


#: Most submissions graded at once on one machine.
MAX_JOBS = 1024


def check_jobs(jobs: int | None) -> int:
    """``--jobs``: None is every core; 0 or less is a mistake, not "all cores"."""
    if jobs is None:
        return default_jobs()
    if isinstance(jobs, bool) or not isinstance(jobs, int) or not 1 <= jobs <= MAX_JOBS:
        raise UsageError(
            f"--jobs {jobs!r}: give the number of submissions graded at once, 1 to {MAX_JOBS} "
            f"(leave it out for one per CPU core: {default_jobs()} here)"
        )
    return jobs


def resolve_limits(
    spec: AssignmentSpec, *, timeout: float | str | None = None, memory: str | int | None = None
) -> Limits:
    """The spec's limits with ``--timeout`` and ``--memory`` applied; ``UsageError`` naming
    the option, the value and the allowed range for a value that makes no sense."""
    limits = spec.limits
    given: dict[str, tuple[str, Any]] = {}
    if timeout is not None:
        try:
            given["timeout"] = (str(timeout), parse_duration(timeout))
        except ValueError as exc:
            allowed = LIMIT_RANGES["timeout"].describe()
            raise UsageError(f"--timeout {timeout}: {exc} (allowed: {allowed})") from None
    if memory is not None:
        try:
            given["memory"] = (str(memory), parse_size(memory))
        except ValueError as exc:
            raise UsageError(f"--memory {memory}: {exc}") from None
    limits = replace(limits, **{name: value for name, (_, value) in given.items()})
    for name, why in limits.problems():
        text, _ = given.get(name, ("", None))
        option = LIMIT_OPTIONS.get(name, name)
        hint = ""
        if name == "memory" and text.strip().isdigit() and int(text) > 0:
            number = text.strip()
            hint = f"; a number without a unit is bytes: did you mean {number}M or {number}G?"
        allowed = LIMIT_RANGES[name].describe()
        source = f"{option} {text}" if text else f"the spec's [limits] {name}"
        raise UsageError(f"{source}: {why}{hint} (allowed: {allowed})")
    return limits


def discover(
    folder: Path,
    spec: AssignmentSpec,
    *,
    accept_misnamed: bool = False,
    roster: Roster | None = None,
    duplicates: str = "newest",
) -> list[Submission]:
    """The ZIPs in ``folder`` to grade, with their student ids, in name order: one per
    student, the newest (see ``harness.classlist``)."""
    found = classlist.survey(
        folder, spec, accept_misnamed=accept_misnamed, roster=roster, duplicates=duplicates
    )
    return submissions_of(folder, found)


def submissions_of(folder: Path, found: classlist.ClassList) -> list[Submission]:
    return [
        Submission(path=folder / e.file, student_id=e.student_id, naming_error=e.naming_error)
        for e in found.to_grade()
    ]


def settings_for(
    spec: AssignmentSpec, out: Path, given: Mapping[str, object], *, forget: bool = False
) -> tuple[runconfig.RunSettings, list[str], Roster | None]:
    """The run settings (given, else stored in ``out``, else the spec's deadline and late
    policy, else the defaults), the stored ones reused, and the roster they name."""
    settings, reused = runconfig.resolve(out, given, forget=forget)
    deadline, policy = lateness.from_spec(spec)
    if settings.deadline is None and deadline:
        settings = replace(settings, deadline=deadline)
    if settings.late_policy is None and policy:
        settings = replace(settings, late_policy=policy)
    lateness.parse_deadline(settings.deadline)  # a UsageError now, not after grading
    lateness.parse_policy(settings.late_policy)
    roster = read_roster(Path(settings.roster)) if settings.roster else None
    exports.check(settings, roster, spec)
    return settings, reused, roster


def grader_digest(spec: AssignmentSpec) -> str:
    """Hash of everything that decides a verdict besides the ZIP itself."""
    return combine(
        __version__,
        tree_digest([spec.root]),
        tree_digest([reference_root(spec)]),
        # Code the graders share decides verdicts too: a change to it regrades.
        tree_digest([shared_code(spec.root)], suffixes=(".py",)),
        # The report's code draws pages from stored results: a change to it must not regrade.
        tree_digest([HARNESS_DIR], suffixes=(".py",), exclude=("report",)),
    )


def grade(
    *,
    submissions: Path | None,
    assignment: str,
    out: Path,
    jobs: int | None = None,
    sandbox: str = "auto",
    gpus: str = "",
    timeout: float | str | None = None,
    memory: str | int | None = None,
    only: Sequence[str] = (),
    force: bool = False,
    seed: int = 0,
    accept_misnamed: bool = False,
    keep_work: bool = False,
    manual_scores: Path | None = None,
    reports_only: bool = False,
    id_column: str | None = None,
    scale: float | None = None,
    roster: Path | str | None = None,
    deadline: str | None = None,
    late_policy: str | None = None,
    exports: Sequence[str] = (),
    grade_columns: str | None = None,
    lms_column: str | None = None,
    duplicates: str | None = None,
    forget_settings: bool = False,
    manual_sheet: Path | None = None,
    on_event: Callable[[Event], None] | None = None,
    executor: str = "local",
    slurm: SlurmOptions | None = None,
    on_interrupt: AskCancel | None = None,
    check_tests: bool = True,
) -> BatchResult:
    """Grade every submission in ``submissions`` and write results under ``out``.

    At the end the gradebook files, ``summary.csv`` and the HTML reports are written for
    every stored result.  ``reports_only`` grades nothing: it rewrites those files
    from the results already in ``out`` (``submissions`` may then be None).  The options
    that shape those files (``id_column`` to ``duplicates``) are stored in
    ``OUT/run.json``; those left None here are taken from it (``harness.runconfig``).
    ``executor`` "slurm" grades as Slurm jobs (``slurm`` holds their options); on Ctrl-C
    ``on_interrupt(n)`` decides whether the n jobs still queued or running are cancelled.

    Everything an instructor can get wrong is refused before the first submission is
    graded: limits outside ``spec.LIMIT_RANGES`` and ``jobs`` below 1 (``UsageError``), and,
    unless ``check_tests`` is False, ``[checks]`` keys that name no test of the grader
    (``SpecError``, from ``collection.checked_tests``).
    """
    spec = find_assignment(assignment)
    out = Path(out).resolve()  # sandboxes mount folders below it; some engines need absolute
    given = {
        "id_column": id_column,
        "scale": scale,
        "roster": str(roster) if roster else None,
        "deadline": deadline,
        "late_policy": late_policy,
        "exports": tuple(exports),
        "grade_columns": grade_columns,
        "lms_column": lms_column,
        "duplicates": duplicates,
    }
    if reports_only:
        if manual_scores:
            raise UsageError(
                "--manual merges marks while grading (unchanged submissions are not "
                "regraded); leave out --reports-only"
            )
        return rebuild(
            spec=spec,
            out=out,
            given=given,
            forget_settings=forget_settings,
            manual_sheet=manual_sheet,
        )
    settings, reused, class_roster = settings_for(spec, out, given, forget=forget_settings)
    if submissions is None:
        raise UsageError("give the folder of submissions to grade")
    limits = resolve_limits(spec, timeout=timeout, memory=memory)
    jobs = check_jobs(jobs)
    # Fails now, not once per submission.  On a cluster the student's code runs on the
    # nodes: their GPUs are checked there, by each job.
    backend = make_sandbox(sandbox, gpus="" if executor == "slurm" else gpus)
    if gpus and backend.name != "docker":
        raise UsageError(f"--gpus needs the docker sandbox (got {backend.name})")
    runner = make_executor(
        executor, jobs=jobs, limits=limits, gpus=gpus, slurm=slurm, on_interrupt=on_interrupt
    )
    if backend.name == "local":
        warnings.warn(LOCAL_WARNING, UnsafeSandboxWarning, stacklevel=2)
    marks = manual.read_scores(manual_scores, spec) if manual_scores else {}
    surveyed = classlist.survey(
        submissions,
        spec,
        accept_misnamed=accept_misnamed,
        roster=class_roster,
        duplicates=settings.duplicates,
    )
    found = submissions_of(submissions, surveyed)
    unknown_marks = {sid for sid, items in marks.items() if items} - {s.student_id for s in found}
    if unknown_marks:
        raise UsageError(f"--manual: no submission with id {', '.join(sorted(unknown_marks))}")
    if only:
        wanted = set(only)
        unknown = wanted - {s.student_id for s in found}
        if unknown:
            raise UsageError(f"--only: no submission with id {', '.join(sorted(unknown))}")
        found = [s for s in found if s.student_id in wanted]

    if check_tests:
        collection.checked_tests(spec, out, grader_digest(spec))
    out.mkdir(parents=True, exist_ok=True)
    options = Options(
        sandbox=backend.name, limits=limits, seed=seed, keep_work=keep_work, gpus=gpus
    )
    work = Work(spec=spec, out=out, options=options, marks=marks)
    digest = combine(
        grader_digest(spec), repr(limits), str(seed), backend.name + (f":{gpus}" if gpus else "")
    )
    emit = on_event or (lambda event: None)

    todo: list[tuple[Submission, str]] = []
    skipped: list[str] = []
    for sub in found:
        input_hash = combine(file_digest(sub.path), digest, str(accept_misnamed))
        stored = read_json(out / sub.student_id / RESULTS_FILE)
        if (
            not force
            and stored is not None
            and stored.get("extra_data", {}).get("harness", {}).get("input_hash") == input_hash
            and stored["extra_data"]["harness"].get("status") != str(Status.HARNESS_ERROR)
        ):
            skipped.append(sub.student_id)
            if sub.student_id in marks:
                merged = manual.entries(
                    spec, stored["extra_data"]["harness"].get("manual", ()), marks[sub.student_id]
                )
                stored["extra_data"]["harness"]["manual"] = list(merged)
                write_json_strict(out / sub.student_id / RESULTS_FILE, stored)
            emit(Event("skip", sub))
            continue
        todo.append((sub, input_hash))

    by_id = {sub.student_id: sub for sub, _ in todo}
    ran = runner.run(
        work,
        [
            Task(sub.student_id, str(sub.path), input_hash, sub.naming_error)
            for sub, input_hash in todo
        ],
        lambda kind, sid, result, message: emit(Event(kind, by_id[sid], result, message)),
    )

    results = collect(out, spec, [s.student_id for s in submissions_of(submissions, surveyed)])
    surveyed.write(out)
    runconfig.save(out, settings)
    written = gradebook.write(
        out, spec, results, settings=settings, classlist=surveyed, roster=class_roster
    )
    if manual_sheet is not None:
        write_sheet(manual_sheet, spec, results, surveyed)
    built, error = _write_reports(out, spec, results, jobs, settings, surveyed, class_roster)
    return BatchResult(
        spec=spec,
        out=out,
        results=tuple(results),
        graded_now=ran.graded,
        skipped=tuple(skipped),
        sandbox=backend.describe(),
        interrupted=ran.interrupted,
        report=built,
        report_error=error,
        settings=settings,
        reused=tuple(reused),
        class_list=surveyed,
        notes=tuple(written.notes) + tuple(ran.notes),
        executor=runner.describe(),
        unfinished=ran.unfinished,
    )


def _write_reports(
    out: Path,
    spec: AssignmentSpec,
    results: Sequence[SubmissionResult],
    jobs: int,
    settings: runconfig.RunSettings | None = None,
    found: classlist.ClassList | None = None,
    roster: Roster | None = None,
) -> tuple[report.BuildSummary | None, str]:
    # The results and the gradebook are written already: a fault here loses no grade.
    try:
        context = report.ClassContext(settings=settings, classlist=found, roster=roster)
        return report.build(out, spec, results, jobs=jobs, context=context), ""
    except Exception as exc:  # a bug of ours; the command reports it and exits 1
        return None, f"the HTML reports could not be written: {type(exc).__name__}: {exc}"


def rebuild(
    *,
    spec: AssignmentSpec,
    out: Path,
    given: Mapping[str, object] | None = None,
    forget_settings: bool = False,
    manual_sheet: Path | None = None,
) -> BatchResult:
    """``--reports-only``: the gradebook and the reports again, from every result in ``out``
    (and the class list the last grading run left there)."""
    if not out.is_dir():
        raise UsageError(f"--reports-only: no results folder {str(out)!r}")
    settings, reused, class_roster = settings_for(spec, out, given or {}, forget=forget_settings)
    found = classlist.load(out)
    if found is not None:
        ids = [e.student_id for e in found.to_grade()]
        if class_roster is not None:
            present = {e.student_id for e in found.entries if e.matched}
            missing = tuple(
                (s.key, s.display) for s in class_roster.students if s.key not in present
            )
            found = replace(found, missing=missing)
    else:
        ids = [d.name for d in out.iterdir() if (d / RESULTS_FILE).is_file()]
    results = collect(out, spec, ids)
    if not results:
        raise UsageError(f"--reports-only: no results of {spec.name} in {str(out)!r}")
    runconfig.save(out, settings)
    written = gradebook.write(
        out, spec, results, settings=settings, classlist=found, roster=class_roster
    )
    if manual_sheet is not None:
        write_sheet(manual_sheet, spec, results, found)
    built, error = _write_reports(out, spec, results, default_jobs(), settings, found, class_roster)
    return BatchResult(
        spec=spec,
        out=out,
        results=tuple(results),
        graded_now=(),
        skipped=tuple(r.student_id for r in results),
        sandbox="none (reports only)",
        report=built,
        report_error=error,
        settings=settings,
        reused=tuple(reused),
        class_list=found,
        notes=written.notes,
    )


def write_sheet(
    path: Path,
    spec: AssignmentSpec,
    results: Sequence[SubmissionResult],
    found: classlist.ClassList | None,
) -> None:
    """``--manual-sheet``: the marking sheet of every student whose result counts."""
    counting = found.counting() if found is not None else None
    chosen = [r for r in results if counting is None or r.student_id in counting]
    names = {sid: e.name for sid, e in (counting or {}).items()}
    write_text_atomic(Path(path), manual.sheet(spec, chosen, names))


def collect(out: Path, spec: AssignmentSpec, ids: Sequence[str]) -> list[SubmissionResult]:
    """The stored results of ``ids`` (those graded so far), in id order."""
    results = []
    for sid in sorted(ids):
        data = read_json(out / sid / RESULTS_FILE)
        if data is None:
            continue
        try:
            result = SubmissionResult.from_json(data)
        except (KeyError, ValueError):
            continue
        if result.assignment == spec.name:
            results.append(result)
    return results

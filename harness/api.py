"""The keyword-only Python API behind ``harness/grade.py``.

``grade(submissions=..., assignment=..., out=...)`` grades every ``*.zip`` in a
folder and returns a ``BatchResult``; everything the command line does is
reachable from here and tested without a subprocess.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from . import __version__, gradebook, manual, report
from .assignments import find_assignment
from .checks.plugin import shared_code
from .checks.reference import reference_root
from .errors import NamingError, UnsafeSandboxWarning, UsageError
from .executors import AskCancel, SlurmOptions, Task, Work, make_executor
from .pipeline import Options
from .results import Status, SubmissionResult
from .sandbox import make_sandbox
from .sandbox.local import WARNING as LOCAL_WARNING
from .spec import AssignmentSpec
from .store import combine, file_digest, read_json, tree_digest, write_json_atomic
from .units import parse_size

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
    executor: str = "local"  #: where the submissions were graded
    #: (id, why) of submissions left without a result by this run (the next run grades them)
    unfinished: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()  #: what the executor wants the user to know

    @property
    def harness_errors(self) -> tuple[SubmissionResult, ...]:
        return tuple(r for r in self.results if r.status is Status.HARNESS_ERROR)


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)))


def discover(
    folder: Path, spec: AssignmentSpec, *, accept_misnamed: bool = False
) -> list[Submission]:
    """Every ``*.zip`` in ``folder`` with its student id, in name order."""
    if not folder.is_dir():
        raise UsageError(f"submissions folder {str(folder)!r} does not exist")
    named: list[tuple[Path, str, str]] = []
    misnamed: list[tuple[Path, str, str]] = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix.lower() != ".zip":
            continue
        try:
            named.append((path, spec.naming.student_id(path.name), ""))
        except NamingError as exc:
            # Where the hand-out sets no naming rule, no ZIP is refused for its name.
            error = "" if accept_misnamed or not spec.naming.enforced else str(exc)
            misnamed.append((path, spec.naming.fallback_id(path.name), error))
    found: list[Submission] = []
    seen: dict[str, Path] = {}
    # Well-named ZIPs claim their ids first: a misnamed file never takes a real id.
    for path, sid, error in named + misnamed:
        if sid in seen:
            # Two ZIPs for one student: grade both, but never let one overwrite the other.
            n = 2
            while f"{sid}~{n}" in seen:
                n += 1
            sid = f"{sid}~{n}"
        seen[sid] = path
        found.append(Submission(path=path, student_id=sid, naming_error=error))
    return sorted(found, key=lambda s: s.path.name)


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
    timeout: float | None = None,
    memory: str | int | None = None,
    only: Sequence[str] = (),
    force: bool = False,
    seed: int = 0,
    accept_misnamed: bool = False,
    keep_work: bool = False,
    manual_scores: Path | None = None,
    reports_only: bool = False,
    id_column: str = "id",
    scale: float | None = None,
    on_event: Callable[[Event], None] | None = None,
    executor: str = "local",
    slurm: SlurmOptions | None = None,
    on_interrupt: AskCancel | None = None,
) -> BatchResult:
    """Grade every submission in ``submissions`` and write results under ``out``.

    At the end ``grades.csv``, ``summary.csv`` and the HTML reports are written for
    every stored result.  ``reports_only`` grades nothing: it rewrites those files
    from the results already in ``out`` (``submissions`` may then be None).
    ``executor`` "slurm" grades as Slurm jobs (``slurm`` holds their options); on Ctrl-C
    ``on_interrupt(n)`` decides whether the n jobs still queued or running are cancelled.
    """
    spec = find_assignment(assignment)
    out = Path(out).resolve()  # sandboxes mount folders below it; some engines need absolute
    gradebook.check_options(id_column=id_column, scale=scale)
    if reports_only:
        if manual_scores:
            raise UsageError(
                "--manual merges marks while grading (unchanged submissions are not "
                "regraded); leave out --reports-only"
            )
        return rebuild(spec=spec, out=out, id_column=id_column, scale=scale)
    if submissions is None:
        raise UsageError("give the folder of submissions to grade")
    limits = spec.limits
    if timeout is not None:
        if timeout <= 0:
            raise UsageError(f"--timeout must be positive (got {timeout})")
        limits = replace(limits, timeout=float(timeout))
    if memory is not None:
        try:
            limits = replace(limits, memory=parse_size(memory))
        except ValueError as exc:
            raise UsageError(f"--memory: {exc}") from None
    jobs = jobs or default_jobs()
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1 (got {jobs})")
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
    found = discover(submissions, spec, accept_misnamed=accept_misnamed)
    unknown_marks = set(marks) - {s.student_id for s in found}
    if unknown_marks:
        raise UsageError(f"--manual: no submission with id {', '.join(sorted(unknown_marks))}")
    if only:
        wanted = set(only)
        unknown = wanted - {s.student_id for s in found}
        if unknown:
            raise UsageError(f"--only: no submission with id {', '.join(sorted(unknown))}")
        found = [s for s in found if s.student_id in wanted]

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
                write_json_atomic(out / sub.student_id / RESULTS_FILE, stored)
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

    results = collect(
        out,
        spec,
        [s.student_id for s in discover(submissions, spec, accept_misnamed=accept_misnamed)],
    )
    gradebook.write(out, spec, results, id_column=id_column, scale=scale)
    built, error = _write_reports(out, spec, results, jobs)
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
        executor=runner.describe(),
        unfinished=ran.unfinished,
        notes=ran.notes,
    )


def _write_reports(
    out: Path, spec: AssignmentSpec, results: Sequence[SubmissionResult], jobs: int
) -> tuple[report.BuildSummary | None, str]:
    # The results and the gradebook are written already: a fault here loses no grade.
    try:
        return report.build(out, spec, results, jobs=jobs), ""
    except Exception as exc:  # a bug of ours; the command reports it and exits 1
        return None, f"the HTML reports could not be written: {type(exc).__name__}: {exc}"


def rebuild(
    *, spec: AssignmentSpec, out: Path, id_column: str = "id", scale: float | None = None
) -> BatchResult:
    """``--reports-only``: the gradebook and the reports again, from every result in ``out``."""
    if not out.is_dir():
        raise UsageError(f"--reports-only: no results folder {str(out)!r}")
    ids = [d.name for d in out.iterdir() if (d / RESULTS_FILE).is_file()]
    results = collect(out, spec, ids)
    if not results:
        raise UsageError(f"--reports-only: no results of {spec.name} in {str(out)!r}")
    gradebook.write(out, spec, results, id_column=id_column, scale=scale)
    built, error = _write_reports(out, spec, results, default_jobs())
    return BatchResult(
        spec=spec,
        out=out,
        results=tuple(results),
        graded_now=(),
        skipped=tuple(r.student_id for r in results),
        sandbox="none (reports only)",
        report=built,
        report_error=error,
    )


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

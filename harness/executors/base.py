"""What every executor shares: the work of one run, its tasks, and grading one task.

An executor decides *where* submissions are graded; *how* one is graded is always
``grade_task``: the per-submission pipeline, then the result written atomically into
``OUT/<id>/results.json`` by the trusted process that graded it.  ``Work`` and ``Task``
are plain data with JSON forms, so a Slurm job on another machine rebuilds them exactly.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .. import manual, report
from ..intake import ExtractionLimits
from ..pipeline import Options, Pipeline, not_graded
from ..results import Status, SubmissionResult
from ..spec import AssignmentSpec, Limits, load_spec
from ..store import read_json, write_json_strict

RESULTS_FILE = "results.json"


@dataclass(frozen=True)
class Task:
    """One submission to grade, and the hash its stored result must carry to be current."""

    student_id: str
    zip_path: str
    input_hash: str
    naming_error: str = ""

    def to_json(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Task:
        return cls(**{k: str(data[k]) for k in ("student_id", "zip_path", "input_hash")},
                   naming_error=str(data.get("naming_error", "")))


@dataclass(frozen=True)
class Work:
    """What every task of one run shares: the assignment, the results folder, the options."""

    spec: AssignmentSpec
    out: Path
    options: Options
    #: a TA's marks from ``--manual``, by student id (see ``harness.manual``)
    marks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        o = self.options
        return {
            "assignment": str(self.spec.root),
            "out": str(self.out),
            "sandbox": o.sandbox,
            "gpus": o.gpus,
            "limits": asdict(o.limits),
            "seed": o.seed,
            "keep_work": o.keep_work,
            "extraction": asdict(o.extraction),
            "marks": {k: dict(v) for k, v in self.marks.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Work:
        options = Options(
            sandbox=str(data["sandbox"]),
            limits=Limits(**data["limits"]),
            seed=int(data["seed"]),
            keep_work=bool(data["keep_work"]),
            extraction=ExtractionLimits(**data["extraction"]),
            gpus=str(data["gpus"]),
        )
        return cls(
            spec=load_spec(Path(data["assignment"])),
            out=Path(data["out"]),
            options=options,
            marks=dict(data.get("marks", {})),
        )


#: ``emit(kind, student_id, result, message)``: what became of a task, as it happens.
#: Kinds: "queued" (waits for the scheduler), "start", "done" (a result is stored),
#: "failed" (no result is stored this run; ``message`` says why, the next run retries).
Emit = Callable[[str, str, SubmissionResult | None, str], None]


@dataclass(frozen=True)
class RunOutcome:
    graded: tuple[str, ...] = ()  #: ids whose result was written in this run
    interrupted: bool = False
    #: (id, why) of tasks that end this run without a result (the next run grades them)
    unfinished: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()  #: what the executor wants the user to know (jobs left running)


class Executor(Protocol):
    """Grades the tasks of one run somewhere; one method, like the sandbox backends."""

    name: str

    def run(self, work: Work, tasks: Sequence[Task], emit: Emit) -> RunOutcome: ...

    def describe(self) -> str: ...


def store(
    work: Work, result: SubmissionResult, *, started: float, report_lock: threading.Lock | None
) -> SubmissionResult:
    """Write ``result`` as ``OUT/<id>/results.json`` (atomically), keeping a TA's marks, and
    its report page; returns what was written."""
    path = work.out / result.student_id / RESULTS_FILE
    # A TA's marks outlive regrading: keep the stored ones, apply the CSV's on top.
    previous = read_json(path) or {}
    stored_marks = previous.get("extra_data", {}).get("harness", {}).get("manual", ())
    result = result.replace(
        execution_time=time.monotonic() - started,
        manual=manual.entries(work.spec, stored_marks, work.marks.get(result.student_id)),
    )
    write_json_strict(path, result.to_json())
    # Its report now, while other submissions grade: the end-of-run build then only
    # rewrites pages from figures already drawn.  One at a time (matplotlib).
    with report_lock or contextlib.nullcontext(), contextlib.suppress(Exception):
        report.write_student(work.out, work.spec, result)  # the final build reports faults
    return result


def grade_task(
    work: Work,
    pipeline: Pipeline,
    task: Task,
    *,
    slot: int,
    stopped: Callable[[], bool],
    report_lock: threading.Lock | None = None,
) -> SubmissionResult | None:
    """Grade one submission and store its result; None when a stop killed it half-way
    (nothing is written: the next run grades it)."""
    started = time.monotonic()
    zip_path = Path(task.zip_path)
    if task.naming_error:
        result = not_graded(
            student_id=task.student_id,
            spec=work.spec,
            source=zip_path.name,
            reason="misnamed",
            message=task.naming_error + " (use --accept-misnamed to grade it anyway)",
            input_hash=task.input_hash,
        )
    else:
        result = pipeline.grade(
            zip_path, student_id=task.student_id, slot=slot, input_hash=task.input_hash
        )
    if stopped() and result.status is Status.HARNESS_ERROR:
        return None  # killed by the interrupt: leave it for the next run
    return store(work, result, started=started, report_lock=report_lock)


def is_current(out: Path, task: Task) -> bool:
    """Whether ``OUT/<id>/results.json`` is this task's result (graded, and not by a fault)."""
    stored = read_json(out / task.student_id / RESULTS_FILE)
    if not isinstance(stored, dict):
        return False
    harness = stored.get("extra_data", {}).get("harness", {})
    return bool(
        harness.get("input_hash") == task.input_hash
        and harness.get("status") != str(Status.HARNESS_ERROR)
    )


def stored_result(out: Path, task: Task) -> SubmissionResult | None:
    """The stored result of ``task`` if it is this task's (any status), else None."""
    data = read_json(out / task.student_id / RESULTS_FILE)
    if not isinstance(data, dict):
        return None
    try:
        result = SubmissionResult.from_json(data)
    except (KeyError, ValueError):
        return None
    return result if result.input_hash == task.input_hash else None


def make_pipeline(work: Work) -> Pipeline:
    return Pipeline(spec=work.spec, out=work.out, options=work.options)


__all__ = [
    "RESULTS_FILE",
    "Emit",
    "Executor",
    "RunOutcome",
    "Task",
    "Work",
    "grade_task",
    "is_current",
    "make_pipeline",
    "store",
    "stored_result",
]

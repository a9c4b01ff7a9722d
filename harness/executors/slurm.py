"""The Slurm executor: the submissions that need grading become one Slurm job array.

Submission goes through submitit (``SlurmExecutor.map_array``): each array element runs
``harness.executors.job.grade_chunk`` on a compute node, which grades its ``chunk``
submissions with the same pipeline and sandbox as the local executor and writes each
result atomically into ``OUT/<id>/results.json``.  Slurm schedules; the sandbox isolates.

The harness side never reads what a job returns (submitit's result pickles stay unread);
it follows the jobs through ``squeue``/``scontrol`` and reads the results' JSON.

Files under ``OUT/.slurm/`` (``--out`` must be on storage the nodes share)::

    jobs.json                  the ledger: which job grades which submission (atomic writes)
    lock                       held while a run decides what to submit
    <batch>/work.json          the run's shared inputs (assignment, limits, sandbox)
    <batch>/<job>_0_log.out    each job's log (submitit's names: <array>_<index>_0_log.out)
    <batch>/started/<id>       the submission a job is grading, removed once its result is in

Faults a cluster has, and what a submission gets:

    job ended at its --time            the one it was grading: a ``timeout`` verdict
    job ended at its --mem             the one it was grading: an out-of-memory verdict
    node failure, preemption, a job    graded again once in the same run (a new job), then a
      gone before it started it        harness error naming both ends
    job cancelled (scancel)            no result; the next run grades it
    job failed (exit code, crash)      a harness error naming the job's log
"""

from __future__ import annotations

import contextlib
import math
import re
import shlex
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..pipeline import WORKER_GRACE, not_graded
from ..results import Status, SubmissionResult
from ..session import WALL_FACTOR
from ..spec import Limits
from ..store import write_json_atomic
from ..units import parse_size
from . import scheduler
from .base import Emit, RunOutcome, Task, Work, grade_task, make_pipeline, store, stored_result
from .job import grade_chunk
from .ledger import DONE_DIR, STARTED_DIR, Ledger

#: Seconds a job may need beyond its submissions' own limits: start-up, imports, writing.
JOB_START = 120.0
#: Memory the trusted side of a job needs beside the student's own limit (the job's
#: Python, the worker with torch and the reference solution loaded).
HARNESS_MEMORY = 2 * 1024**3
#: End states after which a submission is graded again (once), in a new job.
RETRY_STATES = frozenset(
    {"NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "REQUEUED", "REVOKED", "UNKNOWN", "DEADLINE"}
)
#: sbatch options the harness sets itself; ``--sbatch-args`` may not.
RESERVED = frozenset(
    {"array", "output", "error", "job-name", "open-mode", "wrap", "parsable", "test-only",
     "signal", "chdir", "export", "wait", "time", "mem", "partition", "cpus-per-task",
     "gres", "account", "qos"}
)
#: A Slurm job left the queue this long ago; its results must have arrived by now.
SETTLE = 3.0

#: Asked on Ctrl-C with the number of jobs still queued or running; True cancels them.
AskCancel = Callable[[int], bool]


@dataclass(frozen=True)
class SlurmOptions:
    """grade.py's Slurm options; empty or None means "from the assignment's limits"."""

    partition: str = ""
    time: str = ""  #: per job, in sbatch's forms (minutes, H:MM:SS, D-HH:MM)
    mem: str = ""  #: per job, e.g. 6G
    cpus_per_task: int | None = None
    gres: str = ""  #: e.g. gpu:1
    max_parallel: int | None = None  #: the array's % limit
    account: str = ""
    qos: str = ""
    sbatch_args: tuple[str, ...] = ()  #: more sbatch options, long forms: "--constraint=a100"
    chunk: int = 1  #: submissions graded one after another by each job
    poll: float = 2.0  #: seconds between two looks at the queue


def parse_time(text: str) -> int:
    """Seconds in one of sbatch's ``--time`` forms: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S."""
    value = text.strip()
    match = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", value)
    if not match:
        raise UsageError(
            f"--time must be in sbatch's forms: minutes, MM:SS, HH:MM:SS or D-HH:MM (got {text!r})"
        )
    days, a, b, c = match.groups()
    numbers = [int(x) for x in (a, b, c) if x is not None]
    if days is not None:  # D-H, D-H:M, D-H:M:S
        h, m, s = (numbers + [0, 0])[:3]
        seconds = int(days) * 86400 + h * 3600 + m * 60 + s
    elif len(numbers) == 1:
        seconds = numbers[0] * 60
    elif len(numbers) == 2:
        seconds = numbers[0] * 60 + numbers[1]
    else:
        seconds = numbers[0] * 3600 + numbers[1] * 60 + numbers[2]
    if seconds <= 0:
        raise UsageError(f"--time must be positive (got {text!r})")
    return seconds


def format_minutes(seconds: float) -> str:
    minutes = math.ceil(seconds / 60)
    return f"{minutes // 60}:{minutes % 60:02d}:00"


def parse_sbatch_args(args: Sequence[str]) -> dict[str, str | bool]:
    """``--sbatch-args`` into sbatch options: long forms only (``--key=value``, ``--key
    value``, ``--flag``); the options the harness sets itself are refused."""
    tokens = [t for a in args for t in shlex.split(a)]
    found: dict[str, str | bool] = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not token.startswith("--") or token == "--":
            raise UsageError(
                f"--sbatch-args: give sbatch's long options, e.g. --constraint=a100 (got {token!r})"
            )
        key, sep, value = token[2:].partition("=")
        if not sep and i + 1 < len(tokens) and not tokens[i + 1].startswith("-"):
            value, sep = tokens[i + 1], "="
            i += 1
        if key in RESERVED:
            hint = "its own option" if key in {"time", "mem", "partition", "cpus-per-task",
                                               "gres", "account", "qos"} else "the harness"
            raise UsageError(f"--sbatch-args: --{key} is set by {hint}, not here")
        found[key] = value if sep else True
        i += 1
    return found


def check_gpus(gpus: str, gres: str, extra: Mapping[str, str | bool]) -> None:
    """The rules for GPUs on a cluster, checked before anything is submitted.

    ``--gres gpu:N`` asks Slurm for N GPUs per job; ``--gpus all`` (or a count up to N)
    hands exactly those to the student's container (Docker backend), never another job's.
    """
    asks_gpu = "gpu" in gres or any(k.startswith("gpus") or k == "gpus" for k in extra)
    if gpus and not asks_gpu:
        raise UsageError(
            "--gpus with --executor slurm needs GPUs in the job: add --gres gpu:1 (or more)"
        )
    if asks_gpu and not gpus:
        raise UsageError(
            "--gres gpu:N reserves GPUs that the student's code would not see: add --gpus all "
            "(Docker sandbox), or leave --gres out"
        )
    if gpus.startswith("device="):
        raise UsageError(
            "--gpus device=...: on a cluster Slurm picks the devices; give --gpus all or a count"
        )
    count = re.search(r"gpu(?::[\w-]+)?:(\d+)", gres)
    if gpus.isdigit() and count and int(gpus) > int(count.group(1)):
        raise UsageError(f"--gpus {gpus} is more than --gres {gres} gives each job")


@dataclass(frozen=True)
class Placement:
    """Where a submission is graded: its job, its batch folder, which try this is."""

    job: str  #: "123_4" (an array element) or "123"
    folder: Path
    attempt: int = 1


@dataclass
class _Progress:
    """What became of the tasks so far (mutable; one run's bookkeeping)."""

    graded: list[str] = field(default_factory=list)
    unfinished: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def done(self, emit: Emit, result: SubmissionResult) -> None:
        self.graded.append(result.student_id)
        emit("done", result.student_id, result, "")

    def fail(self, emit: Emit, student_id: str, why: str) -> None:
        self.unfinished.append((student_id, why))
        emit("failed", student_id, None, why)

    def outcome(self, *, interrupted: bool) -> RunOutcome:
        return RunOutcome(
            tuple(self.graded), interrupted, tuple(self.unfinished), tuple(self.notes)
        )


class SlurmExecutor:
    name = "slurm"

    def __init__(
        self,
        options: SlurmOptions,
        *,
        limits: Limits,
        gpus: str = "",
        on_interrupt: AskCancel | None = None,
    ) -> None:
        if options.chunk < 1:
            raise UsageError(f"--chunk must be at least 1 (got {options.chunk})")
        if options.max_parallel is not None and options.max_parallel < 1:
            raise UsageError(f"--max-parallel must be at least 1 (got {options.max_parallel})")
        if options.cpus_per_task is not None and options.cpus_per_task < 1:
            raise UsageError(f"--cpus-per-task must be at least 1 (got {options.cpus_per_task})")
        self.options = options
        self.on_interrupt = on_interrupt
        self.extra = parse_sbatch_args(options.sbatch_args)
        check_gpus(gpus, options.gres, self.extra)
        per_submission = limits.timeout * WALL_FACTOR + WORKER_GRACE
        self.seconds = (
            parse_time(options.time) if options.time
            else options.chunk * per_submission + JOB_START
        )
        try:
            memory = parse_size(options.mem) if options.mem else limits.memory + HARNESS_MEMORY
        except ValueError as exc:
            raise UsageError(f"--mem: {exc}") from None
        self.mem_mib = math.ceil(memory / 1024**2)
        self.cpus = options.cpus_per_task or 1
        self.max_array = 1001

    # -- before anything is submitted -----------------------------------------------

    def preflight(self) -> None:
        """Refuse now, with the reason, what Slurm would refuse later."""
        missing = scheduler.missing_commands()
        if missing:
            raise UsageError(
                f"--executor slurm: {', '.join(missing)} not found on this machine; run "
                "grade.py where Slurm's commands are installed (a login node of the cluster)"
            )
        try:
            found = scheduler.partitions()
            if self.options.partition and self.options.partition not in found:
                names = ", ".join(f"{p}{'*' if d else ''}" for p, d in sorted(found.items()))
                raise UsageError(
                    f"--partition {self.options.partition}: no such partition "
                    f"(partitions here: {names or 'none'}; * marks the default)"
                )
            refusal = scheduler.refusal(self.sbatch_flags())
            self.max_array = int(scheduler.config().get("MaxArraySize", "1001") or 1001)
        except scheduler.SchedulerError as exc:
            raise UsageError(f"--executor slurm: Slurm does not answer here: {exc}") from None
        if refusal:
            raise UsageError(f"--executor slurm: sbatch refuses these job options: {refusal}")

    def sbatch_flags(self) -> list[str]:
        o = self.options
        flags = [f"--time={format_minutes(self.seconds)}", f"--mem={self.mem_mib}M",
                 f"--cpus-per-task={self.cpus}"]
        for name, value in (("partition", o.partition), ("account", o.account),
                            ("qos", o.qos), ("gres", o.gres)):
            if value:
                flags.append(f"--{name}={value}")
        for key, extra in self.extra.items():
            flags.append(f"--{key}" if extra is True else f"--{key}={extra}")
        return flags

    def describe(self) -> str:
        o = self.options
        where = f"partition {o.partition}" if o.partition else "the default partition"
        return (
            f"slurm ({where}; per job {format_minutes(self.seconds)}, {self.mem_mib} MiB, "
            f"{self.cpus} CPU{'s' if self.cpus > 1 else ''}"
            f"{', ' + o.gres if o.gres else ''}; {o.chunk} submission(s) per job)"
        )

    # -- submitting -------------------------------------------------------------------

    def _submitit(self, folder: Path, count: int) -> Any:
        import submitit  # imported here: the local executor never needs it

        executor = submitit.SlurmExecutor(folder=folder, max_num_timeout=0)
        o = self.options
        path = shlex.quote(str(PROJECT))
        params: dict[str, Any] = {
            "time": math.ceil(self.seconds / 60),
            "mem": f"{self.mem_mib}M",
            "cpus_per_task": self.cpus,
            "array_parallelism": o.max_parallel or max(count, 1),
            "stderr_to_stdout": True,
            # The job imports this checkout of the harness, whatever is installed.
            "setup": [f"export PYTHONPATH={path}${{PYTHONPATH:+:$PYTHONPATH}}"],
            # A failed node or a preemption is retried by the harness, once; not by Slurm.
            "additional_parameters": {"no-requeue": True, **self.extra},
        }
        for key, value in (("partition", o.partition), ("account", o.account),
                           ("qos", o.qos), ("gres", o.gres)):
            if value:
                params[key] = value
        executor.update_parameters(**params)
        return executor

    def _submit(
        self,
        work: Work,
        tasks: Sequence[Task],
        ledger: Ledger,
        attempts: Mapping[str, int],
    ) -> dict[str, Placement]:
        """Submit ``tasks`` as job arrays (under the ledger's lock).  The ledger names each
        array before sbatch runs, so a run killed in between still finds its jobs."""
        records = ledger.load()
        batch = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        folder = ledger.dir / batch
        (folder / STARTED_DIR).mkdir(parents=True)
        (folder / DONE_DIR).mkdir()
        work_path = folder / "work.json"
        write_json_atomic(work_path, work.to_json())
        k = self.options.chunk
        chunks = [list(tasks[i : i + k]) for i in range(0, len(tasks), k)]
        groups = [chunks[i : i + self.max_array] for i in range(0, len(chunks), self.max_array)]
        placed: dict[str, Placement] = {}
        for number, group in enumerate(groups):
            name = f"rnn-grade-{batch}-{number}"
            for chunk in group:
                for task in chunk:
                    records[task.student_id] = {
                        "input_hash": task.input_hash, "batch": batch, "name": name,
                        "job": "", "shared": len(chunk),
                        "attempts": attempts.get(task.student_id, 1),
                    }
            ledger.save(records)
            executor = self._submitit(folder, len(group))
            executor.update_parameters(job_name=name)
            jobs = executor.map_array(
                grade_chunk, [str(work_path)] * len(group),
                [[t.to_json() for t in chunk] for chunk in group],
            )
            for job, chunk in zip(jobs, group, strict=True):
                for task in chunk:
                    records[task.student_id]["job"] = str(job.job_id)
                    placed[task.student_id] = Placement(
                        str(job.job_id), folder, attempts.get(task.student_id, 1)
                    )
            ledger.save(records)
        return placed

    # -- following ----------------------------------------------------------------------

    def run(self, work: Work, tasks: Sequence[Task], emit: Emit) -> RunOutcome:
        ledger = Ledger(work.out)
        progress = _Progress()
        # A misnamed ZIP is refused by its name alone: no job for that.
        for task in [t for t in tasks if t.naming_error]:
            refused = grade_task(work, make_pipeline(work), task, slot=0, stopped=lambda: False)
            if refused is not None:
                progress.done(emit, refused)
        tasks = [t for t in tasks if not t.naming_error]
        by_id = {t.student_id: t for t in tasks}
        active: dict[str, Placement] = {}
        try:
            with ledger.locked():
                active.update(self._find_live(ledger, by_id, progress))
                todo = [t for t in tasks if t.student_id not in active]
                try:
                    active.update(self._submit(work, todo, ledger, {}) if todo else {})
                except Exception as exc:  # sbatch refused, or Slurm went away
                    for task in todo:
                        if task.student_id not in active:
                            progress.fail(emit, task.student_id, f"not submitted: {exc}")
            self._follow(work, by_id, active, ledger, emit, progress)
        except KeyboardInterrupt:
            jobs = sorted({p.job for p in active.values()})
            cancel = False
            with contextlib.suppress(KeyboardInterrupt):
                cancel = bool(jobs) and self.on_interrupt is not None and self.on_interrupt(
                    len(jobs)
                )
            if cancel:
                scheduler.cancel(jobs)
                progress.notes.append(f"cancelled {len(jobs)} Slurm job(s) (scancel)")
            elif jobs:
                progress.notes.append(
                    f"left {len(jobs)} Slurm job(s) queued or running; run the same command "
                    "again to follow them (it submits nothing twice)"
                )
            return progress.outcome(interrupted=True)
        return progress.outcome(interrupted=False)

    def _find_live(
        self, ledger: Ledger, by_id: Mapping[str, Task], progress: _Progress
    ) -> dict[str, Placement]:
        """The tasks a job of an earlier run still grades: followed, not submitted again."""
        records = ledger.load()
        mine = {sid: r for sid, r in records.items() if sid in by_id}
        for record in mine.values():
            if not record.get("job") and record.get("name"):  # killed between name and id
                array = scheduler.find_by_name(str(record["name"]))
                if array:
                    record["job"] = array
        live = scheduler.queue({str(r["job"]).split("_")[0] for r in mine.values() if r.get("job")})
        found: dict[str, Placement] = {}
        stale: list[str] = []
        for sid, record in mine.items():
            job = str(record.get("job", ""))
            if job not in live:
                continue
            if record.get("input_hash") == by_id[sid].input_hash:
                found[sid] = Placement(job, ledger.dir / str(record.get("batch", "")),
                                       int(record.get("attempts", 1)))
            elif record.get("shared", 1) == 1:
                stale.append(job)  # its ZIP changed: that job grades the old one
        if found:
            progress.notes.append(
                f"followed {len(found)} submission(s) whose jobs an earlier run submitted"
            )
        if stale:
            scheduler.cancel(stale)
        return found

    def _follow(
        self,
        work: Work,
        by_id: Mapping[str, Task],
        active: dict[str, Placement],
        ledger: Ledger,
        emit: Emit,
        progress: _Progress,
    ) -> None:
        seen: dict[str, str] = {}  # student id -> "queued" | "start"
        gone: dict[str, float] = {}  # job id -> when it left the queue
        while active:
            queued = scheduler.queue({p.job.split("_")[0] for p in active.values()})
            now = time.monotonic()
            for sid, place in list(active.items()):
                state = queued.get(place.job)
                kind = "queued" if state is not None and not state.running else "start"
                if seen.get(sid) != kind:
                    seen[sid] = kind
                    emit(kind, sid, None, "")
                if state is not None and not state.running:
                    continue
                if (place.folder / DONE_DIR / sid).exists():
                    result = stored_result(work.out, by_id[sid])
                    if result is not None:
                        del active[sid]
                        progress.done(emit, result)
                        continue
                if state is None:
                    gone.setdefault(place.job, now)
            ended = {job for job, t in gone.items() if now - t >= SETTLE}
            waiting = [sid for sid, place in active.items() if place.job in ended]
            if waiting:
                ends = scheduler.ended({job.split("_")[0] for job in ended})
                retry: list[Task] = []
                for sid in waiting:
                    place = active.pop(sid)
                    end = ends.get(place.job) or scheduler.JobState(place.job, "UNKNOWN")
                    verdict = self._verdict(work, by_id[sid], end, place)
                    if verdict is None:
                        retry.append(by_id[sid])
                    elif isinstance(verdict, str):
                        progress.fail(emit, sid, verdict)
                    else:
                        progress.done(emit, verdict)
                for job in ended:
                    gone.pop(job, None)
                if retry:
                    with ledger.locked():
                        again = {t.student_id: 2 for t in retry}
                        active.update(self._submit(work, retry, ledger, again))
                    for task in retry:
                        seen.pop(task.student_id, None)
            if active:
                time.sleep(self.options.poll)

    def _verdict(
        self, work: Work, task: Task, end: scheduler.JobState, place: Placement
    ) -> SubmissionResult | str | None:
        """What a submission gets when its job ended without its result: a stored result,
        a reason it has none this run (str), or None to grade it again in a new job."""
        log = place.folder / f"{end.job}_0_log.out"
        in_progress = (place.folder / STARTED_DIR / task.student_id).exists()
        state = end.state.split()[0] if end.state else "UNKNOWN"
        where = f" on {end.node}" if end.node and end.node != "(null)" else ""
        if state == "CANCELLED":
            return (
                f"its Slurm job {end.job} was cancelled{where} (scancel or an administrator) "
                "before the result was written; run the same command again to grade it"
            )
        if in_progress and state in ("TIMEOUT", "OUT_OF_MEMORY"):
            return store(work, self._limit_result(work, task, state), started=time.monotonic(),
                         report_lock=None)
        if state in RETRY_STATES or not in_progress:
            if place.attempt < 2:
                return None
            why = ("Slurm no longer knows the job (it ended long ago)" if state == "UNKNOWN"
                   else f"{state}{where}")
            message = (
                f"the Slurm job grading this submission ended twice before its result was "
                f"written (last: job {end.job}, {why}); see {log}"
            )
        else:
            code = f", exit code {end.exit_code}" if end.exit_code else ""
            message = (
                f"the Slurm job {end.job} ended ({state}{code}){where} before this "
                f"submission's result was written; see {log}"
            )
        result = not_graded(
            student_id=task.student_id, spec=work.spec, source=Path(task.zip_path).name,
            reason="harness", message=message, input_hash=task.input_hash,
        ).replace(status=Status.HARNESS_ERROR)
        return store(work, result, started=time.monotonic(), report_lock=None)

    def _limit_result(self, work: Work, task: Task, state: str) -> SubmissionResult:
        base = not_graded(
            student_id=task.student_id, spec=work.spec, source=Path(task.zip_path).name,
            reason="", message="", input_hash=task.input_hash,
        )
        if state == "TIMEOUT":
            return base.replace(
                status=Status.TIMEOUT, reason="timeout", flags=("timeout", "slurm_time_limit"),
                output=(
                    f"Grading stopped at the time limit of its cluster job "
                    f"({format_minutes(self.seconds)}, --time); no check finished, so every "
                    "check scores zero."
                ),
            )
        return base.replace(
            status=Status.GRADED, reason="out_of_memory",
            flags=("out_of_memory", "slurm_memory_limit"),
            output=(
                f"Your code ran out of memory: the cluster job grading it went over its limit "
                f"of {self.mem_mib} MiB (--mem); no check finished, so every check scores zero."
            ),
        )


PROJECT = Path(__file__).resolve().parent.parent.parent

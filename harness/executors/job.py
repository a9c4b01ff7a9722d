"""What one Slurm job runs on its compute node: the same per-submission pipeline as the
local executor, for each submission of its chunk, one after the other.

The job is trusted (it is the harness); the student's code runs below it, in the sandbox
named by ``--sandbox``, exactly as on one machine.  Its inputs are JSON (``work.json`` beside
the job's log, and the chunk's tasks); its outputs are the results written atomically into
``OUT/<id>/results.json``.  The value it returns to submitit is a count, which the
harness never reads: nothing a job writes is ever unpickled.

Signals: Slurm sends SIGTERM when the job is cancelled, preempted, or reaches its
``--time``; the job then stops its worker (which tears the sandbox down) and writes no
result for the submission it was grading: the harness decides what that submission gets
from the job's end state (``harness.executors.slurm``).  submitit's own warning signal
before the time limit (SIGUSR2) is ignored: there is nothing to checkpoint.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import HarnessError, UsageError
from ..pipeline import Pipeline, not_graded
from ..results import Status, SubmissionResult
from ..sandbox import make_sandbox
from .base import Task, Work, grade_task, is_current, store
from .ledger import DONE_DIR, STARTED_DIR, superseded


def job_gpus(requested: str, env: Mapping[str, str]) -> str:
    """The Docker ``--gpus`` value that gives the student the GPUs Slurm gave this job.

    ``requested`` is grade.py's ``--gpus`` (``all`` or a count); Slurm names the job's
    GPUs by their node-wide indices in ``SLURM_STEP_GPUS`` / ``SLURM_JOB_GPUS``.  The
    container gets those devices only, never another job's.
    """
    listed = env.get("SLURM_STEP_GPUS") or env.get("SLURM_JOB_GPUS") or ""
    ids = [i.strip() for i in listed.split(",") if i.strip()]
    if not ids:
        raise UsageError(
            "--gpus: Slurm gave this job no GPU (SLURM_JOB_GPUS is empty); ask for one with "
            "--gres gpu:N on a partition that has GPUs"
        )
    value = requested.strip()
    if value == "all":
        return "device=" + ",".join(ids)
    if value.isdigit() and 0 < int(value) <= len(ids):
        return "device=" + ",".join(ids[: int(value)])
    raise UsageError(
        f"--gpus {value}: this job has {len(ids)} GPU(s) ({','.join(ids)}); ask for them with "
        "--gres gpu:N and give --gpus all or a count up to N"
    )


def grade_chunk(work_path: str, tasks: Sequence[Mapping[str, Any]]) -> int:
    """Grade ``tasks`` in turn; returns how many results were written."""
    work = Work.from_json(json.loads(Path(work_path).read_text(encoding="utf-8")))
    chunk = [Task.from_json(t) for t in tasks]
    started_dir = Path(work_path).parent / STARTED_DIR
    done_dir = Path(work_path).parent / DONE_DIR
    started_dir.mkdir(exist_ok=True)
    done_dir.mkdir(exist_ok=True)
    node = socket.gethostname()
    job = os.environ.get("SLURM_ARRAY_JOB_ID", os.environ.get("SLURM_JOB_ID", "?"))
    if "SLURM_ARRAY_TASK_ID" in os.environ:
        job += "_" + os.environ["SLURM_ARRAY_TASK_ID"]
    try:
        if work.options.gpus:
            gpus = job_gpus(work.options.gpus, os.environ)
            work = replace(work, options=replace(work.options, gpus=gpus))
        make_sandbox(work.options.sandbox, gpus=work.options.gpus)  # here, on this node
    except HarnessError as exc:
        message = f"the {work.options.sandbox} sandbox cannot run on node {node}: {exc}"
        print(f"job {job}: {message}", flush=True)
        for task in chunk:
            _store_fault(work, task, message)
            (done_dir / task.student_id).touch()
        return len(chunk)

    # No zygotes in a job: it grades few submissions, and Slurm's accounting may add up the
    # memory of every process, counting the pages forks share (torch's) once per process.
    pipeline = Pipeline(spec=work.spec, out=work.out, options=work.options, zygotes=False)
    stop = threading.Event()

    def on_term(signum: int, frame: object) -> None:
        print(f"job {job}: {signal.Signals(signum).name}: stopping", flush=True)
        stop.set()
        pipeline.cancel()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGUSR2, signal.SIG_IGN)
    written = 0
    for task in chunk:
        if stop.is_set():
            break
        if superseded(Path(work_path), task.student_id):
            print(f"{task.student_id}: its ZIP changed; a newer job grades it", flush=True)
            continue
        if is_current(work.out, task):
            print(f"{task.student_id}: graded already", flush=True)
            (done_dir / task.student_id).touch()
            continue
        marker = started_dir / task.student_id
        marker.write_text(job + "\n", encoding="utf-8")
        print(f"{task.student_id}: grading on {node} (job {job})", flush=True)
        result = grade_task(work, pipeline, task, slot=0, stopped=stop.is_set)
        if result is None:
            print(f"{task.student_id}: stopped before its result was written", flush=True)
            break
        (done_dir / task.student_id).touch()
        marker.unlink(missing_ok=True)
        written += 1
        print(
            f"{task.student_id}: {result.status} {result.score:g}/{result.max_score:g}",
            flush=True,
        )
    return written


def _store_fault(work: Work, task: Task, message: str) -> None:
    result = not_graded(
        student_id=task.student_id,
        spec=work.spec,
        source=Path(task.zip_path).name,
        reason="harness",
        message=message,
        input_hash=task.input_hash,
    )
    store(work, fault(result), started=time.monotonic(), report_lock=None)


def fault(result: SubmissionResult) -> SubmissionResult:
    return result.replace(status=Status.HARNESS_ERROR, reason="harness")

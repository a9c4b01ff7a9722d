"""``OUT/.slurm/``: which Slurm job grades which submission, shared by the harness and its jobs.

``jobs.json`` maps each student id to the batch (one run's submission) and the job that
grade it; a rerun reads it to follow jobs still queued or running instead of submitting
them twice.  Each batch folder holds the run's inputs and two marker folders the jobs
write: ``started/<id>`` while a submission is graded, ``done/<id>`` once its result is in.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..store import write_json_atomic

#: Folder under ``--out`` for the ledger, the jobs' logs and their inputs.
SLURM_DIR = ".slurm"
STARTED_DIR = "started"
DONE_DIR = "done"


class Ledger:
    def __init__(self, out: Path) -> None:
        self.dir = out / SLURM_DIR
        self.path = self.dir / "jobs.json"

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Held while a run decides what to submit: two runs never submit one thing twice."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with (self.dir / "lock").open("a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        tasks = data.get("tasks", {}) if isinstance(data, dict) else {}
        return {k: dict(v) for k, v in tasks.items() if isinstance(v, dict)}

    def save(self, records: Mapping[str, Mapping[str, Any]]) -> None:
        write_json_atomic(self.path, {"version": 1, "tasks": dict(records)})


def batch_of(work_path: Path) -> tuple[Path, str]:
    """The results folder and the batch name of a job's ``work.json``."""
    return work_path.parent.parent.parent, work_path.parent.name


def superseded(work_path: Path, student_id: str) -> bool:
    """Whether a later run gave ``student_id`` to another batch (its ZIP changed): the
    job then leaves it alone rather than write an outdated result over a newer one."""
    out, batch = batch_of(work_path)
    record = Ledger(out).load().get(student_id)
    return record is not None and record.get("batch") != batch

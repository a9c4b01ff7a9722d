"""Where the submissions of a run are graded: behind one ``run`` method, like the sandboxes.

::

    Executor (base.py)     run(work, tasks, emit) -> RunOutcome
    ├── LocalExecutor      --jobs threads on this machine (the default)
    └── SlurmExecutor      one Slurm job array per run, through submitit; each job runs
                           the same pipeline (job.py) on a compute node

Whatever the executor, one submission is graded by ``base.grade_task`` and its result is
written atomically into ``OUT/<id>/results.json`` by the trusted process that graded it.
"""

from __future__ import annotations

from ..spec import Limits
from .base import Emit, Executor, RunOutcome, Task, Work
from .local import LocalExecutor
from .slurm import AskCancel, SlurmExecutor, SlurmOptions

EXECUTORS = ("local", "slurm")

__all__ = [
    "EXECUTORS",
    "AskCancel",
    "Emit",
    "Executor",
    "LocalExecutor",
    "RunOutcome",
    "SlurmExecutor",
    "SlurmOptions",
    "Task",
    "Work",
    "make_executor",
]


def make_executor(
    name: str,
    *,
    jobs: int,
    limits: Limits,
    gpus: str = "",
    slurm: SlurmOptions | None = None,
    on_interrupt: AskCancel | None = None,
) -> Executor:
    """The executor called ``name``, checked now: a Slurm cluster that would refuse the
    jobs is refused here, before anything is graded or submitted."""
    from ..errors import UsageError

    if name == "local":
        if slurm is not None and slurm != SlurmOptions():
            raise UsageError("the Slurm options (--partition, --time, ...) need --executor slurm")
        return LocalExecutor(jobs=jobs)
    if name == "slurm":
        executor = SlurmExecutor(
            slurm or SlurmOptions(), limits=limits, gpus=gpus, on_interrupt=on_interrupt
        )
        executor.preflight()
        return executor
    raise UsageError(f"--executor must be one of {', '.join(EXECUTORS)} (got {name!r})")

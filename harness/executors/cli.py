"""grade.py's ``--executor`` and Slurm options, its queue counts and its Ctrl-C question.

Kept here so that the command line only applies ``cluster_options`` and passes on what
they give (``api_arguments``); everything they mean is in ``harness.executors.slurm``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

import click
from rich.console import Console

from .slurm import SlurmOptions

EXECUTOR_HELP = (
    "Where submissions are graded: local (this machine, --jobs at a time) or slurm (each "
    "submission a Slurm job, same pipeline and sandbox on the node; see the Slurm options)."
)

_OPTIONS: list[Callable[[Any], Any]] = [
    click.option(
        "--executor",
        type=click.Choice(("local", "slurm")),
        default="local",
        show_default=True,
        help=EXECUTOR_HELP,
    ),
    click.option(
        "--partition", default="", help="Slurm: the partition to run the jobs in (default: "
        "the cluster's default partition)."
    ),
    click.option(
        "--time", "slurm_time", default="", metavar="TIME",
        help="Slurm: time limit per job, in sbatch's forms (minutes, HH:MM:SS, D-HH:MM); "
        "default: the assignment's --timeout and its backstop, plus start-up. A job over it "
        "gives the submission it was grading a timeout verdict.",
    ),
    click.option(
        "--mem", "slurm_mem", default="", metavar="SIZE",
        help="Slurm: memory per job, e.g. 6G (default: the assignment's --memory plus 2 GiB "
        "for the trusted worker). A job over it gives an out-of-memory verdict.",
    ),
    click.option(
        "--cpus-per-task", type=int, default=None, help="Slurm: CPUs per job (default: 1)."
    ),
    click.option(
        "--gres", default="", metavar="gpu:N",
        help="Slurm: generic resources per job, e.g. gpu:1; with --gpus all the student's "
        "container gets exactly the job's GPUs (Docker sandbox).",
    ),
    click.option(
        "--max-parallel", type=int, default=None,
        help="Slurm: most jobs running at once (the job array's % limit; default: no limit).",
    ),
    click.option("--account", default="", help="Slurm: the account to charge the jobs to."),
    click.option("--qos", default="", help="Slurm: the quality of service for the jobs."),
    click.option(
        "--sbatch-args", multiple=True, metavar="ARGS",
        help="Slurm: more sbatch options in their long forms, passed through (repeatable), "
        "e.g. --sbatch-args '--constraint=a100 --exclude=node7'.",
    ),
    click.option(
        "--chunk", type=int, default=1, show_default=True,
        help="Slurm: submissions each job grades one after another (fewer, longer jobs for "
        "very large classes; see docs/slurm-at-scale.md).",
    ),
]


def cluster_options(command: Any) -> Any:
    """Add ``--executor`` and the Slurm options to a click command."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def api_arguments(values: Mapping[str, Any], console: Console, stop: Callable[[], None]) -> dict:
    """``api.grade``'s executor arguments from the options' values."""
    slurm = SlurmOptions(
        partition=values["partition"],
        time=values["slurm_time"],
        mem=values["slurm_mem"],
        cpus_per_task=values["cpus_per_task"],
        gres=values["gres"],
        max_parallel=values["max_parallel"],
        account=values["account"],
        qos=values["qos"],
        sbatch_args=tuple(values["sbatch_args"]),
        chunk=values["chunk"],
    )
    return {
        "executor": values["executor"],
        "slurm": None if slurm == SlurmOptions() else slurm,
        "on_interrupt": ask_cancel(console, stop),
    }


def ask_cancel(console: Console, stop: Callable[[], None]) -> Callable[[int], bool]:
    """Ctrl-C's question: cancel the jobs still queued or running, or leave them be."""

    def ask(count: int) -> bool:
        stop()  # the progress display, so that the question can be read
        if not sys.stdin.isatty():
            return False
        return click.confirm(
            f"\nCancel the {count} Slurm job(s) still queued or running (scancel)? "
            "No leaves them running; the same command then follows them",
            default=False,
        )

    return ask


class QueueCounts:
    """queued / running / done / failed, from the API's events, for the progress line."""

    def __init__(self) -> None:
        self.state: dict[str, str] = {}

    def see(self, kind: str, student_id: str) -> str:
        if kind in ("queued", "start", "done", "failed"):
            self.state[student_id] = {"start": "running"}.get(kind, kind)
        counts = {k: 0 for k in ("queued", "running", "done", "failed")}
        for state in self.state.values():
            counts[state] += 1
        return " · ".join(f"{k} {v}" for k, v in counts.items())

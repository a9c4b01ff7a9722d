"""Slurm's commands, asked and read: the only place that runs ``sinfo``, ``squeue``,
``scontrol``, ``sacct``, ``scancel`` and ``sbatch --test-only``.

Submission itself goes through submitit (``harness.executors.slurm``); everything that
reads the scheduler's state is here, parsed from the commands' parsable outputs.
Every function raises ``SchedulerError`` with the command's own message when Slurm does
not answer.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..errors import HarnessError

#: Commands the Slurm executor needs on the machine where grade.py runs.
COMMANDS = ("sbatch", "srun", "squeue", "scontrol", "scancel", "sinfo")
#: Seconds a Slurm command may take before the harness gives up on it.
COMMAND_TIMEOUT = 60.0

#: States of a job that still waits or runs (squeue's long names).
LIVE = frozenset(
    {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED",
     "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED",
     "RESV_DEL_HOLD", "POWER_UP_NODE"}
)
#: Live states in which the job's code runs.
RUNNING = frozenset({"RUNNING", "COMPLETING", "SIGNALING", "STAGE_OUT"})


class SchedulerError(HarnessError):
    """A Slurm command failed or could not be run."""


def missing_commands() -> list[str]:
    return [c for c in COMMANDS if shutil.which(c) is None]


def run(args: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(
            list(args), capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise SchedulerError(f"{args[0]} is not installed on this machine") from None
    except subprocess.TimeoutExpired:
        raise SchedulerError(
            f"{args[0]} did not answer within {COMMAND_TIMEOUT:.0f} s: is slurmctld up?"
        ) from None
    if check and done.returncode != 0:
        text = (done.stderr or done.stdout).strip() or f"exit code {done.returncode}"
        raise SchedulerError(f"{' '.join(args[:2])}: {text}")
    return done


def partitions() -> dict[str, bool]:
    """Every partition this user may submit to, with whether it is the default."""
    found: dict[str, bool] = {}
    for line in run(["sinfo", "-h", "-o", "%P"]).stdout.split():
        name = line.strip()
        if name:
            found[name.rstrip("*")] = name.endswith("*") or found.get(name.rstrip("*"), False)
    return found


def config() -> dict[str, str]:
    """``scontrol show config`` as a mapping (MaxArraySize, MaxJobCount, MinJobAge, ...)."""
    values: dict[str, str] = {}
    for line in run(["scontrol", "show", "config"]).stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    return values


def refusal(args: Sequence[str]) -> str:
    """``sbatch --test-only``: whether Slurm would accept a job with ``args``; the refusal's
    text when it would not ("" when it would)."""
    done = run(["sbatch", "--test-only", *args, "--wrap", "true"], check=False)
    if done.returncode == 0:
        return ""
    lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
    return "; ".join(lines) or f"exit code {done.returncode}"


@dataclass(frozen=True)
class JobState:
    """One job (or one element of an array) as Slurm reports it."""

    job: str  #: "123" or "123_4"
    state: str  #: "PENDING", "RUNNING", "TIMEOUT", "OUT_OF_MEMORY", ... (no "by 0" suffix)
    reason: str = ""
    node: str = ""
    exit_code: str = ""

    @property
    def live(self) -> bool:
        return self.state in LIVE

    @property
    def running(self) -> bool:
        return self.state in RUNNING


def queue(array_ids: Iterable[str]) -> dict[str, JobState]:
    """The jobs among ``array_ids`` (array or plain job ids) that still wait or run, by
    element id.  A job Slurm no longer knows is simply absent."""
    ids = sorted(set(array_ids))
    found: dict[str, JobState] = {}
    # squeue refuses the whole call when none of the ids is known: ask in small groups.
    for start in range(0, len(ids), 200):
        group = ids[start : start + 200]
        done = run(
            ["squeue", "-h", "-r", "-o", "%i|%T|%r|%N", f"--jobs={','.join(group)}"], check=False
        )
        if done.returncode != 0:
            if "Invalid job id" in done.stderr:
                continue
            raise SchedulerError(f"squeue: {done.stderr.strip() or done.returncode}")
        for line in done.stdout.splitlines():
            parts = line.strip().split("|")
            if len(parts) >= 2:
                job, state = parts[0], parts[1]
                found[job] = JobState(job, state, parts[2] if len(parts) > 2 else "",
                                      parts[3] if len(parts) > 3 else "")
    return found


def ended(array_ids: Iterable[str]) -> dict[str, JobState]:
    """The end state of every element of ``array_ids`` Slurm still remembers: from
    ``scontrol`` (finished jobs stay there for MinJobAge, 300 s by default), else from
    ``sacct`` where the cluster keeps accounting."""
    found: dict[str, JobState] = {}
    for array in sorted(set(array_ids)):
        done = run(["scontrol", "show", "job", "-o", array], check=False)
        if done.returncode == 0:
            for line in done.stdout.splitlines():
                state = _from_scontrol(line)
                if state is not None:
                    found[state.job] = state
    missing = sorted({a for a in array_ids if not any(_array_of(j) == a for j in found)})
    if missing and shutil.which("sacct"):
        done = run(
            ["sacct", "-n", "-P", "-X", "-o", "JobID,State,ExitCode,NodeList",
             f"--jobs={','.join(missing)}"],
            check=False,
        )
        if done.returncode == 0:
            for line in done.stdout.splitlines():
                parts = line.split("|")
                if len(parts) == 4 and "[" not in parts[0]:
                    found[parts[0]] = JobState(
                        parts[0], parts[1].split()[0] if parts[1] else "UNKNOWN",
                        node=parts[3], exit_code=parts[2],
                    )
    return found


def _array_of(job: str) -> str:
    return job.split("_", 1)[0]


_FIELD = re.compile(r"(\w+)=(\S*)")


def _from_scontrol(line: str) -> JobState | None:
    fields = dict(_FIELD.findall(line))
    if "JobId" not in fields or "JobState" not in fields:
        return None
    task = fields.get("ArrayTaskId", "")
    if task and not task.isdigit():
        return None  # the still-pending rest of an array, e.g. "3-9%2"
    job = f"{fields['ArrayJobId']}_{task}" if task else fields["JobId"]
    return JobState(
        job,
        fields["JobState"],
        fields.get("Reason", ""),
        fields.get("NodeList", ""),
        fields.get("ExitCode", ""),
    )


def cancel(jobs: Iterable[str]) -> None:
    """``scancel`` the jobs or array elements ``jobs`` (already ended ones are ignored)."""
    ids = sorted(set(jobs))
    for start in range(0, len(ids), 200):
        run(["scancel", "--quiet", *ids[start : start + 200]], check=False)


def find_by_name(name: str) -> str | None:
    """The id of the array job called ``name`` if it still waits or runs."""
    done = run(["squeue", "-h", "-o", "%F", f"--name={name}"], check=False)
    ids = {line.strip() for line in done.stdout.splitlines() if line.strip()}
    return sorted(ids)[0] if done.returncode == 0 and ids else None

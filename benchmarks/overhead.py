"""The harness's own overhead per submission, next to the time spent in the checks.

    .venv/bin/python benchmarks/overhead.py [--copies N] [--backends docker,bwrap,local]
        [--cases tiny,blank,correct,char-rnn] [--paths old,zygote]

Grades N copies of each case with each backend and each start-up path in one run (one job
at a time, so phases do not overlap), and prints the median seconds per submission of each
phase, from the timings every results.json records.  A backend that cannot run here is
left out with the reason.  The cases:

tiny       the self-test assignment's correct example (numpy, milliseconds of checks)
blank      palindrome-rnn-lstm's blank template: every check fails at once
correct    palindrome-rnn-lstm's reference solution: brief training in the checks
char-rnn   char-rnn-lab's correct example (numpy RNN and a torch LSTM)

The paths: ``old`` starts a fresh trusted worker and a fresh student process (Python,
then torch) for every submission and every restart; ``zygote`` forks both from processes
that imported torch once per batch (``harness.sandbox.zygote``; the Docker backend has
no zygote and starts a container per process on both paths).  ``RNN_GRADER_ZYGOTE=off``
selects the old path for a whole run.

intake        unpack the ZIP safely, find the files, build the private copy
worker start  start the trusted grading process (exec, or fork from the trusted zygote)
sandbox start start the sandboxed student process until it answers (all its starts)
checks        the checks themselves (student code and comparisons); the student process
              starts lazily inside the first check, so this includes sandbox start too
pytest        the checks with pytest around them: its start, collecting (importing) the
              graders, reporting (the old path did not record it: 0)
sandbox stop  tear the student process tree down
total         wall clock per submission, everything but its report page
compute       checks - sandbox start: the time spent in the checks' own computations
overhead      total - compute: what the harness adds around the checks (the goal: 1 s or
              less for the torch assignments on bubblewrap, torch warm)
wall/sub      the batch's wall time over N: reports, and the zygotes' start, included

Figures are ratios measured in one run on a shared machine: compare rows, not runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import api  # noqa: E402

SUBMISSIONS = ROOT / "submissions"
PHASES = ("intake", "worker_start", "sandbox_start", "checks", "pytest", "sandbox_stop")
#: The overhead each torch assignment must stay within on bubblewrap (issue 15).
GOAL = 1.0
SWITCH = "RNN_GRADER_ZYGOTE"


@dataclass(frozen=True)
class Case:
    name: str
    assignment: str
    example: str  #: the example's ZIP in submissions/<assignment>/
    copy_name: str  #: a name for copy i that the assignment's naming rule accepts
    torch: bool  #: whether the goal applies (a torch assignment)


CASES = {
    c.name: c
    for c in (
        Case("tiny", "tiny-rnn", "correct_tiny.zip", "s{i:03d}_tiny.zip", False),
        Case("blank", "palindrome-rnn-lstm", "BlankTemplate-1000.zip", "Blank-{n}.zip", True),
        Case("correct", "palindrome-rnn-lstm", "Correct-1001.zip", "Correct-{n}.zip", True),
        Case("char-rnn", "char-rnn-lab", "correct_lab5.zip", "c{i:03d}_lab5.zip", True),
    )
}


def measure(case: Case, backend: str, path: str, copies: int) -> dict[str, float]:
    example = SUBMISSIONS / case.assignment / case.example
    previous = os.environ.get(SWITCH)
    os.environ[SWITCH] = "on" if path == "zygote" else "off"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "subs"
            folder.mkdir()
            for i in range(copies):
                shutil.copy(example, folder / case.copy_name.format(i=i, n=9000 + i))
            started = time.monotonic()
            batch = api.grade(submissions=folder, assignment=case.assignment,
                              out=Path(tmp) / "out", sandbox=backend, jobs=1, force=True)
            wall = time.monotonic() - started
    finally:
        if previous is None:
            os.environ.pop(SWITCH, None)
        else:
            os.environ[SWITCH] = previous
    verdicts = {(str(r.status), r.score) for r in batch.results}
    assert len(verdicts) == 1, f"copies of one example must get one verdict: {verdicts}"
    assert batch.sandbox.startswith({"bwrap": "bubblewrap"}.get(backend, backend))
    row = {p: statistics.median(r.timings.get(p, 0.0) for r in batch.results) for p in PHASES}
    row["total"] = statistics.median(r.execution_time for r in batch.results)
    row["compute"] = statistics.median(
        r.timings.get("checks", 0.0) - r.timings.get("sandbox_start", 0.0) for r in batch.results
    )
    row["overhead"] = row["total"] - row["compute"]
    row["wall"] = wall / copies
    row["score"] = batch.results[0].score
    return row


def unavailable(backend: str) -> str | None:
    if backend == "docker":
        from harness.sandbox.docker import unavailable_reason

        return unavailable_reason()
    if backend == "bwrap":
        from harness.sandbox.bwrap import BwrapSandbox

        return None if BwrapSandbox.available() else "bubblewrap cannot run here"
    return None


COLUMNS = (*PHASES, "total", "compute", "overhead", "wall")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--copies", type=int, default=3)
    parser.add_argument("--backends", default="docker,bwrap,local")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--paths", default="old,zygote")
    args = parser.parse_args()
    paths = args.paths.split(",")
    print(f"median seconds per submission over {args.copies} copies (jobs=1)\n")
    print(f"{'case':<9}{'backend':<8}{'path':<7}{'score':>6}"
          + "".join(f"{c.replace('_', ' '):>14}" for c in COLUMNS))
    totals: dict[tuple[str, str, str], float] = {}
    for backend in args.backends.split(","):
        reason = unavailable(backend)
        if reason:
            print(f"{'':<9}{backend:<8}left out: {reason}")
            continue
        for name in args.cases.split(","):
            case = CASES[name]
            for path in paths:
                row = measure(case, backend, path, args.copies)
                totals[(name, backend, path)] = row["total"]
                goal = ""
                if case.torch and backend == "bwrap":
                    goal = "  goal met" if row["overhead"] <= GOAL else f"  goal: <= {GOAL:g} s"
                cells = "".join(f"{row[c]:>14.2f}" for c in COLUMNS)
                print(f"{name:<9}{backend:<8}{path:<7}{row['score']:>6g}{cells}{goal}", flush=True)
    if "old" in paths and "zygote" in paths:
        print("\ntotal per submission, old path / zygote path:")
        for (name, backend, path), total in totals.items():
            if path == "old" and (name, backend, "zygote") in totals:
                new = totals[(name, backend, "zygote")]
                print(f"  {name:<9}{backend:<8}{total:7.2f} s / {new:6.2f} s = {total / new:5.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The harness's own overhead per submission, next to the time spent in the checks.

    .venv/bin/python benchmarks/overhead.py [--copies N] [--backends docker,bwrap,local]

Grades N copies of the self-test assignment's correct example with each backend in
one run (one job at a time, so phases do not overlap) and prints the mean seconds per
submission of each phase, from the timings every results.json records.  A backend
that cannot run here is left out with the reason.

intake        unpack the ZIP safely, find the files, build the private copy
worker start  start the trusted grading process (Python, numpy, pytest imports)
sandbox start start the sandboxed student process until it answers (Docker: create,
              attach and start a container; the checks start it again after a failure)
checks        the checks themselves (student code and comparisons); the student process
              starts lazily inside the first check, so this includes sandbox start too
sandbox stop  tear the student process tree down
total         wall clock per submission, everything included

Figures are ratios measured in one run on a shared machine: compare rows, not runs.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import api  # noqa: E402

EXAMPLE = ROOT / "submissions" / "tiny-rnn" / "correct_tiny.zip"
PHASES = ("intake", "worker_start", "sandbox_start", "checks", "sandbox_stop")


def measure(backend: str, copies: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "subs"
        folder.mkdir()
        for i in range(copies):
            shutil.copy(EXAMPLE, folder / f"s{i:03d}_tiny.zip")
        started = time.monotonic()
        batch = api.grade(submissions=folder, assignment="tiny-rnn", out=Path(tmp) / "out",
                          sandbox=backend, jobs=1, force=True)
        wall = time.monotonic() - started
    assert all(r.score == r.max_score for r in batch.results), "the example must pass"
    assert batch.sandbox.startswith({"bwrap": "bubblewrap"}.get(backend, backend))
    row = {p: statistics.mean(r.timings.get(p, 0.0) for r in batch.results) for p in PHASES}
    row["total"] = wall / copies
    return row


def unavailable(backend: str) -> str | None:
    if backend == "docker":
        from harness.sandbox.docker import unavailable_reason

        return unavailable_reason()
    if backend == "bwrap":
        from harness.sandbox.bwrap import BwrapSandbox

        return None if BwrapSandbox.available() else "bubblewrap cannot run here"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--backends", default="docker,bwrap,local")
    args = parser.parse_args()
    print(f"mean seconds per submission over {args.copies} submissions (jobs=1)\n")
    header = f"{'backend':<8}" + "".join(f"{p:>15}" for p in (*PHASES, "total"))
    print(header + f"{'overhead/checks':>17}")
    for backend in args.backends.split(","):
        reason = unavailable(backend)
        if reason:
            print(f"{backend:<8}left out: {reason}")
            continue
        row = measure(backend, args.copies)
        overhead = row["total"] - row["checks"]
        cells = "".join(f"{row[p]:>15.3f}" for p in (*PHASES, "total"))
        print(f"{backend:<8}{cells}{overhead / max(row['checks'], 1e-9):>17.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

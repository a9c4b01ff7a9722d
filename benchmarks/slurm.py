"""The Slurm executor's scheduling overhead per submission, next to the local executor's.

    SLURM_CONF=... .venv/bin/python benchmarks/slurm.py [--copies N] [--parallel P]
                                                        [--chunks 1,4]

Grades N copies of the self-test assignment's correct example, in one run: with the local
executor (``--jobs P``), then through Slurm as one job array per chunk size (each job
grading ``chunk`` submissions one after another, at most P jobs at a time).  For each it
prints:

grading       mean seconds the per-submission pipeline took (``execution_time``): the same
              work whichever executor runs it
overhead      per submission, what the executor added: (wall x P - sum of grading) / N, in
              slot-seconds; for Slurm it holds sbatch, the wait for the scheduler, the job's
              start (slurmstepd, Python, submitit, the harness's imports) and the harness's
              polling of the queue
first result  seconds from the start of the run to the first result on disk
wall          the whole run

Needs a cluster that answers (``bash scripts/slurm-local.sh start`` makes one on this
machine).  Figures are ratios measured in one run on a shared machine: compare rows, not
runs.  No figure is asserted anywhere.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import api  # noqa: E402
from harness.executors import SlurmOptions  # noqa: E402

EXAMPLE = ROOT / "submissions" / "tiny-rnn" / "correct_tiny.zip"


def measure(folder: Path, out: Path, parallel: int, chunk: int | None) -> dict[str, float]:
    first: list[float] = []
    started = time.monotonic()
    lock = threading.Lock()

    def on_event(event: api.Event) -> None:
        if event.kind == "done":
            with lock:
                first.append(time.monotonic() - started)

    if chunk is None:
        batch = api.grade(submissions=folder, assignment="tiny-rnn", out=out, sandbox="bwrap",
                          jobs=parallel, force=True, on_event=on_event)
    else:
        batch = api.grade(submissions=folder, assignment="tiny-rnn", out=out, sandbox="bwrap",
                          force=True, on_event=on_event, executor="slurm",
                          slurm=SlurmOptions(max_parallel=parallel, chunk=chunk, poll=0.5))
    wall = time.monotonic() - started
    assert all(r.score == r.max_score for r in batch.results), "the example must pass"
    grading = [r.execution_time for r in batch.results]
    n = len(grading)
    return {
        "grading": statistics.mean(grading),
        "overhead": (wall * parallel - sum(grading)) / n,
        "first": min(first) if first else float("nan"),
        "wall": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--chunks", default="1,4", help="chunk sizes to try, comma-separated")
    args = parser.parse_args()
    chunks = [int(c) for c in args.chunks.split(",")]
    rows: list[tuple[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "subs"
        folder.mkdir()
        for i in range(args.copies):
            shutil.copy(EXAMPLE, folder / f"s{i:03d}_tiny.zip")
        rows.append((f"local, --jobs {args.parallel}",
                     measure(folder, Path(tmp) / "local", args.parallel, None)))
        for chunk in chunks:
            jobs = -(-args.copies // chunk)
            label = f"slurm array, {jobs} jobs of {chunk}"
            rows.append((label, measure(folder, Path(tmp) / f"slurm{chunk}", args.parallel,
                                        chunk)))
    print(f"{args.copies} copies of tiny-rnn's correct example, {args.parallel} at a time, "
          "bubblewrap sandbox; seconds")
    print(f"{'executor':32} {'grading':>8} {'overhead':>9} {'first result':>13} {'wall':>7}")
    for label, row in rows:
        print(f"{label:32} {row['grading']:8.2f} {row['overhead']:9.2f} {row['first']:13.2f} "
              f"{row['wall']:7.1f}")


if __name__ == "__main__":
    main()

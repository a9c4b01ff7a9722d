"""A class of palindrome-rnn-lstm submissions, graded as a course would (issue 15).

    .venv/bin/python benchmarks/class.py [--size 100] [--jobs 2] [--sandbox bwrap]

Builds a realistic class from the examples in ``submissions/palindrome-rnn-lstm``: 60%
correct (the examples that must get full marks, in turn) and the rest each with one
fault (the faulty examples, in turn), every copy under a name of its own.  Grades it
with ``--jobs`` parallel jobs, then grades the unchanged class again (nothing to do but
notice that).  Prints the wall time, submissions per minute, the verdict counts, and
whether every copy got its example's expected verdict.  ``RNN_GRADER_ZYGOTE=off``
measures the old path.  The goal (issue 15): 100 submissions in 5 minutes or less on two
cores, an unchanged class regraded in under 2 s.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import api  # noqa: E402
from harness.assignments import find_assignment  # noqa: E402

ASSIGNMENT = "palindrome-rnn-lstm"
EXAMPLES = ROOT / "submissions" / ASSIGNMENT
CORRECT_SHARE = 0.6


def build(folder: Path, size: int) -> dict[str, tuple[str, float, str]]:
    """Copy examples into ``folder``; each copy's id -> (status, score, example) it must get."""
    spec = find_assignment(ASSIGNMENT)
    expected = tomllib.loads((EXAMPLES / "expected.toml").read_text())
    examples = {s.student_id: s.path for s in api.discover(EXAMPLES, spec)}
    graded = {
        sid: verdict
        for sid, verdict in expected.items()
        if sid in examples and verdict["status"] == "graded" and "parts" in verdict
    }
    correct = sorted(s for s, v in graded.items() if v["score"] == spec.auto_max_score)
    faulty = sorted(s for s, v in graded.items() if v["score"] < spec.auto_max_score)
    n_correct = round(size * CORRECT_SHARE)
    chosen = [correct[i % len(correct)] for i in range(n_correct)]
    chosen += [faulty[i % len(faulty)] for i in range(size - n_correct)]
    want = {}
    for i, sid in enumerate(chosen):
        surname = examples[sid].stem.rsplit("-", 1)[0]
        copy_id = str(3000 + i)
        shutil.copy(examples[sid], folder / f"{surname}-{copy_id}.zip")
        want[copy_id] = (graded[sid]["status"], float(graded[sid]["score"]), surname)
    return want


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--sandbox", default="bwrap")
    parser.add_argument("--keep", type=Path, help="grade into this folder and keep it")
    args = parser.parse_args()
    path = "old path" if os.environ.get("RNN_GRADER_ZYGOTE", "on") in ("off", "0") else "zygotes"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "class"
        folder.mkdir()
        out = args.keep or Path(tmp) / "out"
        want = build(folder, args.size)
        started = time.monotonic()
        batch = api.grade(
            submissions=folder, assignment=ASSIGNMENT, out=out, sandbox=args.sandbox,
            jobs=args.jobs, force=True,
        )
        wall = time.monotonic() - started
        started = time.monotonic()
        again = api.grade(
            submissions=folder, assignment=ASSIGNMENT, out=out, sandbox=args.sandbox,
            jobs=args.jobs,
        )
        regrade = time.monotonic() - started
    results = {r.student_id: r for r in batch.results}
    counts = collections.Counter((str(r.status), r.score) for r in results.values())
    wrong = [
        f"{sid} ({example}): got {results[sid].status} {results[sid].score:g}, "
        f"must get {status} {score:g}"
        for sid, (status, score, example) in sorted(want.items())
        if sid not in results or (str(results[sid].status), results[sid].score) != (status, score)
    ]
    mix = collections.Counter(example for _, _, example in want.values())
    full = batch.spec.auto_max_score
    print(f"{ASSIGNMENT}: a class of {args.size} ({sum(1 for v in want.values() if v[1] == full)} "
          f"correct), {args.jobs} jobs, {os.cpu_count()} cores, {args.sandbox}, {path}")
    print(f"  made of: {', '.join(f'{n} x {e}' for e, n in sorted(mix.items()))}")
    print(f"  wall time          {wall:8.1f} s  ({wall / 60:.1f} min; goal: 5 min or less)")
    print(f"  submissions/min    {len(results) / wall * 60:8.1f}")
    print(f"  regrade unchanged  {regrade:8.2f} s  ({len(again.skipped)} skipped; goal: < 2 s)")
    print("  verdicts:")
    for (status, score), n in sorted(counts.items(), key=lambda kv: (kv[0][0], -kv[0][1])):
        print(f"    {n:4d} x {status} {score:g}/{full:g}")
    print(f"  every copy got its example's verdict: {not wrong}")
    for line in wrong:
        print(f"    {line}")
    return 0 if not wrong else 1


if __name__ == "__main__":
    sys.exit(main())

"""Grading time of each assignment's reference solution, split by check.

    .venv/bin/python benchmarks/grading_time.py [ASSIGNMENT ...]

For every assignment with example submissions, grades the example that must get full
marks (the reference) once, alone (one job), and prints the seconds each check took,
the sum of the checks and the wall time of the whole submission (sandbox start,
imports and teardown included). Figures are from one run on a shared machine.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import api  # noqa: E402
from harness.assignments import find_assignment  # noqa: E402

SUBMISSIONS = ROOT / "submissions"


def reference_zip(assignment: str) -> Path | None:
    """The first example (in expected.toml's order) that must get full marks."""
    spec = find_assignment(assignment)
    expected = tomllib.loads((SUBMISSIONS / assignment / "expected.toml").read_text())
    by_id = {s.student_id: s.path for s in api.discover(SUBMISSIONS / assignment, spec)}
    for sid, verdict in expected.items():
        if verdict["score"] == spec.auto_max_score and sid in by_id:
            return by_id[sid]
    return None


def main(argv: list[str]) -> int:
    names = argv or sorted(p.name for p in SUBMISSIONS.iterdir() if (p / "expected.toml").exists())
    for name in names:
        zip_path = reference_zip(name)
        if zip_path is None:
            print(f"{name}: no example with full marks")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "subs"
            folder.mkdir()
            shutil.copy(zip_path, folder / zip_path.name)
            batch = api.grade(submissions=folder, assignment=name, out=Path(tmp) / "out",
                              jobs=1, force=True)
        result = batch.results[0]
        print(f"\n{name}: {zip_path.name}, {result.score:g}/{result.max_score:g} points, "
              f"{result.execution_time:.1f} s wall ({batch.sandbox.split(':')[0]})")
        total = 0.0
        for check in result.checks:
            seconds = float(check.extra.get("duration", 0.0))
            total += seconds
            print(f"  {seconds:7.2f} s  {check.name[:90]}")
        print(f"  {total:7.2f} s  in the checks; {result.execution_time - total:.2f} s around them")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

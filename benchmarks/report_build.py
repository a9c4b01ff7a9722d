"""How long the HTML reports of a class take to build.

    .venv/bin/python benchmarks/report_build.py [--students 200] [--keep DIR]

Synthesizes N results of palindrome-lstm-gan shaped like real ones (every check,
a training table of 5-30 rows and an accuracy point per student, four 5x5 GAN sample
PNGs, mismatch tables, forbidden-API uses with code, a few KiB of captured output;
each student's numbers differ, so no figure is shared) and times

cold    the first build: every curve drawn with matplotlib (in --jobs processes, by
        default one per core), every page written
warm    a rebuild of the same results (what ``--reports-only`` does): the figures
        come from the cache under OUT/.report-cache/

The pictures the graders save (the GAN grids) are made once, outside the timing, as
grading makes them.  Figures are from one run on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from harness import report  # noqa: E402
from harness.api import RESULTS_FILE  # noqa: E402
from harness.assignments import find_assignment  # noqa: E402
from harness.checks import describe_mismatch  # noqa: E402
from harness.checks.forbidden import describe, find_forbidden  # noqa: E402
from harness.report import plots  # noqa: E402
from harness.results import CheckResult, CheckStatus, Status, SubmissionResult  # noqa: E402
from harness.spec import AssignmentSpec  # noqa: E402
from harness.store import write_json_atomic  # noqa: E402

ASSIGNMENT = "palindrome-lstm-gan"
FORBIDDEN_SOURCE = """import torch.nn as nn


class LSTM(nn.Module):
    def __init__(self, seq_length, input_dim, hidden_dim, output_dim):
        super().__init__()
        self.lstm = nn.LSTM(input_dim, hidden_dim, batch_first=True)
        self.out = nn.Linear(hidden_dim, output_dim)
"""


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the drawing processes)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def gan_pngs(folder: Path) -> list[Path]:
    """Four GAN-like figures, saved the way evidence.figure saves them."""
    rng = np.random.default_rng(0)
    paths = []
    for name, (rows, cols) in {
        "samples-start": (5, 5),
        "samples-halfway": (5, 5),
        "samples-end": (5, 5),
        "interpolation": (1, 9),
    }.items():
        fig = plots.image_grid(rng.uniform(-1, 1, (rows * cols, 784)), rows=rows, cols=cols)
        path = folder / f"test-gan-py-test-learns-digits-{name}.png"
        fig.savefig(path, dpi=100, bbox_inches="tight")
        paths.append(path)
    return paths


def synth(i: int, spec: AssignmentSpec, forbidden: str, pngs: list[Path]) -> SubmissionResult:
    rng = np.random.default_rng(1000 + i)
    skill = rng.uniform(0.2, 1.0)
    checks = []
    for number, check in enumerate(spec.checks, start=1):
        passed = bool(rng.uniform() < skill)
        output, evidence = "", []
        if check.kind == "training" and check.part == "lstm":
            steps = int(rng.integers(5, 30))
            rows = [
                [
                    50 * s,
                    round(2.3 * np.exp(-s * skill / 4) + rng.uniform(0, 0.05), 4),
                    round(min(1.0, 0.1 + s * skill / 6), 4),
                ]
                for s in range(1, steps + 1)
            ]
            accuracy = rows[-1][2]
            plot = {
                "figure": "accuracy-by-length",
                "title": "Held-out accuracy against length",
                "x": "palindrome length T",
                "y": "held-out accuracy",
            }
            evidence = [
                {
                    "kind": "table",
                    "name": "training-5",
                    "title": "Training at length 5",
                    "columns": ["step", "loss", "held-out accuracy"],
                    "rows": rows,
                },
                {
                    "kind": "data",
                    "name": "accuracy-5",
                    "value": plots.series(**plot, label="your LSTM", points=[(5, accuracy)]),
                },
                {
                    "kind": "data",
                    "name": "reference-accuracy",
                    "value": plots.series(
                        **plot,
                        label="reference LSTM",
                        reference=True,
                        points=spec.settings["reference_accuracy"]["lstm"],
                    ),
                },
            ]
        elif check.kind == "training":
            epochs = [
                [
                    e,
                    round(rng.uniform(0.1, 0.3), 3),
                    int(rng.integers(1, 10)),
                    round(rng.uniform(0.3, 0.7), 3),
                    round(rng.uniform(0.7, 2), 3),
                ]
                for e in (8, 10, 12)
            ]
            evidence = [
                {"kind": "figure", "name": p.stem, "title": p.stem, "path": p.name} for p in pngs
            ]
            evidence.append(
                {
                    "kind": "table",
                    "name": "gan-training",
                    "title": "GAN training",
                    "columns": [
                        "epoch",
                        "judge mean confidence",
                        "classes covered",
                        "D loss",
                        "G loss",
                    ],
                    "rows": epochs,
                }
            )
        elif check.kind == "forbidden-api" and not passed:
            output = "the hand-out forbids the built-in recurrent layers here; found:\n" + forbidden
        elif check.kind == "cell" and not passed:
            expected = rng.normal(size=(4, 12))
            output = describe_mismatch(expected, np.tanh(expected), what="the LSTM's output") or ""
        elif not passed:
            output = f"while calling forward(x), your code raised ValueError: bad shape {i}"
        checks.append(
            CheckResult(
                name=check.title or check.key,
                score=check.points if passed else 0.0,
                max_score=check.points,
                status=CheckStatus.PASSED if passed else CheckStatus.FAILED,
                output=output,
                tags=check.tags,
                number=str(number),
                extra={"nodeid": check.key, "duration": 1.0, "evidence": evidence},
            )
        )
    score = sum(c.score for c in checks)
    return SubmissionResult(
        student_id=f"s{i:04d}",
        assignment=spec.name,
        status=Status.GRADED,
        score=score,
        max_score=spec.auto_max_score,
        checks=tuple(checks),
        execution_time=float(rng.uniform(60, 300)),
        sandbox="bubblewrap (synthetic)",
        stdout="".join(f"[epoch {e}] loss {rng.uniform():.4f}\n" for e in range(200)),
        versions={"python": platform.python_version(), "numpy": np.__version__},
        limits={"timeout": 900.0, "memory": 4 * 1024**3},
        part_scores={p.key: sum(c.score for c in checks if c.tags[0] == p.key) for p in spec.parts},
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--keep", type=Path, help="write the results and reports here")
    args = parser.parse_args()
    spec = find_assignment(ASSIGNMENT)
    tmp = None
    if args.keep:
        out = args.keep
        shutil.rmtree(out, ignore_errors=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="report-build-")
        out = Path(tmp.name)
    try:
        forbidden = describe(
            find_forbidden(
                {"part1/lstm.py": FORBIDDEN_SOURCE}, forbidden=["torch.nn.LSTM"], use_torch=False
            )
        )
        source = out / ".pngs"
        source.mkdir(parents=True)
        pngs = gan_pngs(source)
        results = []
        for i in range(args.students):
            result = synth(i, spec, forbidden, pngs)
            folder = out / result.student_id / "evidence"
            folder.mkdir(parents=True)
            for png in pngs:
                shutil.copy(png, folder / png.name)
            write_json_atomic(out / result.student_id / RESULTS_FILE, result.to_json())
            results.append(result)
        shutil.rmtree(source)

        import matplotlib  # noqa: F401  (imported before timing, as it is after grading)

        times = {}
        for run in ("cold", "warm"):
            started, cpu = time.perf_counter(), cpu_seconds()
            built = report.build(out, spec, results, jobs=args.jobs)
            times[run] = (time.perf_counter() - started, cpu_seconds() - cpu, built.figures_drawn)
        size = sum(p.stat().st_size for p in out.glob("*/report.html")) / len(results)
    finally:
        if tmp is not None:
            tmp.cleanup()
    print(
        f"{args.students} submissions of {ASSIGNMENT} (synthetic results), "
        f"Python {platform.python_version()}, {args.jobs} processes"
    )
    for run, (seconds, cpu, drawn) in times.items():
        print(
            f"{run:<5} {seconds:6.1f} s wall, {cpu:6.1f} s CPU  ({drawn} figures drawn, "
            f"{seconds / args.students * 1000:.0f} ms per submission)"
        )
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"mean report size {size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

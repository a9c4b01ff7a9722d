"""The trusted grading process for one submission: ``python -m harness.checks.worker REQUEST``.

It reads a request (JSON), runs the assignment's checks with pytest against a
student process in the requested sandbox, and writes the checks' outcomes (JSON)
to the path the request names.  Only this process writes that file; the student
process cannot reach it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..sandbox import SandboxLimits, make_sandbox, prepare_runtime
from ..spec import Limits, load_spec
from ..store import write_json_atomic


@dataclass(frozen=True)
class WorkerRequest:
    student_id: str
    assignment_root: str
    submission_dir: str
    files: dict[str, str]
    missing: list[str]
    notes: list[str]
    sandbox: str
    limits: dict[str, Any]
    seed: int
    slot: int
    result_path: str
    evidence_dir: str
    data: dict[str, str] = field(default_factory=dict)
    gpus: str = ""

    def dump(self, path: Path) -> None:
        write_json_atomic(path, asdict(self))

    @classmethod
    def load(cls, path: Path) -> WorkerRequest:
        return cls(**json.loads(path.read_text()))


def _quiet_threads() -> None:
    # One thread per process: parallel jobs share the cores, and results stay deterministic.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"


def run(request: WorkerRequest) -> dict[str, Any]:
    _quiet_threads()
    import pytest

    from ..session import WALL_FACTOR, StudentSession
    from .context import Evidence, Submission
    from .plugin import GradingPlugin, grader_paths, pytest_args

    started = time.monotonic()
    started_at = time.time()  # wall clock, so the parent can time this process's start
    spec = load_spec(Path(request.assignment_root))
    limits = Limits(**request.limits)
    # The budget counts the student's CPU time; the wall clock is only a backstop.
    deadline = started + limits.timeout * WALL_FACTOR
    sandbox = make_sandbox(request.sandbox, gpus=request.gpus)
    sandbox_limits = SandboxLimits(
        memory=limits.memory,
        cpu_time=limits.cpu_time,
        processes=limits.processes,
        file_size=limits.file_size,
        output=limits.output,
    )
    root = Path(request.submission_dir)
    submission = Submission(
        student_id=request.student_id,
        root=root,
        files={k: root / v for k, v in request.files.items()},
        missing=tuple(request.missing),
        notes=tuple(request.notes),
    )
    evidence = Evidence(directory=Path(request.evidence_dir))
    with tempfile.TemporaryDirectory(prefix="grader-worker-") as tmp:
        runtime_parent = prepare_runtime(Path(tmp) / "runtime")
        inifile = Path(tmp) / "pytest.ini"
        inifile.write_text("[pytest]\n")
        session = StudentSession(
            sandbox=sandbox,
            workdir=root,
            runtime_parent=runtime_parent,
            limits=sandbox_limits,
            call_timeout=limits.call_timeout,
            deadline=deadline,
            budget=limits.timeout,
            seed=request.seed,
            data={k: Path(v) for k, v in request.data.items()},
            slot=request.slot,
        )
        plugin = GradingPlugin(
            spec=spec, session=session, submission=submission, evidence=evidence, seed=request.seed
        )
        # Test files import their assignment's helpers and the graders' shared code by name.
        sys.path[:0] = grader_paths(spec.root)
        try:
            exit_code = pytest.main(pytest_args(spec.root, inifile=inifile), plugins=[plugin])
            _note_standins(session)
        finally:
            session.close()
    stdout, stderr = session.logs()
    return {
        "pytest_exit": int(exit_code),
        "collect_errors": plugin.collect_errors,
        "outcomes": [asdict(plugin.outcomes[n]) for n in plugin.order if n in plugin.outcomes],
        "evidence": evidence.items,
        "review": evidence.reviews,
        "stdout": stdout,
        "stderr": stderr,
        "processes": [
            {
                "exit_code": o.exit_code,
                "signal": o.signal,
                "killed": o.killed,
                "out_of_memory": o.out_of_memory,
                "output_truncated": o.output_truncated,
                "wall": round(o.wall, 3),
            }
            for o in session.outcomes
        ],
        "versions": session.versions,
        "notes": session.notes,
        "sandbox": sandbox.describe(),
        "sandbox_name": sandbox.name,
        "elapsed": time.monotonic() - started,
        "started_at": started_at,
        "timings": {
            "sandbox_start": session.timings["startup"],
            "sandbox_stop": session.timings["teardown"],
            "checks": sum(o.duration for o in plugin.outcomes.values()),
        },
        "budget_exhausted": session.budget_exhausted(),
        "cpu": round(session.spent(), 3),
    }


def _note_standins(session: Any) -> None:
    """Say in the report which missing logging services the student's last process
    imported (script runs included); only the known stand-ins' names are believed."""
    from ..runtime import standins

    if not session.alive:
        return
    try:
        used = session.op("standins_used", timeout=5.0)
    except Exception:  # a process that cannot answer now has nothing to add
        return
    known = set(standins.STANDINS.values())
    names = [u for u in used if u in known] if isinstance(used, list) else []
    unsaid = [n for n in names if not any(n in note for note in session.notes)]
    if unsaid:
        session.notes.append(standins.describe(unsaid))


INTERRUPTED = 130


def _interrupt(signum: int, frame: object) -> None:
    # SIGTERM (sent by the harness on Ctrl-C, or by the kernel when the harness dies)
    # unwinds like Ctrl-C, so the student's sandbox is torn down on the way out.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    signal.signal(signal.SIGTERM, _interrupt)
    request = WorkerRequest.load(Path(args[0]))
    try:
        # pytest prints its progress to stdout; the parent keeps it as the grader's log.
        result = run(request)
    except KeyboardInterrupt:
        return INTERRUPTED
    if result["pytest_exit"] == 2:  # pytest's INTERRUPTED: a partial result is no result
        return INTERRUPTED
    write_json_atomic(Path(request.result_path), result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

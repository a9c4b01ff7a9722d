"""The trusted grading process for one submission: ``python -m harness.checks.worker REQUEST``.

It reads a request (JSON), runs the assignment's checks with pytest against a
student process in the requested sandbox, and writes the checks' outcomes (JSON)
to the path the request names.  Only this process writes that file; the student
process cannot reach it.

``python -m harness.checks.worker --serve --control-fd N`` is the trusted side's fork
server (zygote): it imports numpy, torch, pytest and the harness's checking code once,
then forks one worker per submission (``serve``), each exactly what the command above
would run, in a process of its own that ends with its submission.  Nothing of one
submission is in the server when the next is forked: a worker is a fork of a process
that has imported no grader, no reference and no student's anything.
"""

from __future__ import annotations

import contextlib
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
    #: address of the student zygote (``harness.sandbox.zygote``): bubblewrap's student
    #: processes are forked from it; "" starts them from nothing
    zygote: str = ""

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
    sandbox = make_sandbox(request.sandbox, gpus=request.gpus, zygote=request.zygote)
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
            pytest_began = time.monotonic()
            exit_code = pytest.main(pytest_args(spec.root, inifile=inifile), plugins=[plugin])
            pytest_took = time.monotonic() - pytest_began
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
            "pytest": pytest_took,
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
    if args[:1] == ["--serve"]:
        return serve(args[1:])
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


# -- the fork server ---------------------------------------------------------------------

#: What every worker imports, imported once by the server (torch only where installed).
PRELOAD = ("numpy", "torch", "pytest", "harness.checks", "harness.checks.plugin")


def _preload_names() -> list[str]:
    """PRELOAD, and pytest's own plugins, which the first ``pytest.main`` of every worker
    would import again (10-20 ms a submission)."""
    from _pytest.config import default_plugins

    return [*PRELOAD, *(f"_pytest.{name}" for name in default_plugins)]


def serve(argv: list[str]) -> int:
    """The trusted fork server's main loop (see the module's docstring).

    Protocol, one connection per submission (``SOCK_SEQPACKET``)::

        pipeline -> {"request": PATH, "log": PATH}
        monitor  -> {"pid": W}      the worker, running ``main([PATH])``, output to the log
        monitor  -> {"exit": STATUS}
    """
    import argparse
    import importlib
    import socket

    from ..runtime import zygote as protocol

    parser = argparse.ArgumentParser(prog="harness.checks.worker --serve")
    parser.add_argument("--control-fd", type=int, required=True)
    options = parser.parse_args(argv)
    _quiet_threads()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the workers
    listener = socket.socket(fileno=options.control_fd)
    message: dict[str, Any] = {"pid": os.getpid(), "preloaded": []}
    try:
        for name in _preload_names():
            try:
                importlib.import_module(name)
            except ImportError:
                if name != "torch":
                    raise
                continue
            message["preloaded"].append(name)
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_initialized():
            raise RuntimeError("CUDA was initialised before forking")
        threads = len(os.listdir("/proc/self/task"))
        if threads != 1:
            raise RuntimeError(f"{threads} threads after the imports: forking is unsafe")
        protocol.freeze()  # pytest collects garbage at its end: not torch's, each time
        message["ok"] = True
    except Exception as exc:
        message["error"] = f"{type(exc).__name__}: {exc}"
    protocol.ready(message)
    if message.get("ok"):
        protocol.serve(listener, _monitor, max_fds=0)
    return 0


def _monitor(conn: Any, fds: list[int], request: dict[str, Any]) -> int:
    """A child of the server: forks the worker, reports its pid and how it ended."""
    import select

    from ..runtime import zygote as protocol

    request_path, log_path = str(request["request"]), str(request["log"])
    worker = os.fork()
    if worker == 0:
        conn.close()
        _worker_process(request_path, log_path)
    protocol.send(conn, {"pid": worker})
    pidfd = os.pidfd_open(worker)
    while True:
        ready, _, _ = select.select([pidfd, conn.fileno()], [], [])
        if pidfd in ready:
            break
        message, _ = protocol.receive(conn)
        if message is None:  # the pipeline is gone: the worker tears its sandbox down
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker, signal.SIGTERM)
            break
    _, status = os.waitpid(worker, 0)
    with contextlib.suppress(OSError):
        protocol.send(conn, {"exit": status})
    return 0


def _worker_process(request: str, log: str) -> None:
    """The forked worker: the log as its stdout and stderr, then ``main``.  Never returns."""
    code = 1
    try:
        from ..runtime.zygote import die_with_parent

        die_with_parent(signal.SIGTERM)  # as the old path's workers (harness.pipeline)
        null = os.open(os.devnull, os.O_RDONLY)
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(null)
        os.close(out)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        code = main([request])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


if __name__ == "__main__":
    sys.exit(main())

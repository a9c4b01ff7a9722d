"""One submission, start to end: intake -> layout -> trusted worker -> scored result.

Each step may refuse the submission with a ``SubmissionError``; that becomes a
"not graded" result with the step's message.  The checks themselves run in a
separate trusted worker process (``harness.checks.worker``), which in turn drives
the sandboxed student process, so a crash anywhere below stays below.

Both processes are forked from zygotes that imported torch once per batch (``Zygotes``):
the worker from the trusted fork server, the student process (bubblewrap, as root) from
the student zygote (``harness.sandbox.zygote``).  ``RNN_GRADER_ZYGOTE=off`` starts each
from nothing instead, as before; so does a zygote that cannot start.  A pipeline that has
graded should be closed (``close``, or ``with``), which stops its zygotes.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .checks.plugin import GRADER_ERROR
from .checks.worker import WorkerRequest
from .errors import LayoutError, SandboxError, SubmissionError
from .intake import ExtractionLimits, extract_zip
from .layout import describe_problems, locate, materialize
from .results import (
    NEEDS_REVIEW,
    CheckResult,
    CheckStatus,
    Status,
    SubmissionResult,
    leaderboard_entries,
)
from .runtime import zygote as protocol
from .sandbox import choose
from .sandbox.zygote import ForkServer, available, student_zygote
from .session import WALL_FACTOR
from .spec import AssignmentSpec, Limits
from .store import read_json, write_bytes_atomic
from .text import printable_bytes

#: Seconds the worker may take beyond the submission's own limit (imports, pytest).
WORKER_GRACE = 120.0
#: The environment variable that turns the zygotes off ("off", "0", "no" or "false").
ZYGOTE_SWITCH = "RNN_GRADER_ZYGOTE"
PROJECT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Options:
    sandbox: str
    limits: Limits
    seed: int = 0
    keep_work: bool = False
    extraction: ExtractionLimits = ExtractionLimits()
    gpus: str = ""  #: GPUs the Docker backend passes through (``docker run --gpus`` forms)


def not_graded(
    *,
    student_id: str,
    spec: AssignmentSpec,
    source: str,
    reason: str,
    message: str,
    input_hash: str = "",
    elapsed: float = 0.0,
) -> SubmissionResult:
    return SubmissionResult(
        student_id=student_id,
        assignment=spec.name,
        status=Status.NOT_GRADED,
        score=0.0,
        max_score=spec.auto_max_score,
        output=message,
        reason=reason,
        source=source,
        input_hash=input_hash,
        execution_time=elapsed,
        part_scores={p.key: 0.0 for p in spec.parts},
    )


def _set_parent_death_signal() -> None:
    # If the harness is killed (even kill -9), its workers get SIGTERM and clean up.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def zygotes_enabled() -> bool:
    """Whether pipelines fork their processes from zygotes (``RNN_GRADER_ZYGOTE``)."""
    value = os.environ.get(ZYGOTE_SWITCH, "on").strip().lower()
    return value not in ("0", "off", "no", "false")


def worker_env() -> dict[str, str]:
    """The environment of the trusted worker (and of its fork server)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PROJECT) + os.pathsep + env.get("PYTHONPATH", "")
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = "1"
    return env


class Zygotes:
    """A batch's fork servers, started together on first use and stopped by ``close``:
    the trusted one (every backend), and the student zygote (bubblewrap, as root)."""

    def __init__(self, options: Options) -> None:
        self._options = options
        self._lock = threading.Lock()
        self._started = False
        self._closed = False
        self._folder: Path | None = None
        self.trusted: ForkServer | None = None
        self.student: ForkServer | None = None
        #: why a zygote is not used (for benchmarks and logs)
        self.problems: list[str] = []

    def start(self) -> None:
        with self._lock:
            if self._started or self._closed:
                return
            self._started = True
            self._folder = Path(tempfile.mkdtemp(prefix="grader-zygote-"))
            servers = [
                ForkServer(
                    [sys.executable, "-m", "harness.checks.worker", "--serve"],
                    folder=self._folder / "trusted",
                    env=worker_env(),
                    cwd=PROJECT,
                    new_session=False,
                )
            ]
            options = self._options
            if not options.gpus and choose(options.sandbox) == "bwrap":
                reason = available()
                if reason is None:
                    servers.append(student_zygote(self._folder / "student", seed=options.seed))
                else:
                    self.problems.append(f"student processes start from nothing: {reason}")
            for server in servers:
                try:
                    server.launch()
                except SandboxError as exc:
                    self.problems.append(str(exc))
            for server in servers:
                try:
                    server.wait_ready()
                except SandboxError as exc:
                    self.problems.append(str(exc))
                    continue
                if server is servers[0]:
                    self.trusted = server
                else:
                    self.student = server

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for server in (self.trusted, self.student):
                if server is not None:
                    server.close()
            self.trusted = self.student = None
            if self._folder is not None:
                shutil.rmtree(self._folder, ignore_errors=True)
                self._folder = None


class Pipeline:
    """Grades submissions of one assignment; one instance is shared by all job threads."""

    def __init__(
        self, *, spec: AssignmentSpec, out: Path, options: Options, zygotes: bool | None = None
    ) -> None:
        """``zygotes``: fork the processes from zygotes (None: unless ``RNN_GRADER_ZYGOTE``
        says off)."""
        self.spec = spec
        self.out = out
        self.options = options
        self._procs: dict[int, subprocess.Popen[bytes] | int] = {}
        wanted = zygotes_enabled() if zygotes is None else zygotes
        self.zygotes = Zygotes(options) if wanted else None
        if self.zygotes is not None:
            # A pipeline nobody closed stops its zygotes when it is collected.
            self._finalizer = weakref.finalize(self, self.zygotes.close)

    def close(self) -> None:
        """Stop the zygotes (a pipeline may still grade afterwards, the old way)."""
        if self.zygotes is not None:
            self.zygotes.close()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def cancel(self) -> None:
        """Stop every running worker (they tear their sandboxes down on SIGTERM)."""
        for proc in list(self._procs.values()):
            with contextlib.suppress(ProcessLookupError):
                if isinstance(proc, int):
                    os.kill(proc, signal.SIGTERM)
                else:
                    proc.send_signal(signal.SIGTERM)

    def grade(
        self,
        zip_path: Path,
        *,
        student_id: str,
        slot: int,
        input_hash: str,
        notes: tuple[str, ...] = (),
    ) -> SubmissionResult:
        started = time.monotonic()
        work = self.out / ".work" / student_id
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        try:
            try:
                return self._grade(zip_path, student_id, slot, input_hash, notes, work, started)
            except SubmissionError as exc:
                return not_graded(
                    student_id=student_id,
                    spec=self.spec,
                    source=zip_path.name,
                    reason=exc.reason,
                    message=str(exc),
                    input_hash=input_hash,
                    elapsed=time.monotonic() - started,
                )
        finally:
            if not self.options.keep_work:
                shutil.rmtree(work, ignore_errors=True)

    def _grade(
        self,
        zip_path: Path,
        student_id: str,
        slot: int,
        input_hash: str,
        notes: tuple[str, ...],
        work: Path,
        started: float,
    ) -> SubmissionResult:
        spec = self.spec
        extracted = extract_zip(zip_path, work / "unpacked", limits=self.options.extraction)
        layout = locate(
            extracted,
            required=spec.required,
            optional=spec.optional,
            limits=self.options.extraction,
        )
        problems = describe_problems(layout)
        intake_done = time.monotonic()
        if spec.required and len(layout.missing) + len(layout.ambiguous) >= len(spec.required):
            raise LayoutError("none of the required files could be used:\n" + "\n".join(problems))
        root = materialize(layout, work / "submission")
        files = {t: t for t in layout.files if (root / t).is_file()}

        dest = self.out / student_id
        evidence_dir = dest / "evidence"
        shutil.rmtree(evidence_dir, ignore_errors=True)
        result_path = work / "worker-result.json"
        if self.zygotes is not None:
            self.zygotes.start()
        student_zygote_address = (
            str(self.zygotes.student.address)
            if self.zygotes is not None and self.zygotes.student is not None
            else ""
        )
        request = WorkerRequest(
            student_id=student_id,
            assignment_root=str(spec.root),
            submission_dir=str(root),
            files=files,
            missing=sorted(set(layout.missing) | set(layout.ambiguous)),
            notes=list(layout.notes),
            sandbox=self.options.sandbox,
            gpus=self.options.gpus,
            limits=asdict(self.options.limits),
            seed=self.options.seed,
            slot=slot,
            result_path=str(result_path),
            evidence_dir=str(evidence_dir),
            data={},
            zygote=student_zygote_address,
        )
        request_path = work / "worker-request.json"
        request.dump(request_path)
        log_path = dest / "grader.log"
        dest.mkdir(parents=True, exist_ok=True)
        launched_at = time.time()
        returncode = self._run_worker(request_path, log_path, slot)
        # The TA is told to read this log: student exceptions in it lose their escape codes.
        write_bytes_atomic(log_path, printable_bytes(log_path.read_bytes()))
        worker_done = time.monotonic()
        worker = read_json(result_path)
        all_notes = tuple(notes) + tuple(layout.notes) + tuple(problems)
        if worker is None:
            return SubmissionResult(
                student_id=student_id,
                assignment=spec.name,
                status=Status.HARNESS_ERROR,
                score=0.0,
                max_score=spec.auto_max_score,
                source=zip_path.name,
                input_hash=input_hash,
                reason="worker_failed",
                output=f"the grading process failed (exit code {returncode}); see grader.log",
                execution_time=time.monotonic() - started,
                notes=all_notes,
            )
        result = score(
            spec=spec,
            worker=worker,
            student_id=student_id,
            source=zip_path.name,
            input_hash=input_hash,
            notes=all_notes,
            elapsed=time.monotonic() - started,
            limits=self.options.limits,
        )
        timings = {
            "intake": intake_done - started,
            "worker_start": float(worker.get("started_at", launched_at)) - launched_at,
            **{k: float(v) for k, v in worker.get("timings", {}).items()},
            "worker_total": worker_done - intake_done,
        }
        return result.replace(timings=timings)

    def _run_worker(self, request_path: Path, log_path: Path, slot: int) -> int | None:
        limit = self.options.limits.timeout * WALL_FACTOR + WORKER_GRACE
        server = self.zygotes.trusted if self.zygotes is not None else None
        if server is not None:
            try:
                conn = server.connect()
            except OSError:
                conn = None  # the fork server is gone: start the worker from nothing
            if conn is not None:
                with conn:
                    return self._run_forked(conn, request_path, log_path, slot, limit)
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "harness.checks.worker", str(request_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=worker_env(),
                preexec_fn=_set_parent_death_signal,
                cwd=PROJECT,
            )
            self._procs[slot] = proc
            try:
                return proc.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    return proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    return proc.wait()
            finally:
                self._procs.pop(slot, None)

    def _run_forked(
        self, conn: Any, request_path: Path, log_path: Path, slot: int, limit: float
    ) -> int | None:
        """The worker, forked by the trusted fork server (``harness.checks.worker.serve``)."""
        protocol.send(conn, {"request": str(request_path), "log": str(log_path)})
        try:
            started, _ = protocol.receive(conn, timeout=60.0)
        except TimeoutError:
            started = None
        pid = started.get("pid") if started else None
        if type(pid) is not int:
            log_path.write_text(f"the trusted fork server could not start a worker: {started}\n")
            return None
        self._procs[slot] = pid
        try:
            deadline = time.monotonic() + limit
            for signum, grace in ((0, 0.0), (signal.SIGTERM, 10.0), (signal.SIGKILL, 60.0)):
                if signum:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signum)
                    deadline = time.monotonic() + grace
                try:
                    ended, _ = protocol.receive(conn, timeout=max(deadline - time.monotonic(), 0))
                except TimeoutError:
                    continue
                status = ended.get("exit") if ended else None
                return os.waitstatus_to_exitcode(status) if type(status) is int else None
            return None
        finally:
            self._procs.pop(slot, None)


def _check_name(key: str, nodeid: str, title: str) -> str:
    param = nodeid[len(key) :]
    return (title + (f" {param}" if param else "")) if title else nodeid


#: What pytest's exit codes other than OK and TESTS_FAILED mean, for a TA.
PYTEST_EXITS = {
    2: ": interrupted",
    3: ": an internal error",
    4: ": a usage error",
    5: ": no checks collected",
}
NOT_REACHED = (
    "this check did not run: the grader stopped before it (a fault of the grader, not yours)"
)


def score(
    *,
    spec: AssignmentSpec,
    worker: dict[str, Any],
    student_id: str,
    source: str,
    input_hash: str,
    notes: tuple[str, ...],
    elapsed: float,
    limits: Limits,
) -> SubmissionResult:
    """Turn the worker's outcomes into points, using the spec's weights."""
    outcomes = worker.get("outcomes", [])
    evidence = worker.get("evidence", {})
    by_key: dict[str, list[dict[str, Any]]] = {}
    for o in outcomes:
        by_key.setdefault(o["key"], []).append(o)
    checks: list[CheckResult] = []
    harness_problems: list[str] = list(worker.get("collect_errors", []))
    exit_code = worker.get("pytest_exit", 0)
    if exit_code not in (0, 1):  # pytest's OK and TESTS_FAILED: every check has its verdict
        harness_problems.append(
            f"the grader stopped before its checks were done (pytest exit code {exit_code}"
            f"{PYTEST_EXITS.get(exit_code, '')}; see grader.log): the checks it did not "
            "finish score zero"
        )
    grader_errors = 0
    for number, check in enumerate(spec.checks, start=1):
        found = by_key.pop(check.key, [])
        if not found:
            harness_problems.append(f"check {check.key} is in the spec but was not collected")
            checks.append(
                CheckResult(
                    name=check.title or check.key,
                    score=0.0,
                    max_score=check.points,
                    status=CheckStatus.FAILED,
                    tags=check.tags,
                    number=str(number),
                    output="this check could not be run (a fault of the grader, not yours)",
                    extra={"kind": GRADER_ERROR},
                )
            )
            continue
        share = check.points / len(found)
        for i, o in enumerate(found, start=1):
            if not o.get("ran", True):
                o = {**o, "passed": False, "kind": GRADER_ERROR, "message": NOT_REACHED}
            if o["kind"] == GRADER_ERROR:
                grader_errors += 1
            extra: dict[str, Any] = {
                "nodeid": o["nodeid"],
                "duration": round(o["duration"], 3),
                "cpu": o.get("cpu", 0.0),
            }
            if o["kind"]:
                extra["kind"] = o["kind"]
            if o.get("needs"):
                extra["needs"] = o["needs"]  # not run: that earlier check failed
            if evidence.get(o["nodeid"]):
                extra["evidence"] = evidence[o["nodeid"]]
            checks.append(
                CheckResult(
                    name=_check_name(check.key, o["nodeid"], check.title),
                    score=share if o["passed"] else 0.0,
                    max_score=share,
                    status=CheckStatus.PASSED if o["passed"] else CheckStatus.FAILED,
                    output=o["message"],
                    tags=check.tags,
                    number=str(number) if len(found) == 1 else f"{number}.{i}",
                    visibility=check.visibility,
                    extra=extra,
                )
            )
    for key in by_key:
        harness_problems.append(f"check {key} has no entry in assignment.toml (no points)")

    processes = worker.get("processes", [])
    kinds = {o["kind"] for o in outcomes}
    flags = []
    if worker.get("budget_exhausted") or "budget" in kinds:
        flags.append("timeout")
    elif "timeout" in kinds:
        flags.append("call_timeout")
    if any(p.get("out_of_memory") for p in processes):
        flags.append("out_of_memory")
    if any(p.get("output_truncated") for p in processes):
        flags.append("output_truncated")
    if grader_errors:
        flags.append(GRADER_ERROR)
    review = [str(r) for r in worker.get("review", [])]
    if review:
        flags.append(NEEDS_REVIEW)

    timed_out = sum(1 for o in outcomes if o["kind"] in ("timeout", "budget"))
    if harness_problems or grader_errors:
        status = Status.HARNESS_ERROR
    elif timed_out:
        status = Status.TIMEOUT
    else:
        status = Status.GRADED
    total = sum(c.score for c in checks)
    parts = {
        p.key: sum(c.score for c in checks if c.tags and c.tags[0] == p.key) for p in spec.parts
    }
    summary = list(notes)
    if "timeout" in flags:
        summary.insert(
            0,
            f"Grading stopped at the time limit of {limits.timeout:.0f} s; "
            "checks that did not run score zero.",
        )
    elif timed_out:
        summary.insert(
            0,
            f"{timed_out} check(s) stopped because your code did not finish within "
            f"{limits.call_timeout:.0f} s; the other checks ran normally.",
        )
    summary += list(worker.get("notes", []))
    summary += [f"For a TA to review: {r}" for r in review]
    if "out_of_memory" in flags:
        summary.insert(0, f"Your code ran out of memory (limit {limits.memory // 1024**2} MiB).")
    summary += harness_problems
    return SubmissionResult(
        student_id=student_id,
        assignment=spec.name,
        status=status,
        score=round(total, 6),
        max_score=spec.auto_max_score,
        checks=tuple(checks),
        execution_time=elapsed,
        output="\n".join(summary),
        reason=(
            flags[0]
            if status is Status.TIMEOUT
            else ("harness" if harness_problems or grader_errors else "")
        ),
        source=source,
        input_hash=input_hash,
        sandbox=str(worker.get("sandbox", "")),
        stdout=str(worker.get("stdout", "")),
        stderr=str(worker.get("stderr", "")),
        notes=notes,
        flags=tuple(flags),
        versions=dict(worker.get("versions", {})),
        limits=asdict(limits),
        part_scores=parts,
        leaderboard=leaderboard_entries(evidence),
    )

"""The sandbox interface: one ``start(job)`` method, several backends.

A job always runs the same thing: the student-side runtime (``harness/runtime``),
which loads the submission from a private writable copy and answers the trusted
grader over a Unix socket.  Backends differ only in how they wall the process in.
Inside every backend the paths are the same::

    /submission                  the private writable copy (the working directory)
    /run/harness/channel.sock    the socket to the trusted grader
    /opt/harness/harness_runtime the runtime package, read-only
    /data/<name>                 read-only data sets the assignment declares
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .cpuclock import CpuClock, ProcessTreeCpuClock

SUBMISSION_DIR = "/submission"
CHANNEL_PATH = "/run/harness/channel.sock"
RUNTIME_PARENT = "/opt/harness"
DATA_ROOT = "/data"

#: The command the runtime starts with; the runtime's parent folder is argv[-1]'s job.
BOOTSTRAP = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from harness_runtime.serve import main; main(sys.argv[2:])"
)


@dataclass(frozen=True)
class SandboxLimits:
    """Limits for one student process tree (see ``harness.spec.Limits``)."""

    memory: int
    cpu_time: int
    processes: int
    file_size: int
    output: int


@dataclass(frozen=True)
class Job:
    """One student process to start."""

    workdir: Path  #: host folder holding the private writable copy of the submission
    channel: Path  #: host path of the listening Unix socket
    runtime_parent: Path  #: host folder that contains the ``harness_runtime`` package
    limits: SandboxLimits
    seed: int = 0
    data: Mapping[str, Path] = field(default_factory=dict)  #: name -> host folder
    slot: int = 0  #: index of the parallel job, for per-slot ids and cgroups
    label: str = "student"  #: used in cgroup and container names
    #: seconds after which the backend ends the process by itself, even with the harness
    #: gone (a killed harness leaves no container running); None: the harness's timers only
    wall: float | None = None


@dataclass(frozen=True)
class Outcome:
    """How a student process ended."""

    exit_code: int | None
    signal: int | None = None
    killed: str = ""  #: why the harness killed it ("timeout", "shutdown"), "" if not killed
    out_of_memory: bool = False
    wall: float = 0.0
    stdout: str = ""
    stderr: str = ""
    output_bytes: int = 0  #: bytes the process wrote to stdout and stderr in total
    output_truncated: bool = False
    cpu: float | None = None  #: CPU seconds the process tree used (None: not measurable)

    def describe(self, limits: SandboxLimits | None = None) -> str:
        """The end of the process in words a student understands."""
        if self.out_of_memory:
            limit = f" (limit {limits.memory // 1024**2} MiB)" if limits else ""
            return f"your code ran out of memory{limit} and was killed"
        if self.killed == "timeout":
            return "your code did not finish in time and was stopped"
        if self.signal is not None:
            name = _signal_name(self.signal)
            if name == "SIGXCPU":
                return "your code used up its CPU-time limit and was stopped"
            if name == "SIGXFSZ":
                return "your code wrote a file larger than the limit and was stopped"
            return f"your code was killed by signal {name}"
        if self.exit_code not in (None, 0):
            return f"your code ended the process with exit code {self.exit_code}"
        return "your code ended the process"

    @classmethod
    def captured(
        cls,
        stdout: OutputCapture,
        stderr: OutputCapture,
        *,
        exit_code: int | None,
        signal: int | None,
        killed: str,
        out_of_memory: bool,
        wall: float,
        cpu: float | None,
    ) -> Outcome:
        """The outcome of a process whose output two captures hold (read to their end
        here, so every backend counts and cuts output the same way)."""
        out, cut_out = stdout.finish()
        err, cut_err = stderr.finish()
        return cls(
            exit_code=exit_code,
            signal=signal,
            killed=killed,
            out_of_memory=out_of_memory,
            wall=wall,
            stdout=out,
            stderr=err,
            output_bytes=stdout.total + stderr.total,
            output_truncated=cut_out or cut_err,
            cpu=cpu,
        )


def _signal_name(number: int) -> str:
    import signal

    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


class Running(Protocol):
    """A started student process."""

    def poll(self) -> bool:
        """True once the process has ended."""
        ...

    def cpu_seconds(self) -> float | None:
        """CPU seconds the process tree has used so far (None: this backend cannot tell)."""
        ...

    def stop(self, *, reason: str, grace: float = 1.0) -> Outcome:
        """End the process tree (asking first, then killing) and report how it ended."""
        ...


class Sandbox(Protocol):
    """A backend that starts student processes walled in by its own means."""

    name: str

    def start(self, job: Job) -> Running: ...

    def describe(self) -> str:
        """One line for reports: the backend and the limits it can enforce."""
        ...


class OutputCapture:
    """Drains a pipe on a thread, keeping the first and last ``keep`` bytes.

    A print flood is read and dropped rather than left to block the student or
    fill a disk; the total count is kept so the report can say how much was cut.
    """

    def __init__(self, stream: Any, keep: int) -> None:
        self._stream = stream
        self._keep = keep
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self._thread: threading.Thread | None = None
        if stream is not None:  # without a stream, someone else calls ``feed``
            self._thread = threading.Thread(target=self._drain, daemon=True)
            self._thread.start()

    def _drain(self) -> None:
        read = self._stream.read1 if hasattr(self._stream, "read1") else self._stream.read
        while True:
            try:
                chunk = read(65536)
            except (OSError, ValueError):
                break
            if not chunk:
                break
            self.feed(chunk)

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self._keep - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > self._keep:
                del self.tail[: len(self.tail) - self._keep]

    @property
    def reading(self) -> bool:
        """Whether the stream is still being drained (its writers have not all closed it)."""
        return self._thread is not None and self._thread.is_alive()

    def finish(self, timeout: float = 2.0) -> tuple[str, bool]:
        if self._thread is not None:
            self._thread.join(timeout)
        text = bytes(self.head).decode("utf-8", "replace")
        truncated = self.total > len(self.head) + len(self.tail)
        if truncated:
            dropped = self.total - len(self.head) - len(self.tail)
            text += f"\n[... {dropped} bytes of output cut; {self.total} bytes in total ...]\n"
        text += bytes(self.tail).decode("utf-8", "replace")
        return text, truncated


def student_env(job: Job, *, home: str) -> dict[str, str]:
    """The whole environment of a student process: nothing leaks in from the harness's."""
    return student_environment(job.seed, home=home)


def student_environment(seed: int, *, home: str) -> dict[str, str]:
    """``student_env`` for a process started with ``seed`` (a zygote's children share it)."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONHASHSEED": str(seed % (2**32)),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "CUDA_VISIBLE_DEVICES": "",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "TORCH_HOME": "/tmp/torch",
        # torch._dynamo makes its cache folder when imported (the first optimiser step does).
        "TORCHINDUCTOR_CACHE_DIR": "/tmp/torchinductor",
    }


def runtime_args(job: Job, *, runtime_parent: str, channel: str, workdir: str) -> list[str]:
    """Arguments after ``python``: the bootstrap and the runtime's own options."""
    return [
        "-s",
        "-B",
        "-c",
        BOOTSTRAP,
        runtime_parent,
        "--channel",
        channel,
        *runtime_options(job, workdir=workdir),
    ]


def runtime_options(job: Job, *, workdir: str) -> list[str]:
    """The runtime's own options (``harness_runtime.serve.main``) but its channel."""
    lim = job.limits
    return [
        "--submission",
        workdir,
        "--seed",
        str(job.seed),
        "--rlimit-cpu",
        str(lim.cpu_time),
        "--rlimit-fsize",
        str(lim.file_size),
    ]


class PopenRunning:
    """A ``Running`` over a ``subprocess.Popen``, shared by the process-based backends."""

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        *,
        limits: SandboxLimits,
        on_stop: object = None,
        oom_check: object = None,
        kill_tree: object = None,
        cpu_clock: CpuClock | None = None,
    ) -> None:
        self._proc = proc
        self._cpu_clock = cpu_clock if cpu_clock is not None else ProcessTreeCpuClock(proc.pid)
        self._limits = limits
        self._start = time.monotonic()
        self._stdout = OutputCapture(proc.stdout, limits.output)
        self._stderr = OutputCapture(proc.stderr, limits.output)
        self._on_stop = on_stop
        self._oom_check = oom_check
        self._kill_tree = kill_tree
        self._outcome: Outcome | None = None
        self._lock = threading.Lock()

    @property
    def pid(self) -> int:
        return self._proc.pid

    def poll(self) -> bool:
        return self._proc.poll() is not None

    def cpu_seconds(self) -> float | None:
        if self._outcome is not None:
            return self._outcome.cpu
        return self._cpu_clock.seconds()

    def stop(self, *, reason: str, grace: float = 1.0) -> Outcome:
        with self._lock:
            if self._outcome is not None:
                return self._outcome
            killed = ""
            try:
                self._proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                killed = reason
                self._kill()
                self._proc.wait()
            # Read before the group is removed; a tree clock has its last reading.
            cpu = self._cpu_clock.seconds()
            if self._kill_tree is not None:
                self._kill_tree()  # type: ignore[operator]
            wall = time.monotonic() - self._start
            oom = bool(self._oom_check()) if self._oom_check is not None else False  # type: ignore[operator]
            code = self._proc.returncode
            self._outcome = Outcome.captured(
                self._stdout,
                self._stderr,
                exit_code=code if code is not None and code >= 0 else None,
                signal=-code if code is not None and code < 0 else status_signal(code),
                killed=killed,
                out_of_memory=oom,
                wall=wall,
                cpu=cpu,
            )
            for capture, stream in (
                (self._stdout, self._proc.stdout),
                (self._stderr, self._proc.stderr),
            ):
                # A process the student left behind may hold the pipe open, and closing a
                # stream its reader is blocked on would wait for that process: leave it to
                # the (daemon) reader, which ends when the pipe does.
                if stream is not None and not capture.reading:
                    stream.close()
            if self._on_stop is not None:
                self._on_stop()  # type: ignore[operator]
            return self._outcome

    def _kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, 9)
        with contextlib.suppress(ProcessLookupError):
            self._proc.kill()
        if self._kill_tree is not None:
            self._kill_tree()  # type: ignore[operator]


def status_signal(code: int | None) -> int | None:
    # bwrap, shells, coreutils' timeout and Docker's init report a child killed by
    # signal N as exit status 128 + N.
    if code is not None and 128 < code < 128 + 65:
        return code - 128
    return None

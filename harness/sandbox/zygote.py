"""Student processes forked from a zygote that imported torch once per batch (issue 15).

The old path starts every student process from nothing: bubblewrap, then Python, then
(inside the first check) ``import torch``, about two seconds each time, and again after
every restart.  Here the same sandbox is built, by the same bubblewrap options, around a
placeholder (``sleep``, which also ends the sandbox at the wall-clock backstop); then a
child of the zygote (``harness_runtime.zygote``), a process that has imported numpy and
torch and nothing else, joins the sandbox's namespaces, drops every privilege, and
becomes the student process.  What the student can see and do is what bubblewrap gives
the old path, plus the zygote's read-only-in-effect memory (copy-on-write pages of
Python, numpy and torch); see SECURITY.md, "The zygote".

``ForkServer`` runs a fork server (this zygote, or the trusted one in
``harness.checks.worker``) for its owner, the pipeline; ``ZygoteSandbox`` is the backend a
trusted worker uses to start student processes through it.

The zygote needs root (cgroups, and the right to join a sandbox built by root).  Where a
start through the zygote fails before the student process is up, the backend starts the
process the old way and says so on stderr (the grader's log); ``fallbacks`` counts them.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from ..errors import SandboxError
from ..runtime import zygote as protocol
from .base import (
    RUNTIME_PARENT,
    SUBMISSION_DIR,
    Job,
    Outcome,
    OutputCapture,
    PopenRunning,
    SandboxLimits,
    runtime_options,
    status_signal,
    student_environment,
)
from .bwrap import BwrapSandbox
from .cgroups import Cgroup
from .staging import interpreter, stage_job

#: How the zygote starts: its runtime copy is the working directory (so no host path is
#: on its command line, which every student process inherits).
BOOTSTRAP = "import sys; from harness_runtime.zygote import main; main(sys.argv[1:])"
#: Seconds a fork server may take to import what it preloads (torch: about two).
READY_TIMEOUT = 180.0
#: Seconds one start through the zygote may take before it counts as failed.
SETUP_TIMEOUT = 60.0


class ForkServer:
    """A fork server's process, seen by its owner: started once, asked over a Unix socket.

    The server gets a listening ``SOCK_SEQPACKET`` socket (``--control-fd``), its stdin as
    a lifeline (it exits when the owner closes it, or dies), and prints one JSON line on
    stdout once it is ready (``{"ok": true, ...}``, or ``{"error": ...}``).
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        folder: Path,
        env: Mapping[str, str],
        cwd: Path,
        new_session: bool,
    ) -> None:
        self.argv = list(argv)
        self.folder = folder
        self.address = folder / "control.sock"
        self.log = folder / "server.log"
        self._env = dict(env)
        self._cwd = cwd
        self._new_session = new_session
        self._proc: subprocess.Popen[bytes] | None = None
        self.ready: dict[str, Any] = {}

    def start(self) -> dict[str, Any]:
        """Start the server and wait until it is ready; its ready message."""
        self.launch()
        return self.wait_ready()

    def launch(self) -> None:
        """Start the server's process (``wait_ready`` waits for its imports)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            listener.bind(str(self.address))
            os.chmod(self.address, 0o600)
            listener.listen(64)
            fd = listener.fileno()
            with self.log.open("wb") as log:
                self._proc = subprocess.Popen(
                    [*self.argv, "--control-fd", str(fd)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    env=self._env,
                    cwd=self._cwd,
                    pass_fds=(fd,),
                    start_new_session=self._new_session,
                )
        except OSError as exc:
            raise SandboxError(f"could not start a fork server: {exc}") from exc
        finally:
            listener.close()

    def wait_ready(self) -> dict[str, Any]:
        """Wait until the launched server is ready; its ready message (SandboxError if it
        does not get ready)."""
        assert self._proc is not None and self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], READY_TIMEOUT)
        line = self._proc.stdout.readline() if ready else b""
        try:
            self.ready = json.loads(line) if line.strip() else {}
        except ValueError:
            self.ready = {}
        if not self.ready.get("ok"):
            self.close()
            why = self.ready.get("error") or self.log.read_text(errors="replace")[-2000:]
            raise SandboxError(f"the fork server did not start: {why or 'no answer'}")
        return self.ready

    @property
    def pid(self) -> int | None:
        """The server's own pid (which its ready message names: bubblewrap may start it)."""
        if self._proc is None:
            return None
        named = self.ready.get("pid")
        return named if type(named) is int and named > 0 else self._proc.pid

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def connect(self, timeout: float = SETUP_TIMEOUT) -> socket.socket:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        conn.settimeout(timeout)
        try:
            conn.connect(str(self.address))
        except OSError:
            conn.close()
            raise
        conn.settimeout(None)
        return conn

    def close(self) -> None:
        """Cut the lifeline and wait for the server to end (killing it after 10 s)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        with contextlib.suppress(OSError):
            self.address.unlink()


def student_zygote(folder: Path, *, seed: int) -> ForkServer:
    """The student side's fork server for one batch (not started yet): its own copy of the
    runtime, the student's environment (its seed included), no harness on its path."""
    from . import prepare_runtime

    runtime = prepare_runtime(folder / "runtime")
    env = student_environment(seed, home="/tmp")
    python = interpreter()
    tail = ["-s", "-B", "-c", BOOTSTRAP, "--seed", str(seed)]
    bwrap = shutil.which("bwrap")
    if not python.staged or bwrap is None:
        return ForkServer([sys.executable, *tail], folder=folder, env=env, cwd=runtime,
                          new_session=True)
    # The zygote runs from the paths its children see (its modules' files, the libraries
    # in its memory map, sys.path): the staged installation at /opt/python and /opt/venv
    # and its runtime at /opt/harness, in a mount namespace of its own.  bubblewrap run by
    # root without a user namespace keeps root's capabilities (joining sandboxes needs
    # them) and shows the zygote everything else of the host as it is.
    argv = [bwrap, "--dev-bind", "/", "/", "--tmpfs", "/opt"]
    for host, inside in python.binds:
        argv += ["--ro-bind", str(host), inside]
    argv += ["--ro-bind", str(runtime), RUNTIME_PARENT, "--chdir", RUNTIME_PARENT]
    argv += ["--", python.executable, *tail]
    return ForkServer(argv, folder=folder, env=env | python.env, cwd=folder, new_session=True)


def available() -> str | None:
    """Why student processes cannot be forked from a zygote here (None when they can)."""
    from .bwrap import BwrapSandbox
    from .cgroups import Cgroups

    if os.geteuid() != 0 or not Cgroups().available():
        return "the zygote joins sandboxes built by root and needs cgroups: run as root"
    if not hasattr(os, "pidfd_open") or not hasattr(socket, "send_fds"):
        return "this Python lacks os.pidfd_open or socket.send_fds"
    if not BwrapSandbox.available():
        return "bubblewrap cannot run here"
    return None


class ZygoteSandbox(BwrapSandbox):
    """bubblewrap's sandbox, entered by a child of the zygote at ``address``."""

    def __init__(self, address: str | Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not self._use_cgroups:
            raise SandboxError("the zygote needs cgroups (run as root)")
        self.address = Path(address)
        found = shutil.which("sleep", path="/usr/bin:/bin")
        if found is None:
            raise SandboxError("no sleep(1) in /usr/bin or /bin for the sandbox's placeholder")
        self._placeholder = os.path.realpath(found)
        #: starts that went the old way because the zygote could not do them
        self.fallbacks = 0

    def describe(self) -> str:
        return (
            super().describe()
            + "; each student process forked from a zygote that imported numpy and torch, "
            "joined to a sandbox of its own"
        )

    def start(self, job: Job) -> PopenRunning | ZygoteRunning:  # type: ignore[override]
        try:
            return self._start(job)
        except _ZygoteFailed as exc:
            self.fallbacks += 1
            print(
                f"harness: the zygote could not start a student process ({exc}); "
                "starting it the old way",
                file=sys.stderr,
                flush=True,
            )
            return super().start(job)

    def _start(self, job: Job) -> ZygoteRunning:
        try:
            job, unstage = stage_job(job, channel=False)  # (the channel is a descriptor)
        except OSError as exc:
            raise _ZygoteFailed(f"could not stage the job: {exc}") from exc
        try:
            running = self._start_staged(job)
        except BaseException:
            unstage()
            raise
        running.on_stop = unstage
        return running

    def _start_staged(self, job: Job) -> ZygoteRunning:
        info_r, info_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        wall = str(math.ceil(job.wall)) if job.wall is not None else "infinity"
        options = [*self.options(job, channel=False), "--info-fd", str(info_w)]
        try:
            proc, cgroup = self.launch(
                job, options, [self._placeholder, wall], stdout=out_w, stderr=err_w,
                pass_fds=(info_w,),
            )
        except BaseException:
            for fd in (info_r, out_r, out_w, err_r, err_w):
                os.close(fd)
            raise
        finally:
            with contextlib.suppress(OSError):
                os.close(info_w)
        assert cgroup is not None
        running = ZygoteRunning(proc, cgroup, out_r, err_r, limits=job.limits)
        try:
            with os.fdopen(info_r, "rb") as info:
                init = _sandbox_pid(info, proc)
            self._enter(job, running, _placeholder_pid(init, proc), out_w, err_w)
        except BaseException as exc:
            _close(out_w, err_w)  # (or the output's readers wait for them)
            running.stop(reason="shutdown", grace=0.0)
            if isinstance(exc, Exception) and not isinstance(exc, _ZygoteFailed):
                raise _ZygoteFailed(f"{type(exc).__name__}: {exc}") from exc
            raise
        _close(out_w, err_w)
        return running

    def _enter(
        self, job: Job, running: ZygoteRunning, sandbox: int, out_w: int, err_w: int
    ) -> None:
        """Ask the zygote for a child, put it in the sandbox's cgroup, let it join."""
        namespaces = [
            os.open(f"/proc/{sandbox}/{name}", os.O_RDONLY | os.O_CLOEXEC)
            for name in ("root", *(f"ns/{n}" for n in protocol.NAMESPACES))
        ]
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn = _connect(self.address)
            running.conn = conn
            argv = [*runtime_options(job, workdir=SUBMISSION_DIR), *self.backend_options(job)]
            protocol.send(
                conn,
                {"argv": argv, "namespaces": list(protocol.NAMESPACES)},
                [out_w, err_w, theirs.fileno(), *namespaces],
            )
            child, seed = _expect(conn, "pid", "seed")
            if seed % 2**32 != job.seed % 2**32:  # its children hash strings by its seed
                raise _ZygoteFailed(f"the zygote has seed {seed}, this process {job.seed}")
            running.cgroup.add(child)
            protocol.send(conn, {"go": True})
            (running.student,) = _expect(conn, "started")
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
            _close(*namespaces)
        running.channel = ours


def _close(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


class _ZygoteFailed(Exception):
    """A start through the zygote failed before any student code could run."""


def _connect(address: Path) -> socket.socket:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        conn.settimeout(SETUP_TIMEOUT)
        conn.connect(str(address))
        conn.settimeout(None)
    except OSError as exc:
        conn.close()
        raise _ZygoteFailed(f"no zygote answers at {address}: {exc}") from None
    return conn


def _expect(conn: socket.socket, *keys: str) -> tuple[int, ...]:
    try:
        message, _ = protocol.receive(conn, timeout=SETUP_TIMEOUT)
    except TimeoutError:
        raise _ZygoteFailed(f"the zygote sent no {keys[0]!r} in {SETUP_TIMEOUT:.0f} s") from None
    if message is None:
        raise _ZygoteFailed(f"the zygote's child ended before {keys[0]!r}")
    values = tuple(message.get(key) for key in keys)
    if any(type(v) is not int or v < 0 for v in values):
        raise _ZygoteFailed(str(message.get("error") or f"expected {keys}, got {message!r}"))
    return values  # type: ignore[return-value]


def _sandbox_pid(info: IO[bytes], proc: subprocess.Popen[bytes]) -> int:
    """The host pid of the sandbox's init (bubblewrap itself), from its ``--info-fd``."""
    deadline = time.monotonic() + SETUP_TIMEOUT
    data = b""
    while b"}" not in data:
        ready, _, _ = select.select([info], [], [], max(deadline - time.monotonic(), 0))
        chunk = os.read(info.fileno(), 4096) if ready else b""
        if not chunk:
            code = proc.poll()
            raise _ZygoteFailed(
                "bubblewrap built no sandbox"
                + (f" (exit code {code})" if code is not None else " in time")
            )
        data += chunk
    pid = json.loads(data[: data.index(b"}") + 1]).get("child-pid")
    if type(pid) is not int or pid <= 0:
        raise _ZygoteFailed(f"bubblewrap's info names no child: {data[:200]!r}")
    return pid


def _placeholder_pid(init: int, proc: subprocess.Popen[bytes]) -> int:
    """The host pid of the sandbox's placeholder once it runs: bubblewrap names its init
    before the sandbox is built; the command starts only when it is."""
    deadline = time.monotonic() + SETUP_TIMEOUT
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(OSError, ValueError):
            for pid in Path(f"/proc/{init}/task/{init}/children").read_text().split():
                if Path(f"/proc/{pid}/comm").read_text().strip() == "sleep":
                    return int(pid)
        time.sleep(0.001)
    raise _ZygoteFailed("the sandbox's placeholder did not start")


class ZygoteRunning:
    """A student process forked from the zygote, inside a bubblewrap sandbox of its own.

    ``channel`` is its end of the channel, already connected; ``conn`` the connection to
    the zygote's child C1, which reports how the student process ended.  The sandbox
    (bubblewrap, its placeholder, whatever the student left) is killed when it stops.
    """

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        cgroup: Cgroup,
        out_r: int,
        err_r: int,
        *,
        limits: SandboxLimits,
    ) -> None:
        self._proc = proc
        self.cgroup = cgroup
        self._limits = limits
        self._clock = cgroup.cpu_clock()
        self._start = time.monotonic()
        self._out = os.fdopen(out_r, "rb", buffering=0)
        self._err = os.fdopen(err_r, "rb", buffering=0)
        self._stdout = OutputCapture(self._out, limits.output)
        self._stderr = OutputCapture(self._err, limits.output)
        self.conn: socket.socket | None = None
        self.channel: socket.socket | None = None
        self.student: int | None = None  #: the host pid of the student process
        self._status: int | None = None  #: its ``waitpid`` status, once it ended
        self._outcome: Outcome | None = None
        self._lock = threading.Lock()
        #: called once the sandbox is gone (removes the job's staged folder)
        self.on_stop: Callable[[], None] | None = None

    def poll(self) -> bool:
        return self._wait(0.0)

    def cpu_seconds(self) -> float | None:
        if self._outcome is not None:
            return self._outcome.cpu
        return self._clock.seconds() if self._clock is not None else None

    def _wait(self, timeout: float) -> bool:
        """Whether the student process has ended, waiting up to ``timeout`` for it."""
        if self._status is not None:
            return True
        if self.conn is None or self.student is None:
            try:
                self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                return False
            self._status = _status_of(self._proc.returncode)
            return True
        deadline = time.monotonic() + timeout
        while True:
            try:
                message, _ = protocol.receive(
                    self.conn, timeout=max(deadline - time.monotonic(), 0.0)
                )
            except TimeoutError:
                return False
            except (OSError, ValueError):
                message = None
            if message is None:  # C1 is gone without a word: killed with the sandbox
                self._status = signal.SIGKILL
                return True
            if type(message.get("exit")) is int:
                self._status = message["exit"]
                return True

    def _kill(self) -> None:
        # Never by the student's pid: its parent may have reaped it, and the pid be another
        # process's by now.  bubblewrap is the sandbox's init: its end ends every process in
        # the sandbox's PID namespace; the cgroup holds them all besides.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        self.cgroup.kill_all()

    def stop(self, *, reason: str, grace: float = 1.0) -> Outcome:
        with self._lock:
            if self._outcome is not None:
                return self._outcome
            killed = ""
            if not self._wait(grace):
                killed = reason
                self._kill()
                self._wait(10.0)
            cpu = self._clock.seconds() if self._clock is not None else None
            # The rest of the sandbox: bubblewrap, its placeholder, what the student left.
            self._kill()
            self._proc.wait()
            wall = time.monotonic() - self._start
            oom = self.cgroup.oom_killed()
            exit_code, number = _describe_status(self._status, killed=bool(killed))
            self._outcome = Outcome.captured(
                self._stdout,
                self._stderr,
                exit_code=exit_code,
                signal=number,
                killed=killed,
                out_of_memory=oom,
                wall=wall,
                cpu=cpu,
            )
            for capture, stream in ((self._stdout, self._out), (self._stderr, self._err)):
                if not capture.reading:
                    stream.close()
            self.cgroup.remove()
            if self.on_stop is not None:
                self.on_stop()
            for sock in (self.conn, self.channel):
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.close()
            return self._outcome


def _status_of(returncode: int | None) -> int:
    """A ``waitpid`` status from a ``Popen`` return code (bubblewrap's own end)."""
    if returncode is None:
        return signal.SIGKILL
    return -returncode if returncode < 0 else returncode << 8


def _describe_status(status: int | None, *, killed: bool) -> tuple[int | None, int | None]:
    """(exit code, signal) as the old path reports them (bubblewrap passes a child's
    signal N on as exit status 128 + N; a process the harness killed has no exit code)."""
    if killed or status is None:
        return None, signal.SIGKILL
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        return 128 + number, number
    code = os.waitstatus_to_exitcode(status)
    return code, status_signal(code)

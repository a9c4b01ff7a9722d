"""The Docker backend: one container per student process, from the grading image.

The image (``docker/``) holds Python and the libraries student code may import, and
nothing of the harness.  Each container gets, read-only unless said otherwise::

    /opt/harness/harness_runtime   the runtime package (a fresh copy, bind-mounted)
    /opt/submission-source         the submission; the runtime copies it into
    /submission                    a private, size-capped tmpfs (writable), like /tmp
    /run/harness/channel.sock      the trusted grader's listening socket, bound in alone
    /data/<name>                   data sets the assignment declares

and the walls: no network (``network_mode=none``: a loopback only), a read-only root,
every capability dropped, ``no-new-privileges``, user 1000, memory (no swap), CPU and
process limits on the container's cgroup, CPU-time and file-size rlimits the runtime
sets on itself, and a wall-clock backstop inside the container (coreutils ``timeout``
under Docker's init) that ends it even when the harness is gone.  The harness's own
per-call timers kill it sooner, and every container is removed when it stops.

The channel.  Only the student process's answers cross the socket: JSON and ``.npz``
arrays loaded without pickle, in reply to the trusted grader's requests.  The grader
accepts one connection and closes its listener, decides every verdict itself and
writes results where no container can see; so the student process can return wrong
values, never a score.  Its prints go to stdout and stderr, read through Docker's
attach stream into capped logs, never into the channel.  Docker's log driver is off,
so a print flood fills no disk.

Cleanup.  Containers carry labels naming the owner's host, pid and an expiry time.
Each new backend removes containers whose owner has died or whose expiry has passed
(a harness killed with ``kill -9``), and a container that fails half-way through its
start is removed at once, Ctrl-C included.

The engine must be local (a Unix socket): host folders and the channel are bind-mounted.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import SandboxError, UsageError
from .base import (
    CHANNEL_PATH,
    DATA_ROOT,
    RUNTIME_PARENT,
    SUBMISSION_DIR,
    Job,
    Outcome,
    OutputCapture,
    SandboxLimits,
    runtime_args,
    status_signal,
    student_env,
)
from .cpuclock import CgroupCpuClock
from .staging import stage_job

DOCKER_DIR = Path(__file__).resolve().parent.parent.parent / "docker"
#: The files whose content decides the image; their hash is its tag.
IMAGE_INPUTS = ("Dockerfile", "requirements.txt")
IMAGE_REPO = "rnn-grader"
INPUTS_LABEL = "rnn-grader.inputs"
OWNER_HOST = "rnn-grader.owner-host"
OWNER_PID = "rnn-grader.owner-pid"
EXPIRES = "rnn-grader.expires"
SOURCE_DIR = "/opt/submission-source"
PYTHON = "/opt/venv/bin/python"
STUDENT_UID = 1000
#: Seconds a container may outlive its wall-clock limit before any harness removes it.
EXPIRY_SLACK = 120


def image_digest(folder: Path = DOCKER_DIR) -> str:
    """Hash of the image's inputs (the Dockerfile and the pinned requirements)."""
    h = hashlib.sha256()
    for name in IMAGE_INPUTS:
        path = folder / name
        if not path.is_file():
            raise SandboxError(f"the image's input {path} is missing")
        h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def image_tag(folder: Path = DOCKER_DIR) -> str:
    """The only tag the backend runs: an image built from other inputs is never used."""
    return f"{IMAGE_REPO}:{image_digest(folder)}"


def connect(timeout: float = 30.0) -> Any:
    """A new client for the engine that DOCKER_HOST (or the default socket) names."""
    from docker.client import from_env  # (mypy takes a bare `docker` for the docker/ folder)

    return from_env(timeout=int(timeout))


_shared: dict[int, Any] = {}
_shared_lock = threading.Lock()


def shared_client() -> Any:
    """One client per process, kept for its life (sandboxes come and go; connections stay)."""
    with _shared_lock:
        pid = os.getpid()
        if pid not in _shared:
            _shared.clear()  # a forked child must not use its parent's connections
            _shared[pid] = connect()
        return _shared[pid]


def unavailable_reason(image: str | None = None, *, timeout: float = 10.0) -> str | None:
    """Why the Docker backend cannot run here, or None when it can."""
    try:
        from docker.errors import APIError, DockerException, ImageNotFound
    except ImportError:
        return "the docker SDK for Python is not installed (make setup)"
    closed = _socket_refuses()
    if closed:
        return f"no Docker engine answers ({closed})"
    client = None
    try:
        client = connect(timeout)
        client.ping()
    except DockerException as exc:
        if client is not None:
            client.close()
        return f"no Docker engine answers ({_short(exc)})"
    try:
        if not client.api.base_url.startswith("http+docker://local"):
            return (
                f"the engine at {client.api.base_url} is not local: the backend bind-mounts "
                "host folders and a Unix socket, so it needs the engine on this machine"
            )
        tag = image or image_tag()
        try:
            client.images.get(tag)
        except ImageNotFound:
            return f"the grading image {tag} is not built (.venv/bin/python docker/build.py)"
        except APIError as exc:
            return f"the engine cannot look up the grading image ({_short(exc)})"
    except SandboxError as exc:
        return str(exc)
    finally:
        client.close()
    return None


def _socket_refuses() -> str:
    """Why the engine's Unix socket takes no connection ("" if it does, or is not Unix).

    Asked before the SDK is, which leaks its socket when the connection fails.
    """
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return ""
    path = host[len("unix://") :]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(5)
        try:
            probe.connect(path)
        except OSError as exc:
            return f"{path}: {exc.strerror or exc}"
    return ""


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "explanation", "") or exc)
    return text.splitlines()[0][:300] if text else type(exc).__name__


def device_requests(gpus: str) -> list[Any]:
    """``--gpus`` in ``docker run``'s forms: ``all``, a count, or ``device=0,1``."""
    from docker.types import DeviceRequest

    value = gpus.strip()
    if not value:
        return []
    if value == "all":
        return [DeviceRequest(count=-1, capabilities=[["gpu"]])]
    if value.isdigit() and int(value) > 0:
        return [DeviceRequest(count=int(value), capabilities=[["gpu"]])]
    found = re.fullmatch(r"device=([0-9A-Za-z-]+(?:,[0-9A-Za-z-]+)*)", value)
    if found:
        return [DeviceRequest(device_ids=found.group(1).split(","), capabilities=[["gpu"]])]
    raise UsageError(f"--gpus must be 'all', a number, or 'device=0,1' (got {gpus!r})")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(client: Any, *, now: float | None = None) -> list[str]:
    """Remove containers whose harness died or whose expiry passed; return their names."""
    from docker.errors import APIError

    now = time.time() if now is None else now
    host = socket.gethostname()
    removed = []
    for info in client.api.containers(all=True, filters={"label": OWNER_PID}):
        labels = info.get("Labels") or {}
        expired = bool(labels.get(EXPIRES)) and float(labels[EXPIRES]) < now
        pid = labels.get(OWNER_PID, "")
        orphan = labels.get(OWNER_HOST) == host and pid.isdigit() and not _pid_alive(int(pid))
        if expired or orphan:
            with contextlib.suppress(APIError):
                client.api.remove_container(info["Id"], force=True, v=True)
                removed.append((info.get("Names") or [info["Id"][:12]])[0].lstrip("/"))
    return removed


def _owner_labels(wall: float | None) -> dict[str, str]:
    """Who made a container, and when any harness may remove it (see ``remove_stale``)."""
    labels = {OWNER_HOST: socket.gethostname(), OWNER_PID: str(os.getpid())}
    if wall is not None:
        labels[EXPIRES] = str(int(time.time() + wall + EXPIRY_SLACK))
    return labels


def _readable_by_all(root: Path) -> None:
    """Let the container's unprivileged user read a private copy made for it."""
    for path in [root, *root.rglob("*")]:
        with contextlib.suppress(OSError):
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                continue
            want = mode | stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
            if stat.S_ISDIR(mode):
                want |= stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH
            if want != mode:
                path.chmod(stat.S_IMODE(want))


class DockerSandbox:
    name = "docker"

    def __init__(
        self,
        *,
        image: str | None = None,
        gpus: str = "",
        cpus: float = 1.0,
        client: Any = None,
    ) -> None:
        from docker.errors import DockerException, ImageNotFound

        self.gpus = gpus.strip()
        self._device_requests = device_requests(self.gpus)
        self.cpus = cpus
        try:
            self.client = client or shared_client()
            self.client.ping()
        except DockerException as exc:
            raise SandboxError(f"no Docker engine answers ({_short(exc)})") from None
        self.image = image or image_tag()
        try:
            self.client.images.get(self.image)
        except ImageNotFound:
            raise SandboxError(
                f"the grading image {self.image} is not built: run .venv/bin/python "
                "docker/build.py (its tag is a hash of docker/Dockerfile and "
                "docker/requirements.txt, so an image from older inputs does not count)"
            ) from None
        self.stale_removed = remove_stale(self.client)
        if self._device_requests:
            self._probe_gpus()

    def _probe_gpus(self) -> None:
        """Fail now, not once per submission, if the engine cannot pass GPUs through."""
        from docker.errors import APIError

        api = self.client.api
        config = api.create_host_config(
            device_requests=self._device_requests, network_mode="none", read_only=True
        )
        try:
            cid = api.create_container(
                self.image, ["true"], host_config=config, labels=_owner_labels(60)
            )["Id"]
        except APIError as exc:
            raise SandboxError(self._explain(exc)) from None
        try:
            api.start(cid)
            api.wait(cid, timeout=60)
        except APIError as exc:
            raise SandboxError(self._explain(exc)) from None
        finally:
            with contextlib.suppress(APIError):
                api.remove_container(cid, force=True)

    @staticmethod
    def available() -> bool:
        return unavailable_reason() is None

    def describe(self) -> str:
        gpus = f"; GPUs: {self.gpus}" if self.gpus else ""
        return (
            f"docker ({self.image}): no network, read-only root, all capabilities dropped, "
            "no new privileges, unprivileged user, private tmpfs copy of the submission; "
            f"memory, {self.cpus:g} CPU and processes limited by the container's cgroup, CPU "
            f"time and file size by rlimit, wall clock by killing the container{gpus}"
        )

    def command(self, job: Job) -> list[str]:
        argv = [
            PYTHON,
            *runtime_args(
                job, runtime_parent=RUNTIME_PARENT, channel=CHANNEL_PATH, workdir=SUBMISSION_DIR
            ),
            "--source",
            SOURCE_DIR,
        ]
        if job.wall is not None:
            argv = ["timeout", "--signal=KILL", f"{max(job.wall, 1.0):.0f}", *argv]
        return argv

    def container_config(self, job: Job) -> dict[str, Any]:
        """Arguments of ``create_container`` (and its host config) for this job."""
        from docker.types import LogConfig, Mount, Ulimit

        lim = job.limits
        mounts = [
            # The engine wants absolute host paths (a relative --out gives relative ones).
            Mount(
                RUNTIME_PARENT, str(Path(job.runtime_parent).resolve()), type="bind", read_only=True
            ),
            Mount(SOURCE_DIR, str(Path(job.workdir).resolve()), type="bind", read_only=True),
            Mount(CHANNEL_PATH, str(Path(job.channel).resolve()), type="bind", read_only=True),
        ]
        for name, host in job.data.items():
            mounts.append(Mount(f"{DATA_ROOT}/{name}", str(host), type="bind", read_only=True))
        env = student_env(job, home="/tmp")
        env["PATH"] = "/opt/venv/bin:" + env["PATH"]
        if self._device_requests:
            del env["CUDA_VISIBLE_DEVICES"]  # the GPUs Docker passes through are the ones to use
        host_config = self.client.api.create_host_config(
            mounts=mounts,
            tmpfs={
                "/tmp": f"size={lim.file_size},mode=1777",
                SUBMISSION_DIR: f"size={lim.file_size},mode=0700,uid={STUDENT_UID},"
                f"gid={STUDENT_UID}",
            },
            network_mode="none",
            read_only=True,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            mem_limit=lim.memory,
            memswap_limit=lim.memory,
            nano_cpus=int(self.cpus * 1e9),
            pids_limit=lim.processes,
            ulimits=[Ulimit(name="core", soft=0, hard=0)],
            init=True,
            log_config=LogConfig(type="none"),
            device_requests=self._device_requests or None,
        )
        return {
            "image": self.image,
            "command": self.command(job),
            "user": f"{STUDENT_UID}:{STUDENT_UID}",
            "environment": env,
            "working_dir": "/tmp",
            "hostname": "sandbox",
            "labels": _owner_labels(job.wall),
            "name": f"rnn-grader-{job.label}-{os.getpid()}-{job.slot}-{os.urandom(3).hex()}",
            "host_config": host_config,
        }

    def start(self, job: Job) -> DockerRunning:
        from docker.errors import APIError

        # What is bind-mounted gets neutral host paths first: a container's mountinfo
        # names each bind's source (``staging``).
        job, unstage = stage_job(job)
        api = self.client.api
        try:
            cid = api.create_container(**self.container_config(job))["Id"]
        except APIError as exc:
            unstage()
            raise SandboxError(self._explain(exc)) from None
        except BaseException:
            unstage()
            raise
        stream = None
        try:
            # Attach before the start, so not a byte of output is missed.
            stream = api.attach_socket(cid, params={"stdout": 1, "stderr": 1, "stream": 1})
            api.start(cid)
        except BaseException as exc:  # Ctrl-C included: no half-started container stays
            _close_stream(stream)
            with contextlib.suppress(Exception):
                api.remove_container(cid, force=True, v=True)
            unstage()
            if isinstance(exc, APIError):
                raise SandboxError(self._explain(exc)) from None
            raise
        running = DockerRunning(api, cid, stream, limits=job.limits)
        running.on_stop = unstage
        return running

    def _explain(self, exc: Any) -> str:
        text = _short(exc)
        if self._device_requests and ("device driver" in text or "gpu" in text.lower()):
            return (
                f"--gpus {self.gpus}: this Docker engine cannot pass GPUs through ({text}); "
                "install the NVIDIA Container Toolkit, or grade without --gpus"
            )
        return f"docker could not start the student container: {text}"


def _close_stream(stream: Any) -> None:
    # The attach stream is a file over the engine's socket: close both, or the socket
    # lingers until the garbage collector finds it.
    for part in (stream, getattr(stream, "_sock", None)):
        with contextlib.suppress(Exception):
            if part is not None:
                part.close()


class DockerRunning:
    """A started container: its output is drained on a thread, its end read from the engine."""

    def __init__(self, api: Any, cid: str, stream: Any, *, limits: SandboxLimits) -> None:
        self._api = api
        self.id = cid
        self._stream = stream
        self._limits = limits
        self._started = time.monotonic()
        self._stdout = OutputCapture(None, limits.output)
        self._stderr = OutputCapture(None, limits.output)
        self._outcome: Outcome | None = None
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        self._cpu_clock: CgroupCpuClock | None = None
        self._cpu_unknown = False
        #: called once the container is removed (removes the job's staged folder)
        self.on_stop: Callable[[], None] | None = None

    def _drain(self) -> None:
        from docker.utils.socket import STDERR, frames_iter

        with contextlib.suppress(Exception):
            for kind, data in frames_iter(self._stream, tty=False):
                (self._stderr if kind == STDERR else self._stdout).feed(data)

    def _state(self) -> dict[str, Any] | None:
        from docker.errors import NotFound

        try:
            return dict(self._api.inspect_container(self.id)["State"])
        except NotFound:
            return None

    def poll(self) -> bool:
        state = self._state()
        return state is None or not state.get("Running", False)

    def cpu_seconds(self) -> float | None:
        """The container's cgroup accounting, read on this host (None for a remote engine)."""
        if self._outcome is not None:
            return self._outcome.cpu
        if self._cpu_clock is None and not self._cpu_unknown:
            state = self._state() or {}
            pid = int(state.get("Pid") or 0)
            self._cpu_clock = CgroupCpuClock.of_pid(pid) if pid > 0 else None
            # A container's own group, never the host's root group.
            if self._cpu_clock is not None and self.id not in str(self._cpu_clock.directory):
                self._cpu_clock = None
            self._cpu_unknown = self._cpu_clock is None and pid > 0
        return self._cpu_clock.seconds() if self._cpu_clock is not None else None

    def _wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if self.poll():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    def stop(self, *, reason: str, grace: float = 1.0) -> Outcome:
        from docker.errors import APIError

        with self._lock:
            if self._outcome is not None:
                return self._outcome
            killed = ""
            self.cpu_seconds()  # a reading while the container's group still exists
            try:
                if not self._wait(grace):
                    killed = reason
                    with contextlib.suppress(APIError):
                        self._api.kill(self.id)
                    self._wait(10.0)
                wall = time.monotonic() - self._started
                cpu = self._cpu_clock.seconds() if self._cpu_clock is not None else None
                state = self._state() or {}
                self._reader.join(2.0)
            finally:
                _close_stream(self._stream)
                with contextlib.suppress(APIError):
                    self._api.remove_container(self.id, force=True, v=True)
                if self.on_stop is not None:
                    self.on_stop()
            code = state.get("ExitCode")
            self._outcome = Outcome.captured(
                self._stdout,
                self._stderr,
                exit_code=code,
                signal=status_signal(code),
                killed=killed,
                out_of_memory=bool(state.get("OOMKilled")),
                wall=wall,
                cpu=cpu,
            )
            return self._outcome

"""The student side's fork server (zygote): torch and numpy imported once, one child per
student process, each child joined to a fresh sandbox before any student code loads.

Importing torch costs every student process about two seconds.  This process pays it
once per batch: it imports numpy and torch (never touching CUDA, so its children may
still use a GPU) and then only forks.  It imports nothing of the harness but this module,
holds nothing of any student (no path, no id, no file: the trusted side hands it file
descriptors only), and never runs student code itself.

It runs on the host, as root (``harness.sandbox.zygote`` starts it, with the student's
environment and the batch's seed, in a mount namespace where the Python installation,
the venv and this runtime are at the paths a sandbox shows: ``/opt/python``,
``/opt/venv``, ``/opt/harness``; so its modules, its memory map and ``sys.path``, which
every child inherits, name no host folder), because a child must *join* a sandbox that bubblewrap
has built: bubblewrap cannot adopt a running process, and a zygote inside a bubblewrap
sandbox cannot give each child a ``/proc`` of its own (bubblewrap, run as root, covers
``/proc/sys`` and friends in a mount namespace owned by the host, which locks any nested
``proc`` mount out; see SECURITY.md).  Each student process gets a bubblewrap sandbox of
its own, built exactly as before; the child enters its namespaces with ``setns``.

One connection to the listening socket per student process (``SOCK_SEQPACKET``: one
message per ``recvmsg``, file descriptors attached to the first)::

    trusted side -> {"argv": [...], "namespaces": [...]}  + fds: stdout, stderr, the
                    channel's socket, the sandbox's root folder, then one per namespace
                    of the new sandbox (all of its placeholder process)
    zygote child -> {"pid": C1, "seed": N}  the child, still outside, and the zygote's
                                      seed; the trusted side moves C1 into the sandbox's
                                      cgroup, then answers
    trusted side -> {"go": true}
    C1           -> {"started": C2}   C1 has joined the namespaces; C2, forked inside the
                                      sandbox's PID namespace, runs the runtime
    C1           -> {"exit": STATUS}  C2 ended (``os.waitpid``'s status)

C1 joins every namespace of the sandbox (mount, network, IPC, UTS, cgroup, PID for its
children, and the user namespace last, so that it holds no capability outside) and its
root (bubblewrap's command runs chrooted in its mount namespace), then forks C2, and
becomes uid and gid 1000 of the user namespace too, with no capability.  C2
becomes uid and gid 1000 of the user namespace (host root is unmapped there when
bubblewrap ran as an unprivileged uid), takes the pipes as its stdout and stderr,
starts a session and a session keyring of its own, drops every capability (bounding,
permitted, effective, inheritable, ambient), sets ``no_new_privs``, checks all of that
in ``/proc/self/status``, imports the runtime from the sandbox's ``/opt/harness``
(never the zygote's copy), tells C1 it is ready, and runs the runtime as the old
bootstrap would.  C1 waits for C2 and reports its status; if the
trusted side goes away, C1 kills C2.  Nothing goes back from a child to the zygote.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import importlib
import json
import os
import select
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from typing import Any

#: Namespaces a child joins, in the order it joins them (user last: see the docstring).
NAMESPACES = ("mnt", "net", "ipc", "uts", "cgroup", "pid", "user")
_CLONE = {
    "mnt": 0x00020000,
    "cgroup": 0x02000000,
    "uts": 0x04000000,
    "ipc": 0x08000000,
    "user": 0x10000000,
    "pid": 0x20000000,
    "net": 0x40000000,
}
RUNTIME_PARENT = "/opt/harness"  #: where the sandbox mounts the runtime (``sandbox.base``)
WORKDIR = "/tmp"  #: the student process's first working directory (bubblewrap's --chdir)
STUDENT_UID = 1000
MAX_FDS = 4 + len(NAMESPACES)
MAX_MESSAGE = 64 * 1024
#: The exit status of a child that could not set itself up (BSD's EX_SOFTWARE).
SETUP_FAILED = 70

_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_PR_CAPBSET_DROP = 24
_PR_SET_NO_NEW_PRIVS = 38
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_KEYCTL_JOIN_SESSION_KEYRING = 1
_SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}
_CAP_VERSION_3 = 0x20080522

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _prctl(option: int, arg: int = 0) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0), f"prctl({option})")


def die_with_parent(number: int) -> None:
    """Get signal ``number`` when the parent process ends (``PR_SET_PDEATHSIG``)."""
    _prctl(_PR_SET_PDEATHSIG, number)


# -- messages ------------------------------------------------------------------------------


def send(sock: socket.socket, message: dict[str, Any], fds: Sequence[int] = ()) -> None:
    data = json.dumps(message).encode()
    if fds:
        socket.send_fds(sock, [data], list(fds))
    else:
        sock.send(data)


def receive(
    sock: socket.socket, *, max_fds: int = 0, timeout: float | None = None
) -> tuple[dict[str, Any] | None, list[int]]:
    """One message and the descriptors that came with it; (None, []) when the peer is gone."""
    if timeout is not None:
        ready, _, _ = select.select([sock], [], [], timeout)
        if not ready:
            raise TimeoutError("no message")
    try:
        data, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, max(max_fds, 1))
    except (ConnectionError, OSError):
        return None, []
    if not data:
        for fd in fds:
            os.close(fd)
        return None, []
    if len(fds) > max_fds:
        for fd in fds[max_fds:]:
            os.close(fd)
        fds = fds[:max_fds]
    message = json.loads(data)
    if not isinstance(message, dict):
        raise ValueError("a message must be a JSON object")
    return message, fds


# -- the child ---------------------------------------------------------------------------


def close_fds_except(keep: set[int]) -> None:
    """Close every descriptor of this process but ``keep``."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)


def drop_privileges(last_cap: int) -> None:
    """No capability in any set, none to regain (bounding set empty, no_new_privs)."""
    for cap in range(last_cap + 1):
        _prctl(_PR_CAPBSET_DROP, cap)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [
            ("effective", ctypes.c_uint32),
            ("permitted", ctypes.c_uint32),
            ("inheritable", ctypes.c_uint32),
        ]

    header = Header(_CAP_VERSION_3, 0)
    data = (Data * 2)()
    _check(_libc.capset(ctypes.byref(header), ctypes.byref(data)), "capset")
    _prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL)
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)


def become_student_uid() -> None:
    """Become uid and gid 1000 of the joined user namespace, where bubblewrap ran as an
    unprivileged host uid (1000 maps to it; the host's root is no one in there)."""
    if os.getuid() != STUDENT_UID or os.getgid() != STUDENT_UID:
        os.setresgid(STUDENT_UID, STUDENT_UID, STUDENT_UID)
        os.setresuid(STUDENT_UID, STUDENT_UID, STUDENT_UID)


def verify_unprivileged() -> None:
    """Refuse to go on unless ``/proc/self/status`` shows no capability at all."""
    status = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            status[key] = value.split()
    for key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        if int(status[key][0], 16) != 0:
            raise PermissionError(f"{key} is {status[key][0]} in the student process")
    if status["NoNewPrivs"] != ["1"]:
        raise PermissionError("no_new_privs is not set in the student process")
    for key in ("Uid", "Gid"):
        if {int(u) for u in status[key]} != {STUDENT_UID}:
            raise PermissionError(f"the student process runs as {key.lower()} {status[key]}")


def _join(root: int, fds: dict[str, int]) -> None:
    os.setgroups([])
    for name in NAMESPACES:
        _check(_libc.setns(fds[name], _CLONE[name]), f"setns({name})")
        if name == "mnt":
            os.fchdir(root)
            os.chroot(".")
            os.chdir("/")


def _student(
    out: int, err: int, channel: int, argv: list[str], last_cap: int, ready: int
) -> None:
    """C2: inside the sandbox's namespaces; becomes the student process.  Never returns.

    It writes ``1`` to ``ready`` once it is set up, or why it could not be."""
    try:
        die_with_parent(signal.SIGKILL)
        become_student_uid()
        die_with_parent(signal.SIGKILL)  # (a change of uid clears the death signal)
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        close_fds_except({0, 1, 2, channel, ready})
        os.setsid()
        number = _SYS_KEYCTL.get(os.uname().machine)
        if number is not None:  # a session keyring of its own, not the harness's
            _libc.syscall(number, _KEYCTL_JOIN_SESSION_KEYRING, None)
        drop_privileges(last_cap)
        _prctl(_PR_SET_DUMPABLE, 1)
        verify_unprivileged()
        os.chdir(WORKDIR)
        # The runtime as the old bootstrap imports it: from the sandbox, never the copy
        # the zygote was started from (its paths are the host's, and its modules must be
        # fresh for every student).
        for name in list(sys.modules):
            if name == "harness_runtime" or name.startswith("harness_runtime."):
                del sys.modules[name]
        sys.path.insert(0, RUNTIME_PARENT)
        importlib.invalidate_caches()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        from harness_runtime.serve import main  # type: ignore[import-not-found]

        os.write(ready, b"1")
        os.close(ready)
    except BaseException as exc:
        with contextlib.suppress(BaseException):
            os.write(ready, f"{type(exc).__name__}: {exc}"[:2000].encode())
        os._exit(SETUP_FAILED)
    main([*argv, "--channel-fd", str(channel)])
    os._exit(0)


def _child(
    conn: socket.socket, fds: list[int], request: dict[str, Any], last_cap: int, seed: int
) -> int:
    """C1: joins the sandbox, forks the student process, reports how it ends."""
    close_fds_except({conn.fileno(), *fds})
    null = os.open(os.devnull, os.O_RDWR)  # 0, 1 and 2 taken: no new fd may land there
    for fd in (0, 1, 2):
        if fd != null:
            os.dup2(null, fd)
    if null > 2:
        os.close(null)
    names = list(request["namespaces"])
    if names != list(NAMESPACES) or len(fds) != 4 + len(names):
        raise ValueError(
            f"a request must carry stdout, stderr, the channel, the root and {NAMESPACES}"
        )
    out, err, channel, root = fds[:4]
    namespaces = dict(zip(names, fds[4:], strict=True))
    argv = [str(a) for a in request["argv"]]
    send(conn, {"pid": os.getpid(), "seed": seed})
    go, _ = receive(conn, timeout=60.0)
    if not go or go.get("go") is not True:
        return 1
    _join(root, namespaces)
    for fd in (root, *namespaces.values()):
        os.close(fd)
    ready_r, ready_w = os.pipe()
    student = os.fork()
    if student == 0:
        conn.close()
        os.close(ready_r)
        _student(out, err, channel, argv, last_cap, ready_w)
    for fd in (out, err, channel, ready_w):
        os.close(fd)
    become_student_uid()  # no process in the sandbox's cgroup is the host's root
    drop_privileges(last_cap)
    with os.fdopen(ready_r, "rb") as f:
        answer = f.read(4096)
    if answer != b"1":
        os.waitpid(student, 0)
        why = answer.decode(errors="replace") or "it ended"
        send(conn, {"error": f"the student process could not enter the sandbox: {why}"})
        return 1
    send(conn, {"started": student})
    pidfd = os.pidfd_open(student)
    while True:
        ready, _, _ = select.select([pidfd, conn.fileno()], [], [])
        if pidfd in ready:
            break
        message, _ = receive(conn)
        if message is None or message.get("kill"):
            # The trusted side is gone (or asks): nothing may outlive it.
            with contextlib.suppress(ProcessLookupError):
                os.kill(student, signal.SIGKILL)
            break
    _, status = os.waitpid(student, 0)
    with contextlib.suppress(OSError):
        send(conn, {"exit": status})
    return 0


# -- the server ------------------------------------------------------------------------------


def _preload() -> list[str]:
    loaded = []
    # torch._dynamo: torch.optim imports it on a process's first step (about a second).
    for name in ("numpy", "torch", "torch._dynamo"):
        try:
            importlib.import_module(name)
        except ImportError:
            continue
        loaded.append(name)
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        raise RuntimeError("CUDA was initialised before forking")
    return loaded


def freeze() -> None:
    """Move every object imported so far out of the garbage collector's reach: a child's
    collections then neither walk torch's objects (a tenth of a second each) nor write to
    their pages (which would copy them)."""
    gc.collect()
    gc.freeze()


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))


def _reap() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass


Child = Callable[[socket.socket, list[int], dict[str, Any]], int]


def serve(listener: socket.socket, child: Child, *, max_fds: int = MAX_FDS) -> None:
    """Fork ``child(conn, fds, request)`` for every request on ``listener`` (its return
    value is the child's exit status) until stdin, the lifeline, closes.  Also the loop of
    the trusted side's fork server (``harness.checks.worker``)."""
    while True:
        _reap()
        ready, _, _ = select.select([listener.fileno(), 0], [], [], 1.0)
        if 0 in ready and not os.read(0, 1):
            return  # the owner closed our lifeline (or died)
        if listener.fileno() not in ready:
            continue
        try:
            conn, _ = listener.accept()
        except OSError:
            continue
        fds: list[int] = []
        try:
            request, fds = receive(conn, max_fds=max_fds, timeout=10.0)
            if request is None:
                continue
            if _threads() != 1:
                raise RuntimeError(f"the fork server has {_threads()} threads: it must not fork")
            pid = os.fork()
            if pid == 0:
                code = SETUP_FAILED
                try:
                    listener.close()
                    code = child(conn, fds, request)
                except BaseException as exc:
                    with contextlib.suppress(BaseException):
                        send(conn, {"error": f"{type(exc).__name__}: {exc}"[:2000]})
                os._exit(code)
        except Exception as exc:
            with contextlib.suppress(Exception):
                send(conn, {"error": f"{type(exc).__name__}: {exc}"[:2000]})
        finally:
            conn.close()
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)


def ready(message: dict[str, Any]) -> None:
    """Tell the owner (one JSON line on stdout) whether this fork server is ready."""
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="harness_runtime.zygote")
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)  # PYTHONHASHSEED holds it; named here
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _prctl(_PR_SET_DUMPABLE, 0)
    listener = socket.socket(fileno=args.control_fd)
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last_cap = int(f.read())
    message: dict[str, Any] = {"pid": os.getpid()}
    try:
        message["preloaded"] = _preload()
        if _threads() != 1:
            raise RuntimeError(f"{_threads()} threads after the imports: forking is unsafe")
        freeze()
        message["ok"] = True
    except Exception as exc:
        message["error"] = f"{type(exc).__name__}: {exc}"
    ready(message)
    if message.get("ok"):
        serve(
            listener, lambda conn, fds, request: _child(conn, fds, request, last_cap, args.seed)
        )

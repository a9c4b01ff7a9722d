"""The two zygote designs of issue 15, measured: what one student process costs to start.

    .venv/bin/python benchmarks/zygote_designs.py [--starts N]

old       bubblewrap, then Python, then ``import torch`` in the student process (the path
          every student process took before the zygote)
setns     the design kept (``harness.sandbox.zygote``): bubblewrap builds the sandbox
          around a placeholder; a child of the zygote (torch imported) joins its
          namespaces with setns, drops every privilege and answers
nested    the other design: the zygote lives inside one bubblewrap sandbox that may create
          user namespaces, and each child unshares user, mount, PID, network, IPC and UTS
          namespaces of its own, mounts its own /proc and /tmp, drops its privileges.  As
          root it cannot be built at all: bubblewrap run by root covers /proc/sys and
          three other folders in a mount namespace owned by the host, so no nested /proc
          can ever be mounted (EPERM, shown below).  Its cost is measured the only way it
          runs: bubblewrap started as an unprivileged user (nobody), the system's Python,
          no torch (the fork of a torch-sized process is in the setns row)

Each row: the median and the slowest of N starts, in milliseconds, until the student
process answers (old and setns: a ``hello`` over the channel, torch imported; nested: the
child has finished its setup and exited).  One run on a shared machine: compare rows.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.sandbox import SandboxLimits, prepare_runtime  # noqa: E402
from harness.sandbox.bwrap import BwrapSandbox  # noqa: E402
from harness.session import StudentSession  # noqa: E402

LIMITS = SandboxLimits(
    memory=1024**3, cpu_time=60, processes=64, file_size=32 * 1024**2, output=8192
)

#: The nested design's child, run N times inside one bubblewrap sandbox.
NESTED = textwrap.dedent(
    r"""
    import ctypes, json, os, statistics, sys, time
    libc = ctypes.CDLL(None, use_errno=True)
    NS = dict(mnt=0x20000, uts=0x4000000, ipc=0x8000000, user=0x10000000, pid=0x20000000,
              net=0x40000000, cgroup=0x2000000)
    def check(result, what):
        if result != 0:
            raise OSError(ctypes.get_errno(), what)
    def write(path, text):
        with open(path, "w") as f:
            f.write(text)
    def child():
        uid, gid = os.getuid(), os.getgid()
        check(libc.unshare(NS["user"] | NS["mnt"] | NS["pid"] | NS["net"] | NS["ipc"]
                           | NS["uts"]), "unshare")
        write("/proc/self/setgroups", "deny")
        write("/proc/self/uid_map", f"{uid} {uid} 1")
        write("/proc/self/gid_map", f"{gid} {gid} 1")
        inner = os.fork()
        if inner == 0:
            check(libc.mount(b"none", b"/", None, 16384 | (1 << 18), None), "private")
            check(libc.mount(b"proc", b"/proc", b"proc", 14, None), "mount /proc")
            check(libc.mount(b"tmpfs", b"/tmp", b"tmpfs", 6, b"size=32m"), "mount /tmp")
            check(libc.sethostname(b"sandbox", 7), "hostname")
            check(libc.unshare(NS["cgroup"]), "cgroup namespace")
            write("/proc/sys/user/max_user_namespaces", "0")
            for cap in range(41):
                libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP
            check(libc.prctl(38, 1, 0, 0, 0), "no_new_privs")
            os._exit(0)
        os._exit(os.waitstatus_to_exitcode(os.waitpid(inner, 0)[1]))
    times = []
    for _ in range(int(sys.argv[1])):
        began = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            try:
                child()
            except OSError as exc:
                sys.stderr.write(f"{exc}\n")
                os._exit(1)
        status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        if status != 0:
            print(json.dumps({"error": f"a child failed (exit {status})"}))
            sys.exit(0)
        times.append((time.perf_counter() - began) * 1000)
    print(json.dumps({"median": statistics.median(times), "max": max(times)}))
    """
)


def old_and_setns(starts: int, tmp: Path) -> dict[str, list[float]]:
    from harness.sandbox.zygote import ZygoteSandbox, student_zygote

    sub = tmp / "sub"
    sub.mkdir()
    (sub / "m.py").write_text("x = 1\n")
    runtime = prepare_runtime(tmp / "runtime")
    zygote = student_zygote(tmp / "zygote", seed=0)
    zygote.start()
    found: dict[str, list[float]] = {"old": [], "setns": []}
    try:
        backends = {"old": BwrapSandbox(), "setns": ZygoteSandbox(zygote.address)}
        for _ in range(starts):
            for name, sandbox in backends.items():
                session = StudentSession(
                    sandbox=sandbox, workdir=sub, runtime_parent=runtime, limits=LIMITS,
                    call_timeout=60.0, deadline=time.monotonic() + 300,
                )
                began = time.perf_counter()
                session.start()
                session.import_module("torch")
                found[name].append((time.perf_counter() - began) * 1000)
                session.close()
    finally:
        zygote.close()
    return found


def nested(starts: int, tmp: Path, *, as_user: str) -> str:
    script = tmp / "nested.py"
    script.write_text(NESTED)
    script.chmod(0o644)
    tmp.chmod(0o755)
    python = shutil.which("python3", path="/usr/bin") or "/usr/bin/python3"
    argv = ["bwrap", "--unshare-all", "--unshare-user", "--die-with-parent", "--new-session",
            "--cap-drop", "ALL", "--uid", "1000", "--gid", "1000", "--ro-bind", "/usr", "/usr"]
    for link in ("bin", "lib", "lib64", "sbin"):
        if Path("/", link).is_symlink():
            argv += ["--symlink", f"usr/{link}", f"/{link}"]
    argv += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--ro-bind", str(tmp), "/b",
             "--remount-ro", "/", python, "/b/nested.py", str(starts)]
    if as_user:
        argv = ["setpriv", f"--reuid={as_user}", f"--regid={as_user}", "--clear-groups", *argv]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    said = (done.stdout.strip().splitlines() or ["?"])[-1]
    if "error" in said:
        said += " " + " ".join(done.stderr.strip().splitlines()[-1:])
    return said


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--starts", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        found = old_and_setns(args.starts, Path(tmp))
        print(f"one student process, torch imported, {args.starts} starts (ms):")
        for name, times in found.items():
            print(f"  {name:<8} median {statistics.median(times):8.1f}   slowest {max(times):8.1f}")
        print(f"  nested   as root:           {nested(args.starts, Path(tmp), as_user='')}")
        print(f"  nested   as nobody (65534): {nested(args.starts, Path(tmp), as_user='65534')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

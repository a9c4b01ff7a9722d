"""The bubblewrap backend: namespaces, a read-only allow-listed file system, limits.

What the student process sees is built from an allow-list, never from ``/`` with
holes punched in it: the system's ``/usr``, a handful of files from ``/etc``, the
Python installation that runs the grader, the runtime package, the data sets the
assignment declares, and two size-capped tmpfs mounts (``/submission`` holding a
fresh copy of the submission, and ``/tmp``).  Network, IPC, PID, UTS and user
namespaces are all unshared, so there is no network and no other process in view.

Limits: memory and processes through a cgroup when the harness runs as root
(``harness.sandbox.cgroups``), otherwise an address-space rlimit; CPU time and file
size through rlimits the runtime sets on itself before it loads any student code;
wall-clock time by killing the whole tree (``--die-with-parent`` plus the cgroup).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ..errors import SandboxError
from .base import (
    CHANNEL_PATH,
    DATA_ROOT,
    RUNTIME_PARENT,
    SUBMISSION_DIR,
    Job,
    PopenRunning,
    runtime_args,
    student_env,
)
from .cgroups import Cgroup, Cgroups

#: Files and folders of /etc that programs legitimately read; nothing with secrets.
ETC_ALLOW = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "localtime",
    "nsswitch.conf",
    "passwd",
    "group",
    "fonts",
    "mime.types",
    "matplotlibrc",
)
SOURCE_DIR = "/opt/submission-source"
#: Virtual memory torch maps at import (3.2 GB seen); added to the rlimit fallback.
ADDRESS_SPACE_SLACK = 6 * 1024**3
#: CPUs a submission may use when cgroups are available: Docker's default (one), so a busy
#: submission cannot slow its neighbours down and the backends time alike.
CPUS = 1.0


def _python_roots() -> list[Path]:
    roots = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    roots.add(Path(os.path.realpath(sys.executable)).parent.parent)
    if Path(sys.prefix) != Path(sys.prefix).resolve():
        roots.add(Path(sys.prefix))
    return sorted(r for r in roots if not str(r).startswith("/usr"))


class BwrapSandbox:
    name = "bwrap"

    def __init__(self, *, executable: str | None = None, cgroups: Cgroups | None = None) -> None:
        found = executable or shutil.which("bwrap")
        if not found:
            raise SandboxError(
                "bubblewrap is not installed (apt-get install bubblewrap); "
                "use --sandbox docker, or --sandbox local for development only"
            )
        self.executable = found
        self._cgroups = cgroups if cgroups is not None else Cgroups()
        self._use_cgroups = self._cgroups.available()
        if self._use_cgroups:
            self._cgroups.remove_stale()

    @staticmethod
    def available() -> bool:
        if not shutil.which("bwrap"):
            return False
        probe = subprocess.run(
            ["bwrap", "--unshare-all", "--ro-bind", "/", "/", "true"],
            capture_output=True,
            timeout=20,
        )
        return probe.returncode == 0

    def describe(self) -> str:
        how = "cgroup" if self._use_cgroups else "rlimit (address space)"
        return (
            "bubblewrap: no network, read-only allow-listed file system, private tmpfs copy "
            f"of the submission; memory and processes limited by {how}"
            + (f", {CPUS:g} CPU by cgroup" if self._use_cgroups else "")
            + "; CPU time and file size by rlimit, wall clock by killing the process tree"
        )

    def command(self, job: Job) -> list[str]:
        args = [self.executable, *self.options(job), "--", sys.executable]
        args += runtime_args(
            job, runtime_parent=RUNTIME_PARENT, channel=CHANNEL_PATH, workdir=SUBMISSION_DIR
        )
        return args + self.backend_options(job)

    def backend_options(self, job: Job) -> list[str]:
        """The runtime's options that only this backend adds (after ``runtime_args``)."""
        args = ["--source", SOURCE_DIR]
        if not self._use_cgroups:
            args += ["--rlimit-as", str(job.limits.memory + ADDRESS_SPACE_SLACK)]
        return args

    def options(self, job: Job, *, channel: bool = True) -> list[str]:
        """bubblewrap's options for ``job``: the namespaces, the allow-listed file system
        (with the channel's socket bound in unless ``channel`` is False), the environment."""
        lim = job.limits
        args = [
            "--unshare-all",
            "--unshare-user",
            "--die-with-parent",
            "--new-session",
            "--disable-userns",
            "--cap-drop",
            "ALL",
            "--hostname",
            "sandbox",
            "--uid",
            "1000",
            "--gid",
            "1000",
            "--clearenv",
            "--ro-bind",
            "/usr",
            "/usr",
        ]
        for link in ("bin", "lib", "lib64", "sbin"):
            host = Path("/") / link
            if host.is_symlink():
                args += ["--symlink", os.readlink(host), f"/{link}"]
            elif host.is_dir():
                args += ["--ro-bind", str(host), f"/{link}"]
        # The tmpfs mounts come before the binds: a later mount hides an earlier one, and
        # the Python installation itself may live under /tmp (a CI checkout, say).
        args += ["--proc", "/proc", "--dev", "/dev"]
        args += ["--size", str(lim.file_size), "--tmpfs", "/tmp"]
        args += ["--size", str(lim.file_size), "--tmpfs", SUBMISSION_DIR]
        for name in ETC_ALLOW:
            if (Path("/etc") / name).exists():
                args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        for root in _python_roots():
            args += ["--ro-bind", str(root), str(root)]
        args += ["--ro-bind", str(job.runtime_parent), RUNTIME_PARENT]
        args += ["--ro-bind", str(job.workdir), SOURCE_DIR]
        if channel:
            args += ["--ro-bind", str(job.channel), CHANNEL_PATH]
        for name, host in job.data.items():
            args += ["--ro-bind", str(host), f"{DATA_ROOT}/{name}"]
        # Everything else (the skeleton bwrap builds /etc, /opt and /run in) read-only too.
        args += ["--remount-ro", "/"]
        args += ["--chdir", "/tmp"]
        for key, value in student_env(job, home="/tmp").items():
            args += ["--setenv", key, value]
        return args

    def start(self, job: Job) -> PopenRunning:
        command = self.command(job)
        split = command.index("--")
        proc, cgroup = self.launch(
            job, command[1:split], command[split + 1 :], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        return PopenRunning(
            proc,
            limits=job.limits,
            on_stop=cgroup.remove if cgroup else None,
            oom_check=cgroup.oom_killed if cgroup else None,
            kill_tree=cgroup.kill_all if cgroup else None,
            cpu_clock=cgroup.cpu_clock() if cgroup else None,
        )

    def launch(
        self,
        job: Job,
        options: list[str],
        command: list[str],
        *,
        stdout: int,
        stderr: int,
        pass_fds: tuple[int, ...] = (),
    ) -> tuple[subprocess.Popen[bytes], Cgroup | None]:
        """Start bubblewrap with ``options`` running ``command``, in a new cgroup of its own
        when cgroups are available."""
        # bubblewrap stays in the sandbox as its PID 1, where /proc/1/cmdline is readable:
        # its options go through a pipe, so that they do not show the host's paths (the
        # command after "--" names only paths inside the sandbox).
        read_end, write_end = os.pipe()
        try:
            os.write(write_end, b"".join(o.encode() + b"\0" for o in options))
        finally:
            os.close(write_end)
        argv = [self.executable, "--args", str(read_end), "--", *command]
        cgroup = None
        if self._use_cgroups:
            name = f"{job.label}-{os.getpid()}-{job.slot}-{os.urandom(3).hex()}"
            cgroup = self._cgroups.create(
                name, memory=job.limits.memory, processes=job.limits.processes, cpus=CPUS
            )
            # The shell joins the cgroup, then becomes bwrap: nothing runs outside it.
            joins = "; ".join(f"echo $$ > '{f}'" for f in cgroup.procs_files)
            argv = ["/bin/sh", "-c", f'{joins}; exec "$@"', "sh", *argv]
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
                env={"PATH": "/usr/bin:/bin"},
                pass_fds=(read_end, *pass_fds),
            )
        except OSError as exc:
            if cgroup is not None:
                cgroup.remove()
            raise SandboxError(f"could not start bubblewrap: {exc}") from exc
        finally:
            os.close(read_end)
        return proc, cgroup

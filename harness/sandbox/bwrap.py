"""The bubblewrap backend: namespaces, a read-only allow-listed file system, limits.

What the student process sees is built from an allow-list, never from ``/`` with
holes punched in it: the system's ``/usr``, a handful of files from ``/etc``, the
Python installation that runs the grader, the runtime package, the data sets the
assignment declares, and two size-capped tmpfs mounts (``/submission`` holding a
fresh copy of the submission, and ``/tmp``).  Network, IPC, PID, UTS and user
namespaces are all unshared, so there is no network and no other process in view.

No host path is in view either (``harness.sandbox.staging``): the Python installation and
the venv are hard-linked under a neutral folder and mounted at ``/opt/python`` and
``/opt/venv``; the runtime, the submission and the channel are copied (linked) into a
folder with a random name for each job.  When the harness runs as root, bubblewrap runs
as the unprivileged uid ``SANDBOX_UID`` (after joining the cgroup), so the student's uid
1000 maps to ``nobody`` outside, not to root.

Limits: memory and processes through a cgroup when the harness runs as root
(``harness.sandbox.cgroups``), otherwise an address-space rlimit; CPU time and file
size through rlimits the runtime sets on itself before it loads any student code;
wall-clock time by killing the whole tree (``--die-with-parent`` plus the cgroup).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
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
from .staging import interpreter, stage_job

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


#: The host uid bubblewrap runs as when the harness is root: the student's uid 1000
#: inside maps to it outside (``nobody``: it owns no file and no process of the harness).
SANDBOX_UID = 65534


@functools.lru_cache(maxsize=1)
def unprivileged_works(executable: str) -> bool:
    """Whether bubblewrap can build its sandbox as ``SANDBOX_UID`` here (as root only)."""
    if os.geteuid() != 0 or not shutil.which("setpriv", path="/usr/bin:/bin"):
        return False
    try:
        probe = subprocess.run(
            [*drop_to_sandbox_uid(), executable, "--unshare-all", "--ro-bind", "/", "/", "true"],
            capture_output=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def drop_to_sandbox_uid() -> list[str]:
    """The command prefix that runs the rest as ``SANDBOX_UID``, with no capability and
    no supplementary group."""
    setpriv = shutil.which("setpriv", path="/usr/bin:/bin") or "setpriv"
    ids = str(SANDBOX_UID)
    return [
        setpriv, f"--reuid={ids}", f"--regid={ids}", "--clear-groups", "--inh-caps=-all",
        "--bounding-set=-all", "--",
    ]


def _paths_note() -> str:
    python = interpreter()
    return "" if python.staged else f"; host paths visible inside ({python.problem})"


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
        #: bubblewrap runs as ``SANDBOX_UID`` (root grading only, where it works)
        self.unprivileged = unprivileged_works(self.executable)

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
            + ("; runs as an unprivileged uid" if self.unprivileged else "")
            + _paths_note()
        )

    def command(self, job: Job) -> list[str]:
        args = [self.executable, *self.options(job), "--", interpreter().executable]
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
        python = interpreter()
        for host, inside in python.binds:
            args += ["--ro-bind", str(host), inside]
        args += ["--ro-bind", str(job.runtime_parent), RUNTIME_PARENT]
        args += ["--ro-bind", str(job.workdir), SOURCE_DIR]
        if channel:
            args += ["--ro-bind", str(job.channel), CHANNEL_PATH]
        for name, host in job.data.items():
            args += ["--ro-bind", str(host), f"{DATA_ROOT}/{name}"]
        # Everything else (the skeleton bwrap builds /etc, /opt and /run in) read-only too.
        args += ["--remount-ro", "/"]
        args += ["--chdir", "/tmp"]
        for key, value in (student_env(job, home="/tmp") | python.env).items():
            args += ["--setenv", key, value]
        return args

    def start(self, job: Job) -> PopenRunning:
        # What is mounted gets neutral host paths first (mountinfo names a mount's source).
        job, unstage = stage_job(job)
        try:
            command = self.command(job)
            split = command.index("--")
            proc, cgroup = self.launch(
                job, command[1:split], command[split + 1 :], stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except BaseException:
            unstage()
            raise

        def on_stop() -> None:
            if cgroup is not None:
                cgroup.remove()
            unstage()

        return PopenRunning(
            proc,
            limits=job.limits,
            on_stop=on_stop,
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
        if self.unprivileged:
            argv = [*drop_to_sandbox_uid(), *argv]
        cgroup = None
        if self._use_cgroups:
            name = f"{job.label}-{os.getpid()}-{job.slot}-{os.urandom(3).hex()}"
            cgroup = self._cgroups.create(
                name, memory=job.limits.memory, processes=job.limits.processes, cpus=CPUS
            )
            # The shell joins the cgroup (as root), then becomes bwrap (as SANDBOX_UID
            # where it can): nothing runs outside it.
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
                cwd="/",  # (the shell puts its folder in PWD, which bubblewrap passes on)
                pass_fds=(read_end, *pass_fds),
            )
        except OSError as exc:
            if cgroup is not None:
                cgroup.remove()
            raise SandboxError(f"could not start bubblewrap: {exc}") from exc
        finally:
            os.close(read_end)
        return proc, cgroup

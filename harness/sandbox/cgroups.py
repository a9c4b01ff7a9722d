"""Per-process-tree memory, process and CPU limits through Linux control groups.

cgroup v2 (one unified tree) and v1 (one tree per controller, as on our machines)
are both handled.  Needs write access to the cgroup file system, which in practice
means running as root; ``Cgroups.available()`` says whether it can be used.  The CPU
quota is applied where the cpu controller is writable too (a submission then gets the
same one CPU as in a Docker container) and skipped, not failed, where it is not.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .cpuclock import CgroupCpuClock

ROOT = Path("/sys/fs/cgroup")
PARENT = "rnn-grader"
PERIOD_US = 100_000  #: the CFS period; the quota is cpus times this


def _write(path: Path, value: str) -> None:
    path.write_text(value)


def _tries(patience: float = 1.0) -> Iterator[None]:
    """Yield until ``patience`` seconds have passed, sleeping 1 ms between the first two
    tries and twice as long each time after, up to 20 ms: a process tree killed a moment
    ago is usually gone within milliseconds, and each stop of a sandbox waits on this."""
    deadline = time.monotonic() + patience
    delay = 0.001
    while True:
        yield
        if time.monotonic() >= deadline:
            return
        time.sleep(delay)
        delay = min(2 * delay, 0.02)


@dataclass
class Cgroup:
    """One control group (a directory per v1 controller, one directory on v2)."""

    dirs: tuple[Path, ...]
    memory_dir: Path | None
    version: int
    #: the directory whose CPU accounting covers exactly this group's processes
    cpuacct_dir: Path | None = None

    def cpu_clock(self) -> CgroupCpuClock | None:
        return CgroupCpuClock(self.cpuacct_dir) if self.cpuacct_dir is not None else None

    @property
    def procs_files(self) -> tuple[Path, ...]:
        return tuple(d / "cgroup.procs" for d in self.dirs)

    def pids(self) -> set[int]:
        found: set[int] = set()
        for f in self.procs_files:
            with contextlib.suppress(OSError):
                found.update(int(p) for p in f.read_text().split())
        return found

    def add(self, pid: int) -> None:
        """Move the process ``pid`` (all its threads) into this group."""
        for f in self.procs_files:
            _write(f, str(pid))

    def oom_killed(self) -> bool:
        if self.memory_dir is None:
            return False
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        with contextlib.suppress(OSError):
            for line in (self.memory_dir / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and int(value) > 0:
                    return True
        return False

    def kill_all(self) -> None:
        if self.version == 2 and (self.dirs[0] / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                _write(self.dirs[0] / "cgroup.kill", "1")
        for _ in _tries():
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)

    def remove(self) -> None:
        self.kill_all()
        for d in self.dirs:
            for _ in _tries():
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    continue


class Cgroups:
    """Creates control groups under ``/sys/fs/cgroup/.../rnn-grader/``."""

    def __init__(self, root: Path = ROOT) -> None:
        self.root = root
        self.version = 2 if (root / "cgroup.controllers").exists() else 1

    def available(self) -> bool:
        if os.geteuid() != 0:
            return False
        if self.version == 2:
            controllers = (self.root / "cgroup.controllers").read_text().split()
            return {"memory", "pids"} <= set(controllers) and os.access(self.root, os.W_OK)
        return all(os.access(self.root / c, os.W_OK) for c in ("memory", "pids"))

    def remove_stale(self) -> None:
        """Remove groups left by harness processes that died (named ``label-PID-...``)."""
        parents = (
            [self.root / PARENT]
            if self.version == 2
            else [self.root / c / PARENT for c in ("memory", "pids", "cpu", "cpuacct")]
        )
        for parent in parents:
            if not parent.is_dir():
                continue
            for d in parent.iterdir():
                fields = d.name.split("-")
                if not d.is_dir() or len(fields) < 3 or not fields[-3].isdigit():
                    continue
                if not Path(f"/proc/{fields[-3]}").exists():
                    Cgroup(dirs=(d,), memory_dir=None, version=self.version).remove()

    def create(
        self, name: str, *, memory: int, processes: int, cpus: float | None = None
    ) -> Cgroup:
        quota = str(int(cpus * PERIOD_US)) if cpus else ""
        if self.version == 2:
            parent = self.root / PARENT
            parent.mkdir(exist_ok=True)
            for d in (self.root, parent):
                for controller in ("+memory +pids", "+cpu"):
                    with contextlib.suppress(OSError):
                        _write(d / "cgroup.subtree_control", controller)
            d = parent / name
            d.mkdir(exist_ok=True)
            _write(d / "memory.max", str(memory))
            with contextlib.suppress(OSError):
                _write(d / "memory.swap.max", "0")
            _write(d / "pids.max", str(processes))
            if quota and (d / "cpu.max").exists():
                _write(d / "cpu.max", f"{quota} {PERIOD_US}")
            return Cgroup(dirs=(d,), memory_dir=d, version=2, cpuacct_dir=d)
        mem = self.root / "memory" / PARENT / name
        pids = self.root / "pids" / PARENT / name
        mem.mkdir(parents=True, exist_ok=True)
        pids.mkdir(parents=True, exist_ok=True)
        _write(mem / "memory.limit_in_bytes", str(memory))
        if (mem / "memory.memsw.limit_in_bytes").exists():
            with contextlib.suppress(OSError):
                _write(mem / "memory.memsw.limit_in_bytes", str(memory))
        _write(pids / "pids.max", str(processes))
        dirs: tuple[Path, ...] = (mem, pids)
        if quota and os.access(self.root / "cpu", os.W_OK):
            cpu = self.root / "cpu" / PARENT / name
            cpu.mkdir(parents=True, exist_ok=True)
            _write(cpu / "cpu.cfs_period_us", str(PERIOD_US))
            _write(cpu / "cpu.cfs_quota_us", quota)
            dirs += (cpu,)
        acct: Path | None = None
        for controller in ("cpuacct", "cpu"):  # separate mounts, or cpu,cpuacct together
            base = self.root / controller
            if os.access(base, os.W_OK) and (base / "cpuacct.usage").exists():
                acct = base / PARENT / name
                acct.mkdir(parents=True, exist_ok=True)
                if acct not in dirs:
                    dirs += (acct,)
                break
        return Cgroup(dirs=dirs, memory_dir=mem, version=1, cpuacct_dir=acct)

    def cpu_quota(self, group: Cgroup) -> float | None:
        """The CPUs ``group`` may use (None: no quota)."""
        for d in group.dirs:
            if self.version == 2 and (d / "cpu.max").exists():
                quota, period = (d / "cpu.max").read_text().split()
                return None if quota == "max" else int(quota) / int(period)
            if (d / "cpu.cfs_quota_us").exists():
                quota_us = int((d / "cpu.cfs_quota_us").read_text())
                period_us = int((d / "cpu.cfs_period_us").read_text())
                return None if quota_us < 0 else quota_us / period_us
        return None

"""How much CPU time a student's process tree has used: what its time limits count.

Wall-clock time depends on what else the machine is doing; CPU time does not.  A call
that needs 4 s of CPU on a quiet machine takes 10 s of wall time beside a CPU-heavy
neighbour, but still 4 s of CPU, so limits that judge the student count CPU time (as
isolate and CMS do), and a wall-clock backstop several times larger catches code that
sleeps or blocks.  Time spent waiting for the grader to read a flood of output is
blocked time, not CPU time, so it is not charged either.

Three clocks, best first:

- ``CgroupCpuClock``: the kernel's accounting for a control group that holds the whole
  tree and nothing else (bubblewrap as root, and Docker containers);
- ``ProcessTreeCpuClock``: user and system time of a process and its live descendants
  from ``/proc`` (children that ended and were waited for are included by the kernel in
  their parent's ``cutime``/``cstime``);
- none (``None``): the limits fall back to wall-clock time.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Protocol

CGROUP_ROOT = Path("/sys/fs/cgroup")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class CpuClock(Protocol):
    def seconds(self) -> float | None:
        """CPU seconds (user + system) used so far; None when it cannot be read."""
        ...


class CgroupCpuClock:
    """Reads a control group's CPU accounting (v1 ``cpuacct.usage``, v2 ``cpu.stat``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._last = 0.0

    def seconds(self) -> float | None:
        try:
            if (self.directory / "cpuacct.usage").exists():
                value = int((self.directory / "cpuacct.usage").read_text()) / 1e9
            else:
                stat = (self.directory / "cpu.stat").read_text().split()
                value = int(stat[stat.index("usage_usec") + 1]) / 1e6
        except (OSError, ValueError, IndexError):
            # The group is gone once its processes ended and it was removed: the last
            # reading is the total.
            return self._last
        self._last = max(self._last, value)
        return self._last

    @classmethod
    def of_pid(cls, pid: int, root: Path = CGROUP_ROOT) -> CgroupCpuClock | None:
        """The clock of the group that accounts ``pid``'s CPU time, if it can be read."""
        try:
            lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
        except OSError:
            return None
        for line in lines:
            _, controllers, path = line.split(":", 2)
            names = controllers.split(",")
            if "cpuacct" in names:
                for mount in (",".join(names), "cpuacct", "cpu,cpuacct"):
                    d = root / mount / path.lstrip("/")
                    if (d / "cpuacct.usage").exists():
                        return cls(d)
            if controllers == "" and (root / "cgroup.controllers").exists():
                d = root / path.lstrip("/")
                if (d / "cpu.stat").exists():
                    return cls(d)
        return None


class ProcessTreeCpuClock:
    """Sums ``/proc/<pid>/stat`` times over a process and its live descendants.

    The descendants are found through ``/proc/<pid>/task/<tid>/children`` (a few reads per
    process of the tree), or, where the kernel has no such files, by reading every
    process's parent from ``/proc`` (hundreds of reads: a tenth of a second on a busy
    machine, read at every call into student code)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._last = 0.0
        self._children_files = Path(f"/proc/{pid}/task/{pid}/children").exists()

    def seconds(self) -> float | None:
        times = self._tree_times() if self._children_files else self._scan_times()
        if self.pid not in times:
            return self._last
        # Processes that ended take their time with them until their parent waits for
        # them: never let the clock run backwards.
        self._last = max(self._last, sum(times.values()))
        return self._last

    def _tree_times(self) -> dict[int, float]:
        times: dict[int, float] = {}
        queue = [self.pid]
        while queue:
            pid = queue.pop()
            if pid in times:
                continue
            stat = _stat_fields(Path(f"/proc/{pid}/stat"))
            if stat is None:
                continue
            times[pid] = sum(int(f) for f in stat[11:15]) / _TICKS
            with contextlib.suppress(OSError):
                for task in os.listdir(f"/proc/{pid}/task"):
                    with contextlib.suppress(OSError, ValueError):
                        text = Path(f"/proc/{pid}/task/{task}/children").read_text()
                        queue.extend(int(c) for c in text.split())
        return times

    def _scan_times(self) -> dict[int, float]:
        parents: dict[int, int] = {}
        times: dict[int, float] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            fields = _stat_fields(Path(entry.path, "stat"))
            if fields is not None:
                pid = int(entry.name)
                parents[pid] = int(fields[1])
                times[pid] = sum(int(f) for f in fields[11:15]) / _TICKS
        if self.pid not in times:
            return {}
        tree = {self.pid}
        grew = True
        while grew:
            found = {p for p, parent in parents.items() if parent in tree} - tree
            grew = bool(found)
            tree |= found
        return {p: times[p] for p in tree}


def _stat_fields(path: Path) -> list[str] | None:
    """The fields of a ``/proc/<pid>/stat`` after the command name (None: gone)."""
    try:
        text = path.read_text()
        # The command name may hold spaces and parentheses: split after the last ")".
        return text[text.rindex(")") + 2 :].split()
    except (OSError, ValueError):
        return None

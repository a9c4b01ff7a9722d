"""What a grading batch may leave on the machine: processes, control groups, containers.

``Snapshot.take()`` before a batch, ``snapshot.leftovers(...)`` after: what is new and
still there.  Other people's harnesses may run on the same machine at the same time, so
only what carries this batch's markers (in a command line) or belongs to a harness
process that has died counts.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_PARENT = "rnn-grader"


def processes_with(markers: list[bytes]) -> dict[int, str]:
    """pid -> command line of every process whose command line holds one of ``markers``."""
    found = {}
    own = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == own:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if any(m in cmdline for m in markers):
            found[int(entry.name)] = cmdline.replace(b"\0", b" ").decode(errors="replace")
    return found


def _cgroup_dirs() -> set[Path]:
    found: set[Path] = set()
    parents = [CGROUP_ROOT / CGROUP_PARENT] + [
        CGROUP_ROOT / c / CGROUP_PARENT for c in ("memory", "pids", "cpu", "cpu,cpuacct")
    ]
    for parent in parents:
        with contextlib.suppress(OSError):
            found.update(d for d in parent.iterdir() if d.is_dir())
    return found


def _owner_alive(cgroup: Path) -> bool:
    # Named <label>-<harness pid>-<slot>-<random> (harness.sandbox.cgroups).
    fields = cgroup.name.split("-")
    return len(fields) >= 3 and fields[-3].isdigit() and Path(f"/proc/{fields[-3]}").exists()


def _containers() -> dict[str, str]:
    """id -> name of every container whose harness (on this machine) has died."""
    try:
        from harness.sandbox import docker as backend

        if backend.unavailable_reason() is not None:
            return {}
        client = backend.connect()
    except Exception:
        return {}
    try:
        infos = client.api.containers(all=True, filters={"label": backend.OWNER_PID})
        return {
            i["Id"]: (i.get("Names") or ["?"])[0]
            for i in infos
            if i["Labels"].get(backend.OWNER_HOST) == socket.gethostname()
            and not Path(f"/proc/{i['Labels'][backend.OWNER_PID]}").exists()
        }
    finally:
        client.close()


@dataclass
class Snapshot:
    cgroups: set[Path] = field(default_factory=set)
    containers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def take(cls) -> Snapshot:
        return cls(cgroups=_cgroup_dirs(), containers=_containers())

    def leftovers(self, markers: list[bytes], *, settle: float = 3.0) -> dict[str, list[str]]:
        """What the batch left: processes carrying ``markers``, new control groups of dead
        harnesses, new containers.  Waits up to ``settle`` seconds for stragglers."""
        deadline = time.monotonic() + settle
        while True:
            found = {
                "processes": [
                    f"{pid}: {cmd[:300]}" for pid, cmd in processes_with(markers).items()
                ],
                "cgroups": sorted(
                    str(d) for d in _cgroup_dirs() - self.cgroups if not _owner_alive(d)
                ),
                "containers": sorted(
                    name for cid, name in _containers().items() if cid not in self.containers
                ),
            }
            if not any(found.values()) or time.monotonic() > deadline:
                return found
            time.sleep(0.2)


def kill(markers: list[bytes]) -> list[int]:
    """SIGKILL the processes this batch started and left behind (found by its markers)."""
    killed = []
    for pid in processes_with(markers):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    return killed

"""The memory a student process needs before it runs any student code: importing torch and
torchvision (and numpy), as every grading of this project's assignments does.

    .venv/bin/python benchmarks/import_memory.py [--runs 3]

Runs ``python -c "import numpy, torch, torchvision"`` in a fresh cgroup v1 memory controller
(as root, like the bubblewrap backend's cgroups, shared/FACTS.md) and prints the peak the
cgroup charged (``memory.max_usage_in_bytes``: resident memory and the page cache of the
files read, what a memory limit counts). The least ``--memory`` the harness accepts
(``harness/units.py``: 512 MiB) sits above it, so a typo such as ``--memory 1K`` is refused
instead of giving every student an out-of-memory zero.

Measured here (2026-12, torch 2.14.1, torchvision 0.29.1, Python 3.11): 369 MiB in each of
three runs. Pages another process had already read are charged to that process's cgroup, not
this one, so a cold machine may charge somewhat more: the 512 MiB floor leaves room for it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup/memory")
IMPORTS = "import numpy, torch, torchvision"


def peak_mib(python: str) -> float:
    """The cgroup's peak charge while ``python`` imports the libraries, in MiB."""
    group = CGROUP / f"import-memory-{os.getpid()}"
    group.mkdir()
    try:
        # The child joins the cgroup before it execs Python: everything it loads is charged.
        def join() -> None:
            (group / "cgroup.procs").write_text(str(os.getpid()))

        subprocess.run([python, "-c", IMPORTS], check=True, preexec_fn=join)
        return int((group / "memory.max_usage_in_bytes").read_text()) / 2**20
    finally:
        group.rmdir()  # empty again: the child has exited


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args(argv)
    if not (CGROUP / "cgroup.procs").exists() or os.geteuid() != 0:
        print("needs root and a cgroup v1 memory controller at /sys/fs/cgroup/memory")
        return 1
    peaks = [peak_mib(args.python) for _ in range(args.runs)]
    print(f"{IMPORTS}: peak {max(peaks):.0f} MiB of a memory cgroup ", end="")
    print(f"(runs: {', '.join(f'{p:.0f}' for p in peaks)} MiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Time limits count the student's CPU time, so a busy machine does not change a verdict.

A CPU-heavy neighbour slows a student's code down in wall-clock time, not in CPU time:
the limits judge the CPU time (the cgroup's accounting, or /proc), and a wall-clock
backstop several times larger ends code that sleeps.
"""

import contextlib
import os
import shutil
import subprocess
import sys
import time
import tomllib
import warnings
from pathlib import Path

import pytest
from conftest import BACKENDS, require

from harness import api
from harness.errors import UnsafeSandboxWarning
from harness.sandbox.cpuclock import ProcessTreeCpuClock
from harness.session import WALL_FACTOR, StudentTimeout

ROOT = Path(__file__).resolve().parent.parent

BURNER = """
import time


def burn(seconds):
    began = time.process_time()
    while time.process_time() - began < seconds:
        pass
    return time.process_time() - began


def nap(seconds):
    time.sleep(seconds)
"""

HOG = "while True:\n    pass\n"


@contextlib.contextmanager
def hogs(count: int, *, cpu: int | None = None):
    """``count`` processes that spin forever (on ``cpu`` only, if given), ended on exit."""
    procs = []
    try:
        for _ in range(count):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", HOG],
                    preexec_fn=(lambda: os.sched_setaffinity(0, {cpu}))
                    if cpu is not None
                    else None,
                )
            )
        yield procs
    finally:
        for p in procs:
            p.kill()
            p.wait()


@contextlib.contextmanager
def pinned(cpu: int):
    """This process, and every process it starts, on one CPU."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def test_the_process_tree_clock_counts_descendants():
    # A parent that only waits, and a grandchild that burns 0.6 s, then sleeps.
    grandchild = BURNER + "\nburn(0.6)\nprint('done', flush=True)\nnap(60)\n"
    parent = f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {grandchild!r}])\n"
    with subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE) as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline() == b"done\n"
            reading = ProcessTreeCpuClock(proc.pid).seconds()
        finally:
            for p in _descendants(proc.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p, 9)
            proc.kill()
    assert reading is not None and reading >= 0.6


def _descendants(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError):
                stat = (entry / "stat").read_text()
                if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


@pytest.mark.sandbox
@pytest.mark.parametrize("name", BACKENDS)
def test_cpu_time_is_measured(make_session, name):
    session = make_session(require(name), {"burner.py": BURNER})
    mod = session.load("burner.py")
    used = session.fetch(mod.burn(0.5))
    assert used >= 0.5
    assert session._running is not None
    cpu = session._running.cpu_seconds()
    assert cpu is not None, f"{name} cannot measure CPU time"
    assert cpu >= 0.5
    assert session.spent() >= 0.5


@pytest.mark.sandbox
@pytest.mark.parametrize("name", BACKENDS)
def test_a_loop_is_stopped_by_its_cpu_time(make_session, name):
    session = make_session(require(name), {"burner.py": BURNER}, call_timeout=2.0)
    mod = session.load("burner.py")
    with pytest.raises(
        StudentTimeout,
        match=r"did not finish within 2 s while calling burn: it used 2 s of CPU time",
    ):
        mod.burn(1000)


@pytest.mark.sandbox
@pytest.mark.parametrize("name", BACKENDS)
def test_sleeping_code_is_stopped_by_the_wall_clock_backstop(make_session, name):
    session = make_session(require(name), {"burner.py": BURNER}, call_timeout=1.0)
    mod = session.load("burner.py")
    began = time.monotonic()
    with pytest.raises(StudentTimeout, match="without using its 1 s of CPU time"):
        mod.nap(1000)
    assert time.monotonic() - began >= WALL_FACTOR * 1.0


@pytest.mark.sandbox
@pytest.mark.parametrize("name", ["bwrap", "local"])
def test_a_busy_neighbour_does_not_stop_honest_code(make_session, name, monkeypatch):
    # The student process shares one CPU with two spinning neighbours, so it gets about a
    # third of it: 1.5 s of CPU takes about 4.5 s of wall time, over the 3 s limit. The
    # wall-clock backstop (tested above) is moved out of the way: how far a loaded machine
    # stretches the wall time is not what this test is about.
    monkeypatch.setattr("harness.session.WALL_FACTOR", 100.0)
    sandbox = require(name)
    cpu = min(os.sched_getaffinity(0))
    with pinned(cpu), hogs(2, cpu=cpu):
        session = make_session(sandbox, {"burner.py": BURNER}, call_timeout=3.0, budget=600)
        mod = session.load("burner.py")
        used = session.fetch(mod.burn(1.5))
    assert 1.5 <= used < 3.0


#: The examples whose verdicts once depended on the machine's load (print-flood was timed
#: out beside other work), and the ones that time out on purpose.
TIMING_SENSITIVE = ("correct", "print-flood", "hangs-in-step", "hangs-at-import")


@pytest.mark.sandbox
@pytest.mark.slow
def test_verdicts_do_not_change_beside_a_cpu_hog(tmp_path):
    folder = ROOT / "submissions" / "tiny-rnn"
    expected = tomllib.loads((folder / "expected.toml").read_text())
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in TIMING_SENSITIVE:
        shutil.copy(folder / f"{name}_tiny.zip", subs)
    sandbox = "bwrap" if require("bwrap") else "local"
    with hogs(2 * (os.cpu_count() or 1)), warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsafeSandboxWarning)
        batch = api.grade(
            submissions=subs, assignment="tiny-rnn", out=tmp_path / "out", sandbox=sandbox, jobs=2
        )
    got = {r.student_id: (str(r.status), r.score) for r in batch.results}
    want = {n: (expected[n]["status"], float(expected[n]["score"])) for n in TIMING_SENSITIVE}
    assert got == want

import atexit
import functools
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness.pipeline import WORKER_GRACE  # noqa: E402
from harness.sandbox import SandboxLimits, make_sandbox, prepare_runtime  # noqa: E402
from harness.session import WALL_FACTOR, StudentSession  # noqa: E402
from harness.spec import Limits  # noqa: E402

# A suite started in the background of a script (`bash .ci/run &`, nohup) inherits SIGINT
# ignored, and so would every grade.py it starts: the tests that press Ctrl-C on one (it must
# stop and exit 130) would see it finish instead.  Restored here, a handled signal is reset
# to its default in every child at exec, as a terminal's would be.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def bwrap_works() -> bool:
    from harness.sandbox.bwrap import BwrapSandbox

    return BwrapSandbox.available()


@functools.cache
def unavailable(name: str) -> str | None:
    """Why the backend ``name`` cannot run here (None when it can)."""
    if name == "bwrap":
        return (
            None
            if bwrap_works()
            else "bubblewrap is not available here (apt-get install bubblewrap)"
        )
    if name == "docker":
        from harness.sandbox.docker import unavailable_reason

        reason = unavailable_reason()
        return f"Docker: {reason} (see docker/README.md)" if reason else None
    if name == "zygote":
        from harness.sandbox.zygote import available

        return available()
    return None


def grading_timeout(limits: Limits, count: int, *, jobs: int = 2) -> float:
    """A pytest timeout for grading ``count`` submissions ``jobs`` at a time: each may use
    its whole wall-clock backstop, so a slow machine never fails the test; only a grader
    that outlives its own limits does."""
    per_submission = limits.timeout * WALL_FACTOR + WORKER_GRACE
    return math.ceil(count / jobs) * per_submission + 300


def require(name: str):
    """The backend ``name``; skipped with the reason where it cannot run, failed under CI."""
    reason = unavailable(name)
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"the {name} backend must work under CI: {reason}")
        pytest.skip(reason)
    if name == ZYGOTE:
        from harness.sandbox.zygote import ZygoteSandbox

        return ZygoteSandbox(_student_zygote().address)
    return make_sandbox(name)


_zygotes: list = []


def _student_zygote():
    """The run's one student zygote (seed 0, as ``make_session``'s sessions), started on
    first use and stopped when the run ends."""
    if not _zygotes:
        from harness.sandbox.zygote import student_zygote

        folder = Path(tempfile.mkdtemp(prefix="test-zygote-"))
        server = student_zygote(folder, seed=0)
        server.start()
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        atexit.register(server.close)
        _zygotes.append(server)
    return _zygotes[0]


DOCKER = pytest.param("docker", marks=pytest.mark.docker)
#: bubblewrap's sandbox entered by a child of the student zygote (harness.sandbox.zygote)
ZYGOTE = "zygote"
BACKENDS = ["bwrap", ZYGOTE, DOCKER, "local"]
#: The backends that isolate: the hostile-code tests run against each of them.
ISOLATING = ["bwrap", ZYGOTE, DOCKER]


@pytest.fixture(scope="session")
def runtime_parent(tmp_path_factory):
    return prepare_runtime(tmp_path_factory.mktemp("runtime"))


@pytest.fixture(scope="session")
def student_zygote():
    require(ZYGOTE)
    return _student_zygote()


@pytest.fixture(params=BACKENDS)
def backend(request):
    return require(request.param)


@pytest.fixture(params=ISOLATING)
def isolated(request):
    return require(request.param)


@pytest.fixture
def bwrap():
    return require("bwrap")


def small_limits(**changes) -> SandboxLimits:
    values = dict(
        memory=512 * 1024**2,
        cpu_time=60,
        processes=64,
        file_size=32 * 1024**2,
        output=8 * 1024,
    )
    values.update(changes)
    return SandboxLimits(**values)


@pytest.fixture
def make_session(tmp_path, runtime_parent):
    """Build a StudentSession over a folder holding the given files."""
    sessions = []

    def make(sandbox, files: dict[str, str], *, call_timeout=10.0, budget=60.0, **limits):
        sub = tmp_path / f"sub{len(sessions)}"
        sub.mkdir()
        for name, text in files.items():
            (sub / name).parent.mkdir(parents=True, exist_ok=True)
            (sub / name).write_text(text)
        session = StudentSession(
            sandbox=sandbox,
            workdir=sub,
            runtime_parent=runtime_parent,
            limits=small_limits(**limits),
            call_timeout=call_timeout,
            deadline=time.monotonic() + budget,
        )
        sessions.append(session)
        return session

    yield make
    for s in sessions:
        s.close()


@pytest.fixture
def copy_tree(tmp_path):
    def copy(src: Path, name: str) -> Path:
        dest = tmp_path / name
        shutil.copytree(src, dest)
        return dest

    return copy

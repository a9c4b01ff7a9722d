import os
import shutil
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness.sandbox import SandboxLimits, make_sandbox, prepare_runtime  # noqa: E402
from harness.session import StudentSession  # noqa: E402


def bwrap_works() -> bool:
    from harness.sandbox.bwrap import BwrapSandbox

    return BwrapSandbox.available()


BACKENDS = ["bwrap", "local"]


@pytest.fixture(scope="session")
def runtime_parent(tmp_path_factory):
    return prepare_runtime(tmp_path_factory.mktemp("runtime"))


@pytest.fixture(params=BACKENDS)
def backend(request):
    if request.param == "bwrap" and not bwrap_works():
        if os.environ.get("CI"):
            pytest.fail("bubblewrap must work under CI (apt-get install bubblewrap)")
        pytest.skip("bubblewrap is not available here")
    return make_sandbox(request.param)


@pytest.fixture
def bwrap():
    if not bwrap_works():
        if os.environ.get("CI"):
            pytest.fail("bubblewrap must work under CI (apt-get install bubblewrap)")
        pytest.skip("bubblewrap is not available here")
    return make_sandbox("bwrap")


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

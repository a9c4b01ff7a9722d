"""Issue 15: student processes forked from a zygote, and workers from a trusted one.

No state may pass from one student to the next: each test below has one student try to
leave something behind (a global, a file in /tmp, a monkeypatched torch function, an open
socket, a thread, a key, a System V segment, a process) and the next, started from the
same zygote while the first still runs and again after it ended, look for it.  The
zygote itself must stay out of every student's reach and hold nothing of any student.
The sandbox tests (tests/test_sandbox.py) run against the zygote's sandbox too
(``zygote`` in conftest's backends).  Real processes throughout; nothing is mocked.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
from pathlib import Path

import pytest
from conftest import require

from harness.sandbox.zygote import ZygoteSandbox
from harness.session import StudentCrashed

pytestmark = pytest.mark.sandbox
ROOT = Path(__file__).resolve().parent.parent

LEAVE = r'''
import builtins, ctypes, os, socket, subprocess, sys, threading, time
import numpy, torch

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

def leave(mark):
    """Everything a student could try to hand to the next one."""
    builtins.LEFT = numpy.LEFT = sys.LEFT = mark
    os.environ["LEFT"] = mark
    torch.allclose = lambda *a, **k: True
    torch.Tensor.__add__ = lambda self, other: "patched"
    numpy.allclose = lambda *a, **k: True
    for path in ("/tmp/left", "/submission/left", "/dev/shm/left"):
        with open(path, "w") as f:
            f.write(mark)
    tcp = socket.create_server(("127.0.0.1", 0))
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract.bind("\0left-" + mark)
    abstract.listen(1)
    builtins.KEEP = (tcp, abstract)
    def spin():
        while True:
            with open("/tmp/from-thread", "a") as f:
                f.write(mark)
            time.sleep(0.05)
    threading.Thread(target=spin, daemon=True, name="left-" + mark).start()
    subprocess.Popen(["/bin/sh", "-c", f"while :; do echo {mark} > /tmp/from-child; sleep 0.05; done"])
    key = libc.syscall(248, b"user", b"left", mark.encode(), len(mark), ctypes.c_long(-3))
    user_key = libc.syscall(248, b"user", b"left", mark.encode(), len(mark), ctypes.c_long(-4))
    shm = libc.shmget(0x1eff, 4096, 0o1666)  # IPC_CREAT | 0666
    return {"port": tcp.getsockname()[1], "key": key, "user_key": user_key, "shm": shm}

def found(mark, port):
    """What of ``leave(mark)`` this process can see."""
    seen = []
    for name, obj in (("builtins", builtins), ("numpy", numpy), ("sys", sys)):
        if getattr(obj, "LEFT", None) is not None:
            seen.append(f"a global in {name}")
    if "LEFT" in os.environ:
        seen.append("an environment variable")
    if torch.allclose(torch.zeros(1), torch.ones(1)):
        seen.append("a patched torch.allclose")
    total = torch.zeros(1) + torch.ones(1)
    if not isinstance(total, torch.Tensor) or total.tolist() != [1.0]:
        seen.append("a patched Tensor.__add__")
    if numpy.allclose(0, 1):
        seen.append("a patched numpy.allclose")
    for path in ("/tmp/left", "/submission/left", "/dev/shm/left", "/tmp/from-thread",
                 "/tmp/from-child"):
        if os.path.exists(path):
            seen.append(f"the file {path}")
    for family, address in ((socket.AF_INET, ("127.0.0.1", port)),
                            (socket.AF_UNIX, "\0left-" + mark)):
        probe = socket.socket(family, socket.SOCK_STREAM)
        try:
            probe.connect(address)
            seen.append(f"a socket at {address!r}")
        except OSError:
            pass
        finally:
            probe.close()
    names = [t.name for t in threading.enumerate()]
    if any(n.startswith("left-") for n in names) or len(os.listdir("/proc/self/task")) != 1:
        seen.append(f"threads {names}")
    for keyring in (-3, -4):  # session, user
        if libc.syscall(250, 10, ctypes.c_long(keyring), b"user", b"left", 0) >= 0:
            seen.append(f"a key in keyring {keyring}")  # KEYCTL_SEARCH found it
    if libc.shmget(0x1eff, 0, 0) >= 0:
        seen.append("a System V shared memory segment")
    others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) > os.getpid()]
    if others:
        seen.append(f"processes {others}")
    return seen

def fds():
    found = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            found[fd] = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            pass  # listdir's own
    return found

def shared_writable():
    return [line for line in open("/proc/self/maps") if line.split()[1] == "rw-s"]

def privileges():
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    unshare = libc.unshare(0x10000000)  # CLONE_NEWUSER
    return {k: status[k].strip() for k in ("CapEff", "CapPrm", "CapBnd", "NoNewPrivs")} | {
        "unshare_user": unshare, "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        "uid": os.getuid(), "ppid": os.getppid(), "cuda": torch.cuda.is_initialized(),
    }

def kill_everything():
    import signal
    for target in (1, -1):  # the sandbox's init, then every process it may signal
        try:
            os.kill(target, signal.SIGKILL)
        except OSError:
            pass
    return "alive"
'''


@pytest.fixture
def zygote(student_zygote):
    require("zygote")
    return ZygoteSandbox(student_zygote.address)


def test_nothing_passes_from_one_student_to_the_next(zygote, make_session):
    mark = secrets.token_hex(4)
    first = make_session(zygote, {"m.py": LEAVE})
    left = first.load("m.py").leave(mark)
    assert left["key"] > 0 and left["user_key"] > 0 and left["shm"] >= 0, left
    # The first one sees its own leftovers, so the probe works ...
    assert len(first.load("m.py").found(mark, left["port"])) >= 12
    # ... the next one, running beside it and after it, sees none of them.
    beside = make_session(zygote, {"m.py": LEAVE})
    assert beside.load("m.py").found(mark, left["port"]) == []
    first.close()
    after = make_session(zygote, {"m.py": LEAVE})
    assert after.load("m.py").found(mark, left["port"]) == []
    assert zygote.fallbacks == 0


def test_a_student_process_holds_only_its_pipes_and_channel(zygote, make_session):
    s = make_session(zygote, {"m.py": LEAVE})
    fds = {int(k): v for k, v in s.load("m.py").fds().items()}
    assert fds[0] == "/dev/null"
    assert fds[1].startswith("pipe:") and fds[2].startswith("pipe:")
    rest = [v for k, v in fds.items() if k > 2]
    assert len(rest) == 1 and rest[0].startswith("socket:"), fds
    assert s.load("m.py").shared_writable() == []


def test_the_zygote_stays_out_of_reach(zygote, student_zygote, make_session):
    s = make_session(zygote, {"m.py": LEAVE})
    seen = s.load("m.py").privileges()
    assert seen["CapEff"] == seen["CapPrm"] == seen["CapBnd"] == "0000000000000000"
    assert seen["NoNewPrivs"] == "1"
    assert seen["unshare_user"] != 0  # no user namespace of its own to regain privileges
    assert seen["uid"] == 1000
    assert seen["pids"] == [1, 2, 3]  # bubblewrap, the sandbox's placeholder, itself
    assert seen["ppid"] == 0  # its parent (the zygote's child) is outside its namespace
    assert seen["cuda"] is False  # the zygote never touched CUDA
    # Killing every process in view ends its own sandbox (its placeholder is one of
    # them), never the zygote, which is not in view.
    with contextlib.suppress(StudentCrashed):
        s.load("m.py").kill_everything()
    assert student_zygote.alive()
    after = make_session(zygote, {"m.py": LEAVE})
    assert after.load("m.py").found("x", 1) == []


def _writable_memory(pid: int) -> bytes:
    chunks = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            fields = line.split()
            if fields[1].startswith("rw") and (len(fields) < 6 or not fields[5].startswith("/")):
                start, end = (int(x, 16) for x in fields[0].split("-"))
                if fields[-1] in ("[vvar]", "[vsyscall]"):
                    continue
                try:
                    mem.seek(start)
                    chunks.append(mem.read(end - start))
                except OSError:
                    pass
    return b"".join(chunks)


def test_the_zygote_holds_nothing_of_any_student(zygote, student_zygote, make_session):
    """Only descriptors reach the zygote: no path, no id, no byte of a submission."""
    mark = f"student-{secrets.token_hex(6)}"
    s = make_session(zygote, {f"{mark}.py": f"SECRET = {mark!r}\ndef f():\n    return SECRET\n"})
    assert s.load(f"{mark}.py").f() == mark
    assert student_zygote.pid is not None
    memory = _writable_memory(student_zygote.pid)
    assert b"harness_runtime.zygote" in memory  # the scan reads the zygote's own data
    assert mark.encode() not in memory


def test_a_zygote_that_is_gone_means_the_old_way(tmp_path, make_session):
    require("zygote")
    sandbox = ZygoteSandbox(tmp_path / "no-zygote.sock")
    s = make_session(sandbox, {"m.py": "def f():\n    return 42\n"})
    assert s.load("m.py").f() == 42
    assert sandbox.fallbacks == 1


# -- the trusted side ------------------------------------------------------------------------

PROBE = '''
import os as _os
import numpy as _numpy

# A global an earlier worker would have left in a module every worker shares.
assert not hasattr(_numpy, "_earlier_submission"), "state of an earlier submission"
_numpy._earlier_submission = True
with open(f"/proc/{_os.getppid()}/stat") as _f:
    _grandparent = _f.read().rsplit(") ", 1)[1].split()[1]
with open(_os.environ["ZYGOTE_PROBE"], "a") as _f:
    _f.write(f"{_os.getpid()} {_grandparent}\\n")
'''


def test_workers_forked_from_the_trusted_zygote_share_no_state(tmp_path, monkeypatch):
    """Two submissions in one batch: the second worker must not see what the first left in
    the modules they both import, and both must be forks of the trusted fork server."""
    from harness.api import discover
    from harness.pipeline import Options, Pipeline
    from harness.spec import Limits, load_spec

    assignments = ROOT / "tests" / "assignments"
    graders = tmp_path / "graders" / "tiny-rnn"
    shutil.copytree(assignments / "graders" / "tiny-rnn", graders)
    shutil.copytree(assignments / "reference", tmp_path / "reference")
    test = graders / "test_rnn.py"
    test.write_text(PROBE + test.read_text())
    probe = tmp_path / "probe.txt"
    monkeypatch.setenv("ZYGOTE_PROBE", str(probe))
    monkeypatch.setenv("RNN_GRADER_ZYGOTE", "on")
    spec = load_spec(graders)
    zips = tmp_path / "zips"
    zips.mkdir()
    for name in ("first", "second"):
        shutil.copy(ROOT / "submissions" / "tiny-rnn" / "correct_tiny.zip", zips / f"{name}_tiny.zip")
    options = Options(sandbox="local", limits=Limits(timeout=30.0, call_timeout=10.0))
    with Pipeline(spec=spec, out=tmp_path / "out", options=options) as pipeline:
        results = [
            pipeline.grade(s.path, student_id=s.student_id, slot=0, input_hash="x")
            for s in discover(zips, spec)
        ]
        assert pipeline.zygotes is not None and pipeline.zygotes.trusted is not None
        server = pipeline.zygotes.trusted.pid
    for r in results:
        assert (str(r.status), r.score) == ("graded", r.max_score), r.output
    workers = [line.split() for line in probe.read_text().splitlines()]
    assert len(workers) == 2 and workers[0][0] != workers[1][0]
    # Each worker's parent (the monitor that reports its end) is a child of the server.
    assert [int(grandparent) for _, grandparent in workers] == [server, server]
    assert server is not None and not Path(f"/proc/{server}").exists()  # closed with the pipeline

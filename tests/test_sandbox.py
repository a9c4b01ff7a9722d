"""Real hostile code against the real sandbox backends."""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from harness.session import StudentCrashed, StudentError, StudentTimeout

pytestmark = pytest.mark.sandbox
ROOT = Path(__file__).resolve().parent.parent


def skip_without_cgroups(sandbox):
    """bubblewrap limits memory and processes through cgroups only as root; Docker always."""
    from harness.sandbox.cgroups import Cgroups

    if sandbox.name == "bwrap" and not Cgroups().available():
        pytest.skip("bubblewrap's memory and pids cgroups need root")


def test_calls_return_values_and_student_errors_carry_the_line(backend, make_session):
    s = make_session(
        backend,
        {
            "m.py": "def f(x):\n    return x * 2\n\ndef g():\n    raise ValueError('bad shape (3, 4)')\n"
        },
    )
    m = s.load("m.py")
    assert m.f(21) == 42
    with pytest.raises(StudentError) as info:
        m.g()
    assert info.value.type == "ValueError"
    assert "bad shape (3, 4)" in str(info.value)
    assert "line 5" in str(info.value)


def test_an_endless_loop_times_out_and_the_next_call_gets_a_fresh_process(backend, make_session):
    s = make_session(
        backend,
        {"m.py": "def spin():\n    while True:\n        pass\n\ndef ok():\n    return 'fine'\n"},
        call_timeout=2,
    )
    m = s.load("m.py")
    # Stopped by its 2 s of CPU time, however long that takes on a busy machine.
    with pytest.raises(StudentTimeout, match="did not finish within 2 s while calling spin"):
        m.spin()
    assert s.outcomes[-1].killed == "timeout"
    assert s.load("m.py").ok() == "fine"
    assert s.starts == 2


def test_sys_exit_and_keyboard_interrupt_are_just_errors(backend, make_session):
    s = make_session(
        backend,
        {
            "m.py": "import sys\ndef quit():\n    sys.exit(0)\ndef ctrl_c():\n    raise KeyboardInterrupt\ndef ok():\n    return 1\n"
        },
    )
    m = s.load("m.py")
    with pytest.raises(StudentError, match="SystemExit"):
        m.quit()
    with pytest.raises(StudentError, match="KeyboardInterrupt"):
        m.ctrl_c()
    assert m.ok() == 1


def test_os_exit_is_reported_as_a_crash(backend, make_session):
    s = make_session(backend, {"m.py": "import os\ndef bye():\n    os._exit(3)\n"})
    with pytest.raises(StudentCrashed, match="exit code 3"):
        s.load("m.py").bye()


def test_print_flood_is_capped(backend, make_session):
    s = make_session(
        backend,
        {
            "m.py": "def flood():\n    for _ in range(100000):\n        print('x' * 200)\n    return 'done'\n"
        },
        output=4096,
    )
    assert s.load("m.py").flood() == "done"
    s.close()
    out = s.outcomes[-1]
    assert out.output_truncated
    assert out.output_bytes > 10_000_000
    assert len(out.stdout) < 3 * 4096 + 200
    assert "bytes of output cut" in out.stdout


# -- isolation that bubblewrap and Docker give, and local does not -----------------------


def test_no_network(isolated, make_session):
    s = make_session(
        isolated,
        {
            "m.py": """
import socket
def tcp():
    socket.create_connection(("1.1.1.1", 80), timeout=2)
def dns():
    return socket.getaddrinfo("pypi.org", 443)
def raw():
    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
"""
        },
    )
    m = s.load("m.py")
    with pytest.raises(StudentError, match="unreachable"):
        m.tcp()
    with pytest.raises(StudentError, match="gaierror|resolution|Name or service"):
        m.dns()
    with pytest.raises(StudentError, match="PermissionError|Operation not permitted"):
        m.raw()


def test_graders_reference_home_and_harness_are_invisible(isolated, make_session):
    s = make_session(
        isolated,
        {
            "m.py": """
import os
import shutil
def exists(p):
    return os.path.exists(p)
def readable(p):
    try:
        open(p).close()
        return True
    except OSError:
        return False
def env():
    return dict(os.environ)
def listdir(p):
    return sorted(os.listdir(p))
"""
        },
    )
    m = s.load("m.py")
    for path in [
        ROOT / "graders",
        ROOT / "reference",
        ROOT / "harness" / "checks",
        ROOT / "tests",
        Path.home() / ".bash_history",
    ]:
        assert not m.exists(str(path)), path
    assert not m.readable("/etc/shadow")
    assert m.listdir("/opt/harness/harness_runtime")  # the runtime, and only it
    env = m.env()
    assert not any(k.startswith(("GITHUB", "AWS", "CI")) for k in env)
    assert set(m.listdir("/submission")) == {"m.py"}


def test_the_system_is_read_only_and_writes_stay_private(isolated, make_session, tmp_path):
    s = make_session(
        isolated,
        {
            "m.py": """
def write(p):
    with open(p, "w") as f:
        f.write("x")
    return "written"
"""
        },
    )
    m = s.load("m.py")
    for target in ["/usr/evil", "/etc/evil", "/opt/harness/harness_runtime/serve.py"]:
        with pytest.raises(StudentError, match="Read-only|Permission|No such"):
            m.write(target)
    assert m.write("/submission/scratch.txt") == "written"
    # The private copy lives in the sandbox: the folder on the host is untouched.
    assert not any(p.name == "scratch.txt" for p in tmp_path.rglob("*"))


def test_memory_hog_is_killed_as_out_of_memory(isolated, make_session):
    skip_without_cgroups(isolated)
    s = make_session(
        isolated,
        {"m.py": "def hog():\n    x = bytearray(2 * 1024**3)\n    return len(x)\n"},
        memory=256 * 1024**2,
    )
    with pytest.raises(StudentCrashed, match="out of memory"):
        s.load("m.py").hog()
    assert s.outcomes[-1].out_of_memory


def test_fork_bomb_hits_the_process_limit(isolated, make_session):
    skip_without_cgroups(isolated)
    s = make_session(
        isolated,
        {
            "m.py": """
import os
import shutil
def bomb():
    children = 0
    try:
        for _ in range(1000):
            if os.fork() == 0:
                import time
                time.sleep(60)
                os._exit(0)
            children += 1
    except OSError as exc:
        return ("stopped", children, exc.errno)
    return ("unlimited", children, 0)
"""
        },
        processes=24,
    )
    verdict, children, _ = s.load("m.py").bomb()
    assert verdict == "stopped" and children < 24


def test_child_processes_and_threads_die_with_the_sandbox(isolated, make_session):
    s = make_session(
        isolated,
        {
            "m.py": """
import subprocess, threading, time
def leave_behind():
    p = subprocess.Popen(["/bin/sh", "-c", "trap '' TERM; exec sleep 1000"])
    threading.Thread(target=lambda: time.sleep(1000)).start()
    return p.pid
"""
        },
    )
    s.load("m.py").leave_behind()
    s.close()
    time.sleep(0.3)
    out = subprocess.run(["pgrep", "-f", "sleep 1000"], capture_output=True, text=True)
    assert out.stdout.strip() == ""


def test_file_size_limit(isolated, make_session):
    s = make_session(
        isolated,
        {
            "m.py": """
def fill():
    with open("/tmp/big", "wb") as f:
        for _ in range(1000):
            f.write(b"x" * 1024 * 1024)
"""
        },
        file_size=8 * 1024**2,
    )
    with pytest.raises(
        (StudentError, StudentCrashed), match="File too large|No space|file larger|SIGXFSZ"
    ):
        s.load("m.py").fill()


def test_cpu_time_limit(isolated, make_session):
    s = make_session(
        isolated, {"m.py": "def spin():\n    while True:\n        pass\n"}, cpu_time=1, call_timeout=20
    )
    # The rlimit ends it after 1 s of CPU, well before the call's 20 s.
    with pytest.raises(StudentCrashed, match="CPU-time|SIGKILL|SIGXCPU"):
        s.load("m.py").spin()


def test_a_submission_gets_one_cpu(isolated, make_session):
    """Two busy processes for a second and a half of wall time use at most about one CPU:
    the quota bubblewrap's cgroup and Docker's container both set."""
    skip_without_cgroups(isolated)
    s = make_session(
        isolated,
        {
            "m.py": """
import os, time
def burn(seconds=1.5):
    start = time.monotonic()
    pids = []
    for _ in range(2):
        pid = os.fork()
        if pid == 0:
            while time.monotonic() - start < seconds:
                pass
            os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    t = os.times()
    return (t.children_user + t.children_system) / (time.monotonic() - start)
"""
        },
    )
    assert s.load("m.py").burn() < 1.3


def test_the_cpu_quota_is_set_and_removed(tmp_path):
    from harness.sandbox.cgroups import Cgroups

    cg = Cgroups()
    if not cg.available():
        pytest.skip("needs root")
    group = cg.create(f"quota-test-{os.getpid()}-0-x", memory=2**28, processes=16, cpus=1.0)
    try:
        assert cg.cpu_quota(group) == 1.0
    finally:
        group.remove()
    assert not any(d.exists() for d in group.dirs)


def test_no_cgroups_are_left_behind(bwrap, make_session):
    from harness.sandbox.cgroups import PARENT, Cgroups

    cg = Cgroups()
    if not cg.available():
        pytest.skip("needs root")
    s = make_session(bwrap, {"m.py": "x = 1\n"})
    s.load("m.py")
    s.close()
    leftovers = (
        [
            p
            for controller in ("memory", "pids", "cpu")
            for p in (cg.root / controller / PARENT).glob(f"*-{os.getpid()}-*")
        ]
        if cg.version == 1
        else []
    )
    assert leftovers == []


def test_a_training_script_loads_definitions_only_and_says_so(backend, make_session):
    script = """
import numpy as np
hidden_size = 100
data = open('textData.txt').read()   # the file is not in the submission

def lossFun(x):
    return float(np.sum(x)) * hidden_size

while True:   # trains forever at module level
    pass
"""
    s = make_session(backend, {"task2.py": script}, call_timeout=5)
    m = s.load("task2.py", mode="definitions")
    assert m.lossFun([1, 2]) == 300.0
    assert any("left unrun" in n and "while True" in n for n in s.notes), s.notes


def test_the_same_seed_gives_the_same_random_numbers(backend, make_session):
    code = "import random\nimport numpy as np\ndef draw():\n    return [random.random(), float(np.random.rand())]\n"
    first = make_session(backend, {"m.py": code})
    second = make_session(backend, {"m.py": code})
    for s in (first, second):
        s.reseed(1234)
    assert first.load("m.py").draw() == second.load("m.py").draw()


def test_bwrap_mounts_nothing_under_a_tmpfs_it_mounts_later(bwrap, tmp_path, monkeypatch):
    from harness.sandbox import Job
    from harness.sandbox import bwrap as bwrap_module

    # As in a CI checkout under /tmp, where the virtual environment lives in /tmp too.
    from harness.sandbox.staging import Interpreter

    ci = Interpreter("/tmp/ci/.venv/bin/python", ((Path("/tmp/ci/.venv"), "/tmp/ci/.venv"),))
    monkeypatch.setattr(bwrap_module, "interpreter", lambda: ci)
    from conftest import small_limits

    job = Job(workdir=tmp_path, channel=tmp_path / "c.sock", runtime_parent=tmp_path,
              limits=small_limits())
    args = bwrap.command(job)
    tmpfs = {args[i + 1]: i for i, a in enumerate(args) if a == "--tmpfs"}
    for i, a in enumerate(args):
        if a in ("--ro-bind", "--bind"):
            dest = args[i + 2]
            for mount, at in tmpfs.items():
                if dest.startswith(mount + "/"):
                    assert i > at, f"{dest} is bound before the tmpfs at {mount} hides it"


def _host_uids(pid: int) -> dict[int, int]:
    """The host uid of ``pid`` and of every process below it, by pid."""
    found, todo = {}, [pid]
    while todo:
        here = todo.pop()
        try:
            status = Path(f"/proc/{here}/status").read_text()
            children = Path(f"/proc/{here}/task/{here}/children").read_text().split()
        except OSError:
            continue
        found[here] = next(int(line.split()[1]) for line in status.splitlines()
                           if line.startswith("Uid:"))
        todo += map(int, children)
    return found


@pytest.mark.parametrize("name", ["bwrap", "zygote"])
def test_as_root_bubblewrap_and_the_student_run_as_nobody_on_the_host(name, make_session):
    """Issue 14, cause 7: the student's uid 1000 maps to an unprivileged host uid, not to
    the grading user root; so does bubblewrap, the sandbox's init."""
    from conftest import require

    from harness.sandbox.bwrap import SANDBOX_UID

    if os.geteuid() != 0:
        pytest.skip("only root can run bubblewrap as another uid")
    sandbox = require(name)
    s = make_session(sandbox, {"m.py": "import os\ndef f():\n    return os.getuid()\n"})
    assert s.load("m.py").f() == 1000
    running = s._running
    if name == "zygote":
        pids = [int(p) for f in running.cgroup.procs_files for p in f.read_text().split()]
        uids = {p: u for pid in pids for p, u in _host_uids(pid).items()}
        assert running.student in uids
    else:
        uids = _host_uids(running.pid)
    assert len(uids) >= 2, uids  # bubblewrap and the student process, at least
    assert set(uids.values()) == {SANDBOX_UID}, uids


def test_the_staged_python_names_no_host_folder_and_only_its_owner_may_have_made_it(tmp_path):
    """Issue 14, cause 7: the venv the sandbox mounts is the harness's, relinked under a
    neutral name; its configuration names only sandbox paths, and a folder of that name
    that someone else could have written is refused, not used."""
    import sys

    from harness.sandbox import staging

    python = staging.interpreter()
    if not python.staged or not python.binds:
        pytest.skip(python.problem or "a system Python under /usr: nothing to stage")
    hosts = {sys.prefix, os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}
    for host, inside in python.binds:
        assert inside in (staging.PYTHON_HOME, staging.VENV_HOME)
        assert not any(str(host).startswith(h) for h in hosts)
        assert host.name in ("python", "venv") and host.parent.name.startswith(".rnn-sandbox-")
    venv = dict((inside, host) for host, inside in python.binds).get(staging.VENV_HOME)
    if venv is not None:
        config = (venv / "pyvenv.cfg").read_text()
        assert not any(h in config for h in hosts), config
        # Only the interpreter's links: the host's scripts name the host's venv.
        assert all(p.name.startswith("python") for p in (venv / "bin").iterdir())
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    with pytest.raises(OSError, match="not this user's own"):
        staging._trusted(shared)


def test_staged_folders_of_gone_runs_are_removed_and_those_in_use_kept(tmp_path):
    """A staged installation keeps every file it links alive: one whose source changed or
    went away is removed unless a batch still holds it; so is a job folder whose process
    is gone; a current staging and a live job's folder stay."""
    import fcntl
    import subprocess

    from harness.sandbox import staging

    def stage(name: str, source: Path) -> Path:
        source.mkdir(exist_ok=True)
        folder = tmp_path / f"{staging.STAGE_PREFIX}{name}"
        folder.mkdir()
        record = staging._fingerprint({"venv": source}, "python3.11")
        (folder / staging.COMPLETE).write_text(record)
        return folder

    current = stage("current", tmp_path / "venv-a")
    changed = stage("changed", tmp_path / "venv-b")
    gone = stage("gone", tmp_path / "venv-c")
    in_use = stage("in-use", tmp_path / "venv-d")
    (tmp_path / "venv-b" / "pyvenv.cfg").write_text("home = /elsewhere\n")
    os.rmdir(tmp_path / "venv-c")
    os.rmdir(tmp_path / "venv-d")
    holder = os.open(in_use / staging.COMPLETE, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_SH)
    dead = subprocess.Popen(["true"])
    dead.wait()
    dead_job = tmp_path / f"{staging.JOB_PREFIX}{dead.pid}-abc"
    live_job = tmp_path / f"{staging.JOB_PREFIX}{os.getpid()}-def"
    for job in (dead_job, live_job):
        job.mkdir()
    try:
        removed = staging.remove_stale(tmp_path)
    finally:
        os.close(holder)
    assert sorted(removed) == sorted([changed, gone, dead_job])
    assert current.is_dir() and in_use.is_dir() and live_job.is_dir()


def test_a_checkout_on_a_volume_of_its_own_stages_at_the_volume_s_top(tmp_path):
    """Where /tmp, /var/tmp and / are on other file systems than the venv, the staged trees
    go to the top of the venv's own volume (only its name shows), never into a checkout."""
    import sys

    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare(1) to mount a volume of its own")
    volume = tmp_path / "volume"
    volume.mkdir()
    probe = (
        "import os, sys; from pathlib import Path; from harness.sandbox import staging; "
        "v = Path(sys.argv[1]); (v / 'venv').mkdir(); (v / 'repo' / '.git').mkdir(parents=True); "
        "d = os.stat(v).st_dev; "
        "print(staging.neutral_root(d, near=v / 'venv'), staging.neutral_root(d, near=v / 'repo'), "
        "staging.neutral_root(d, near=v))"
    )
    # A private mount namespace: the tmpfs is a volume no other process sees.
    run = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         'mount -t tmpfs vol "$1" && exec "$2" -c "$3" "$1"', "sh", str(volume),
         sys.executable, probe],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    below_top, with_checkout_inside, the_top_itself = run.stdout.split()
    assert below_top == str(volume)
    # (a checkout below the top does not make the top a checkout; the top itself is refused)
    assert with_checkout_inside == str(volume)
    assert the_top_itself == "None"

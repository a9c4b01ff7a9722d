"""The Docker backend against a real engine and the real grading image.

The hostile-code tests every isolating backend must pass are in test_sandbox.py
(parametrised over bubblewrap and Docker) and test_examples.py (the tiny-rnn examples'
verdicts under Docker).  These are the Docker-only properties: the image and its tag,
the container's walls as the engine reports them, and cleanup whatever happens to the
harness.  Without an engine they skip, saying why; under CI they fail instead.
"""

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
import zipfile
from pathlib import Path

import pytest
from conftest import require, small_limits

from harness import api
from harness.errors import SandboxError, UsageError
from harness.sandbox import Job, make_sandbox
from harness.sandbox import docker as docker_backend
from harness.session import StudentTimeout

ROOT = Path(__file__).resolve().parent.parent
DOCKER_DIR = ROOT / "docker"


@pytest.fixture
def docker():
    return require("docker")


def parent_of(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def descends_from(pid: int, ancestor: int) -> bool:
    """Whether ``ancestor`` is ``pid``'s parent, or its parent's, and so on (a worker forked
    by the trusted zygote is its monitor's child, the zygote's grandchild)."""
    while pid > 1:
        pid = parent_of(pid)
        if pid == ancestor:
            return True
    return False


def containers(client, *, owner=None, parent=None, running=False) -> list[dict]:
    """Containers a harness on this machine made, by the owner's pid or an ancestor's.

    Other people's harnesses may share the engine: tests look at their own containers only.
    """
    found = []
    for info in client.api.containers(all=True, filters={"label": docker_backend.OWNER_PID}):
        labels = info["Labels"]
        pid = int(labels[docker_backend.OWNER_PID])
        if labels.get(docker_backend.OWNER_HOST) != socket.gethostname():
            continue
        if owner is not None and pid != owner:
            continue
        if parent is not None and not descends_from(pid, parent):
            continue
        if running and info["State"] != "running":
            continue
        found.append(info)
    return found


# -- the image -------------------------------------------------------------------------


def test_the_image_tag_is_a_hash_of_its_inputs(tmp_path):
    for name in docker_backend.IMAGE_INPUTS:
        shutil.copy(DOCKER_DIR / name, tmp_path / name)
    tag = docker_backend.image_tag(tmp_path)
    assert tag == docker_backend.image_tag() and tag.startswith("rnn-grader:")
    with (tmp_path / "requirements.txt").open("a") as f:
        f.write("six==1.17.0\n")
    assert docker_backend.image_tag(tmp_path) != tag
    (tmp_path / "Dockerfile").unlink()
    with pytest.raises(SandboxError, match="Dockerfile is missing"):
        docker_backend.image_tag(tmp_path)


def docker_lock():
    """docker/lock.py, imported as a module."""
    sys.path.insert(0, str(DOCKER_DIR))
    try:
        import lock
    finally:
        sys.path.remove(str(DOCKER_DIR))
    return lock


def test_the_image_pins_what_the_project_pins():
    lock = docker_lock()
    project = lock.read_lock(ROOT / "requirements.lock")
    image = lock.read_lock(DOCKER_DIR / "requirements.txt")
    assert project and image
    for name, pin in project.items():
        assert pin.hashes, f"requirements.lock has no hashes for {name}"
    for name, pin in image.items():
        assert name in project, f"{name} is in the image but not in requirements.lock"
        assert pin.version == project[name].version, name
        assert pin.hashes == project[name].hashes, name
    for dep in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]:
        if "==" in dep:  # torch and torchvision: the exact pair the project needs
            name, version = dep.split("==")
            assert project[name].version == version, name
            if name not in lock.HARNESS_ONLY:  # submitit runs the harness, never a student
                assert image[name].version == version, name
    for root in lock.roots():
        assert root in image, root
    for harness_only in ("pytest", "pytest-timeout", "click", "rich", "docker", "ruff", "mypy"):
        assert harness_only not in image
    assert "pip-tools" in project and "pip-tools" not in image
    dockerfile = (DOCKER_DIR / "Dockerfile").read_text()
    assert "ARG BASE=python:3.11-slim" in dockerfile
    assert "--require-hashes" in dockerfile


def test_the_image_requirements_are_current_with_the_lock():
    check = subprocess.run(
        [sys.executable, str(DOCKER_DIR / "lock.py"), "--check"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr


def test_the_docker_lock_follows_the_via_notes(tmp_path):
    lock = docker_lock()
    (tmp_path / "lock.txt").write_text(
        "# header\n"
        "torch==1.0 \\\n    --hash=sha256:aa \\\n    --hash=sha256:ab\n"
        "    # via rnn-gan-grader (pyproject.toml)\n"
        "jinja2==3.0 \\\n    --hash=sha256:bb\n"
        "    # via\n    #   rnn-gan-grader (pyproject.toml)\n    #   torch\n"
        "pygments==2.0 \\\n    --hash=sha256:cc\n    # via rich\n"
        "rich==13.0 \\\n    --hash=sha256:dd\n    # via rnn-gan-grader (pyproject.toml)\n"
        "\n# The following packages are considered to be unsafe in a requirements file:\n"
        "setuptools==80.0 \\\n    --hash=sha256:ee\n    # via torch\n"
    )
    pins = lock.read_lock(tmp_path / "lock.txt")
    assert pins["torch"].hashes == ["sha256:aa", "sha256:ab"]
    assert pins["jinja2"].via == {"", "torch"} and pins["setuptools"].via == {"torch"}
    # What torch needs is in, even a harness-only package; what only the harness needs is not.
    assert lock.closure(pins, ["torch"]) == ["jinja2", "setuptools", "torch"]


def test_the_venv_holds_what_the_lock_pins():
    from importlib import metadata

    from packaging.version import Version

    wrong = {}
    for name, pin in docker_lock().read_lock(ROOT / "requirements.lock").items():
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            have = None
        if have is None or Version(have) != Version(pin.version):
            wrong[name] = f"locked {pin.version}, installed {have}"
    assert not wrong, f"{sys.prefix} is not what requirements.lock says (make setup): {wrong}"


@pytest.mark.docker
def test_the_image_holds_nothing_of_graders_reference_or_tests(docker, make_session):
    secret = {}
    for folder in ("graders", "reference", "tests"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.stat().st_size > 0 and "__pycache__" not in path.parts:
                secret[hashlib.sha256(path.read_bytes()).hexdigest()] = path
    names = sorted({p.name for p in secret.values()})
    s = make_session(
        docker,
        {
            "m.py": """
import hashlib, os
def look(names):
    names = set(names)
    found = []
    for top in os.listdir("/"):
        if top in ("proc", "sys", "dev", "submission", "opt"):
            continue
        for root, dirs, files in os.walk("/" + top):
            for f in files:
                if f in names:
                    try:
                        found.append(hashlib.sha256(open(os.path.join(root, f), "rb").read()).hexdigest())
                    except OSError:
                        pass
    for root, dirs, files in os.walk("/opt"):
        if not root.startswith("/opt/harness"):
            for f in files:
                if f in names:
                    found.append(hashlib.sha256(open(os.path.join(root, f), "rb").read()).hexdigest())
    return found, sorted(os.listdir("/opt/harness")), open("/proc/self/mountinfo").read()
"""
        },
        call_timeout=60,
    )
    hashes, runtime, mounts = s.load("m.py").look(names)
    leaked = [str(secret[h].relative_to(ROOT)) for h in hashes if h in secret]
    assert leaked == []
    assert runtime == ["harness_runtime"]
    for word in ("graders", "reference", "/tests"):
        assert word not in mounts


@pytest.mark.docker
def test_the_container_has_every_wall(docker, make_session):
    s = make_session(
        docker,
        {
            "m.py": """
import os
def inside():
    status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines())
    return (os.getuid(), os.getgid(), status["CapEff"].strip(), status["NoNewPrivs"].strip(),
            sorted(os.listdir("/sys/class/net")))
"""
        },
        memory=300 * 1024**2,
        processes=40,
    )
    uid, gid, caps, no_new_privs, interfaces = s.load("m.py").inside()
    assert (uid, gid) == (1000, 1000)
    assert int(caps, 16) == 0 and no_new_privs == "1"
    assert interfaces == ["lo"]
    (info,) = containers(docker.client, owner=os.getpid(), running=True)
    attrs = docker.client.api.inspect_container(info["Id"])
    host = attrs["HostConfig"]
    assert host["NetworkMode"] == "none" and host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"] and host["SecurityOpt"] == ["no-new-privileges"]
    assert host["Memory"] == host["MemorySwap"] == 300 * 1024**2
    assert host["PidsLimit"] == 40 and host["NanoCpus"] == 10**9
    assert host["Init"] is True and host["LogConfig"]["Type"] == "none"
    assert attrs["Config"]["User"] == "1000:1000"
    assert attrs["Config"]["Image"] == docker_backend.image_tag()
    assert set(host["Tmpfs"]) == {"/tmp", "/submission"}
    assert all(m["RW"] is False for m in attrs["Mounts"])
    s.close()
    assert containers(docker.client, owner=os.getpid()) == []


# -- the sandbox's own wall clock, and cleanup --------------------------------------------


@pytest.mark.docker
def test_a_container_ends_itself_at_its_wall_clock_limit(docker, tmp_path, runtime_parent):
    # The harness accepts the connection and then says nothing, as if it had died:
    # only the backstop inside the container can end it.
    (tmp_path / "sub").mkdir()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp_path / "c.sock"))
    os.chmod(tmp_path / "c.sock", 0o666)
    listener.listen(1)
    job = Job(
        workdir=tmp_path / "sub",
        channel=tmp_path / "c.sock",
        runtime_parent=runtime_parent,
        limits=small_limits(),
        wall=3,
    )
    started = time.monotonic()
    running = docker.start(job)
    try:
        listener.settimeout(30)
        conn, _ = listener.accept()
        while not running.poll():
            assert time.monotonic() - started < 120, "the container outlived its wall clock"
            time.sleep(0.2)
        assert time.monotonic() - started >= 3
        outcome = running.stop(reason="shutdown")
        assert outcome.signal == signal.SIGKILL and not outcome.killed
        conn.close()
    finally:
        running.stop(reason="shutdown", grace=0)
        listener.close()


CHILD = """
import socket, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from harness.sandbox import Job, SandboxLimits, make_sandbox
tmp = Path({tmp!r})
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(str(tmp / "c.sock"))
listener.listen(1)
limits = SandboxLimits(memory=256 * 1024**2, cpu_time=60, processes=32, file_size=2**20, output=4096)
running = make_sandbox("docker").start(
    Job(workdir=tmp / "sub", channel=tmp / "c.sock", runtime_parent=Path({runtime!r}), limits=limits)
)
print(running.id, flush=True)
time.sleep(600)
"""


@pytest.mark.docker
def test_containers_of_a_killed_harness_are_removed_by_the_next_one(
    docker, tmp_path, runtime_parent
):
    (tmp_path / "sub").mkdir()
    code = CHILD.format(root=str(ROOT), tmp=str(tmp_path), runtime=str(runtime_parent))
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) as child:
        cid = child.stdout.readline().strip()
        child.kill()  # kill -9: no chance to clean up
    assert cid, "the child did not start a container"
    assert docker.client.api.inspect_container(cid)  # left behind...
    fresh = make_sandbox("docker")  # ...until the next harness starts
    assert any(name.startswith("rnn-grader-") for name in fresh.stale_removed)
    assert not [c for c in containers(docker.client) if c["Id"] == cid]


@pytest.mark.docker
@pytest.mark.slow
def test_ctrl_c_leaves_no_container(docker, tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    shutil.copy(
        ROOT / "submissions" / "tiny-rnn" / "hangs-at-import_tiny.zip", folder / "1_tiny.zip"
    )
    shutil.copy(
        ROOT / "submissions" / "tiny-rnn" / "hangs-at-import_tiny.zip", folder / "2_tiny.zip"
    )
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "harness" / "grade.py"),
            str(folder),
            "-a",
            "tiny-rnn",
            "--out",
            str(out),
            "--jobs",
            "2",
            "--sandbox",
            "docker",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    seen: set[str] = set()
    while len(seen) < 2:  # both workers are inside their containers
        assert time.monotonic() < deadline, "two containers never ran at once"
        seen |= {c["Id"] for c in containers(docker.client, parent=proc.pid, running=True)}
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    output = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 130, output
    assert seen.isdisjoint(c["Id"] for c in containers(docker.client))


# -- parallel jobs, --sandbox auto, --gpus ----------------------------------------------------


@pytest.mark.docker
def test_a_relative_out_folder_grades(docker, tmp_path, monkeypatch):
    """The README runs ``--out results/<name>``: the engine needs absolute mount paths."""
    monkeypatch.chdir(tmp_path)
    batch = api.grade(
        submissions=ROOT / "submissions" / "tiny-rnn",
        assignment="tiny-rnn",
        out=Path("results"),
        sandbox="docker",
        only=["correct"],
    )
    [result] = batch.results
    assert str(result.status) == "graded" and result.score == result.max_score, result.output


@pytest.mark.docker
def test_parallel_jobs_run_parallel_containers_and_results_say_docker(docker, tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    correct = ROOT / "tests" / "assignments" / "examples" / "tiny-rnn" / "correct" / "rnn_step.py"
    slow_but_right = "import time\ntime.sleep(3)\n" + correct.read_text()
    for sid in ("1", "2"):
        with zipfile.ZipFile(folder / f"{sid}_tiny.zip", "w") as z:
            z.writestr("rnn_step.py", slow_but_right)
    most = 0
    done = threading.Event()

    def watch():
        nonlocal most
        while not done.is_set():
            most = max(most, len(containers(docker.client, parent=os.getpid(), running=True)))
            time.sleep(0.1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        batch = api.grade(
            submissions=folder,
            assignment="tiny-rnn",
            out=tmp_path / "out",
            sandbox="docker",
            jobs=2,
        )
    finally:
        done.set()
        watcher.join()
    assert len(batch.results) == 2 and most >= 2
    assert [r.score for r in batch.results] == [r.max_score for r in batch.results]
    for r in batch.results:
        assert r.sandbox.startswith(f"docker ({docker_backend.image_tag()})")
    assert batch.sandbox.startswith("docker")


@pytest.mark.docker
def test_auto_picks_docker_only_when_the_image_of_this_checkout_is_built(docker, monkeypatch):
    assert make_sandbox("auto").name == "docker"
    monkeypatch.setattr(docker_backend, "image_tag", lambda *a: "rnn-grader:not-built")
    with pytest.raises(SandboxError, match="rnn-grader:not-built is not built"):
        make_sandbox("docker")
    assert make_sandbox("auto").name in ("bwrap", "local")


def test_no_engine_is_a_reason_not_a_crash(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    assert "no Docker engine answers" in docker_backend.unavailable_reason()
    with pytest.raises(SandboxError, match="cannot run here: no Docker engine answers"):
        make_sandbox("docker")
    assert make_sandbox("auto").name in ("bwrap", "local")


def test_gpus_take_docker_run_forms():
    (everything,) = docker_backend.device_requests("all")
    assert everything["Count"] == -1 and everything["Capabilities"] == [["gpu"]]
    assert docker_backend.device_requests("2")[0]["Count"] == 2
    assert docker_backend.device_requests("device=0,2")[0]["DeviceIDs"] == ["0", "2"]
    assert docker_backend.device_requests("") == []
    with pytest.raises(UsageError, match="--gpus must be"):
        docker_backend.device_requests("most")
    with pytest.raises(UsageError, match="--gpus needs the docker sandbox"):
        make_sandbox("bwrap", gpus="all")


@pytest.mark.docker
def test_gpus_reach_the_student_or_the_engine_says_why(docker, make_session, tmp_path):
    if shutil.which("nvidia-smi"):
        s = make_session(
            make_sandbox("docker", gpus="all"),
            {"m.py": "import torch\ndef cuda():\n    return torch.cuda.is_available()\n"},
            call_timeout=60,
        )
        assert s.load("m.py").cuda() is True
        return
    with pytest.raises(SandboxError, match="--gpus all: this Docker engine cannot pass GPUs"):
        make_sandbox("docker", gpus="all")
    with pytest.raises(SandboxError, match="cannot pass GPUs"):  # before grading anything
        api.grade(
            submissions=ROOT / "submissions" / "tiny-rnn",
            assignment="tiny-rnn",
            out=tmp_path,
            sandbox="docker",
            gpus="all",
        )
    assert containers(docker.client, owner=os.getpid()) == []


@pytest.mark.docker
def test_a_hang_is_killed_and_the_container_removed(docker, make_session):
    s = make_session(
        docker, {"m.py": "import time\ndef hang():\n    time.sleep(600)\n"}, call_timeout=2
    )
    with pytest.raises(StudentTimeout):
        s.load("m.py").hang()
    assert s.outcomes[-1].killed == "timeout"
    assert containers(docker.client, owner=os.getpid()) == []

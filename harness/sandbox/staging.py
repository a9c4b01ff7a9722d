"""Neutral host paths for what bubblewrap mounts (issue 14, cause 7).

A bind mount cannot hide its source: ``/proc/self/mountinfo`` names, for each mount, the
path of its root *within its file system*, whatever path the mount was made from (a bind
of a bind names the original).  Only a different directory entry names something else.
So what the sandbox mounts is first given neutral directory entries on the host:

- **the Python installation and the virtual environment** are hard-linked, file by file,
  into ``.rnn-sandbox-<key>/{python,venv}`` in ``/tmp`` (or ``/var/tmp``, or the root of
  their file system: a hard link needs the same one).  No byte is copied; the tree is
  made once per installation (``key`` hashes its paths and modification times; torch's
  91,000 files take 3 to 7 s here) and kept for the next batch.  The venv's
  ``bin`` (scripts whose first line names the host's venv), the harness's own editable
  install and each package's ``direct_url.json`` (where it was installed from) are left
  out; its ``pyvenv.cfg`` is rewritten.  Inside the sandbox,
  and for the student zygote, they are ``/opt/python`` and ``/opt/venv``;
- **each job's runtime, submission and channel socket** are copied (the socket
  hard-linked) into a fresh ``.rnn-job-<random>`` folder beside it, removed when the
  job ends.

Files in these trees are readable by every user of the machine (the staged folders are
``0755``, a job's ``0711`` under a random name), which is what lets bubblewrap run as an
unprivileged uid.  The staged installation is trusted as the harness's own: a folder of
that name is used only when this user owns it and no one else may write to it.

Where no neutral folder shares the installation's file system, nothing is staged: the
sandbox mounts the host paths as before, and ``interpreter()`` says why (``problem``).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from .base import Job

PYTHON_HOME = "/opt/python"  #: the Python installation inside the sandbox
VENV_HOME = "/opt/venv"  #: the virtual environment inside the sandbox
#: Folders that may hold the staged trees, tried in order (then the file system's root).
NEUTRAL_ROOTS = ("/tmp", "/var/tmp")
STAGE_PREFIX = ".rnn-sandbox-"
JOB_PREFIX = ".rnn-job-"
COMPLETE = ".complete"
#: The staging rules' version: a change of what is staged makes a new tree.
FORMAT = 2
#: Entries of a venv's site-packages that are the harness's own (an editable install
#: names the checkout) and are never staged.
SKIPPED_SITE = ("__editable__",)


@dataclass(frozen=True)
class Interpreter:
    """The Python the sandbox runs, as the sandbox sees it."""

    executable: str  #: the interpreter's path inside the sandbox
    #: (host folder, path inside the sandbox) to bind read-only
    binds: tuple[tuple[Path, str], ...]
    env: dict[str, str] = field(default_factory=dict)  #: variables it needs (the loader's)
    staged: bool = False  #: False: the host's own paths (see ``problem``)
    problem: str = ""  #: why nothing was staged


def _roots() -> list[Path]:
    """The host folders of the running Python (its installation, its venv) outside /usr."""
    roots = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    roots.add(Path(os.path.realpath(sys.executable)).parent.parent)
    if Path(sys.prefix) != Path(sys.prefix).resolve():
        roots.add(Path(sys.prefix))
    return sorted(r for r in roots if not str(r).startswith("/usr"))


def unstaged(problem: str) -> Interpreter:
    """The host's own paths, bound where they are (the old way)."""
    binds = tuple((r, str(r)) for r in _roots())
    return Interpreter(sys.executable, binds, staged=False, problem=problem)


@functools.lru_cache(maxsize=1)
def interpreter() -> Interpreter:
    """The running Python staged under neutral paths (made on first use, then reused)."""
    try:
        return _stage_interpreter()
    except OSError as exc:
        return unstaged(f"could not stage the Python installation: {exc}")


def _stage_interpreter() -> Interpreter:
    base = Path(sys.base_prefix).resolve()
    venv = Path(sys.prefix).resolve() if sys.prefix != sys.base_prefix else None
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    trees: dict[str, Path] = {}
    if not str(base).startswith("/usr"):
        trees["python"] = base
    if venv is not None:
        trees["venv"] = venv
    if not trees:
        return Interpreter(sys.executable, (), staged=True)
    devices = {t.stat().st_dev for t in trees.values()}
    if len(devices) != 1:
        return unstaged("the Python installation and the venv are on different file systems")
    parent = neutral_root(devices.pop(), near=next(iter(trees.values())))
    if parent is None:
        return unstaged("no neutral folder shares the Python installation's file system")
    fingerprint = _fingerprint(trees, version)
    key = hashlib.sha256(fingerprint.encode()).hexdigest()[:16]
    stage = parent / f"{STAGE_PREFIX}{key}"
    if not _trusted(stage):
        _build(stage, trees, version, fingerprint)
    _hold(stage)
    remove_stale(parent)
    home = PYTHON_HOME if "python" in trees else str(base)
    binds = [(stage / name, PYTHON_HOME if name == "python" else VENV_HOME) for name in trees]
    env = {}
    if "python" in trees and (stage / "python" / "lib").is_dir():
        # The interpreter's RUNPATH names the host's lib folder: the loader looks here first.
        env["LD_LIBRARY_PATH"] = f"{PYTHON_HOME}/lib"
    executable = f"{VENV_HOME}/bin/python" if venv is not None else f"{home}/bin/{version}"
    return Interpreter(executable, tuple(binds), env=env, staged=True)


def _fingerprint(trees: dict[str, Path], version: str) -> str:
    """What a staged tree depends on: the trees' paths and the times their contents
    last changed (an installed or removed package changes site-packages')."""
    parts = [f"format {FORMAT}", version]
    for name, tree in sorted(trees.items()):
        parts.append(f"{name}={tree}")
        for sub in (tree, tree / "lib" / version, tree / "lib" / version / "site-packages"):
            with contextlib.suppress(OSError):
                parts.append(f"{sub.stat().st_mtime_ns}")
        with contextlib.suppress(OSError):
            parts.append(f"{(tree / 'pyvenv.cfg').stat().st_mtime_ns}")
    return "\n".join(parts)


def neutral_root(device: int, near: Path | None = None) -> Path | None:
    """A folder with a neutral name on file system ``device`` where this user may write:
    ``/tmp``, ``/var/tmp``, ``/``, else the mount point of the file system that holds
    ``near`` (a checkout on a volume of its own: only the volume's name shows)."""
    candidates = [Path(p) for p in NEUTRAL_ROOTS]
    candidates.append(Path("/"))  # the mount point of /'s file system
    if near is not None:
        top = mount_point(near)
        # (never a checkout or the folder itself: its name is what must not show)
        if top != Path(os.path.realpath(near)) and not (top / ".git").exists():
            candidates.append(top)
    for folder in candidates:
        try:
            if folder.stat().st_dev == device and os.access(folder, os.W_OK | os.X_OK):
                return folder
        except OSError:
            continue
    return None


def mount_point(path: Path) -> Path:
    """The folder where the file system holding ``path`` is mounted (the highest ancestor
    on the same device)."""
    path = Path(os.path.realpath(path))
    device = path.stat().st_dev
    while path.parent != path and path.parent.stat().st_dev == device:
        path = path.parent
    return path


def _trusted(stage: Path) -> bool:
    """Whether ``stage`` is a complete staged tree that only this user could have made."""
    try:
        st = os.lstat(stage)
    except FileNotFoundError:
        return False
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise OSError(f"{stage} exists and is not this user's own: not used")
    return (stage / COMPLETE).is_file()


def _build(stage: Path, trees: dict[str, Path], version: str, fingerprint: str) -> None:
    partial = Path(tempfile.mkdtemp(prefix=f"{stage.name}.", dir=stage.parent))
    try:
        os.chmod(partial, 0o755)
        for name, tree in trees.items():
            skip = _venv_skip(tree, version) if name == "venv" else set()
            _link_tree(tree, partial / name, skip)
        if "venv" in trees:
            _write_venv(partial / "venv", trees["venv"], version, "python" in trees)
        (partial / COMPLETE).write_text(fingerprint)  # (what ``remove_stale`` compares)
        try:
            os.rename(partial, stage)
        except OSError:
            if not _trusted(stage):  # (another process made it first: use theirs)
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)


#: The staged tree this process uses, held under a shared lock while it lives (and while
#: any process it forked lives): ``remove_stale`` never removes a tree in use.
_HELD: list[int] = []


def _hold(stage: Path) -> None:
    fd = os.open(stage / COMPLETE, os.O_RDONLY | os.O_CLOEXEC)
    fcntl.flock(fd, fcntl.LOCK_SH)
    _HELD.append(fd)


def remove_stale(parent: Path) -> list[Path]:
    """Remove what earlier runs of this user left in ``parent``: staged installations whose
    source changed or is gone (their hard links would keep every replaced file's space)
    and no process uses, half-built ones over an hour old, and job folders whose process
    is gone.  Returns what it removed."""
    removed = []
    with contextlib.suppress(OSError):
        for entry in parent.iterdir():
            if entry.name.startswith((STAGE_PREFIX, JOB_PREFIX)) and _stale(entry):
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
    return removed


def _stale(entry: Path) -> bool:
    try:
        st = os.lstat(entry)
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        return False
    if entry.name.startswith(JOB_PREFIX):
        pid = entry.name.removeprefix(JOB_PREFIX).partition("-")[0]
        return pid.isdigit() and not Path(f"/proc/{pid}").exists()
    if "." in entry.name.removeprefix(STAGE_PREFIX):  # a half-built tree (``_build``)
        return time.time() - st.st_mtime > 3600
    try:
        recorded = (entry / COMPLETE).read_text()
    except OSError:
        return time.time() - st.st_mtime > 3600
    lines = recorded.splitlines()
    trees = {
        name: Path(path)
        for name, _, path in (line.partition("=") for line in lines)
        if name in ("python", "venv") and path
    }
    version = lines[1] if len(lines) > 1 else ""
    if not trees:  # (made before trees recorded their source: left a day to its batch)
        return time.time() - st.st_mtime > 86400
    if all(t.is_dir() for t in trees.values()) and _fingerprint(trees, version) == recorded:
        return False  # still the staging of an installation as it is
    try:
        fd = os.open(entry / COMPLETE, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # a running batch uses it
    finally:
        os.close(fd)  # (closing drops the lock; a batch starting now stages afresh)
    return True


def _venv_skip(venv: Path, version: str) -> set[Path]:
    site = venv / "lib" / version / "site-packages"
    skip = {venv / "bin", venv / "pyvenv.cfg"}
    with contextlib.suppress(OSError):
        for entry in site.iterdir():
            if entry.name.startswith(SKIPPED_SITE):
                skip.add(entry)
            elif entry.name.endswith(".dist-info"):
                skip.add(entry / "direct_url.json")  # where it was installed from
    return skip


def _link_tree(source: Path, dest: Path, skip: set[Path]) -> None:
    """``dest`` as a copy of ``source`` made of hard links (symbolic links copied as
    links, folders made afresh and readable by all)."""
    for folder, dirs, files in os.walk(source):
        here = Path(folder)
        target = dest / here.relative_to(source)
        target.mkdir(mode=0o755, exist_ok=True)
        os.chmod(target, 0o755)
        dirs[:] = [d for d in dirs if here / d not in skip and not (here / d).is_symlink()]
        for name in files + [d for d in os.listdir(here) if (here / d).is_symlink()]:
            path = here / name
            if path in skip:
                continue
            if path.is_symlink():
                if not (target / name).is_symlink():
                    os.symlink(os.readlink(path), target / name)
            else:
                os.link(path, target / name, follow_symlinks=False)


def _write_venv(dest: Path, venv: Path, version: str, staged_python: bool) -> None:
    """The venv's ``pyvenv.cfg`` and ``bin/python`` for its place inside the sandbox."""
    home = PYTHON_HOME if staged_python else str(Path(sys.base_prefix))
    lines = [f"home = {home}/bin"]
    config = {}
    with contextlib.suppress(OSError):
        for line in (venv / "pyvenv.cfg").read_text().splitlines():
            name, _, value = line.partition("=")
            config[name.strip()] = value.strip()
    lines.append(
        "include-system-site-packages = "
        + config.get("include-system-site-packages", "false")
    )
    lines.append(f"version = {config.get('version', version.removeprefix('python'))}")
    (dest / "pyvenv.cfg").write_text("\n".join(lines) + "\n")
    binary = Path(os.path.realpath(sys.executable)).name
    bin_dir = dest / "bin"
    bin_dir.mkdir(mode=0o755, exist_ok=True)
    os.symlink(f"{home}/bin/{binary}", bin_dir / version)
    for alias in ("python", "python3"):
        if alias != version:
            os.symlink(version, bin_dir / alias)


# -- one job's mounts -------------------------------------------------------------------------


@contextlib.contextmanager
def staged_job(job: Job) -> Iterator[Job]:
    """``job`` with its runtime, submission and channel under a neutral folder (removed
    when the block ends)."""
    folder, cleanup = stage_job(job)
    try:
        yield folder
    finally:
        cleanup()


def stage_job(job: Job, *, channel: bool = True) -> tuple[Job, Callable[[], None]]:
    """``job`` with its runtime, submission and (unless ``channel`` is False) its channel
    socket given neutral host paths; and the function that removes them."""
    device = job.channel.parent.stat().st_dev if channel else None
    parent = (
        neutral_root(device, near=job.channel.parent)
        if device is not None
        else Path(NEUTRAL_ROOTS[0])
    )
    if parent is None:  # the socket cannot be linked: copy what can be, keep the socket
        parent, channel = Path(NEUTRAL_ROOTS[0]), False
    folder = Path(tempfile.mkdtemp(prefix=f"{JOB_PREFIX}{os.getpid()}-", dir=parent))
    try:
        os.chmod(folder, 0o711)  # traversable, not listable
        runtime = folder / "runtime"
        _copy_readable(job.runtime_parent, runtime)
        submission = folder / "submission"
        _copy_readable(job.workdir, submission)
        changes: dict[str, object] = {"runtime_parent": runtime, "workdir": submission}
        if channel:
            link = folder / "channel.sock"
            os.link(job.channel, link)
            os.chmod(link, 0o666)  # connectable by the sandbox's unprivileged uid
            changes["channel"] = link
        data = {}
        for name, host in job.data.items():
            data[name] = _linked_data(host, folder / "data" / name)
        changes["data"] = data
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return replace(job, **changes), functools.partial(shutil.rmtree, folder, True)  # type: ignore[arg-type]


def _copy_readable(source: Path, dest: Path) -> None:
    shutil.copytree(source, dest, symlinks=True)
    for folder, _dirs, files in os.walk(dest):
        os.chmod(folder, 0o755)
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                mode = path.stat().st_mode
                path.chmod(0o755 if mode & 0o111 else 0o644)


def _linked_data(host: Path, dest: Path) -> Path:
    """A data set's folder hard-linked under ``dest`` (its host path where it cannot be)."""
    try:
        if Path(host).stat().st_dev != dest.parent.parent.stat().st_dev:
            return Path(host)
        dest.parent.mkdir(mode=0o755, exist_ok=True)
        _link_tree(Path(host), dest, set())
    except OSError:
        return Path(host)
    return dest

"""Hostile submissions for the self-test assignment ``tiny-rnn``, each with its verdict.

A ``Case`` is one student.  Archive cases are ZIPs that intake must refuse before any
sandbox starts, so their verdict is the same on every backend.  Sandbox cases are one
``rnn_step.py`` (see ``student``) that tries something, then usually carries on with an
honest or a wrong answer, so the verdict shows that the attempt changed nothing: an
honest answer still gets 10 of 10, a wrong one still gets its 3.

``verdict`` is what every isolating backend (bubblewrap, Docker) must give, with no
breach.  ``local`` says what the local backend does instead: the same, or a breach it
lets through (``breached``, with ``note`` saying what, for SECURITY.md), or not run at
all where running it would harm the machine (``skip``).  The test asserts both ways, so
a table entry saying "not stopped" is as tested as one saying "stopped".
"""

from __future__ import annotations

import functools
import io
import stat
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .student import HONEST, WRONG
from .zips import RawEntry, raw_zip, zeros_crc, zeros_deflated, zip_files

MiB = 1024**2
MAX = 10.0  # tiny-rnn's automatic points

GROUPS = {
    "honest": "Honest submissions, graded in the same batches",
    "archive": "Archives (decided by intake, before any sandbox: the same on every backend)",
    "resources": "Resources",
    "escapes": "Escapes and cheats",
    "data": "Values sent back to the grader (the data boundary)",
    "assignment": "Hidden cheating of the assignment (tiny-lstm: nn.LSTM and nn.LSTMCell forbidden)",
    "training": "Forged training (the course's palindrome-rnn-lstm and char-rnn-lab)",
}


@dataclass(frozen=True)
class Verdict:
    status: str
    score: float
    flags: tuple[str, ...] = ()
    message: str = ""  #: a substring of the summary or of some check's output


@dataclass(frozen=True)
class Local:
    """What the local backend (no isolation) does with a case."""

    verdict: Verdict | None = None  #: None: the same verdict as the isolating backends
    breached: bool = False  #: it lets the attempt through (``note`` says what)
    note: str = ""
    skip: str = ""  #: why the case is not run there at all


SAME = Local()


@dataclass(frozen=True)
class Case:
    name: str  #: the student id; also names the files and processes the case leaves
    group: str
    threat: str  #: what the student tries, as SECURITY.md's table says it
    verdict: Verdict
    body: str = ""  #: sandbox cases: the code after the prologue
    #: archive cases: the ZIP's bytes, given the targets the test made
    archive: Callable[[dict[str, Any]], bytes] | None = None
    attempts: tuple[str, ...] = ()  #: names of attempts that must have run
    local: Local = SAME
    victim: bool = False  #: plant another student's files for it to attack
    #: a known limit of the harness, the same on every backend (SECURITY.md says it)
    limit: str = ""
    assignment: str = "tiny-rnn"  #: or "tiny-lstm", the suite's torch assignment, or a course's
    extra: dict[str, str] = field(default_factory=dict)  #: more files in the ZIP
    #: the student id where the assignment's naming rule wants another (digits, say)
    student: str = ""

    @property
    def id(self) -> str:
        """The student id its results are filed under."""
        return self.student or self.name


# -- archives -----------------------------------------------------------------------------


def _with_honest(*entries: RawEntry) -> bytes:
    return raw_zip([RawEntry.deflated("rnn_step.py", HONEST.encode()), *entries])


@functools.cache
def _bomb(size: int, *, declared: int | None = None) -> RawEntry:
    return RawEntry(
        name=b"data/weights.bin",
        data=zeros_deflated(size),
        method=zipfile.ZIP_DEFLATED,
        crc=zeros_crc(size),
        size=size if declared is None else declared,
    )


def _nested_bomb(t: dict[str, Any]) -> bytes:
    inner = raw_zip([_bomb(112 * MiB)])  # each file under the 128 MiB limit, ratio ~1000
    middle = zip_files({"inner.zip": inner})
    return zip_files({"code.zip": middle, "README.txt": "my code is in code.zip\n"})


def _hard_link(t: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        link = tarfile.TarInfo("rnn_step.py")
        link.type = tarfile.LNKTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    return buffer.getvalue()


def _corrupt(t: dict[str, Any]) -> bytes:
    entry = RawEntry.deflated("rnn_step.py", (HONEST * 20).encode())
    data = bytearray(entry.data)
    middle = len(data) // 2
    data[middle : middle + 8] = bytes(b ^ 0xFF for b in data[middle : middle + 8])
    return raw_zip([RawEntry(**{**entry.__dict__, "data": bytes(data)})])


def _odd_names(t: dict[str, Any]) -> bytes:
    # Windows tools write names in the machine's code page, without the UTF-8 flag.
    folder = "Übung 3/".encode("cp437")
    return raw_zip(
        [
            RawEntry.deflated(folder + b"rnn_step.py", HONEST.encode()),
            RawEntry.deflated(folder + "Lösung.txt".encode("cp437"), b"notes\n"),
            RawEntry.deflated(folder + "課題.txt".encode("shift_jis"), b"notes\n"),
            RawEntry.deflated("Übung 3/\u202etxt.py".encode(), b"# right-to-left\n", flags=0x800),
        ]
    )


ARCHIVES = [
    Case(
        "zip-slip",
        "archive",
        "path traversal: an entry named `../../hostile.py`",
        Verdict("not_graded", 0, message="contains '..'"),
        archive=lambda t: _with_honest(
            RawEntry.deflated(f"../../hostile-{t['mark']}-zip-slip.py", b"print('escaped')\n")
        ),
    ),
    Case(
        "backslash-slip",
        "archive",
        "path traversal with Windows separators: `..\\..\\hostile.py`",
        Verdict("not_graded", 0, message="contains '..'"),
        archive=lambda t: _with_honest(
            RawEntry.deflated(f"..\\..\\hostile-{t['mark']}-backslash.py", b"x = 1\n")
        ),
    ),
    Case(
        "absolute-path",
        "archive",
        "an absolute path: `/tmp/hostile.py`",
        Verdict("not_graded", 0, message="absolute path"),
        archive=lambda t: _with_honest(
            RawEntry.deflated(f"/tmp/hostile-{t['mark']}-absolute-path.py", b"x = 1\n")
        ),
    ),
    Case(
        "drive-letter",
        "archive",
        "a Windows drive letter: `C:\\Windows\\hostile.py`",
        Verdict("not_graded", 0, message="drive letter"),
        archive=lambda t: _with_honest(RawEntry.deflated("C:\\Windows\\hostile.py", b"x = 1\n")),
    ),
    Case(
        "symlink",
        "archive",
        "a symbolic link to `/etc/passwd` in place of `rnn_step.py`",
        Verdict("not_graded", 0, message="symbolic link"),
        archive=lambda t: raw_zip(
            [RawEntry.stored("rnn_step.py", b"/etc/passwd", mode=stat.S_IFLNK | 0o777)]
        ),
    ),
    Case(
        "symlink-folder",
        "archive",
        "a folder that is a link to `/`, and a file written through it",
        Verdict("not_graded", 0, message="symbolic link"),
        archive=lambda t: _with_honest(
            RawEntry.stored("data", b"/", mode=stat.S_IFLNK | 0o777),
            RawEntry.deflated(f"data/tmp/hostile-{t['mark']}-symlink-folder.py", b"x = 1\n"),
        ),
    ),
    Case(
        "hard-link",
        "archive",
        "a hard link to `/etc/passwd` (ZIP has none: a tar with one, renamed `.zip`)",
        Verdict("not_graded", 0, message="tar archive"),
        archive=_hard_link,
    ),
    Case(
        "fifo",
        "archive",
        "a named pipe (FIFO) entry",
        Verdict("not_graded", 0, message="named pipe"),
        archive=lambda t: _with_honest(RawEntry.stored("pipe", b"", mode=stat.S_IFIFO | 0o644)),
    ),
    Case(
        "zip-bomb",
        "archive",
        "a zip bomb: 1 MiB that unpacks to 1 GiB",
        Verdict("not_graded", 0, message="more than the limit"),
        archive=lambda t: _with_honest(_bomb(1024 * MiB)),
    ),
    Case(
        "lying-bomb",
        "archive",
        "a zip bomb whose headers say 1 KiB",
        Verdict("not_graded", 0, message="is it a zip bomb?"),
        archive=lambda t: _with_honest(_bomb(1024 * MiB, declared=1024)),
    ),
    Case(
        "nested-bomb",
        "archive",
        "a nested zip bomb: ZIP in ZIP in ZIP, 112 MiB from 112 KiB",
        Verdict("not_graded", 0, message="in the nested ZIP"),
        archive=_nested_bomb,
    ),
    Case(
        "many-entries",
        "archive",
        "6,000 entries",
        Verdict("not_graded", 0, message="6001 entries"),
        archive=lambda t: _with_honest(
            *(RawEntry.stored(f"junk/{i}.txt", b"") for i in range(6000))
        ),
    ),
    Case(
        "encrypted",
        "archive",
        "an encrypted (password-protected) ZIP",
        Verdict("not_graded", 0, message="password-protected"),
        archive=lambda t: raw_zip([RawEntry.deflated("rnn_step.py", HONEST.encode(), flags=1)]),
    ),
    Case(
        "truncated",
        "archive",
        "a ZIP cut short in the upload",
        Verdict("not_graded", 0, message="cut short"),
        archive=lambda t: (lambda z: z[: len(z) // 2])(zip_files({"rnn_step.py": HONEST * 5})),
    ),
    Case(
        "corrupt",
        "archive",
        "a ZIP with damaged data (bits flipped)",
        Verdict("not_graded", 0, message="damaged"),
        archive=_corrupt,
    ),
    Case(
        "not-a-zip",
        "archive",
        "a PDF renamed `.zip`",
        Verdict("not_graded", 0, message="PDF document"),
        archive=lambda t: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
    ),
    Case(
        "odd-encodings",
        "archive",
        "file names in code page 437, Shift-JIS, and a right-to-left override",
        Verdict("graded", MAX, message="inside the folder"),
        archive=_odd_names,
    ),
    Case(
        "markup-names",
        "archive",
        "file names that are rich markup (`part1/[/]/x.py`, `[bold red]graded 16/16[/].py`)",
        Verdict("graded", MAX),
        archive=lambda t: _with_honest(
            RawEntry.deflated("part1/[/]/x.py", b"# [/]\n"),
            RawEntry.deflated("[bold red]graded 16/16[/].py", b"# markup\n"),
        ),
    ),
    Case(
        "escape-names",
        "archive",
        "a file name holding escape sequences (a colour, a new window title)",
        Verdict("not_graded", 0, message="has a control character"),
        archive=lambda t: _with_honest(
            RawEntry.deflated(b"esc\x1b[31mred\x1b]0;title\x07.py", b"# escapes\n", flags=0x800),
        ),
    ),
    Case(
        "bad-utf8-name",
        "archive",
        "a name flagged UTF-8 that is not",
        Verdict("not_graded", 0, message="damaged ZIP"),
        archive=lambda t: raw_zip(
            [RawEntry.deflated(b"\xff\xfe\xfd.py", HONEST.encode(), flags=0x800)]
        ),
    ),
    Case(
        "duplicate-names",
        "archive",
        "two different files both named `rnn_step.py`",
        Verdict("not_graded", 0, message="two files named"),
        archive=lambda t: raw_zip(
            [
                RawEntry.deflated("rnn_step.py", HONEST.encode()),
                RawEntry.deflated("rnn_step.py", WRONG.encode()),
            ]
        ),
    ),
    Case(
        "empty-zip",
        "archive",
        "an empty ZIP",
        Verdict("not_graded", 0, message="the ZIP is empty"),
        archive=lambda t: b"PK\x05\x06" + bytes(18),
    ),
]


# -- resources ---------------------------------------------------------------------------

NOT_ON_LOCAL = "not run: with no memory or process limit it would harm the machine"

RESOURCES = [
    Case(
        "loop-at-import",
        "resources",
        "an infinite loop at import",
        Verdict("timeout", 0, ("call_timeout",), "did not finish within 5 s while importing"),
        body="while True:\n    pass\n",
    ),
    Case(
        "loop-in-forward",
        "resources",
        "an infinite loop inside `forward`",
        Verdict("timeout", 7, ("call_timeout",), "while calling RNNCell.forward"),
        body=HONEST.replace(
            "    def forward(self, x, h):\n",
            "    def forward(self, x, h):\n        while True:\n            pass\n",
        ),
    ),
    Case(
        "fork-bomb",
        "resources",
        "a fork bomb at import",
        Verdict("timeout", 0, ("call_timeout",), "did not finish within 5 s"),
        body=r"""
while True:
    try:
        os.fork()
    except OSError:
        pass
""",
        local=Local(skip=NOT_ON_LOCAL),
    ),
    Case(
        "memory-bomb",
        "resources",
        "a memory bomb at import (allocates until it dies)",
        Verdict("graded", 0, ("out_of_memory",), "ran out of memory"),
        body=r"""
hoard = []
while True:
    hoard.append(bytearray(64 * 1024 * 1024))
""",
        local=Local(skip=NOT_ON_LOCAL),
    ),
    Case(
        "disk-filler",
        "resources",
        "a disk filler: 4 MiB files into `/tmp` and its folder until something stops it",
        Verdict("graded", MAX),
        body=r"""
def fill():
    written = 0
    for folder in ("/tmp", os.getcwd()):
        for i in range(40):
            try:
                write(os.path.join(folder, f"hostile-{MARK}-{i}.bin"), "x" * (4 << 20))
            except OSError as exc:
                print(f"stopped in {folder}: {exc}", flush=True)
                break
            written += 4
    # Two tmpfs of 32 MiB hold 64 MiB at most; more went to a real disk.
    return f"wrote {written} MiB" if written > 64 else ""


attempt("fill the disk", fill)
"""
        + HONEST,
        attempts=("fill the disk",),
        local=Local(breached=True, note="writes 320 MiB to the machine's disk"),
    ),
    Case(
        "output-flood",
        "resources",
        "a flood of output: 40 MB on stdout, 10 MB on stderr",
        Verdict("graded", MAX, ("output_truncated",)),
        body=r"""
line = "flood " * 170 + "\n"
for _ in range(40_000):
    sys.stdout.write(line)
for _ in range(10_000):
    sys.stderr.write(line)
"""
        + HONEST,
    ),
    Case(
        "text-array",
        "data",
        "returning arrays of text shaped like the answer (`np.array` of digit strings, and a "
        "list of lists of strings)",
        Verdict("graded", 1, message="not numbers"),
        body=r"""
import numpy as np


def rnn_step(x, h, Wx, Wh, b):
    return np.tanh(x @ Wx + h @ Wh + b).astype(str)


class RNNCell:
    def __init__(self, input_size, hidden_size):
        pass

    def forward(self, x, h):
        return [["1.0"] * 5 for _ in range(len(x))]
""",
    ),
    Case(
        "shape-bomb",
        "data",
        "returning arrays that claim huge shapes from no bytes: 2^27 `V0` items, and 2^27 "
        "items of an empty structured dtype",
        Verdict("graded", 1, message="not numbers"),
        body=r"""
import numpy as np


def rnn_step(x, h, Wx, Wh, b):
    return np.empty((2**27,), dtype="V0")


class RNNCell:
    def __init__(self, input_size, hidden_size):
        pass

    def forward(self, x, h):
        return np.empty((2**14, 2**13), dtype=np.dtype([]))
""",
    ),
    Case(
        "forged-frame",
        "data",
        "rewriting the harness's channel in its own process so every array it sends claims "
        "2^40 elements",
        Verdict("graded", 1, message="claims more than"),
        body=r"""
import io
import struct
import sys

import numpy as np

channel = sys.modules.get("harness_runtime.channel")


def forged_pack(header, arrays):
    import json

    head = json.dumps(header).encode()
    blob = b""
    if arrays:
        buffer = io.BytesIO()
        import zipfile

        with zipfile.ZipFile(buffer, "w") as zf:
            for name in arrays:
                with zf.open(name + ".npy", "w") as f:
                    np.lib.format.write_array_header_1_0(
                        f, {"descr": "<f8", "fortran_order": False, "shape": (2**40,)}
                    )
                    f.write(bytes(80))
        blob = buffer.getvalue()
    return channel._HEAD.pack(channel.MAGIC, len(head), len(blob)) + head + blob


attempt("find the channel module", lambda: channel is not None and channel.__name__, judge=False)
if channel is not None:
    channel.pack = forged_pack
"""
        + HONEST,
        attempts=("find the channel module",),
    ),
    Case(
        "escape-codes",
        "data",
        "escape sequences and rich markup in its output, its exception and its file names: "
        "a new window title, a fake 'grade 16/16' line over the last one, a link, `[/]`",
        Verdict("graded", MAX - 3, message="ValueError"),
        body=r"""
FAKE = ("\x1b]0;all checks passed\x07\x1b[1A\x1b[2K\x1b[32m[bold]grade 16/16[/] "
        "\x1b]8;;https://example.invalid\x1b\\details\x1b]8;;\x1b\\ [/]\x9b2J")
print(FAKE, flush=True)
print(FAKE, file=sys.stderr, flush=True)
"""
        + HONEST
        + r"""

class RNNCell(RNNCell):
    def forward(self, x, h):
        raise ValueError(FAKE)
""",
    ),
    Case(
        "sleep-past-limit",
        "resources",
        "sleeping 14 s at import and in every call, past the wall-clock backstop of the submission's 15 s of CPU time (4 x 15 s)",
        Verdict("timeout", 1, ("timeout",), "time limit"),
        body=r"""
import time

import numpy as np

time.sleep(14)


def rnn_step(x, h, Wx, Wh, b):
    time.sleep(14)
    return np.zeros((1, 1))


class RNNCell:
    def __init__(self, input_size, hidden_size):
        pass

    def forward(self, x, h):
        return rnn_step(x, h, None, None, None)
""",
    ),
    Case(
        "endless-threads",
        "resources",
        "threads that never end (one spinning, two asleep), started at import",
        Verdict("graded", MAX),
        body=r"""
import threading
import time


def spin():
    while True:
        pass


threading.Thread(target=spin, name=MARK).start()
for _ in range(2):
    threading.Thread(target=time.sleep, args=(10_000,)).start()
"""
        + HONEST,
    ),
    Case(
        "child-left-behind",
        "resources",
        "child processes left behind: one in its own session, one daemonised, both "
        "ignoring SIGTERM",
        Verdict("graded", MAX),
        body=r"""
import subprocess

SLEEPER = f"import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(900)  # {MARK}"


def popen():
    child = subprocess.Popen([sys.executable, "-c", SLEEPER], start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return child.pid


def daemon():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", SLEEPER])
        os._exit(0)
    return "forked"


attempt("start a child in its own session", popen, judge=False)
attempt("start a daemon", daemon, judge=False)
"""
        + HONEST,
        attempts=("start a child in its own session", "start a daemon"),
        local=Local(breached=True, note="both children outlive grading"),
    ),
    Case(
        "ignores-termination",
        "resources",
        "a signal handler that ignores termination, then an endless loop",
        Verdict("timeout", 0, ("call_timeout",), "did not finish within 5 s"),
        body=r"""
import signal

for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGXCPU"):
    signal.signal(getattr(signal, name), signal.SIG_IGN)
while True:
    pass
""",
    ),
]


# -- escapes and cheats -------------------------------------------------------------------

ESCAPES = [
    Case(
        "read-hidden",
        "escapes",
        "reading the graders, hidden tests and reference solution, and printing them into "
        "the report",
        Verdict("graded", MAX),
        body=r"""
import time

for key in ("grader_checks", "grader_spec", "reference", "repo_grader", "repo_reference"):
    attempt(f"read {key}", lambda key=key: read(TARGETS[key]))


def search():
    deadline = time.monotonic() + 1.5
    found = []
    for top, dirs, files in os.walk("/"):
        if time.monotonic() > deadline:
            break
        dirs[:] = [d for d in dirs if os.path.join(top, d) not in ("/proc", "/sys", "/dev")]
        for name in files:
            if name == "assignment.toml" or top.endswith(("graders/tiny-rnn", "reference/tiny-rnn")):
                path = os.path.join(top, name)
                try:
                    found.append(f"{path}:\n{read(path)[:3000]}")
                except OSError:
                    pass
    return found


attempt("search the file system for graders", search)
"""
        + HONEST,
        attempts=("read grader_checks", "read reference", "search the file system for graders"),
        local=Local(breached=True, note="reads the graders and the reference"),
    ),
    Case(
        "snoop-processes",
        "escapes",
        "looking in `/proc` for the grading process, its environment, and host paths in any "
        "command line",
        Verdict("graded", MAX),
        body=r"""
def grading_processes():
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if "harness.checks.worker" in cmd:
                found.append(cmd[:300])
    return found


def parent_environment():
    with open(f"/proc/{os.getppid()}/environ", "rb") as f:
        env = f.read()
    return env[:3000] if TARGETS["env_secret_name"].encode() in env else ""


def host_paths():
    # Any command line in view that names the results folder tells where things are.
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if TARGETS["out"] in cmd:
                found.append(cmd[:300])
    return found


attempt("see the grading process", grading_processes)
attempt("read the parent's environment", parent_environment)
attempt("read host paths in a command line", host_paths)
"""
        + HONEST,
        attempts=(
            "see the grading process",
            "read the parent's environment",
            "read host paths in a command line",
        ),
        local=Local(breached=True, note="sees the grading process and reads its environment"),
    ),
    Case(
        "host-paths",
        "escapes",
        "looking for the host's folders (results, checkout, home, temporary files, the Python "
        "installation and venv) in mounts, memory maps, `sys`, modules, the venv's files, "
        "environment and command lines",
        Verdict("graded", MAX),
        body=r"""
import glob
import re

HOST = [p for p in TARGETS["host_paths"] if p and p != "/"]
# A host folder's path as a whole path or its start, not inside another one (HOME=/root is
# not in .../sympy/polys/rootisolation.py, nor in /opt/venv/lib/root/).
PATTERNS = [re.compile(r"(?<![\w.-])" + re.escape(p.rstrip("/")) + r"(?![\w.-])") for p in HOST]


def named(texts):
    # Every place a host folder's path shows, with the text around it.
    found = []
    for where, text in texts:
        for pattern in PATTERNS:
            match = pattern.search(text)
            if match:
                at, end = match.span()
                found.append(f"{where}: ...{text[max(at - 60, 0):end + 40]}...")
    return found[:20]


def text_of(path):
    try:
        with open(path, "rb") as f:
            return f.read(4_000_000).decode(errors="replace")
    except OSError:
        return ""


def mounts():
    return named((p, text_of(p)) for p in (
        "/proc/self/mountinfo", "/proc/self/mounts", "/proc/1/mountinfo", "/proc/1/mounts"))


def memory_map():
    return named([("/proc/self/maps", text_of("/proc/self/maps"))])


def interpreter():
    texts = [(name, str(getattr(sys, name, ""))) for name in (
        "path", "prefix", "base_prefix", "exec_prefix", "base_exec_prefix", "executable")]
    texts.append(("realpath(sys.executable)", os.path.realpath(sys.executable)))
    texts.append(("cwd", os.getcwd()))
    for link in ("/proc/self/exe", "/proc/self/cwd", "/proc/self/root"):
        try:
            texts.append((link, os.readlink(link)))
        except OSError:
            pass
    for name, module in list(sys.modules.items()):
        for attribute in ("__file__", "__path__"):
            try:  # (torch.classes makes up a class for any attribute, or raises)
                texts.append((f"{name}.{attribute}", str(getattr(module, attribute, ""))))
            except Exception:
                pass
    return named(texts)


def environment():
    texts = [("os.environ", repr(dict(os.environ)))]
    texts.append(("/proc/self/environ", text_of("/proc/self/environ")))
    return named(texts)


def command_lines():
    texts = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            texts.append((f"/proc/{pid}/cmdline", text_of(f"/proc/{pid}/cmdline").replace("\0", " ")))
            texts.append((f"/proc/{pid}/environ", text_of(f"/proc/{pid}/environ")))
    return named(texts)


def site_files():
    texts = []
    for folder in sys.path:
        for pattern in ("*.pth", "*.cfg", "../../../pyvenv.cfg", "*finder*.py"):
            for path in glob.glob(os.path.join(folder, pattern)):
                texts.append((path, text_of(path)))
    texts.append(("pyvenv.cfg", text_of(os.path.join(sys.prefix, "pyvenv.cfg"))))
    return named(texts)


attempt("find host paths in the mounts", mounts)
attempt("find host paths in the memory map", memory_map)
attempt("find host paths in sys and the modules", interpreter)
attempt("find host paths in the environment", environment)
attempt("find host paths in command lines", command_lines)
attempt("find host paths in the venv's files", site_files)
"""
        + HONEST,
        attempts=(
            "find host paths in the mounts",
            "find host paths in the memory map",
            "find host paths in sys and the modules",
            "find host paths in the environment",
            "find host paths in command lines",
            "find host paths in the venv's files",
        ),
        local=Local(breached=True, note="runs in the host's own folders, and sees them"),
    ),
    Case(
        "forge-results",
        "escapes",
        "writing or replacing its own `results.json`, its report, the gradebook and the "
        "worker's result file",
        Verdict("graded", 3),
        body=r"""
import json

FORGED = json.dumps({"score": 999, "output": f"FORGED-{MARK}"})
own = os.path.join(TARGETS["out"], CASE)
for name, path in [
    ("results.json", os.path.join(own, "results.json")),
    ("report.html", os.path.join(own, "report.html")),
    ("grades.csv", os.path.join(TARGETS["out"], "grades.csv")),
    ("index.html", os.path.join(TARGETS["out"], "index.html")),
    ("worker-result.json", os.path.join(TARGETS["out"], ".work", CASE, "worker-result.json")),
]:
    attempt(f"replace {name}", lambda path=path: write(path, FORGED), judge=False)
"""
        + WRONG,
        attempts=("replace results.json", "replace worker-result.json"),
    ),
    Case(
        "other-student",
        "escapes",
        "modifying another student's submission and results",
        Verdict("graded", MAX),
        body=r"""
victim = os.path.join(TARGETS["out"], f"victim-{CASE}")
attempt("list the other submissions", lambda: os.listdir(TARGETS["out"]))
attempt("overwrite their results", lambda: write(os.path.join(victim, "results.json"),
        f"FORGED-{MARK}"), judge=False)
attempt("overwrite their code", lambda: write(os.path.join(TARGETS["out"], ".work",
        f"victim-{CASE}", "submission", "rnn_step.py"), f"# FORGED-{MARK}\n"), judge=False)
"""
        + HONEST,
        attempts=("list the other submissions", "overwrite their results", "overwrite their code"),
        victim=True,
        local=Local(breached=True, note="rewrites another student's results and code"),
    ),
    Case(
        "write-outside",
        "escapes",
        "writing outside its folder: a new file, an existing one, `/tmp`, the harness and graders",
        Verdict("graded", MAX),
        body=r"""
outside = os.path.join(TARGETS["outside"], CASE)
attempt("create a file outside", lambda: write(os.path.join(outside, "new.txt")), judge=False)
attempt("overwrite a file outside", lambda: write(os.path.join(outside, "canary.txt")),
        judge=False)
attempt("write to the machine's /tmp", lambda: write(f"/tmp/hostile-{MARK}.txt"), judge=False)
for key in ("repo_harness", "repo_grader", "grader_checks"):
    attempt(f"open {key} for writing", lambda key=key: can_open_for_writing(TARGETS[key]))
"""
        + HONEST,
        attempts=(
            "create a file outside",
            "overwrite a file outside",
            "open repo_harness for writing",
        ),
        local=Local(breached=True, note="writes anywhere the harness can, the harness included"),
    ),
    Case(
        "network",
        "escapes",
        "network access: DNS, HTTPS to PyPI, a raw socket, a port on the machine, the "
        "Docker engine's socket",
        Verdict("graded", MAX),
        body=r"""
import socket


def raw():
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP):
        return "raw ICMP socket open"


def host_port():
    with socket.create_connection(("127.0.0.1", TARGETS["host_port"]), timeout=1) as s:
        return s.recv(100)


def docker_engine():
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(1)
        s.connect("/var/run/docker.sock")
        return "connected to the Docker engine"


attempt("DNS", lambda: socket.getaddrinfo("pypi.org", 443)[0][4])
attempt("HTTPS", lambda: socket.create_connection(("pypi.org", 443), timeout=1).getpeername())
attempt("raw socket", raw)
attempt("a port on the machine", host_port)
attempt("the Docker engine", docker_engine)
"""
        + HONEST,
        attempts=("DNS", "HTTPS", "raw socket", "a port on the machine", "the Docker engine"),
        local=Local(breached=True, note="reaches the machine's ports (and the network)"),
    ),
    Case(
        "env-and-home",
        "escapes",
        "reading environment variables and the home folder",
        Verdict("graded", MAX),
        body=r"""
attempt("secrets in the environment",
        lambda: {k: v for k, v in os.environ.items() if "SECRET" in k or "TOKEN" in k})
attempt("the harness's home folder", lambda: read(TARGETS["home_secret"]))
attempt("its own home folder", lambda: os.listdir(os.path.expanduser("~")), judge=False)
"""
        + HONEST,
        attempts=("secrets in the environment", "the harness's home folder"),
        local=Local(breached=True, note="reads the home folder of the user who grades"),
    ),
    Case(
        "spawn-shell",
        "escapes",
        "spawning a shell that looks around and reads the hidden tests",
        Verdict("graded", MAX),
        body=r"""
import shlex
import subprocess


def shell():
    script = "id; hostname; ls /; cat " + shlex.quote(TARGETS["grader_checks"])
    done = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, timeout=3)
    print(done.stdout, done.stderr, flush=True)
    return done.stdout if done.returncode == 0 else ""


attempt("a shell that reads the hidden tests", shell)
"""
        + HONEST,
        attempts=("a shell that reads the hidden tests",),
        local=Local(breached=True, note="its shell reads the hidden tests"),
    ),
    Case(
        "patch-numpy",
        "escapes",
        "patching `numpy.allclose`, `numpy.isclose`, `numpy.array_equal` and `numpy.testing`"
        " to always agree, with a wrong answer",
        Verdict("graded", 3),
        body=WRONG
        + r"""
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.shape(a), dtype=bool)
np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
np.testing.assert_array_almost_equal = lambda *args, **kwargs: None
""",
    ),
    Case(
        "patch-pytest-harness",
        "escapes",
        "patching `pytest` and the harness's own modules (trusted and in-sandbox), with a "
        "wrong answer",
        Verdict("graded", 3),
        body=r"""
def patch_pytest():
    import pytest

    pytest.approx = lambda expected, *args, **kwargs: expected
    pytest.fail = lambda *args, **kwargs: None
    return ""


def import_harness():
    import harness.checks.compare as compare

    compare.describe_mismatch = lambda *args, **kwargs: None
    return compare.__file__


def patch_runtime():
    import harness_runtime.serve as serve

    serve.describe_exception = lambda exc: {"type": "Passed", "message": "all good"}
    return ""


attempt("patch pytest", patch_pytest)
attempt("import the trusted harness", import_harness)
attempt("patch the runtime", patch_runtime)
"""
        + WRONG,
        attempts=("patch pytest", "import the trusted harness", "patch the runtime"),
        local=Local(breached=True, note="imports the trusted harness (in its own process only)"),
    ),
    Case(
        "sys-exit",
        "escapes",
        "`sys.exit(0)` in every call",
        Verdict("graded", 1, message="SystemExit"),
        body=HONEST.replace("    return np.tanh", "    sys.exit(0)\n    return np.tanh").replace(
            "        return rnn_step(x, h,", "        sys.exit(0)\n        return rnn_step(x, h,"
        ),
    ),
    Case(
        "os-exit",
        "escapes",
        "`os._exit(0)` in every call",
        Verdict("graded", 1, message="ended the process"),
        body=HONEST.replace("    return np.tanh", "    os._exit(0)\n    return np.tanh").replace(
            "        return rnn_step(x, h,", "        os._exit(0)\n        return rnn_step(x, h,"
        ),
    ),
    Case(
        "raise-in-destructor",
        "escapes",
        "`SystemExit` and `KeyboardInterrupt` raised from destructors, also of the returned array",
        Verdict("graded", MAX),
        body=HONEST
        + r"""


class Exits:
    def __del__(self):
        raise SystemExit(0)


class Interrupts:
    def __del__(self):
        raise KeyboardInterrupt


class ExitingArray(np.ndarray):
    def __del__(self):
        raise SystemExit(0)


honest_step = rnn_step


def rnn_step(x, h, Wx, Wh, b):
    Exits()
    Interrupts()
    return honest_step(x, h, Wx, Wh, b).view(ExitingArray)


keep = [Exits(), Interrupts()]
""",
    ),
    Case(
        "atexit",
        "escapes",
        "`atexit` handlers that forge results, write outside and hang",
        Verdict("graded", MAX),
        body=r"""
import atexit
import time

atexit.register(time.sleep, 1000)
atexit.register(write, os.path.join(TARGETS["out"], CASE, "results.json"), f"FORGED-{MARK}")
atexit.register(write, os.path.join(TARGETS["outside"], CASE, "atexit.txt"))
"""
        + HONEST,
    ),
    Case(
        "replace-builtins",
        "escapes",
        "replacing `builtins` (`isinstance`, `len`, `print`) after defining the answer",
        Verdict("graded", 0, message="ended the process"),
        body=HONEST
        + r"""
import builtins

builtins.isinstance = lambda obj, kind: True
builtins.len = lambda obj: 0
builtins.print = lambda *args, **kwargs: None
""",
    ),
    Case(
        "always-equal",
        "escapes",
        "returning objects whose `__eq__` always says True",
        Verdict("graded", 1, message="cannot convert"),
        body=r"""
class Equal:
    shape = (3, 5)
    dtype = "float64"

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__


def rnn_step(x, h, Wx, Wh, b):
    return Equal()


class RNNCell:
    def __init__(self, input_size, hidden_size):
        pass

    def forward(self, x, h):
        return Equal()
""",
    ),
    Case(
        "lying-shape",
        "escapes",
        "returning a lazy object, and an array subclass, that lie about their shape",
        Verdict("graded", 1, message="got shape (1, 1)"),
        body=r"""
import numpy as np


class Liar(np.ndarray):
    @property
    def shape(self):
        return (len(self.claimed), 5)


class Lazy:
    def __init__(self, n):
        self.shape, self.dtype = (n, 5), np.dtype("float64")

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, i):
        return np.zeros(5)

    def __array__(self, dtype=None, copy=None):
        return np.zeros(self.shape)


def rnn_step(x, h, Wx, Wh, b):
    liar = np.zeros((1, 1)).view(Liar)
    liar.claimed = x
    return liar


class RNNCell:
    def __init__(self, input_size, hidden_size):
        pass

    def forward(self, x, h):
        return Lazy(len(x))
""",
    ),
    Case(
        "forged-replies",
        "escapes",
        "patching the in-sandbox runtime to send the grader malformed replies",
        Verdict("graded", 1, message="could not be read"),
        body=r"""
import json

import harness_runtime.channel as channel

original_pack = channel.pack


def forged_pack(header, arrays):
    value = header.get("value")
    if header.get("ok") and isinstance(value, dict) and "__array__" in value:
        got = arrays[value["__array__"]]
        if got.shape[0] == 1:
            header = dict(header, value={"__array__": "no-such-array"})
        elif got.shape[0] == 7:
            header = dict(header, value={"__handle__": "not a number", "shape": 5})
        elif got.sum() > 0:
            header = dict(header, id=-12345)
        else:
            header = {"id": header["id"], "ok": False, "error": ["not", "a", "mapping"]}
    return original_pack(header, arrays)


channel.pack = forged_pack
"""
        + HONEST,
    ),
    Case(
        "deep-reply",
        "escapes",
        "a reply nested 100,000 deep (the grader's JSON parser recurses)",
        Verdict("graded", 1, message="could not be read"),
        body=r"""
import json
import struct

import harness_runtime.channel as channel

original_pack = channel.pack


def deep_pack(header, arrays):
    value = header.get("value")
    if header.get("ok") and isinstance(value, dict) and "__array__" in value:
        text = '{"id": %d, "ok": true, "value": %s}' % (header["id"], "[" * 100_000 + "]" * 100_000)
        head = text.encode()
        return struct.pack("!4sII", channel.MAGIC, len(head), 0) + head
    return original_pack(header, arrays)


channel.pack = deep_pack
"""
        + HONEST,
    ),
    Case(
        "huge-error",
        "escapes",
        "an exception message of 30 MB, sent through a patched runtime past its own cap",
        Verdict("graded", 1, message="ValueError"),
        body=r"""
import harness_runtime.serve as serve

original = serve.describe_exception


def describe(exc):
    described = original(exc)
    described["message"] = "huge " * 6_000_000
    described["traceback"] = "deep " * 1_000_000
    return described


serve.describe_exception = describe
"""
        + WRONG.replace(
            "    return np.zeros((x.shape[0], Wx.shape[1]))", "    raise ValueError('no')"
        ),
    ),
    Case(
        "slow-reply",
        "escapes",
        "escaping the time limit: a reply sent one byte every 0.5 s (each byte within the "
        "call's limit)",
        Verdict("timeout", 9, ("call_timeout",), "did not finish within 5 s"),
        body=r"""
import time

import harness_runtime.channel as channel


def slow_send(sock, header, arrays):
    data = channel.pack(header, arrays)
    value = header.get("value")
    if isinstance(value, dict) and "__array__" in value and arrays[value["__array__"]].shape[0] == 1:
        for i in range(len(data)):
            sock.sendall(data[i : i + 1])
            time.sleep(0.5)
    else:
        sock.sendall(data)


channel.send = slow_send
"""
        + HONEST,
    ),
    Case(
        "reply-bomb",
        "escapes",
        "a reply whose array is a 3 GiB deflate bomb of 3 MB, to take down the grading process",
        Verdict("graded", 1, message="could not be read"),
        body=r"""
import json
import struct
import zlib

import harness_runtime.channel as channel

SIZE = 3 << 30


def bomb():
    descr = "{'descr': '|u1', 'fortran_order': False, 'shape': (%d,), }" % SIZE
    pad = 63 - (10 + len(descr)) % 64
    head = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(descr) + pad + 1)
    head += descr.encode() + b" " * pad + b"\n"
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = z.compress(head) + z.flush(zlib.Z_FULL_FLUSH)
    segment = z.compress(bytes(1 << 24)) + z.flush(zlib.Z_FULL_FLUSH)
    data += segment * (SIZE >> 24) + z.flush()
    name = b"a0.npy"
    size = len(head) + SIZE
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, 0, len(data), size,
                        len(name), 0)
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, 0,
                          len(data), size, len(name), 0, 0, 0, 0, 0, 0) + name
    start = len(local) + len(name) + len(data)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), start, 0)
    return local + name + data + central + end


BOMB = bomb()
original_pack = channel.pack


def bomb_pack(header, arrays):
    value = header.get("value")
    if header.get("ok") and isinstance(value, dict) and "__array__" in value:
        head = json.dumps({"id": header["id"], "ok": True, "value": {"__array__": "a0"}})
        return struct.pack("!4sII", channel.MAGIC, len(head), len(BOMB)) + head.encode() + BOMB
    return original_pack(header, arrays)


channel.pack = bomb_pack
"""
        + HONEST,
    ),
]

HONEST_CASES = [
    Case("honest", "honest", "an honest submission", Verdict("graded", MAX), body=HONEST),
    Case(
        "honest-in-folder",
        "honest",
        "an honest submission in a folder",
        Verdict("graded", MAX, message="inside the folder"),
        archive=lambda t: zip_files({"Jane Doe/rnn_step.py": HONEST}),
    ),
]

TINY_RNN = HONEST_CASES + ARCHIVES + RESOURCES + ESCAPES


def by_name(cases: list[Case]) -> dict[str, Case]:
    found = {c.name: c for c in cases}
    assert len(found) == len(cases), "two cases share a name"
    return found

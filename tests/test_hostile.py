"""Issue 7: nothing a student uploads can cheat, crash the batch, or harm the machine.

For every backend one batch grades every hostile case of ``tests/hostile`` (ZIPs built
here) beside honest submissions, in one ``api.grade`` (the local backend's through the
command line, whose warning is checked).  Then every case must have its verdict, the
honest ones their full marks, and the machine must hold nothing of the batch: no process,
control group, container, or file outside the results folder.  What each backend did is
recorded for SECURITY.md's table (scripts/security_table.py), and the committed table
must say the same.

Each batch runs with its own markers: a random string in every path and file name the
submissions know of and in every process they start, and a random seed, which is on the
command line of every student process.  The graders and reference are copies holding a
secret, and the grading user's home and environment hold one too: none may reach a
result.

The forged-training cases (``hostile/training_cases.py``: issue 14, causes 2 and 3) are
submissions of the course's own assignments, graded with their real graders in a batch
of their own per backend (``-k training``), and judged the same way.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import secrets
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import grading_timeout, require
from hostile import cases as hc
from hostile import lstm_cases, machine, principle, table, training_cases
from hostile.student import source
from hostile.zips import zip_files

from harness import api
from harness.assignments import find_assignment
from harness.grade import cli
from harness.results import SubmissionResult
from harness.sandbox.local import WARNING as LOCAL_WARNING
from harness.spec import Limits

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parent.parent
SELF_TEST = ROOT / "tests" / "assignments"
HOSTILE = ROOT / "tests" / "hostile" / "assignments"
#: tiny-rnn's limits, tightened so that the timeouts cost seconds, not minutes.
LIMITS = """[limits]
timeout = "15s"
call_timeout = "5s"
memory = "512M"
processes = 32
output = "16K"
file_size = "32M"
"""
ENV_SECRET = "HOSTILE_ENV_SECRET"
JOBS = 2
#: A reply bomb that got through would grow a grading process far past this.
WORKER_RSS_LIMIT = 2 * 1024**3
#: Where the torch cases (tiny-lstm; seconds each) run.  Their verdicts come from static
#: analysis on the trusted side and from traps that the same runtime sets up in any
#: sandbox, so one backend shows them; the numpy twins of their escapes run everywhere.
LSTM_BACKENDS = ("bwrap",)
NOT_HERE = "not run here: the torch cases run on bubblewrap"
CASES = hc.by_name(hc.TINY_RNN + lstm_cases.LSTM_CASES)
#: Forged training on the course's own assignments: graded in batches of their own
#: (``-k training``), on every backend.
TRAINING = hc.by_name(training_cases.TRAINING_CASES)
ALL = CASES | TRAINING
#: The course's assignments, graded from the repository's graders.
COURSE = {
    training_cases.PALINDROME: ROOT / "graders" / training_cases.PALINDROME,
    training_cases.CHAR_LAB: ROOT / "graders" / training_cases.CHAR_LAB,
}


@dataclass
class Batch:
    backend: str
    root: Path
    out: Path
    mark: str
    seed: int
    secrets: dict[str, str]
    ran: list[hc.Case]
    results: dict[str, SubmissionResult] = field(default_factory=dict)
    leftovers: dict[str, list[str]] = field(default_factory=dict)
    breaches: dict[str, list[str]] = field(default_factory=dict)
    records: dict[str, table.Record] = field(default_factory=dict)
    contents: dict[Path, bytes] = field(default_factory=dict)  #: every file under out/
    output: str = ""  #: what the command line printed (local only)
    faults: list[str] = field(default_factory=list)  #: the harness's own, batch-wide
    elapsed: dict[str, float] = field(default_factory=dict)  #: seconds per graded folder
    peak_rss: int = 0  #: the largest resident size of a process the batch waited for


# -- the batch's world ---------------------------------------------------------------------


def _copy_assignments(root: Path, mark: str) -> tuple[Path, Path, dict[str, str]]:
    """tiny-rnn's grader and reference, each with a secret on its first line; tiny-lstm."""
    found = {"grader": f"SECRET-GRADER-{mark}", "reference": f"SECRET-REFERENCE-{mark}"}
    for part in ("graders", "reference"):
        shutil.copytree(SELF_TEST / part / "tiny-rnn", root / "tiny" / part / "tiny-rnn")
        shutil.copytree(HOSTILE / part / "tiny-lstm", root / "lstm" / part / "tiny-lstm")
    grader = root / "tiny" / "graders" / "tiny-rnn"
    spec = (grader / "assignment.toml").read_text()
    spec = re.sub(r"\[limits\]\n.*?\n\n", LIMITS + "\n", spec, count=1, flags=re.S)
    for path, secret in [
        (grader / "assignment.toml", found["grader"]),
        (grader / "test_rnn.py", found["grader"]),
        (root / "tiny" / "reference" / "tiny-rnn" / "rnn_step.py", found["reference"]),
    ]:
        text = spec if path.name == "assignment.toml" else path.read_text()
        path.write_text(f"# {secret}\n{text}")
    return grader, root / "lstm" / "graders" / "tiny-lstm", found


@contextlib.contextmanager
def _listener(greeting: bytes) -> Iterator[int]:
    """A TCP port on the machine's loopback that greets whoever connects."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.sendall(greeting)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        server.close()


def _zip_for(case: hc.Case, targets: dict) -> bytes:
    if case.archive is not None:
        return case.archive(targets)
    if case.assignment in COURSE:
        return zip_files(training_cases.files_of(case))
    if case.assignment == "tiny-lstm":
        files = {"lstm.py": case.body}
        files.update({n: lstm_cases.EXTRA_BUILDERS[b](targets) for n, b in case.extra.items()})
        return zip_files(files)
    return zip_files({"rnn_step.py": source(case.name, targets, case.body)})


def _plant(batch: Batch, case: hc.Case, targets: dict) -> None:
    """What a sandbox case may try to touch: a canary outside, another student's files."""
    outside = Path(targets["outside"]) / case.name
    outside.mkdir(parents=True)
    (outside / "canary.txt").write_text("canary\n")
    if case.victim:
        results = batch.out / f"victim-{case.name}" / "results.json"
        code = batch.out / ".work" / f"victim-{case.name}" / "submission" / "rnn_step.py"
        for path in (results, code):
            path.parent.mkdir(parents=True)
            path.write_text("victim\n")


# -- judging ---------------------------------------------------------------------------------


def _breaches(batch: Batch, case: hc.Case, result: SubmissionResult | None) -> list[str]:
    """Everything that shows the case got through, whatever the verdict."""
    found = []
    if result is not None:
        found += [
            f"said: {line}" for line in result.stdout.splitlines() if line.startswith("BREACH ")
        ]
    folder = batch.out / case.id
    for path, data in batch.contents.items():
        if not path.is_relative_to(folder):
            continue
        for kind, secret in batch.secrets.items():
            if secret.encode() in data:
                found.append(f"the {kind} secret is in {path.name}")
        if path.name == "results.json" and len(data) > 1024**2:
            found.append(f"results.json is {len(data) // 1024**2} MiB")
        if path.suffix in (".log", ".html", ".csv", ".txt") and b"\x1b" in data:
            found.append(f"an escape sequence reached {path.name}")
    forged = f"FORGED-{batch.mark}-{case.name}".encode()
    found += [
        f"forged {p.relative_to(batch.out)}" for p, d in batch.contents.items() if forged in d
    ]
    outside = batch.root / "outside" / case.name
    if outside.is_dir():
        if (outside / "canary.txt").read_text() != "canary\n":
            found.append("overwrote a file outside its folder")
        found += [
            f"wrote {p.name} outside its folder"
            for p in outside.iterdir()
            if p.name != "canary.txt"
        ]
    if case.victim:
        for path in (
            batch.out / f"victim-{case.name}" / "results.json",
            batch.out / ".work" / f"victim-{case.name}" / "submission" / "rnn_step.py",
        ):
            if path.read_text() != "victim\n":
                found.append(f"changed another student's {path.name}")
    tag = f"{batch.mark}-{case.name}"
    found += [
        f"left {kind}: {item}"
        for kind, items in batch.leftovers.items()
        for item in items
        if tag in item
    ]
    return found


def _problems(batch: Batch, case: hc.Case) -> list[str]:
    """How the case's outcome on this backend differs from what it must be."""
    result = batch.results.get(case.name)
    if result is None:
        return [f"{case.name}: no result"]
    isolating = batch.backend != "local"
    want = case.verdict if isolating or case.local.verdict is None else case.local.verdict
    text = result.output + "\n" + "\n".join(c.output for c in result.checks)
    problems = []
    if str(result.status) != want.status or abs(result.score - want.score) > 1e-6:
        problems.append(
            f"got {result.status} {result.score:g}, must get {want.status} {want.score:g}"
        )
    missing = set(want.flags) - set(result.flags)
    if missing:
        problems.append(f"flags {list(result.flags)} lack {sorted(missing)}")
    if want.message and want.message not in text:
        problems.append(f"no {want.message!r} in what it was told")
    for name in case.attempts:
        if f"ATTEMPT {name}\n" not in result.stdout + "\n":
            problems.append(f"the attempt {name!r} never ran")
    breaches = batch.breaches[case.name]
    if isolating and breaches:
        problems.append(f"got through {batch.backend}: {breaches}")
    if not isolating and bool(breaches) != case.local.breached:
        problems.append(
            f"local breaches {breaches}, but the case says breached={case.local.breached}"
        )
    if problems:
        problems.insert(0, f"{case.name} ({case.threat}):")
        problems.append(f"  output: {text[:1500]}\n  stdout: {result.stdout[:1500]}")
    return problems


# -- one batch per backend -------------------------------------------------------------------


def _grade(batch: Batch, assignment: Path, folder: Path, cases: list[hc.Case]) -> None:
    started = time.monotonic()
    if batch.backend == "local":
        args = [
            str(folder),
            "--assignment",
            str(assignment),
            "--out",
            str(batch.out),
            "--sandbox",
            "local",
            "--jobs",
            str(JOBS),
            "--seed",
            str(batch.seed),
        ]
        run = CliRunner().invoke(cli, args, catch_exceptions=False)
        batch.output += run.output
        if run.exit_code != 0:
            batch.faults.append(f"the command line exited with {run.exit_code}")
    else:
        done = api.grade(
            submissions=folder,
            assignment=str(assignment),
            out=batch.out,
            sandbox=batch.backend,
            jobs=JOBS,
            seed=batch.seed,
        )
        batch.faults += [done.report_error] if done.report_error else []
    spec = find_assignment(str(assignment))
    names = {c.id: c.name for c in cases}
    results = api.collect(batch.out, spec, list(names))
    batch.results.update({names[r.student_id]: r for r in results})
    batch.elapsed[spec.name] = round(time.monotonic() - started, 1)


#: The grading user's real home (before the batch's HOME is set).
REAL_HOME = os.path.realpath(os.path.expanduser("~"))


def _host_paths(batch: Batch, home: Path, tmpdir: Path) -> list[str]:
    """The host's folders no sandbox may show (issue 14, cause 7): the results, the batch's
    own folder, its home and temporary folder, the checkout, the grading user's home, and
    the Python installation and venv the harness runs from."""
    found = {str(batch.out), str(batch.root), str(home), str(tmpdir), str(ROOT), REAL_HOME}
    for prefix in (sys.prefix, sys.base_prefix, sys.executable):
        found |= {prefix, os.path.realpath(prefix)}
        if prefix == sys.executable:
            found |= {os.path.dirname(prefix), os.path.dirname(os.path.realpath(prefix))}
    # /usr is every backend's own system: only folders of this machine's users count.
    return sorted(p for p in found if p not in ("/", "") and not p.startswith("/usr"))


def _zip_name(case: hc.Case) -> str:
    """The ZIP's name, as the assignment's naming rule wants it (its id before the rest)."""
    if case.assignment == training_cases.PALINDROME:
        return f"Hostile-{case.id}.zip"  # Surname-Number.zip
    suffix = {"tiny-rnn": "tiny", "tiny-lstm": "lstm", training_cases.CHAR_LAB: "lab5"}
    return f"{case.id}_{suffix[case.assignment]}.zip"


def _run(backend: str, root: Path, cases: dict[str, hc.Case] = CASES) -> Batch:
    mark = f"m{secrets.token_hex(6)}"
    tiny, lstm, found = _copy_assignments(root, mark)
    found |= {"home": f"SECRET-HOME-{mark}", "environment": f"SECRET-ENV-{mark}"}
    home, tmpdir = root / "home", root / "tmp"
    home.mkdir()
    tmpdir.mkdir()
    (home / "secret.txt").write_text(found["home"] + "\n")
    ran = [c for c in cases.values() if not (backend == "local" and c.local.skip)]
    if backend not in LSTM_BACKENDS:
        ran = [c for c in ran if c.assignment != "tiny-lstm"]
    batch = Batch(backend, root, root / "out", mark, secrets.randbelow(2**30) + 2**30, found, ran)
    markers = [mark.encode(), f"--seed\0{batch.seed}\0".encode()]
    before = machine.Snapshot.take()
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    with pytest.MonkeyPatch.context() as env, _listener(f"host-{mark}".encode()) as port:
        targets = {
            "mark": mark,
            "out": str(batch.out),
            "outside": str(root / "outside"),
            "home_secret": str(home / "secret.txt"),
            "host_port": port,
            "env_secret_name": ENV_SECRET,
            "grader_checks": str(tiny / "test_rnn.py"),
            "grader_spec": str(tiny / "assignment.toml"),
            "reference": str(root / "tiny" / "reference" / "tiny-rnn" / "rnn_step.py"),
            "repo_grader": str(SELF_TEST / "graders" / "tiny-rnn" / "test_rnn.py"),
            "repo_reference": str(ROOT / "reference" / "palindrome-rnn-lstm" / "part1" / "lstm.py"),
            "repo_harness": str(ROOT / "harness" / "checks" / "compare.py"),
            "host_paths": _host_paths(batch, home, tmpdir),
        }
        assignments = {"tiny-rnn": tiny, "tiny-lstm": lstm, **COURSE}
        folders = {name: root / f"subs-{name}" for name in assignments}
        for folder in folders.values():
            folder.mkdir()
        for case in ran:
            kind = case.assignment
            (folders[kind] / _zip_name(case)).write_bytes(_zip_for(case, targets))
            if case.archive is None and kind == "tiny-rnn":
                _plant(batch, case, targets)
        env.setenv("TMPDIR", str(tmpdir))
        env.setenv("HOME", str(home))
        env.setenv(ENV_SECRET, found["environment"])
        try:
            for kind, assignment in assignments.items():
                members = [c for c in ran if c.assignment == kind]
                if members:
                    _grade(batch, assignment, folders[kind], members)
        finally:
            _take_stock(batch, before, markers, rss)
    batch.contents = {p: p.read_bytes() for p in batch.out.rglob("*") if p.is_file()}
    for case in ran:
        batch.breaches[case.name] = _breaches(batch, case, batch.results.get(case.name))
        result = batch.results.get(case.name)
        batch.records[case.name] = table.Record(
            status=str(result.status) if result else "missing",
            score=result.score if result else 0.0,
            max_score=result.max_score if result else 0.0,
            reason=result.reason if result else "",
            flags=tuple(result.flags) if result else (),
            breaches=tuple(batch.breaches[case.name]),
        )
    for case in cases.values():
        if case not in ran:
            skipped = case.local.skip if backend == "local" and case.local.skip else NOT_HERE
            batch.records[case.name] = table.Record(skipped=skipped)
    table.save_records(backend, batch.records)
    return batch


def _take_stock(batch: Batch, before: machine.Snapshot, markers: list[bytes], rss: int) -> None:
    """Note what the batch left on the machine, then clean up what the local backend let
    the cases leave (our own processes and files only, found by the batch's markers)."""
    root, mark = batch.root, batch.mark
    batch.leftovers = before.leftovers(markers)
    batch.leftovers["files"] = sorted(
        [str(p) for p in Path("/tmp").glob(f"*{mark}*")]
        + [str(p) for p in (root / "tmp").rglob("*")]
        + [str(p) for p in (batch.out / ".work").glob("*") if not p.name.startswith("victim-")]
        + [str(p) for p in root.rglob(f"*{mark}*") if not p.is_relative_to(root / "outside")]
    )
    grown = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    batch.peak_rss = grown
    if grown > max(rss, WORKER_RSS_LIMIT):
        batch.leftovers["memory"] = [
            f"a grading process grew to {grown // 1024**2} MiB ({mark}-reply-bomb?)"
        ]
    machine.kill(markers)
    for item in map(Path, batch.leftovers["files"]):
        with contextlib.suppress(OSError):
            if item.is_dir() and not item.is_symlink():
                shutil.rmtree(item)
            else:
                item.unlink()


def _peak(batch: Batch) -> str:
    """The peak memory of the grading processes (the trusted workers; on local, the
    student processes too), as measured, for the log."""
    return f"peak resident memory of a grading process {batch.peak_rss / 1024**2:.0f} MiB"


#: The whole batch may take each case's wall-clock backstop (at tiny-lstm's larger limits).
BATCH_TIMEOUT = pytest.mark.timeout(
    grading_timeout(Limits(timeout=60.0, call_timeout=30.0), len(CASES) + 4, jobs=JOBS)
)


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("bwrap", marks=BATCH_TIMEOUT),
        pytest.param("docker", marks=[pytest.mark.docker, BATCH_TIMEOUT]),
        pytest.param("local", marks=BATCH_TIMEOUT),
    ],
)
def batch(request, tmp_path_factory) -> Batch:
    if request.param != "local":
        require(request.param)
    batch = _run(request.param, tmp_path_factory.mktemp(f"hostile-{request.param}"))
    print(f"\n{request.param}: graded in {batch.elapsed} s, {_peak(batch)}")  # (with -s)
    return batch


#: The course's assignments train for real: each case may take its assignment's limits.
TRAINING_TIMEOUT = pytest.mark.timeout(
    grading_timeout(
        max((find_assignment(str(a)).limits for a in COURSE.values()), key=lambda x: x.timeout),
        len(TRAINING) + 1,
        jobs=JOBS,
    )
)


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("bwrap", marks=TRAINING_TIMEOUT),
        pytest.param("docker", marks=[pytest.mark.docker, TRAINING_TIMEOUT]),
        pytest.param("local", marks=TRAINING_TIMEOUT),
    ],
)
def training_batch(request, tmp_path_factory) -> Batch:
    if request.param != "local":
        require(request.param)
    root = tmp_path_factory.mktemp(f"hostile-training-{request.param}")
    batch = _run(request.param, root, TRAINING)
    print(f"\n{request.param}: graded in {batch.elapsed} s, {_peak(batch)}")  # (with -s)
    return batch


# -- the tests -------------------------------------------------------------------------------


def test_every_case_gets_its_verdict(batch):
    problems = [line for case in batch.ran for line in _problems(batch, case)]
    assert not problems, f"{batch.backend}, {batch.elapsed} s:\n" + "\n".join(problems)


def test_honest_submissions_keep_full_marks_and_the_batch_survives(batch):
    assert set(batch.results) == {c.name for c in batch.ran}
    for name in ("honest", "honest-in-folder", "lstm-honest", "lab-honest"):
        if name in batch.results:
            r = batch.results[name]
            assert (str(r.status), r.score) == ("graded", r.max_score), r.output
    errors = [n for n, r in batch.results.items() if str(r.status) == "harness_error"]
    assert not errors, f"harness errors (a student must never cause one): {errors}"
    assert not batch.faults, batch.faults + [batch.output[-3000:]]


def test_no_escape_sequence_reaches_the_terminal_or_the_class_files(batch):
    assert "\x1b" not in batch.output, batch.output[-2000:]
    for path in batch.out.iterdir():
        if path.is_file() and path.suffix in (".csv", ".html", ".log"):
            assert b"\x1b" not in path.read_bytes(), path.name


def test_the_machine_is_left_as_it_was(batch):
    attributed = {f"{batch.mark}-{c.name}" for c in batch.ran if c.local.breached}
    stray = {
        kind: [i for i in items if batch.backend != "local" or not any(a in i for a in attributed)]
        for kind, items in batch.leftovers.items()
    }
    assert not any(stray.values()), f"{batch.backend} left behind: {stray}"


def test_the_local_backend_warns_that_it_isolates_nothing(batch):
    if batch.backend != "local":
        assert all("NO isolation" not in r.sandbox for r in batch.results.values())
        return
    printed = " ".join(batch.output.split())
    assert printed.count(" ".join(LOCAL_WARNING.split())) >= 2, batch.output[:2000]
    graded = [r for r in batch.results.values() if str(r.status) != "not_graded"]
    assert graded and all("NO isolation" in r.sandbox for r in graded)


def test_security_md_says_what_this_backend_did(batch):
    committed = table.parse(table.SECURITY.read_text())
    stale = [
        f"{name}: SECURITY.md says {committed.get(name, {}).get(batch.backend)!r}, "
        f"this run gives {table.cell(ALL[name], record)!r}"
        for name, record in batch.records.items()
        if committed.get(name, {}).get(batch.backend) != table.cell(ALL[name], record)
    ]
    assert not stale, "run scripts/security_table.py to update SECURITY.md:\n" + "\n".join(stale)


def test_security_md_lists_every_case_once_as_the_cases_say():
    markdown = table.SECURITY.read_text()
    committed = table.parse(markdown)
    assert list(committed) == [c.name for g in hc.GROUPS for c in ALL.values() if c.group == g]
    # Rendered again from its own cells, the table is unchanged: no threat text went stale.
    assert table.update(markdown, list(ALL.values()), {}) == markdown, (
        "run scripts/security_table.py to update SECURITY.md"
    )
    assert principle.update(markdown) == markdown, (
        "the verdict-principle table differs from tests/hostile/principle.py: "
        "run scripts/security_table.py"
    )


def test_training_forgeries_earn_nothing_and_leave_nothing(training_batch):
    """Causes 2 and 3 of issue 14, on the course's assignments: the same judgements."""
    test_every_case_gets_its_verdict(training_batch)
    test_honest_submissions_keep_full_marks_and_the_batch_survives(training_batch)
    test_no_escape_sequence_reaches_the_terminal_or_the_class_files(training_batch)
    test_the_machine_is_left_as_it_was(training_batch)
    test_the_local_backend_warns_that_it_isolates_nothing(training_batch)
    test_security_md_says_what_this_backend_did(training_batch)

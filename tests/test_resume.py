"""Killing the command at any moment loses nothing graded; the next run finishes the rest."""

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]
ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "submissions" / "tiny-rnn"


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "subs"
    d.mkdir()
    shutil.copy(EXAMPLES / "correct_tiny.zip", d / "a1_tiny.zip")
    shutil.copy(EXAMPLES / "hangs-at-import_tiny.zip", d / "b2_tiny.zip")
    shutil.copy(EXAMPLES / "correct_tiny.zip", d / "c3_tiny.zip")
    return d


def start(folder, out):
    return subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "harness" / "grade.py"),
            str(folder),
            "-a",
            "tiny-rnn",
            "--out",
            str(out),
            "--jobs",
            "1",
            "--sandbox",
            "bwrap",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )


def wait_for(path: Path, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def leftovers(marker: str, settle: float = 120) -> str:
    """Processes still running whose command line holds ``marker``, once the killed
    harness's workers have had ``settle`` seconds to tear their sandboxes down."""
    deadline = time.monotonic() + settle
    while True:
        found = subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True)
        if not found.stdout.strip() or time.monotonic() > deadline:
            return found.stdout.strip()
        time.sleep(0.2)


@pytest.mark.parametrize("how", ["SIGKILL", "SIGINT"])
def test_killed_run_keeps_results_and_resumes(folder, tmp_path, how):
    out = tmp_path / "out"
    proc = start(folder, out)
    wait_for(out / "a1" / "results.json")
    wait_for(out / ".work" / "b2" / "worker-request.json")
    time.sleep(1.0)  # b2 is now inside its sandbox, looping at import
    proc.send_signal(getattr(signal, how))
    output = proc.communicate(timeout=60)[0].decode()
    if how == "SIGINT":
        assert proc.returncode == 130, output
        assert "interrupted" in output
    assert not (out / "b2" / "results.json").exists()
    assert leftovers(str(out)) == ""
    before = (out / "a1" / "results.json").read_bytes()
    json.loads(before)  # a complete, valid file

    proc = start(folder, out)
    output = proc.communicate(timeout=120)[0].decode()
    assert proc.returncode == 0, output
    assert "graded 2, unchanged and skipped 1" in output
    assert (out / "a1" / "results.json").read_bytes() == before
    grades = (out / "summary.csv").read_text()
    assert "a1,graded,1,9,10,10" in grades and "c3,graded,1,9,10,10" in grades
    assert "b2,timeout,0,0,0,10" in grades


def test_a_change_to_the_report_code_does_not_regrade(tmp_path):
    from harness.store import tree_digest

    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "view.py").write_text("A = 1\n")
    (tmp_path / "pipeline.py").write_text("B = 1\n")
    before = tree_digest([tmp_path], suffixes=(".py",), exclude=("report",))
    (tmp_path / "report" / "view.py").write_text("A = 2\n")
    assert tree_digest([tmp_path], suffixes=(".py",), exclude=("report",)) == before
    (tmp_path / "pipeline.py").write_text("B = 2\n")
    assert tree_digest([tmp_path], suffixes=(".py",), exclude=("report",)) != before

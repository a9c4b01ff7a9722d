"""Each part of an assignment gets its own share of the submission's time limit.

A slow check of one part must not leave another part's checks unrun: while a part's
checks run, the time of the parts still to come is kept back ([parts.X] time, or an
equal share of the rest), and what a finished part did not use passes on to later parts.
"""

import json
import textwrap
import warnings
import zipfile
from pathlib import Path

import pytest
from conftest import require

from harness import api
from harness.errors import SpecError, UnsafeSandboxWarning
from harness.spec import load_spec

SPEC = """
[assignment]
name = "{name}"
[submission]
filename = '^(?P<id>[a-z]+)\\.zip$'
required = ["work.py"]
[limits]
timeout = "{timeout}"
call_timeout = "60s"
[parts.slow]
points = 1
{slow_time}
[parts.quick]
points = 1
[checks."test_a_slow.py::test_slow"]
points = 1
part = "slow"
kind = "cell"
[checks."test_b_quick.py::test_quick"]
points = 1
part = "quick"
kind = "cell"
"""

WORK = """
import time


def burn(seconds):
    began = time.process_time()
    while time.process_time() - began < seconds:
        pass
    return seconds
"""


def make_assignment(root: Path, *, timeout: str = "8s", slow_time: str = "") -> Path:
    folder = root / "two-parts"
    folder.mkdir(parents=True)
    (folder / "assignment.toml").write_text(
        SPEC.format(name="two-parts", timeout=timeout, slow_time=slow_time)
    )
    # The slow part's check would burn far past the whole limit; the quick one needs ~1 s.
    (folder / "test_a_slow.py").write_text(
        "def test_slow(student):\n"
        "    student.fetch(student.load('work.py').burn(1000))\n"
    )
    (folder / "test_b_quick.py").write_text(
        "def test_quick(student):\n"
        "    assert student.fetch(student.load('work.py').burn(1.0)) == 1.0\n"
    )
    return folder


def test_part_times_default_to_equal_shares_of_what_named_times_leave(tmp_path):
    spec = load_spec(make_assignment(tmp_path, timeout="10m", slow_time='time = "4m"'))
    assert spec.part_times() == {"slow": 240.0, "quick": 360.0}
    other = load_spec(make_assignment(tmp_path / "b", timeout="10m"))
    assert other.part_times() == {"slow": 300.0, "quick": 300.0}


def test_named_part_times_cannot_exceed_the_time_limit(tmp_path):
    folder = make_assignment(tmp_path, timeout="1m", slow_time='time = "2m"')
    with pytest.raises(SpecError, match=r"\[parts\]: .*add up to 120 s, more than .*\(60 s"):
        load_spec(folder)


@pytest.mark.sandbox
def test_a_slow_part_does_not_starve_the_next(tmp_path):
    sandbox = "bwrap" if require("bwrap") else "local"
    folder = make_assignment(tmp_path / "graders")
    subs = tmp_path / "subs"
    subs.mkdir()
    with zipfile.ZipFile(subs / "anna.zip", "w") as zf:
        zf.writestr("work.py", textwrap.dedent(WORK))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsafeSandboxWarning)
        api.grade(submissions=subs, assignment=str(folder), out=tmp_path / "out", sandbox=sandbox)
    result = json.loads((tmp_path / "out" / "anna" / "results.json").read_text())
    tests = {t["extra_data"]["nodeid"].split("::")[-1]: t for t in result["tests"]}
    slow, quick = tests["test_slow"], tests["test_quick"]
    assert slow["score"] == 0
    # Stopped at its share of CPU time, or, on a machine so loaded that 4 s of CPU take more
    # than four times as long, by the wall-clock backstop first: either way within its share.
    stopped = ("this part's share of the submission's time limit was used up", "without using")
    assert any(s in slow["output"] for s in stopped), slow["output"]
    # The slow part may use its own share (4 s of 8 s), never the quick part's.
    assert slow["extra_data"]["cpu"] < 6.0
    assert quick["score"] == 1, quick["output"]

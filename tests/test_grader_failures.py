"""A grader that fails is a harness error, never a grade.

A check whose grader code raises is reported as the grader's fault (even where the frames
have no source to quote, as importlib's have), and a grading run that pytest itself
abandons (an internal error) leaves its unrun checks marked as such and the submission a
harness error, not a zero that looks like the student's.
"""

import json
import textwrap
import warnings
import zipfile
from pathlib import Path

import pytest
from conftest import require

from harness import api
from harness.errors import UnsafeSandboxWarning

SPEC = """
[assignment]
name = "broken-grader"
[submission]
filename = '^(?P<id>[a-z]+)\\.zip$'
required = ["work.py"]
[limits]
timeout = "60s"
call_timeout = "30s"
[parts.only]
points = 3
[checks."test_checks.py::test_imports_a_missing_helper"]
points = 1
part = "only"
kind = "cell"
[checks."test_checks.py::test_fine"]
points = 1
part = "only"
kind = "cell"
[checks."test_checks.py::test_after"]
points = 1
part = "only"
kind = "cell"
"""

CHECKS = """
import importlib


def test_imports_a_missing_helper():
    # Raised inside importlib's frozen frames, which have no source to quote.
    importlib.import_module("no_such_grader_helper")


def test_fine(student):
    assert student.fetch(student.load("work.py").ANSWER) == 42


def test_after(student):
    assert student.fetch(student.load("work.py").ANSWER) == 42
"""

#: A grader conftest whose hook breaks pytest itself after the second check.
BROKEN_HOOK = """
def pytest_runtest_logreport(report):
    if report.when == "teardown" and report.nodeid.endswith("test_fine"):
        raise RuntimeError("the grader's own hook broke")
"""


def grade(tmp_path: Path, *, conftest: str = "") -> dict:
    folder = tmp_path / "graders" / "broken-grader"
    folder.mkdir(parents=True)
    (folder / "assignment.toml").write_text(SPEC)
    (folder / "test_checks.py").write_text(textwrap.dedent(CHECKS))
    if conftest:
        (folder / "conftest.py").write_text(textwrap.dedent(conftest))
    subs = tmp_path / "subs"
    subs.mkdir()
    with zipfile.ZipFile(subs / "anna.zip", "w") as zf:
        zf.writestr("work.py", "ANSWER = 42\n")
    sandbox = "bwrap" if require("bwrap") else "local"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsafeSandboxWarning)
        api.grade(submissions=subs, assignment=str(folder), out=tmp_path / "out", sandbox=sandbox)
    return json.loads((tmp_path / "out" / "anna" / "results.json").read_text())


def by_name(result: dict) -> dict[str, dict]:
    return {t["extra_data"]["nodeid"].split("::")[-1]: t for t in result["tests"]}


@pytest.mark.sandbox
def test_a_grader_error_without_source_lines_is_the_graders_fault(tmp_path):
    result = grade(tmp_path)
    tests = by_name(result)
    broken = tests["test_imports_a_missing_helper"]
    assert broken["score"] == 0
    assert "The grader itself failed on this check" in broken["output"]
    assert "No module named 'no_such_grader_helper'" in broken["output"]
    assert tests["test_fine"]["score"] == 1 and tests["test_after"]["score"] == 1
    assert result["extra_data"]["harness"]["status"] == "harness_error"


@pytest.mark.sandbox
def test_checks_pytest_never_reached_are_the_graders_fault_not_a_zero(tmp_path):
    result = grade(tmp_path, conftest=BROKEN_HOOK)
    tests = by_name(result)
    assert tests["test_fine"]["score"] == 1
    after = tests["test_after"]
    assert after["score"] == 0
    assert "did not run: the grader stopped before it" in after["output"]
    harness = result["extra_data"]["harness"]
    assert harness["status"] == "harness_error"
    assert "pytest exit code 3: an internal error" in result["output"]

"""The palindrome-rnn-lstm assignment: its template, reference and public tests agree.

* the blank template fails every public test, each with a hint, and none errors;
* the template with the reference's part1/ files passes every public test;
* the reference learns palindromes of 5 digits to 99% held-out accuracy within the
  measured budget (experiment.py, seed 0: LSTM about 170 steps, RNN about 270);
* the stored expected values are what the reference computes today.

The public tests and the reference run in subprocesses: both define a package named
``part1``, which must not meet in one interpreter.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from public_tests import ENV, copy_template, run_public_tests

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENT = "palindrome-rnn-lstm"
TEMPLATE = REPO / "student_template" / ASSIGNMENT
REFERENCE = REPO / "reference" / ASSIGNMENT
STUDENT_FILES = ("vanilla_rnn.py", "lstm.py", "train.py")
BUDGET_STEPS = 1000  # the reference needs 170 (LSTM) and 270 (RNN) steps for 99%


@pytest.fixture(scope="module")
def blank_results(tmp_path_factory) -> dict[str, tuple[str, str]]:
    base = tmp_path_factory.mktemp("blank")
    return run_public_tests(copy_template(ASSIGNMENT, base / ASSIGNMENT), base / "report.xml")


@pytest.fixture(scope="module")
def solved_results(tmp_path_factory) -> dict[str, tuple[str, str]]:
    base = tmp_path_factory.mktemp("solved")
    folder = copy_template(ASSIGNMENT, base / ASSIGNMENT)
    for path in (REFERENCE / "part1").glob("*.py"):
        shutil.copy(path, folder / "part1" / path.name)
    return run_public_tests(folder, base / "report.xml")


def test_blank_template_fails_every_public_test_with_a_hint(blank_results):
    assert len(blank_results) >= 30
    errors = {t: m for t, (o, m) in blank_results.items() if o != "failure"}
    assert not errors, f"tests that did not fail cleanly on the blank template: {errors}"
    no_hint = {
        t: m for t, (o, m) in blank_results.items() if "not implemented yet" not in m.lower()
    }
    assert not no_hint, f"failures without a 'not implemented yet' hint: {no_hint}"


def test_reference_passes_every_public_test(blank_results, solved_results):
    assert set(solved_results) == set(blank_results)
    not_passed = {t: r for t, r in solved_results.items() if r[0] != "passed"}
    assert not not_passed, f"public tests the reference does not pass: {not_passed}"


def test_reference_learns_length_5_palindromes_within_budget(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "experiment.py",
            "--models",
            "RNN",
            "LSTM",
            "--lengths",
            "5",
            "--seeds",
            "1",
            "--train_steps",
            str(BUDGET_STEPS),
            "--stop_accuracy",
            "0.99",
            "--eval_every",
            "10",
            "--out_dir",
            str(tmp_path),
        ],
        cwd=REFERENCE,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(tmp_path / "accuracy_vs_length.csv") as f:
        rows = {row["model_type"]: row for row in csv.DictReader(f)}
    for model_type in ("RNN", "LSTM"):
        row = rows[model_type]
        assert float(row["accuracy"]) >= 0.99, row
        assert int(row["steps"]) < BUDGET_STEPS, row
    assert (tmp_path / "accuracy_vs_length.png").stat().st_size > 10_000


def test_stored_expected_values_match_the_reference(tmp_path):
    out = tmp_path / "expected_cells.json"
    proc = subprocess.run(
        [sys.executable, str(REFERENCE / "make_test_data.py"), "--out", str(out)],
        cwd=tmp_path,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    stored = json.loads((TEMPLATE / "tests" / "data" / "expected_cells.json").read_text())
    fresh = json.loads(out.read_text())
    assert [(c["model"], c["case"]) for c in stored["cases"]] == [
        (c["model"], c["case"]) for c in fresh["cases"]
    ]
    for old, new in zip(stored["cases"], fresh["cases"], strict=True):
        assert old["params"] == new["params"] and old["x"] == new["x"]
        for key in ("logits", "grads"):
            assert json.dumps(old[key]) == json.dumps(new[key]) or _close(old[key], new[key])


def _close(a, b, tol=1e-12) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], tol) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_close(x, y, tol) for x, y in zip(a, b, strict=True))
    return abs(a - b) <= tol


def test_template_and_reference_share_the_given_code():
    given = ("dataset.py", "__init__.py")
    for name in given:
        assert (TEMPLATE / "part1" / name).read_bytes() == (REFERENCE / "part1" / name).read_bytes()

    def arguments(path: Path) -> list[str]:
        return re.findall(
            r"add_argument\('(--\w+)', type=(\w+), default=([^,\n]+)", path.read_text()
        )

    assert arguments(TEMPLATE / "part1" / "train.py") == arguments(REFERENCE / "part1" / "train.py")
    args = dict((a, d) for a, _, d in arguments(REFERENCE / "part1" / "train.py"))
    assert args["--model_type"] == '"RNN"' and args["--input_length"] == "10"
    assert args["--device"] == '"cuda:0"' and args["--train_steps"] == "10000"


def test_public_tests_never_import_the_reference():
    for path in (TEMPLATE / "tests").glob("*.py"):
        for line in path.read_text().splitlines():
            if re.match(r"\s*(import|from)\s", line):
                assert "reference" not in line, f"{path.name}: {line.strip()}"


def test_template_leaves_the_student_parts_unimplemented():
    for name in STUDENT_FILES:
        source = (TEMPLATE / "part1" / name).read_text()
        assert "not implemented yet" in source, name
        assert "not implemented yet" not in (REFERENCE / "part1" / name).read_text(), name

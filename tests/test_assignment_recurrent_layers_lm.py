"""The recurrent-layers-lm assignment: its template, reference and public tests agree.

* the blank template fails every public test, each with a hint, and none errors;
* the template with the reference's files passes every public test, both with
  language_model.py and with the notebook (LM_FILE=LanguageModelling.ipynb);
* the stored expected values and the notebooks are what the reference's scripts write;
* the given code is the same in the template and the reference;
* load_book reads Pride and Prejudice from janeaustenr with the documented size.

The public tests run in subprocesses, in copies of the template.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from public_tests import ENV, copy_template, run_public_tests

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENT = "recurrent-layers-lm"
TEMPLATE = REPO / "student_template" / ASSIGNMENT
REFERENCE = REPO / "reference" / ASSIGNMENT
LAYERS = Path("blg561", "blg561", "layer", "recurrent_layers.py")
#: what a student writes: copied from the reference over a copy of the template
STUDENT_FILES = (LAYERS, Path("language_model.py"), Path("LanguageModelling.ipynb"))
#: given files, byte-identical in the template and the reference
GIVEN_FILES = (
    Path("data.py"),
    Path("blg561", "setup.py"),
    Path("blg561", "blg561", "__init__.py"),
    Path("blg561", "blg561", "checks.py"),
    Path("blg561", "blg561", "layer", "__init__.py"),
    Path("blg561", "blg561", "layer", "layers_with_weights.py"),
)


def solved_copy(dest: Path) -> Path:
    folder = copy_template(ASSIGNMENT, dest)
    for path in STUDENT_FILES:
        shutil.copy(REFERENCE / path, folder / path)
    return folder


@pytest.fixture(scope="module")
def blank_results(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("blank")
    return run_public_tests(copy_template(ASSIGNMENT, base / ASSIGNMENT), base / "report.xml")


@pytest.fixture(scope="module")
def solved_folder(tmp_path_factory) -> Path:
    return solved_copy(tmp_path_factory.mktemp("solved") / ASSIGNMENT)


def assert_all_fail_with_a_hint(results: dict) -> None:
    errors = {t: m for t, (o, m) in results.items() if o != "failure"}
    assert not errors, f"tests that did not fail cleanly on the blank template: {errors}"
    no_hint = {t: m for t, (o, m) in results.items() if "not implemented yet" not in m.lower()}
    assert not no_hint, f"failures without a 'not implemented yet' hint: {no_hint}"


def test_blank_template_fails_every_public_test_with_a_hint(blank_results):
    assert len(blank_results) >= 35
    layer_tests = [t for t in blank_results if re.search(r"Test(RNN|LSTM|GRU)Layer", t)]
    assert len(layer_tests) == 18, sorted(blank_results)
    assert_all_fail_with_a_hint(blank_results)


def test_reference_passes_every_public_test(blank_results, solved_folder, tmp_path):
    solved = run_public_tests(solved_folder, tmp_path / "report.xml")
    assert set(solved) == set(blank_results)
    not_passed = {t: r for t, r in solved.items() if r[0] != "passed"}
    assert not not_passed, f"public tests the reference does not pass: {not_passed}"


def test_the_notebook_is_tested_the_same_way(solved_folder, tmp_path):
    blank = run_public_tests(
        copy_template(ASSIGNMENT, tmp_path / "blank"),
        tmp_path / "blank.xml",
        "tests",
        LM_FILE="LanguageModelling.ipynb",
    )
    assert len(blank) >= 20
    assert_all_fail_with_a_hint(blank)
    solved = run_public_tests(
        solved_folder, tmp_path / "solved.xml", "tests", LM_FILE="LanguageModelling.ipynb"
    )
    assert set(solved) == set(blank)
    not_passed = {t: r for t, r in solved.items() if r[0] != "passed"}
    assert not not_passed, f"public tests the reference notebook does not pass: {not_passed}"


def test_course_style_unittest_run_passes_on_the_reference(solved_folder):
    proc = subprocess.run(
        [sys.executable, "-m", "unittest", "discover", "-s", "tests"],
        cwd=solved_folder / "blg561",
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Ran 18 tests" in proc.stderr and "OK" in proc.stderr, proc.stderr[-3000:]


def test_stored_expected_values_match_the_reference(tmp_path):
    out = tmp_path / "expected_layers.json"
    proc = subprocess.run(
        [sys.executable, str(REFERENCE / "make_test_data.py"), "--out", str(out)],
        cwd=tmp_path,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    stored = json.loads(
        (TEMPLATE / "blg561" / "tests" / "data" / "expected_layers.json").read_text()
    )
    fresh = json.loads(out.read_text())
    assert stored.keys() == fresh.keys() and stored["layers"].keys() == fresh["layers"].keys()
    for name, cases in fresh["layers"].items():
        for case, data in cases.items():
            old = stored["layers"][name][case]
            assert old["inputs"] == data["inputs"], (name, case)
            assert _close(old["outputs"], data["outputs"]), (name, case)
            assert _close(old["grads"], data["grads"]), (name, case)


def _close(a, b, tol=1e-12) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], tol) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_close(x, y, tol) for x, y in zip(a, b, strict=True))
    return abs(a - b) <= tol


def test_notebooks_are_built_from_the_modules(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(REFERENCE / "make_notebook.py"), "--out_dir", str(tmp_path)],
        cwd=tmp_path,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for variant, folder in (("template", TEMPLATE), ("reference", REFERENCE)):
        committed = json.loads((folder / "LanguageModelling.ipynb").read_text())
        built = json.loads((tmp_path / variant / "LanguageModelling.ipynb").read_text())
        assert committed == built, (
            f"{folder / 'LanguageModelling.ipynb'} is not what make_notebook.py builds from "
            "language_model.py: run python reference/recurrent-layers-lm/make_notebook.py"
        )


def test_template_and_reference_share_the_given_code():
    for path in GIVEN_FILES:
        assert (TEMPLATE / path).read_bytes() == (REFERENCE / path).read_bytes(), path

    def given(path: Path) -> dict[str, str]:
        """Source of the given functions and methods (docstrings say 'Given')."""
        tree = ast.parse(path.read_text())
        found = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and "Given" in (
                        ast.get_docstring(item) or ""
                    ):
                        found[f"{node.name}.{item.name}"] = ast.unparse(item)
            elif (
                isinstance(node, ast.FunctionDef)
                and node.col_offset == 0
                and "Given" in (ast.get_docstring(node) or "")
            ):
                found[node.name] = ast.unparse(node)
        return found

    template = given(TEMPLATE / "language_model.py")
    assert template == given(REFERENCE / "language_model.py")
    assert {
        "tokenize",
        "train",
        "Dataset.encode",
        "Dataset.decode",
        "RNNModel.init_state",
        "GatedModel.init_state",
    } <= set(template)

    def init_methods(path: Path) -> dict[str, str]:
        """The layers' __init__ (given: they fix the weights' names and shapes)."""
        tree = ast.parse(path.read_text())
        return {
            node.name: ast.unparse(item)
            for node in tree.body
            if isinstance(node, ast.ClassDef)
            for item in node.body
            if isinstance(item, ast.FunctionDef) and item.name == "__init__"
        }

    assert init_methods(TEMPLATE / LAYERS) == init_methods(REFERENCE / LAYERS)
    assert set(init_methods(TEMPLATE / LAYERS)) == {"RNNLayer", "LSTMLayer", "GRULayer"}


def test_public_tests_never_import_the_reference():
    for path in TEMPLATE.rglob("*.py"):
        if "tests" not in path.parts:
            continue
        for line in path.read_text().splitlines():
            if re.match(r"\s*(import|from)\s", line):
                assert "reference" not in line, f"{path.name}: {line.strip()}"


def test_template_leaves_the_student_parts_unimplemented():
    for path in (LAYERS, Path("language_model.py")):
        assert "not implemented yet" in (TEMPLATE / path).read_text(), path
        assert "not implemented yet" not in (REFERENCE / path).read_text(), path


def test_fetch_script_is_valid_bash():
    proc = subprocess.run(
        ["bash", "-n", str(REPO / "scripts" / "fetch_austen.sh")], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


def _need_janeaustenr():
    data_dir = (
        REPO
        / "data"
        / "janeaustenr"
        / "usr"
        / "lib"
        / "R"
        / "site-library"
        / "janeaustenr"
        / "data"
    )
    system_dir = Path("/usr/lib/R/site-library/janeaustenr/data")
    reason = None
    if not ((data_dir / "Rdata.rdb").exists() or (system_dir / "Rdata.rdb").exists()):
        reason = "the janeaustenr books are not fetched: run scripts/fetch_austen.sh (as root)"
    else:
        try:
            import rdata  # noqa: F401
        except ImportError:
            reason = "the package rdata is not installed (pip install rdata)"
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must provide it")
        pytest.skip(reason)


LOAD_BOOK_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
import data
import language_model as lm
text = data.load_book()
train_set = lm.Dataset(20, None, train=True)
val_set = lm.Dataset(20, None, train=False)
print(json.dumps({
    "lines": len(text.splitlines()), "chars": len(text), "head": text[:40],
    "first_sentence": "It is a truth universally acknowledged" in text,
    "tokens": [len(train_set.data), len(val_set.data)], "ntoken": train_set.ntoken,
    "vocab": train_set.vocab[:4],
}))
"""


def test_load_book_reads_pride_and_prejudice():
    _need_janeaustenr()
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", LOAD_BOOK_SCRIPT, str(REFERENCE)],
        cwd=REFERENCE,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    book = json.loads(proc.stdout)
    assert (book["lines"], book["chars"]) == (13_030, 684_768)  # shared/FACTS.md
    assert book["head"].startswith("PRIDE AND PREJUDICE\n\nBy Jane Austen\n")
    assert book["first_sentence"]
    # the reference Dataset's documented split and vocabulary (benchmarks/results/)
    assert book["tokens"] == [115_941, 28_986] and book["ntoken"] == 3_598
    assert book["vocab"] == ["<unk>", ",", ".", "the"]

"""Meta-tests that keep the project whole: every assignment is complete, every check weighed."""

import ast
import tomllib
from pathlib import Path

import pytest

from harness.assignments import TREES, list_assignments
from harness.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = list_assignments()


def tree_of(folder: Path) -> Path:
    return next(t for t in TREES if folder.is_relative_to(t / "graders"))


@pytest.mark.parametrize(("name", "folder"), ASSIGNMENTS, ids=[n for n, _ in ASSIGNMENTS])
def test_every_graded_assignment_is_complete(name, folder):
    tree = tree_of(folder)
    assert (tree / "reference" / name).is_dir(), f"{name} has no reference/"
    assert (tree / "student_template" / name).is_dir(), f"{name} has no student_template/"
    expected = ROOT / "submissions" / name / "expected.toml"
    assert expected.is_file(), f"{name} has no example submissions with expected verdicts"
    verdicts = tomllib.loads(expected.read_text())
    spec = load_spec(folder)
    scores = [v["score"] for v in verdicts.values() if v["status"] != "not_graded"]
    assert spec.auto_max_score in scores, "no example gets full marks (the reference should)"
    assert 0 in scores, "no example gets zero (the blank template should)"


@pytest.mark.parametrize(("name", "folder"), ASSIGNMENTS, ids=[n for n, _ in ASSIGNMENTS])
def test_every_check_has_points_and_every_weight_has_a_check(name, folder):
    spec = load_spec(folder)
    defined = set()
    for path in folder.glob("test_*.py"):
        tree = ast.parse(path.read_text())
        defined |= {f"{path.name}::{n.name}" for n in tree.body
                    if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")}
    weighed = {c.key for c in spec.checks}
    assert defined - weighed == set(), "checks without points in assignment.toml"
    assert weighed - defined == set(), "points for checks that do not exist"

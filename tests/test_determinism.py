"""The same submission gets the same score and the same messages every time."""

import json
import shutil
from pathlib import Path

import pytest

from harness import api

pytestmark = pytest.mark.sandbox
ROOT = Path(__file__).resolve().parent.parent
VOLATILE = {"execution_time", "timings", "duration", "cpu", "stdout", "stderr"}


def stable(value):
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def test_grading_twice_gives_identical_results(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    for name in ("correct_tiny.zip", "wrong-activation_tiny.zip", "crash-at-import_tiny.zip"):
        shutil.copy(ROOT / "submissions" / "tiny-rnn" / name, folder / name)
    runs = []
    for i in range(2):
        out = tmp_path / f"out{i}"
        api.grade(submissions=folder, assignment="tiny-rnn", out=out, jobs=2, seed=7)
        runs.append({p.parent.name: stable(json.loads(p.read_text()))
                     for p in out.glob("*/results.json")})
    assert runs[0] == runs[1]

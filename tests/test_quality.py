"""Lint and type checks are part of the suite, so they cannot silently rot."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        found = shutil.which(name)
        if not found:
            pytest.skip(f"{name} is not installed (pip install -e '.[dev]')")
        return found
    return str(path)


def test_ruff_is_clean():
    result = subprocess.run([tool("ruff"), "check", "harness", "tests", "graders"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean():
    result = subprocess.run([tool("mypy")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


GRADER_DIRS = sorted({p.parent for p in (ROOT / "graders").rglob("*.py")})


@pytest.mark.parametrize("folder", GRADER_DIRS, ids=lambda p: str(p.relative_to(ROOT)))
def test_mypy_is_clean_on_each_grader(folder):
    # As the worker imports them: the graders' folder and the grader's own on the path, one
    # folder at a time (several graders have a conftest.py and a test_lstm.py).
    path = [str(ROOT / "graders")] + ([] if (folder / "__init__.py").exists() else [str(folder)])
    files = sorted(str(p) for p in folder.glob("*.py"))
    result = subprocess.run(
        [tool("mypy"), *files], cwd=ROOT, capture_output=True, text=True,
        env={"PATH": str(BIN), "MYPYPATH": ":".join(path)},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr

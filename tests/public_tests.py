"""Running an assignment's public tests (the ones students run) from the project's tests.

Each assignment's template and reference define the same module names, so the public
tests always run in a subprocess, in a fresh copy of the template.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ENV = {
    **os.environ,
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "MPLBACKEND": "Agg",
}
ENV.pop("LM_FILE", None)  # recurrent-layers-lm's switch between its module and notebook


def run_public_tests(
    folder: Path, report: Path, *args: str, **env: str
) -> dict[str, tuple[str, str]]:
    """Run the public tests in ``folder`` (extra pytest ``args``, environment ``env``);
    return {test id: (outcome, message)}."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={report}",
            *args,
        ],
        cwd=folder,
        env={**ENV, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.exists(), f"pytest wrote no report:\n{proc.stdout}\n{proc.stderr}"
    results = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        test_id = f"{case.get('classname')}::{case.get('name')}"
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome, message = child.tag, child.get("message", "") or (child.text or "")
        results[test_id] = (outcome, message)
    assert results, f"no tests ran:\n{proc.stdout[-3000:]}"
    return results


def copy_template(assignment: str, dest: Path) -> Path:
    template = REPO / "student_template" / assignment
    shutil.copytree(template, dest, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    return dest

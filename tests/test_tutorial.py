"""The tutorial of graders/README.md works as written: its files, written into a fresh tree,
and its commands, run there, give an assignment that validates (in bubblewrap, for real)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "graders" / "README.md"
#: ```toml file=graders/gru-cell/assignment.toml ... ``` and ```sh tutorial ... ```
BLOCK = re.compile(r"^```(\w+) (file=\S+|tutorial)\n(.*?)^```$", re.M | re.S)


def blocks() -> tuple[dict[str, str], list[str]]:
    """The tutorial's files (path -> text) and its commands, in the guide's order."""
    files: dict[str, str] = {}
    commands: list[str] = []
    for _lang, mark, body in BLOCK.findall(GUIDE.read_text(encoding="utf-8")):
        if mark == "tutorial":
            commands.append(body)
        else:
            files[mark.removeprefix("file=")] = body
    return files, commands


def test_the_tutorial_has_a_spec_reference_template_checks_and_an_example():
    files, commands = blocks()
    assert set(files) == {
        "graders/gru-cell/assignment.toml",
        "reference/gru-cell/gru.py",
        "student_template/gru-cell/gru.py",
        "graders/gru-cell/test_gru.py",
        "submissions/gru-cell/expected.toml",
    }
    assert "grade.py\" validate -a graders/gru-cell" in commands[-1]
    # graders import nothing of the harness but its public API
    imports = re.findall(r"^(?:from|import) (harness\S*)", files["graders/gru-cell/test_gru.py"], re.M)
    assert imports == ["harness.checks"]


@pytest.mark.sandbox
@pytest.mark.timeout(900)
def test_following_the_tutorial_gives_an_assignment_that_validates(tmp_path):
    require("bwrap")
    files, commands = blocks()
    tree = tmp_path / "course"
    for path, text in files.items():
        (tree / path).parent.mkdir(parents=True, exist_ok=True)
        (tree / path).write_text(text, encoding="utf-8")
    env = {
        **os.environ,
        "GRADER": str(ROOT),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "COLUMNS": "200",
    }
    for command in commands:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", command],
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    assert "no problems" in done.stdout, done.stdout
    assert "1 as expected" in done.stdout
    report = tree / "results" / "gru-cell" / "swapped-update" / "report.html"
    assert report.is_file()

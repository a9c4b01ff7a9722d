"""The command line: options documented, exit codes, resume, --only, --force."""

import json
import re
import shutil
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.grade import ExitCode, cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "submissions" / "tiny-rnn"


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    # rich wraps long lines at the terminal's width, which differs between machines
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "subs"
    d.mkdir()
    for name in ("correct_tiny.zip", "wrong-activation_tiny.zip", "assignment3.zip"):
        shutil.copy(EXAMPLES / name, d / name)
    return d


def test_help_documents_every_option_and_exit_code():
    result = CliRunner().invoke(cli, ["--help"])
    code, out = result.exit_code, result.output
    assert code == 0
    for param in cli.params:
        for opt in param.opts:
            if opt.startswith("--"):
                assert opt in out, f"{opt} missing from --help"
    for member in ExitCode:
        assert re.search(rf"^\s*{member.value}\s", out, re.M), (
            f"exit code {member.value} undocumented"
        )


def test_readme_documents_every_option():
    readme = (ROOT / "README.md").read_text()
    for param in cli.params:
        long = [o for o in param.opts if o.startswith("--")]
        if long:
            assert long[0] in readme, f"{long[0]} is not documented in README.md"


def test_list_assignments():
    code, out = run("--list-assignments")
    assert code == 0
    assert "tiny-rnn" in out


@pytest.mark.parametrize(
    ("option", "said"),
    [
        (["--memory", "0"], "--memory 0: 0 bytes is below the least allowed, 512 MiB"),
        (["--memory", "1K"], "--memory 1K: 1 KiB is below the least allowed, 512 MiB"),
        (["--memory", "2048"], "did you mean 2048M or 2048G?"),
        (["--memory", "2T"], "2 TiB is above the most allowed, 1 TiB"),
        (["--timeout", "nan"], "--timeout nan: duration must be a finite number"),
        (["--timeout", "inf"], "--timeout inf: duration must be a finite number"),
        (["--timeout", "0"], "--timeout 0: duration must be a finite number of seconds above 0"),
        (["--timeout", "2d"], "--timeout 2d: duration must be a number of seconds such as 90"),
        (["--jobs", "0"], "--jobs 0: give the number of submissions graded at once, 1 to"),
        (["--jobs", "-3"], "--jobs -3"),
    ],
)
def test_limits_that_make_no_sense_are_refused_on_stderr_before_anything_starts(
    tmp_path, folder, option, said
):
    """Each with its option, its value and the allowed range, before any progress bar, and
    nothing graded: a typo must not give every student a zero."""
    result = CliRunner().invoke(
        cli, [str(folder), "-a", "tiny-rnn", "--out", str(tmp_path / "o"), *option]
    )
    assert result.exit_code == ExitCode.USAGE_ERROR
    assert said in " ".join(result.stderr.split())
    assert result.stdout == "" and "grading" not in result.stderr
    assert not (tmp_path / "o").exists()


def test_version_and_the_console_script():
    from harness import __version__

    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"rnn-grade, version {__version__}"
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'rnn-grade = "harness.grade:main"' in pyproject
    assert "rnn-grade" in (ROOT / "README.md").read_text()


def test_a_course_config_gives_defaults_and_refuses_typos(tmp_path, folder, monkeypatch):
    config = tmp_path / "course.toml"
    config.write_text('memory = "1K"\njobs = 1\n')
    result = CliRunner().invoke(cli, ["--config", str(config), str(folder), "-a", "tiny-rnn"])
    assert result.exit_code == ExitCode.USAGE_ERROR
    assert "--memory 1K" in result.stderr  # the config's value, refused like the option's
    config.write_text('sandbx = "bwrap"\n')
    result = CliRunner().invoke(cli, ["--config", str(config), str(folder), "-a", "tiny-rnn"])
    assert result.exit_code == ExitCode.USAGE_ERROR
    assert "unknown key 'sandbx': did you mean 'sandbox'?" in result.stderr
    # Found by itself in the current folder; an option on the command line wins.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rnn-grade.toml").write_text('memory = "1K"\n')
    result = CliRunner().invoke(cli, [str(folder), "-a", "tiny-rnn", "--memory", "0"])
    assert "--memory 0:" in result.stderr


def test_usage_errors_exit_2(tmp_path, folder):
    code, out = run(folder, "--assignment", "no-such-thing", "--out", tmp_path / "o")
    assert code == ExitCode.USAGE_ERROR and "unknown assignment 'no-such-thing'" in out
    code, out = run(tmp_path / "missing", "--assignment", "tiny-rnn", "--out", tmp_path / "o")
    assert code == ExitCode.USAGE_ERROR and "does not exist" in out
    code, out = run(folder, "--assignment", "tiny-rnn", "--memory", "lots", "--out", tmp_path / "o")
    assert code == ExitCode.USAGE_ERROR and "--memory" in out


def test_empty_folder_exits_3(tmp_path):
    (tmp_path / "empty").mkdir()
    code, out = run(tmp_path / "empty", "--assignment", "tiny-rnn", "--out", tmp_path / "o")
    assert code == ExitCode.NO_SUBMISSIONS


@pytest.mark.sandbox
def test_grades_skips_unchanged_and_regrades_on_force(tmp_path, folder):
    out = tmp_path / "out"
    code, text = run(folder, "-a", "tiny-rnn", "--out", out, "--sandbox", "bwrap")
    assert code == ExitCode.OK, text
    assert "graded 3, unchanged and skipped 0" in text
    grades = (out / "summary.csv").read_text()
    assert "correct,graded,1,9,10,10" in grades
    assert "assignment3,not_graded" in grades
    first = json.loads((out / "correct" / "results.json").read_text())
    assert first["score"] == 10 and first["max_score"] == 10

    code, text = run(folder, "-a", "tiny-rnn", "--out", out, "--sandbox", "bwrap")
    assert "graded 0, unchanged and skipped 3" in text

    # A changed ZIP is regraded; the others are not.
    shutil.copy(EXAMPLES / "wrong-activation_tiny.zip", folder / "correct_tiny.zip")
    code, text = run(folder, "-a", "tiny-rnn", "--out", out, "--sandbox", "bwrap")
    assert "graded 1, unchanged and skipped 2" in text
    assert "correct,graded,1,2,3,10" in (out / "summary.csv").read_text()

    code, text = run(
        folder,
        "-a",
        "tiny-rnn",
        "--out",
        out,
        "--force",
        "--only",
        "assignment3",
        "--accept-misnamed",
        "--sandbox",
        "bwrap",
    )
    assert code == ExitCode.OK
    assert "graded 1," in text
    assert "assignment3,graded,1,9,10,10" in (out / "summary.csv").read_text()


def test_unknown_only_id_is_a_usage_error(tmp_path, folder):
    code, out = run(folder, "-a", "tiny-rnn", "--out", tmp_path / "o", "--only", "nobody")
    assert code == ExitCode.USAGE_ERROR and "nobody" in out


def test_a_spec_naming_tests_that_do_not_exist_is_refused_before_grading(tmp_path, folder):
    """A renamed test (its [checks] key names nothing) and a test without a key would make
    every submission a harness error: grading refuses the spec up front, exit 2."""
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "tests" / "assignments", tree)
    grader = tree / "graders" / "tiny-rnn" / "test_rnn.py"
    text = grader.read_text().replace("def test_cell_class", "def test_cell_class_renamed")
    grader.write_text(
        text
        + textwrap.dedent("""

        def test_extra_unlisted(rnn):
            pass
    """)
    )
    result = CliRunner().invoke(
        cli,
        [str(folder), "-a", str(tree / "graders" / "tiny-rnn"), "--out", str(tmp_path / "o")],
        catch_exceptions=False,
    )
    assert result.exit_code == ExitCode.USAGE_ERROR, result.output
    said = " ".join(result.stderr.split())
    assert "[checks.\"test_rnn.py::test_cell_class\"]: names no test of the grader" in said
    assert "did you mean 'test_rnn.py::test_cell_class_renamed'?" in said
    assert "'test_rnn.py::test_extra_unlisted' has no [checks] entry" in said
    assert "line " in said and result.stdout == ""
    assert not (tmp_path / "o" / "correct").exists()  # nothing was graded


@pytest.mark.sandbox
def test_local_backend_warns_loudly(tmp_path, folder):
    code, out = run(
        folder, "-a", "tiny-rnn", "--out", tmp_path / "o", "--only", "correct", "--sandbox", "local"
    )
    assert code == ExitCode.OK
    assert out.count("NO isolation") >= 2


@pytest.mark.sandbox
def test_the_api_warns_when_it_grades_without_isolation(tmp_path, folder):
    from harness import api
    from harness.errors import UnsafeSandboxWarning

    with pytest.warns(UnsafeSandboxWarning, match="NO isolation"):
        api.grade(
            submissions=folder,
            assignment="tiny-rnn",
            out=tmp_path / "o",
            sandbox="local",
            only=["correct"],
        )


@pytest.mark.sandbox
def test_json_summary_on_stdout_and_an_eta_from_earlier_results(tmp_path, folder):
    from harness.assignments import find_assignment
    from harness.grade import estimate_seconds

    out = tmp_path / "o"
    args = [str(folder), "-a", "tiny-rnn", "--out", str(out), "--only", "correct"]
    result = CliRunner().invoke(cli, [*args, "--sandbox", "bwrap", "--json"])
    assert result.exit_code == ExitCode.OK, result.output
    summary = json.loads(result.stdout)  # nothing but the JSON on stdout
    assert summary["exit_code"] == 0 and summary["assignment"] == "tiny-rnn"
    (entry,) = summary["submissions"]
    assert entry["id"] == "correct" and entry["score"] == 10 and entry["status"] == "graded"
    assert entry["parts"] == {"files": 1, "rnn": 9}
    assert "results in" in " ".join(result.stderr.split())
    # The next run's ETA starts from this one's time per submission.
    estimate = estimate_seconds(find_assignment("tiny-rnn"), out)
    assert estimate is not None and estimate > 0

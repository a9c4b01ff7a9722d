"""``grade.py validate``: what it finds on hand-made results, on a real grader's tests, and
end to end on a broken copy of the self-test assignment (tests/test_examples.py validates
every real assignment)."""

import io
import re
import shutil
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import require

from harness import expected, grade, validate
from harness.results import CheckResult, CheckStatus, Status, SubmissionResult
from harness.spec import AssignmentSpec, CheckSpec, NamingRule, Part, load_spec
from harness.validate import Collection, ProblemKind

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "assignments"

SPEC = AssignmentSpec(
    name="toy",
    title="Toy",
    root=Path("."),
    naming=NamingRule(),
    required=(),
    parts=(Part("files", "Files", 1), Part("rnn", "RNN", 5)),
    checks=(
        CheckSpec("test_rnn.py::test_loads", 1, "files", "files"),
        CheckSpec("test_rnn.py::test_shape", 2, "rnn", "interface"),
        CheckSpec("test_rnn.py::test_cell", 3, "rnn", "cell"),
    ),
)


def result(sid: str, *scores: float | tuple[float, ...], status=Status.GRADED, output=""):
    """A result with one entry per check of SPEC (a tuple: a parametrised check's cases)."""
    checks = []
    for number, (check, score) in enumerate(zip(SPEC.checks, scores, strict=True), start=1):
        cases = score if isinstance(score, tuple) else (score,)
        share = check.points / len(cases)
        for i, got in enumerate(cases, start=1):
            checks.append(
                CheckResult(
                    name=check.key,
                    score=got,
                    max_score=share,
                    status=CheckStatus.PASSED if got >= share else CheckStatus.FAILED,
                    output="" if got >= share else f"{check.key} is wrong",
                    tags=check.tags,
                    number=str(number) if len(cases) == 1 else f"{number}.{i}",
                )
            )
    total = sum(c.score for c in checks)
    return SubmissionResult(sid, "toy", status, total, 6.0, checks=tuple(checks), output=output)


def kinds(problems):
    return [(p.kind, p.subject.split(" ")[0]) for p in problems]


# -- spec against collected tests -------------------------------------------------------


def test_keys_without_tests_and_tests_without_keys_are_problems():
    collection = Collection(
        (
            "test_rnn.py::test_loads",
            "test_rnn.py::test_shape[1]",
            "test_rnn.py::test_shape[7]",
            "test_rnn.py::test_extra",
        )
    )
    assert collection.keys == (
        "test_rnn.py::test_loads",
        "test_rnn.py::test_shape",
        "test_rnn.py::test_extra",
    )
    problems = validate.spec_problems(SPEC, collection)
    assert kinds(problems) == [
        (ProblemKind.UNKNOWN_CHECK, "test_rnn.py::test_cell"),
        (ProblemKind.UNWEIGHED_TEST, "test_rnn.py::test_extra"),
    ]


def test_a_grader_that_cannot_be_collected_says_so_once():
    collection = Collection((), ("test_rnn.py: SyntaxError: invalid syntax",))
    (problem,) = validate.spec_problems(SPEC, collection)
    assert problem.kind is ProblemKind.COLLECTION
    assert (problem.subject, problem.detail) == ("test_rnn.py", "SyntaxError: invalid syntax")


def test_a_real_grader_is_collected_as_the_worker_collects_it(tmp_path):
    """The grader's files are collected as the worker collects them: its own helpers
    import by name, parametrised cases count under one key, a broken file is reported."""
    root = tmp_path / "graders" / "toy"
    root.mkdir(parents=True)
    (root / "assignment.toml").write_text(
        textwrap.dedent(
            """
            [assignment]
            name = "toy"
            [submission]
            filename = '^(?P<id>.+)\\.zip$'
            required = ["a.py"]
            [parts.a]
            points = 1
            [checks."test_a.py::test_one"]
            points = 1
            part = "a"
            kind = "cell"
            """
        )
    )
    (root / "helper.py").write_text("SIZES = [1, 7]\n")
    (root / "test_a.py").write_text(
        textwrap.dedent(
            """
            import pytest
            from helper import SIZES

            @pytest.mark.parametrize("n", SIZES)
            def test_one(student, n):
                raise AssertionError("never run")

            def test_two():
                pass
            """
        )
    )
    (root / "test_broken.py").write_text("def test_(:\n")
    spec = load_spec(root)
    collection = validate.collect_tests(spec)
    assert collection.nodeids == ("test_a.py::test_one[1]", "test_a.py::test_one[7]", "test_a.py::test_two")
    assert len(collection.errors) == 1 and collection.errors[0].startswith("test_broken.py")
    problems = validate.spec_problems(spec, collection)
    assert kinds(problems) == [
        (ProblemKind.COLLECTION, "test_broken.py"),
        (ProblemKind.UNWEIGHED_TEST, "test_a.py::test_two"),
    ]
    assert problems[0].detail.startswith("SyntaxError"), problems[0].detail


# -- reference, template, examples ------------------------------------------------------


def test_a_grader_that_agrees_with_its_reference_and_template_has_no_problem():
    problems = validate.trusted_problems(
        SPEC,
        reference=result("reference", 1, 2, 3),
        template=result("template", 0, 0, 0),
        examples=[result("a", 1, 2, 0), result("b", 0, 0, 0)],
    )
    assert problems == []


def test_a_check_the_reference_fails_cannot_pass():
    problems = validate.trusted_problems(
        SPEC,
        reference=result("reference", 1, (1, 0), 3),
        template=result("template", 0, 0, 0),
        examples=[],
    )
    (problem,) = problems
    assert problem.kind is ProblemKind.CANNOT_PASS
    assert (problem.subject, problem.expected, problem.got) == (
        "test_rnn.py::test_shape",
        "2 on the reference",
        "1",
    )
    assert "test_rnn.py::test_shape is wrong" in problem.detail


def test_template_points_are_problems_and_a_check_nothing_fails_cannot_fail():
    refused = SubmissionResult("refused", "toy", Status.NOT_GRADED, 0, 6, output="not a ZIP")
    problems = validate.trusted_problems(
        SPEC,
        reference=result("reference", 1, 2, 3),
        template=result("template", 1, (1, 0), 0),
        # test_loads passes on every graded example: it cannot fail (the refused
        # example has no checks and says nothing about it)
        examples=[result("a", 1, 2, 0), result("b", 1, 0, 3), refused],
    )
    assert kinds(problems) == [
        (ProblemKind.CANNOT_FAIL, "test_rnn.py::test_loads"),
        (ProblemKind.TEMPLATE_SCORES, "test_rnn.py::test_shape"),
    ]
    assert problems[0].got == "full marks on the template and on all 2 graded examples"
    assert (problems[1].expected, problems[1].got) == ("0 on the blank template", "1 of 2")


def test_a_reference_that_is_not_graded_is_one_problem_not_one_per_check():
    refused = SubmissionResult(
        "reference", "toy", Status.NOT_GRADED, 0, 6, output="required file 'a.py' not found"
    )
    problems = validate.trusted_problems(
        SPEC, reference=refused, template=result("template", 0, 0, 0), examples=[]
    )
    (problem,) = problems
    assert problem.kind is ProblemKind.REFERENCE
    assert problem.got == "not_graded: required file 'a.py' not found"
    missing = validate.trusted_problems(SPEC, reference=None, template=None, examples=[])
    assert kinds(missing) == [(ProblemKind.REFERENCE, "reference"), (ProblemKind.TEMPLATE, "template")]


def test_examples_are_compared_with_their_verdicts_by_the_one_comparison():
    verdicts = {
        "right": {"status": "graded", "score": 3, "parts": {"files": "correct", "rnn": "faulty"}},
        "wrong": {
            "status": "graded",
            "score": 6,
            "message": "uses a ReLU",
            "flags": ["needs_review"],
            "parts": {"files": "correct", "rnn": "correct"},
        },
        "gone": {"status": "graded", "score": 0},
    }
    results = [result("right", 1, 2, 0), result("wrong", 1, 2, 0), result("extra", 0, 0, 0)]
    found = expected.compare(SPEC, results, verdicts)
    assert [(d.example, d.what) for d in found] == [
        ("extra", "example"),
        ("gone", "example"),
        ("wrong", "score"),
        ("wrong", "flags"),
        ("wrong", "message"),
        ("wrong", "part rnn"),
    ]
    part = found[-1]
    assert (part.expected, part.got) == ("correct (full marks)", "2/5")
    assert part.detail == 'check "test_rnn.py::test_cell": test_rnn.py::test_cell is wrong'
    problems = validate.example_problems(SPEC, found, verdicts)
    assert {p.kind for p in problems} == {ProblemKind.DISAGREEMENT}
    assert problems[2].subject == "wrong: score" and (problems[2].expected, problems[2].got) == ("6", "3")
    (none,) = validate.example_problems(SPEC, [], None)
    assert none.kind is ProblemKind.NO_EXAMPLES


def test_reference_and_template_are_handed_in_without_caches(tmp_path):
    (tmp_path / "part1" / "__pycache__").mkdir(parents=True)
    (tmp_path / "part1" / "__pycache__" / "lstm.cpython-311.pyc").write_bytes(b"\0")
    (tmp_path / "part1" / "lstm.py").write_text("x = 1\n")
    (tmp_path / "part1" / "__init__.py").write_text("")
    (tmp_path / ".pytest_cache").mkdir()
    (tmp_path / ".pytest_cache" / "README.md").write_text("cache")
    data = validate.hand_in(tmp_path)
    assert data == validate.hand_in(tmp_path), "the same folder must give the same bytes"
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names == ["part1/__init__.py", "part1/lstm.py"]


# -- the command ------------------------------------------------------------------------


def run(*args):
    # wide enough that rich never folds a check's key; the output is joined into one line
    outcome = CliRunner().invoke(
        grade.validate_cli, [str(a) for a in args], catch_exceptions=False, env={"COLUMNS": "300"}
    )
    text = re.sub("[\u2500-\u257f]", " ", outcome.output)  # the tables' borders
    return outcome.exit_code, " ".join(text.split())


def test_help_documents_every_option_and_exit_code():
    outcome = CliRunner().invoke(grade.validate_cli, ["--help"])
    assert outcome.exit_code == 0
    for param in grade.validate_cli.params:
        for opt in param.opts:
            if opt.startswith("--"):
                assert opt in outcome.output, f"{opt} missing from --help"
    for member in grade.ValidateExitCode:
        assert re.search(rf"^\s*{member.value}\s", outcome.output, re.M), member


def test_grade_py_validate_is_dispatched_to_the_validate_command(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["grade.py", "validate", "--help"])
    with pytest.raises(SystemExit) as stop:
        grade.main()
    assert stop.value.code == 0
    assert "grade.py validate [OPTIONS]" in capsys.readouterr().out


def test_readme_and_guide_document_the_command():
    readme = (ROOT / "README.md").read_text()
    guide = (ROOT / "graders" / "README.md").read_text()
    assert "grade.py validate" in readme and "grade.py validate" in guide
    for param in grade.validate_cli.params:
        long = [o for o in param.opts if o.startswith("--")]
        if long and long[0] not in ("--help", "--version"):
            assert long[0] in guide, f"{long[0]} is not documented in graders/README.md"


def test_an_unknown_assignment_is_a_usage_error(tmp_path):
    code, out = run("-a", "no-such-thing", "--out", tmp_path)
    assert code == grade.ValidateExitCode.USAGE_ERROR and "unknown assignment" in out


@pytest.mark.sandbox
def test_a_broken_grader_fails_validation_naming_each_problem(tmp_path):
    """A copy of tiny-rnn whose spec names a test by a name it no longer has and whose
    expected.toml is wrong about one example: exit 1, each problem named."""
    require("bwrap")
    tree = tmp_path / "tree"
    for kind in ("graders", "reference", "student_template"):
        shutil.copytree(TINY / kind / "tiny-rnn", tree / kind / "tiny-rnn")
    spec = tree / "graders" / "tiny-rnn" / "assignment.toml"
    spec.write_text(spec.read_text().replace("::test_cell_class", "::test_cell_renamed"))
    examples = tree / "submissions" / "tiny-rnn"
    examples.mkdir(parents=True)
    for name in ("correct_tiny.zip", "wrong-activation_tiny.zip"):
        shutil.copy(ROOT / "submissions" / "tiny-rnn" / name, examples / name)
    (examples / "expected.toml").write_text(
        '[correct]\nstatus = "graded"\nscore = 10\n\n'
        '[wrong-activation]\nstatus = "graded"\nscore = 10\n'  # it gets 3
    )
    code, out = run("-a", tree / "graders" / "tiny-rnn", "--out", tmp_path / "out", "--sandbox", "bwrap", "-j", "1")
    assert code == grade.ValidateExitCode.PROBLEMS, out
    assert "unknown check test_rnn.py::test_cell_renamed" in out
    assert "unweighed test test_rnn.py::test_cell_class" in out
    assert "disagreement wrong-activation: score 10 3" in out
    assert re.search(r"validated tiny-rnn in [0-9.]+ s \(collect [0-9.]+ s", out)
    assert (tmp_path / "out" / validate.TRUSTED_DIR / "reference" / "results.json").is_file()


def test_grading_keeps_the_graders_tests_until_the_grader_changes(tmp_path, monkeypatch):
    """``collection.checked_tests`` collects once per grader digest: a rerun into the same
    results folder does not start pytest again, a changed grader does."""
    from harness import collection
    from harness.assignments import find_assignment

    spec = find_assignment("tiny-rnn")
    first = collection.checked_tests(spec, tmp_path, "digest-1")
    assert "test_rnn.py::test_file_loads" in first.keys
    assert (tmp_path / collection.CACHE_FILE).is_file()

    def no_collection(_spec):
        raise AssertionError("collected again")

    monkeypatch.setattr(collection, "collect_tests", no_collection)
    assert collection.checked_tests(spec, tmp_path, "digest-1").nodeids == first.nodeids
    with pytest.raises(AssertionError, match="collected again"):
        collection.checked_tests(spec, tmp_path, "digest-2")

"""``harness.checks`` is the whole of the harness a grader sees: its exports are pinned,
and every grader file imports nothing else of the harness."""

import ast
from pathlib import Path

import harness.checks

REPO = Path(__file__).resolve().parent.parent
GRADER_FOLDERS = (REPO / "graders", REPO / "tests" / "hostile" / "assignments" / "graders")

PUBLIC_API = [
    "CheckFailed",
    "Evidence",
    "FloatArray",
    "Number",
    "Remote",
    "StudentError",
    "StudentSession",
    "Submission",
    "Text",
    "UnusableValue",
    "assert_close",
    "describe_mismatch",
    "describe_uses",
    "fail",
    "find_forbidden",
    "find_suspicious",
    "load_definitions",
    "reachable",
    "record_how_it_ran",
    "reference_root",
    "signature",
    "skip_unless",
    "student_call",
    "template_root",
]


def test_the_public_api_is_pinned():
    # A change here is a change for every grader author: update graders/README.md with it.
    assert harness.checks.__all__ == PUBLIC_API
    for name in PUBLIC_API:
        assert hasattr(harness.checks, name), name


def harness_imports(path: Path) -> list[tuple[int, str]]:
    """(line, what) for each import of the harness in ``path``, wherever it sits."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [
                (node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "harness"
            ]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            module = node.module or ""
            if module.split(".")[0] == "harness":
                found += [(node.lineno, f"{module}:{a.name}") for a in node.names]
    return found


def allowed(what: str) -> bool:
    if what in ("harness.checks", "harness:checks"):
        return True
    module, _, name = what.partition(":")
    return module == "harness.checks" and name in PUBLIC_API


def grader_files() -> list[Path]:
    return sorted(p for folder in GRADER_FOLDERS for p in folder.rglob("*.py"))


def test_graders_import_only_the_public_api():
    files = grader_files()
    assert len(files) > 10 and any("hostile" in str(p) for p in files)
    wrong = [
        f"{path.relative_to(REPO)}:{line}: {what}"
        for path in files
        for line, what in harness_imports(path)
        if not allowed(what)
    ]
    assert wrong == [], "graders import only harness.checks:\n" + "\n".join(wrong)


def test_the_import_check_catches_a_private_import(tmp_path):
    grader = tmp_path / "test_x.py"
    grader.write_text(
        "import numpy\nfrom _shared import cells\nfrom harness.checks import fail\n"
        "def test_x():\n    from harness.report import plots\n    import harness.checks.context\n"
    )
    found = [what for _, what in harness_imports(grader) if not allowed(what)]
    assert found == ["harness.report:plots", "harness.checks.context"]

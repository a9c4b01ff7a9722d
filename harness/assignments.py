"""Finding assignments: built-in ones under ``graders/``, or any folder given by path.

An assignment tree holds ``graders/<name>/`` (the spec and checks), ``reference/<name>/``
and ``student_template/<name>/``.  The project root is the built-in tree; the
harness's own self-test assignment lives in the tree ``tests/assignments/``.
"""

from __future__ import annotations

from pathlib import Path

from .errors import UsageError
from .spec import SPEC_FILE, AssignmentSpec, load_spec

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TREES = (PROJECT_ROOT, PROJECT_ROOT / "tests" / "assignments")


def list_assignments() -> list[tuple[str, Path]]:
    """(name, folder) of every assignment the harness knows, built-in ones first."""
    found: list[tuple[str, Path]] = []
    for tree in TREES:
        graders = tree / "graders"
        if graders.is_dir():
            found += [(d.name, d) for d in sorted(graders.iterdir()) if (d / SPEC_FILE).is_file()]
    return found


def find_assignment(name_or_path: str) -> AssignmentSpec:
    """The spec of a built-in assignment by name, or of the assignment folder at a path."""
    candidate = Path(name_or_path)
    if (candidate / SPEC_FILE).is_file():
        return load_spec(candidate.resolve())
    for name, folder in list_assignments():
        if name == name_or_path:
            return load_spec(folder)
    known = ", ".join(n for n, _ in list_assignments()) or "none"
    raise UsageError(
        f"unknown assignment {name_or_path!r}: known assignments are {known} "
        f"(or give the path of a folder holding {SPEC_FILE})"
    )

"""Example submissions: deterministic ZIPs built from source folders.

``tests/assignments/examples/<assignment>/<case>/`` holds the files of one example;
``python -m harness.examples`` zips each into ``submissions/<assignment>/<case>_<suffix>``
with fixed timestamps, so a rebuild gives the same bytes and a test can check that
the committed ZIPs match their sources.  In a case folder, ``_zipname`` overrides
the ZIP's name and ``_raw`` is copied as the "ZIP" byte for byte (for broken files).

A case that differs from another in a file or two holds only those: ``_base`` names the
folder it builds on (relative to the project root, e.g. ``reference/<assignment>`` or
another case), whose files it inherits unless it has its own, and ``_omit`` lists
inherited paths (glob patterns, one a line) to leave out.
"""

from __future__ import annotations

import fnmatch
import io
import re
import sys
import zipfile
from pathlib import Path, PurePosixPath

from .assignments import PROJECT_ROOT, find_assignment

SOURCES = PROJECT_ROOT / "tests" / "assignments" / "examples"
DEST = PROJECT_ROOT / "submissions"
_EPOCH = (1980, 1, 1, 0, 0, 0)


def case_files(folder: Path) -> dict[str, Path]:
    """ZIP path -> source file of a case, its ``_base`` chain resolved."""
    files: dict[str, Path] = {}
    base = folder / "_base"
    if base.exists():
        files = case_files(PROJECT_ROOT / base.read_text().strip())
    omit = folder / "_omit"
    if omit.exists():
        patterns = [line.strip() for line in omit.read_text().splitlines() if line.strip()]
        files = {
            name: path
            for name, path in files.items()
            if not any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)
        }
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if not path.is_file() or "__pycache__" in relative.parts:
            continue
        if path.name.startswith("_") and path.parent == folder:
            continue
        files[relative.as_posix()] = path
    return files


def zip_folder(folder: Path) -> bytes:
    return zip_files(case_files(folder))


def zip_files(files: dict[str, Path]) -> bytes:
    """A deterministic ZIP of ``files`` (ZIP path -> source file): same files, same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, path in sorted(files.items(), key=lambda kv: PurePosixPath(kv[0]).parts):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    return buffer.getvalue()


def zip_name(case: Path, assignment: str) -> str:
    override = case / "_zipname"
    if override.exists():
        return override.read_text().strip()
    naming = find_assignment(assignment).naming
    if re.match(naming.pattern, f"{case.name}.zip"):
        return f"{case.name}.zip"  # the case folder is already a valid name (Surname-123)
    example = naming.example
    # "12345678_tiny.zip" -> "<case>_tiny.zip": the case name stands in for the id.
    match = re.match(r"^[0-9]+(.*)$", example)
    suffix = match.group(1) if match else f"-{example}"
    return f"{case.name}{suffix}"


def build(assignment: str, *, sources: Path = SOURCES, dest: Path = DEST) -> dict[str, bytes]:
    """Build every example ZIP of ``assignment``; returns {zip name: bytes}."""
    built = {}
    for case in sorted(p for p in (sources / assignment).iterdir() if p.is_dir()):
        raw = case / "_raw"
        data = raw.read_bytes() if raw.exists() else zip_folder(case)
        built[zip_name(case, assignment)] = data
    return built


def write(assignment: str, *, dest: Path = DEST) -> list[Path]:
    out = dest / assignment
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in build(assignment).items():
        (out / name).write_bytes(data)
        written.append(out / name)
    return written


def main(argv: list[str]) -> int:
    names = argv or sorted(p.name for p in SOURCES.iterdir() if p.is_dir())
    for name in names:
        for path in write(name):
            print(path.relative_to(PROJECT_ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

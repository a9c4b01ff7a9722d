"""The grader's tests as pytest collects them, held against the spec's ``[checks]``.

``collect_tests(spec)`` runs ``pytest --collect-only`` over the assignment's folder in a
separate process, exactly as the grading worker collects (its import mode, its paths):
nothing runs and no student code is read.  ``harness.validate`` lists what it finds as
problems; ``harness.api.grade`` refuses, before any submission is graded, a spec whose
``[checks]`` name a test that does not exist or whose tests lack a ``[checks]`` entry
(``spec.check_tests``), since every submission would otherwise be a harness error.
``checked_tests(spec, out)`` keeps the answer in ``OUT/.grader-tests.json`` under the
grader's digest, so a rerun with an unchanged grader does not collect again.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .assignments import PROJECT_ROOT
from .checks.plugin import grader_paths, pytest_args, spec_key
from .errors import SpecError
from .expected import first_line
from .spec import AssignmentSpec, check_tests, load_spec
from .store import read_json, write_json_atomic

COLLECT_TIMEOUT = 300.0
#: Where ``checked_tests`` keeps a grader's collected tests, inside the results folder.
CACHE_FILE = ".grader-tests.json"


@dataclass(frozen=True)
class Collection:
    """The grader's tests as pytest collects them (node ids relative to the grader's folder)."""

    nodeids: tuple[str, ...]
    errors: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        """The spec keys the tests answer to: node ids without their parameters."""
        return tuple(dict.fromkeys(spec_key(n) for n in self.nodeids))


def collect_tests(spec: AssignmentSpec) -> Collection:
    """The grader's tests, collected by pytest in a separate process, as the worker
    collects them (its import mode, its paths); nothing runs and no student code is read."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PROJECT_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryDirectory(prefix="validate-collect-") as tmp:
        dest = Path(tmp) / "collected.json"
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "harness.collection", str(spec.root), str(dest)],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                env=env,
                cwd=PROJECT_ROOT,
                timeout=COLLECT_TIMEOUT,
            )
            output = proc.stdout + proc.stderr
        except subprocess.TimeoutExpired:
            output = f"collecting took more than {COLLECT_TIMEOUT:g} s"
        data = read_json(dest)
    if data is None:
        return Collection((), (f"the tests could not be collected:\n{output[-2000:]}",))
    return Collection(tuple(data["nodeids"]), tuple(data["errors"]))


def checked_tests(spec: AssignmentSpec, out: Path, digest: str) -> Collection:
    """The grader's tests (kept in ``out`` under ``digest``, the grader's hash); raise
    ``SpecError`` if they cannot be collected or do not match the spec's ``[checks]``."""
    cache = out / CACHE_FILE
    stored = read_json(cache)
    if isinstance(stored, dict) and stored.get("digest") == digest:
        collection = Collection(tuple(stored.get("nodeids", ())))
    else:
        collection = collect_tests(spec)
        if collection.errors:
            shown = "; ".join(first_line(e, 400) for e in collection.errors)
            raise SpecError(
                f"the grader's tests in {spec.root} cannot be collected, so no submission "
                f"could be graded: {shown} (grade.py validate -a {spec.name} shows the rest)"
            )
    check_tests(spec, collection.keys)
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(cache, {"digest": digest, "nodeids": list(collection.nodeids)})
    return collection


class _Recorder:
    def __init__(self) -> None:
        self.nodeids: list[str] = []
        self.errors: list[str] = []

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            # "file.py: the exception", then the end of pytest's account of it
            text = report.longreprtext
            said = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
            summary = said[-1] if said else first_line(text)
            self.errors.append(f"{report.nodeid}: {summary}\n{text[-3000:]}")

    def pytest_collection_modifyitems(self, items: list[Any]) -> None:
        self.nodeids = [item.nodeid for item in items]


def _collect_main(root: Path, dest: Path) -> int:
    import pytest

    load_spec(root)  # a broken spec fails here, before any test file is imported
    sys.path[:0] = grader_paths(root)
    recorder = _Recorder()
    with tempfile.TemporaryDirectory(prefix="validate-ini-") as tmp:
        inifile = Path(tmp) / "pytest.ini"
        inifile.write_text("[pytest]\n")
        pytest.main([*pytest_args(root, inifile=inifile), "--collect-only"], plugins=[recorder])
    write_json_atomic(dest, {"nodeids": recorder.nodeids, "errors": recorder.errors})
    return 0


if __name__ == "__main__":
    # ``python -m harness.collection ROOT DEST``: collect the grader at ROOT into DEST (JSON).
    sys.exit(_collect_main(Path(sys.argv[1]), Path(sys.argv[2])))

"""The pytest plugin that turns an assignment's checks into scored results.

It runs in the trusted grading process.  It provides the fixtures checks use,
seeds every random generator before each check, and records one outcome per
check with a message written for the student: the ``assert`` message, the
student's own exception and line, or how the student process ended.  Errors in
the grader's own code are marked as such, so staff can tell them apart.
"""

from __future__ import annotations

import random
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ..session import (
    StaleObject,
    StudentCrashed,
    StudentError,
    StudentSession,
    StudentTimeout,
    TimeBudgetExceeded,
    UnusableValue,
)
from ..spec import AssignmentSpec
from .context import CheckFailed, Evidence, NotRun, Submission

GRADER_ERROR = "grader_error"
#: Longest message kept for one check.
MAX_MESSAGE = 20_000


@dataclass
class Outcome:
    """What happened to one check (one pytest item)."""

    nodeid: str
    key: str  #: spec key: nodeid without parameters
    passed: bool = False
    message: str = ""
    #: "", "student_error", "crash", "timeout", "budget", "skipped", "not_run", grader_error
    kind: str = ""
    duration: float = 0.0
    cpu: float = 0.0  #: seconds charged to the student during this check (its time use)
    phase_failed: str = ""
    #: the spec key of the earlier check whose failure this one re-raised ("": none)
    needs: str = ""
    #: whether pytest reported on it at all (a run that crashed leaves later checks unrun)
    ran: bool = False


def _cap(message: str, keep: int = MAX_MESSAGE) -> str:
    """A check's message as results.json keeps it: long ones lose their middle (a check
    may quote values the student process chose)."""
    if len(message) <= keep:
        return message
    cut = len(message) - keep
    return f"{message[: keep // 2]}\n[... {cut} characters cut ...]\n{message[-keep // 2 :]}"


def spec_key(nodeid: str) -> str:
    return nodeid.split("[", 1)[0]


def _seed_for(seed: int, nodeid: str) -> int:
    return (seed * 1_000_003 + zlib.crc32(nodeid.encode())) % (2**31)


def _explain(excinfo: pytest.ExceptionInfo[BaseException]) -> tuple[str, str]:
    """(kind, message) for an exception that ended a check."""
    exc = excinfo.value
    if isinstance(exc, NotRun):
        return "not_run", str(exc)
    if isinstance(exc, CheckFailed):
        return "", str(exc)
    if isinstance(exc, StudentTimeout):
        return "timeout", str(exc)
    if isinstance(exc, TimeBudgetExceeded):
        return "budget", f"not completed: {exc}"
    if isinstance(exc, StudentCrashed):
        return "crash", str(exc)
    if isinstance(exc, StudentError):
        text = exc.summary()
        if exc.traceback:
            text += "\n\n" + exc.traceback.replace("/submission/", "")
        return "student_error", text
    if isinstance(exc, StaleObject):
        return "crash", str(exc)
    if isinstance(exc, UnusableValue):
        return "student_error", str(exc)
    if isinstance(exc, AssertionError):
        # pytest's rewritten assert: keep the author's message, drop the expression noise.
        text = str(exc)
        head, sep, _rest = text.partition("\nassert ")
        return "", head if sep and head else text
    if excinfo.typename in ("Skipped", "XFailed"):
        return "skipped", str(getattr(exc, "msg", exc))
    if isinstance(exc, pytest.fail.Exception):
        return "", str(exc)
    # Only the grader's own frames: pytest's and pluggy's say nothing to anyone.
    frames = [
        f"  {entry.path}:{entry.lineno + 1}: {_statement(entry)}"
        for entry in excinfo.traceback
        if "site-packages" not in str(entry.path)
    ]
    return GRADER_ERROR, (
        "The grader itself failed on this check; this is not counted as your fault and "
        f"course staff have been told.\n{excinfo.typename}: {exc}\n" + "\n".join(frames[-4:])
    )


def _statement(entry: Any) -> str:
    """The source line of a traceback entry, or "" where its source cannot be read (a
    file changed or gone since it was imported): explaining a failure must not fail."""
    try:
        return str(entry.statement).strip()
    except Exception:  # noqa: BLE001 - pytest asserts the source exists
        return ""


class GradingPlugin:
    def __init__(
        self,
        *,
        spec: AssignmentSpec,
        session: StudentSession,
        submission: Submission,
        evidence: Evidence,
        seed: int,
    ) -> None:
        self._spec = spec
        self._session = session
        self._submission = submission
        self._evidence = evidence
        self._seed = seed
        self.outcomes: dict[str, Outcome] = {}
        self.order: list[str] = []
        self.collect_errors: list[str] = []
        self._reserve: dict[str, float] = {}
        self._spent_before = 0.0
        #: id(exception) -> (the exception, the nodeid of the first check it failed)
        self._failures: dict[int, tuple[BaseException, str]] = {}

    # -- fixtures ---------------------------------------------------------------
    @pytest.fixture(scope="session")
    def student(self) -> StudentSession:
        return self._session

    @pytest.fixture(scope="session")
    def submission(self) -> Submission:
        return self._submission

    @pytest.fixture(scope="session", name="spec")
    def spec_fixture(self) -> AssignmentSpec:
        return self._spec

    @pytest.fixture(scope="session")
    def settings(self) -> dict[str, Any]:
        """The spec's ``[settings]``: thresholds, budgets, forbidden APIs."""
        return self._spec.settings

    @pytest.fixture(name="evidence")
    def evidence_fixture(self, request: pytest.FixtureRequest) -> Evidence:
        self._evidence.current = request.node.nodeid
        return self._evidence

    @pytest.fixture(scope="session")
    def grading_seed(self) -> int:
        return self._seed

    @pytest.fixture(scope="session")
    def reference(self) -> Any:
        from .reference import ReferenceLoader

        return ReferenceLoader(self._spec)

    @pytest.fixture(autouse=True)
    def _seed_everything(self, request: pytest.FixtureRequest) -> None:
        seed = _seed_for(self._seed, request.node.nodeid)
        random.seed(seed)
        np = sys.modules.get("numpy")
        if np is not None:
            np.random.seed(seed)
        torch = sys.modules.get("torch")
        if torch is not None:
            torch.manual_seed(seed)
        self._session.reseed(seed)

    # -- hooks ------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors.append(f"{report.nodeid}: {report.longreprtext}")

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        first: dict[str, int] = {}
        for index, item in enumerate(items):
            key = spec_key(item.nodeid)
            self.order.append(item.nodeid)
            self.outcomes[item.nodeid] = Outcome(nodeid=item.nodeid, key=key)
            check = self._spec.check(key)
            if check is not None:
                first.setdefault(check.part, index)
        # Before each check, the time of the parts that have not started yet is kept back.
        times = self._spec.part_times()
        self._reserve = {
            item.nodeid: sum(times.get(part, 0.0) for part, start in first.items() if start > i)
            for i, item in enumerate(items)
        }

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self._session.reserved = self._reserve.get(item.nodeid, 0.0)
        self._spent_before = self._session.spent()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        rep = report.get_result()
        outcome = self.outcomes.setdefault(item.nodeid, Outcome(item.nodeid, spec_key(item.nodeid)))
        outcome.ran = True
        outcome.duration += call.duration
        if call.when == "teardown":
            outcome.cpu = round(self._session.spent() - self._spent_before, 3)
        if call.when == "call" and rep.passed:
            outcome.passed = not outcome.phase_failed
        if call.excinfo is not None and not outcome.phase_failed:
            kind, message = _explain(call.excinfo)
            needs = self._needs(item.nodeid, call.excinfo.value)
            if needs:
                outcome.needs = spec_key(needs)
                message = self._not_run(needs)
            outcome.passed = False
            outcome.kind = kind
            outcome.message = _cap(message.strip())
            outcome.phase_failed = call.when
        if call.when == "teardown" and rep.failed and outcome.passed:
            outcome.passed = False

    def _needs(self, nodeid: str, exc: BaseException) -> str:
        """The earlier check that failed with this very exception, or "".

        A fixture that fails (the model cannot be built, the module does not import) is
        cached by pytest: every later check that uses it re-raises the same exception
        object. Those checks did not run; the first check it failed says why."""
        first = self._failures.get(id(exc))
        if first is None or first[0] is not exc:
            self._failures[id(exc)] = (exc, nodeid)
            return ""
        return first[1] if first[1] != nodeid else ""

    def _not_run(self, nodeid: str) -> str:
        check = self._spec.check(spec_key(nodeid))
        title = check.title if check is not None and check.title else spec_key(nodeid)
        param = nodeid[len(spec_key(nodeid)) :]
        return f'not run: needs "{title}"{" " + param if param else ""}, which failed'


SHARED = "_shared"


def grader_paths(root: Path) -> list[str]:
    """What a grader imports by name: its own folder's modules (``lm_interface``) and,
    from the folder of graders beside it, the code they share (``_shared``)."""
    return [str(root.resolve()), str(root.resolve().parent)]


def shared_code(root: Path) -> Path:
    """The graders' shared code beside the assignment ``root`` (it may not exist)."""
    return root.resolve().parent / SHARED


def pytest_args(path: Path, *, inifile: Path) -> list[str]:
    """The pytest arguments that run the checks in ``path`` and nothing else.

    ``inifile`` is an empty config written by the caller, so that no project's
    pytest settings (``filterwarnings = error``, say) leak into grading.
    """
    return [
        str(path),
        "-c",
        str(inifile),
        "-q",
        "--no-header",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "--import-mode=importlib",
        "--rootdir",
        str(path),
        "-o",
        "python_files=test_*.py",
        "-o",
        "console_output_style=classic",
        # The messages come from the exceptions (_explain); the log's tracebacks in Python's
        # own format, not pytest's long one, which parses every frame's source file again
        # for each failed check (a quarter of a blank submission's grading).
        "--tb=native",
        "-W",
        "ignore::DeprecationWarning",
    ]

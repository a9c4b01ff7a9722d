"""Validate an assignment's grader before a class is graded with it.

``validate(assignment="char-rnn-lab", out=Path("results/char-rnn-lab"))`` grades, with the
normal pipeline and the chosen sandbox:

* the reference (``reference/<name>/``): it must get full marks on every automatic check;
* the blank template (``student_template/<name>/``): it must get zero on every one;
* the examples (``submissions/<name>/*.zip``): each must get the verdict ``expected.toml``
  gives it (``harness.expected``: status, score, message, flags, each part's label);

and collects the grader's tests (``harness.collection``: ``pytest --collect-only`` in a
separate process, as grading itself does before it starts) to hold them against the spec's
``[checks]``. It returns a ``ValidationReport`` whose ``problems``
are, by kind (``ProblemKind``):

``collection``       a test file of the grader cannot be collected
``unknown check``    a ``[checks]`` key names no collected test
``unweighed test``   a collected test has no ``[checks]`` entry (it would earn no points)
``reference``        the reference is not graded (refused, timed out, a grader fault)
``cannot pass``      a check fails on the reference
``template``         the blank template is not graded cleanly (a grader fault)
``template scores``  a check gives points to the blank template
``cannot fail``      a check passes on the blank template and on every graded example
``disagreement``     an example's result differs from its expected verdict
``no examples``      no ``expected.toml`` beside the examples

The examples are graded into ``out`` exactly as ``harness/grade.py`` grades them (so results
``make examples`` left there are reused, not regraded); the reference and the template into
``out/.validate/``.  ``harness/grade.py validate -a NAME`` is the command.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from . import api, examples
from .assignments import PROJECT_ROOT, find_assignment
from .checks.reference import reference_root, template_root
from .collection import Collection, collect_tests
from .expected import EPS, EXPECTED_FILE, Disagreement, compare, first_line, read_expected
from .results import CheckResult, Status, SubmissionResult
from .spec import AssignmentSpec, CheckSpec

#: Where the reference's and the template's results go, inside ``out``.
TRUSTED_DIR = ".validate"
REFERENCE, TEMPLATE = "reference", "template"
#: Folders and files of a reference or template that are never part of a hand-in.
SKIPPED = ("__pycache__", ".pytest_cache", ".ipynb_checkpoints", ".git")
COLLECT_TIMEOUT = 300.0


class ProblemKind(StrEnum):
    COLLECTION = "collection"
    UNKNOWN_CHECK = "unknown check"
    UNWEIGHED_TEST = "unweighed test"
    REFERENCE = "reference"
    CANNOT_PASS = "cannot pass"
    TEMPLATE = "template"
    TEMPLATE_SCORES = "template scores"
    CANNOT_FAIL = "cannot fail"
    DISAGREEMENT = "disagreement"
    NO_EXAMPLES = "no examples"


@dataclass(frozen=True)
class Problem:
    """One reason not to trust the grader yet: what is wrong, expected against got."""

    kind: ProblemKind
    subject: str  #: the check key, the example id, "reference" or "template"
    expected: str
    got: str
    detail: str = ""  #: the start of the messages that explain it

    def __str__(self) -> str:
        line = f"{self.kind}: {self.subject}: expected {self.expected}, got {self.got}"
        return line + (f"\n    {self.detail}" if self.detail else "")


@dataclass(frozen=True)
class ValidationReport:
    spec: AssignmentSpec
    out: Path
    problems: tuple[Problem, ...]
    reference: SubmissionResult | None
    template: SubmissionResult | None
    examples: tuple[SubmissionResult, ...]  #: the examples' results, in id order
    expected: Mapping[str, Mapping[str, Any]]  #: the examples' expected verdicts
    collection: Collection
    seconds: float  #: the whole validation, wall clock
    timings: Mapping[str, float] = field(default_factory=dict)  #: seconds per phase
    sandbox: str = ""
    interrupted: bool = False
    graded_now: int = 0  #: submissions graded in this run (the others' results were reused)
    disagreements: tuple[Disagreement, ...] = ()  #: the examples' (also among ``problems``)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.interrupted

    def count(self, kind: ProblemKind) -> int:
        return sum(1 for p in self.problems if p.kind is kind)

    @property
    def as_expected(self) -> tuple[str, ...]:
        """The examples whose results agree with their expected verdicts."""
        wrong = {d.example for d in self.disagreements}
        return tuple(r.student_id for r in self.examples if r.student_id not in wrong)

    def check_rows(self) -> tuple[CheckRow, ...]:
        """Each check's points on the reference and the template, and how many graded
        examples do not get its full points."""
        ref = _check_results(self.spec, self.reference) if self.reference else None
        tpl = _check_results(self.spec, self.template) if self.template else None
        graded = [_check_results(self.spec, r) for r in self.examples if r.checks]
        return tuple(
            CheckRow(
                check=check,
                reference=_score(ref.get(check.key, [])) if ref is not None else None,
                template=_score(tpl.get(check.key, [])) if tpl is not None else None,
                failing=sum(1 for g in graded if not _full(g.get(check.key, []))),
                graded=len(graded),
            )
            for check in self.spec.checks
        )


@dataclass(frozen=True)
class CheckRow:
    """One check of the spec as the validation saw it."""

    check: CheckSpec
    reference: tuple[float, float] | None  #: (score, max) on the reference; None: not graded
    template: tuple[float, float] | None  #: likewise on the blank template
    failing: int  #: graded examples without its full points
    graded: int  #: graded examples (those refused at intake have no checks)


# -- where things are -----------------------------------------------------------------


def examples_folder(spec: AssignmentSpec) -> Path:
    """``<tree>/submissions/<name>`` where the assignment's tree has one, else the
    project's ``submissions/<name>`` (the self-test assignment keeps its examples there)."""
    own = spec.root.parent.parent / "submissions" / spec.name
    return own if own.is_dir() else PROJECT_ROOT / "submissions" / spec.name


def hand_in(folder: Path) -> bytes:
    """``folder`` as a student would hand it in: a ZIP of its files, caches left out, and
    the template's ``pack.py`` too (it leaves itself out of what it packs)."""
    files = {
        p.relative_to(folder).as_posix(): p
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix != ".pyc"
        and p.relative_to(folder).as_posix() != "pack.py"
        and not any(part in SKIPPED for part in p.relative_to(folder).parts)
    }
    return examples.zip_files(files)


# -- the grader's tests ---------------------------------------------------------------


# -- what the results say ---------------------------------------------------------------


def _check_results(spec: AssignmentSpec, result: SubmissionResult) -> dict[str, list[CheckResult]]:
    """Spec key -> the result's entries for it (a parametrised check has several). An
    entry's number is its check's place in the spec (``3`` or ``3.2``)."""
    by_key: dict[str, list[CheckResult]] = {}
    for c in result.checks:
        head = c.number.split(".", 1)[0]
        if head.isdigit() and 0 < int(head) <= len(spec.checks):
            by_key.setdefault(spec.checks[int(head) - 1].key, []).append(c)
    return by_key


def _score(entries: Sequence[CheckResult]) -> tuple[float, float]:
    return sum(c.score for c in entries), sum(c.max_score for c in entries)


def _full(entries: Sequence[CheckResult]) -> bool:
    score, most = _score(entries)
    return bool(entries) and score >= most - EPS


def _first_failure(entries: Sequence[CheckResult]) -> str:
    failed = next((c for c in entries if c.score < c.max_score - EPS), None)
    return f"{failed.name}: {first_line(failed.output)}" if failed else ""


def _name(check: CheckSpec) -> str:
    return f"{check.key} ({check.title})" if check.title else check.key


def _status(result: SubmissionResult) -> str:
    reason = first_line(result.output)
    return f"{result.status}" + (f": {reason}" if reason else "")


def spec_problems(spec: AssignmentSpec, collection: Collection) -> list[Problem]:
    """Collection errors, spec keys that name no test, and tests the spec does not weigh."""
    problems = []
    for error in collection.errors:
        where, _, why = error.partition(": ")
        problems.append(
            Problem(
                ProblemKind.COLLECTION,
                where or spec.name,
                "collected",
                "an error",
                first_line(why or error, 400),
            )
        )
    if collection.errors and not collection.nodeids:
        return problems  # nothing was collected: every key would be reported too
    collected = set(collection.keys)
    weighed = {c.key for c in spec.checks}
    problems += [
        Problem(ProblemKind.UNKNOWN_CHECK, c.key, "a test of that name", "no such test collected")
        for c in spec.checks
        if c.key not in collected
    ]
    problems += [
        Problem(ProblemKind.UNWEIGHED_TEST, key, "a [checks] entry with its points", "none")
        for key in collection.keys
        if key not in weighed
    ]
    return problems


def trusted_problems(
    spec: AssignmentSpec,
    *,
    reference: SubmissionResult | None,
    template: SubmissionResult | None,
    examples: Sequence[SubmissionResult],
) -> list[Problem]:
    """What the reference, the template and the examples say about each check."""
    problems: list[Problem] = []
    if reference is None:
        problems.append(Problem(ProblemKind.REFERENCE, REFERENCE, "graded", "no reference found"))
    elif reference.status is not Status.GRADED:
        problems.append(
            Problem(ProblemKind.REFERENCE, REFERENCE, "graded with full marks", _status(reference))
        )
    if template is None:
        problems.append(Problem(ProblemKind.TEMPLATE, TEMPLATE, "graded", "no template found"))
    elif template.status is Status.HARNESS_ERROR:
        problems.append(
            Problem(ProblemKind.TEMPLATE, TEMPLATE, "graded with zero", _status(template))
        )
    ref_checks = _check_results(spec, reference) if reference and reference.checks else None
    tpl_checks = _check_results(spec, template) if template else {}
    graded = [_check_results(spec, r) for r in examples if r.checks]
    for check in spec.checks:
        if ref_checks is not None:
            entries = ref_checks.get(check.key, [])
            if not _full(entries):
                score, _ = _score(entries)
                problems.append(
                    Problem(
                        ProblemKind.CANNOT_PASS,
                        _name(check),
                        f"{check.points:g} on the reference",
                        f"{score:g}",
                        _first_failure(entries),
                    )
                )
        entries = tpl_checks.get(check.key, [])
        score, _ = _score(entries)
        if score <= EPS:
            continue
        if _full(entries) and all(_full(g.get(check.key, [])) for g in graded):
            problems.append(
                Problem(
                    ProblemKind.CANNOT_FAIL,
                    _name(check),
                    "a submission that fails it",
                    f"full marks on the template and on all {len(graded)} graded examples",
                )
            )
        else:
            problems.append(
                Problem(
                    ProblemKind.TEMPLATE_SCORES,
                    _name(check),
                    "0 on the blank template",
                    f"{score:g} of {check.points:g}",
                )
            )
    return problems


def example_problems(
    spec: AssignmentSpec,
    disagreements: Sequence[Disagreement],
    expected: Mapping[str, Mapping[str, Any]] | None,
) -> list[Problem]:
    """The examples' disagreements with ``expected`` (``harness.expected.compare``)."""
    if expected is None:
        wanted = f"example ZIPs and their {EXPECTED_FILE}"
        return [Problem(ProblemKind.NO_EXAMPLES, spec.name, wanted, "none")]
    return [
        Problem(
            ProblemKind.DISAGREEMENT,
            f"{d.example}: {d.what}",
            d.expected,
            d.got,
            first_line(d.detail, 400),
        )
        for d in disagreements
    ]


# -- the whole run ----------------------------------------------------------------------


def validate(
    *,
    assignment: str,
    out: Path,
    examples: Path | None = None,
    sandbox: str = "auto",
    jobs: int | None = None,
    seed: int = 0,
    gpus: str = "",
    force: bool = False,
    on_event: Callable[[api.Event], None] | None = None,
) -> ValidationReport:
    """Grade the reference, the blank template and the examples of ``assignment`` and
    report every problem (see the module's docstring). ``examples`` is the folder of
    example ZIPs with their ``expected.toml`` (default: ``examples_folder``)."""
    started = time.monotonic()
    spec = find_assignment(assignment)
    out = Path(out).resolve()
    folder = examples if examples is not None else examples_folder(spec)
    timings: dict[str, float] = {}

    collection = collect_tests(spec)
    timings["collect"] = time.monotonic() - started

    phase = time.monotonic()
    options: dict[str, Any] = {
        "assignment": assignment,
        "sandbox": sandbox,
        "jobs": jobs,
        "seed": seed,
        "gpus": gpus,
        "force": force,
        "on_event": on_event,
        # The spec's keys against the tests are problems listed below, not a refusal.
        "check_tests": False,
    }
    sources = {REFERENCE: reference_root(spec), TEMPLATE: template_root(spec)}
    found = {role: root for role, root in sources.items() if root.is_dir()}
    with tempfile.TemporaryDirectory(prefix="validate-") as tmp:
        for role, root in found.items():
            (Path(tmp) / f"{role}.zip").write_bytes(hand_in(root))
        # The trusted pair is named by role, not by the course's rule: grade them anyway.
        trusted = None
        if found:
            trusted = api.grade(
                submissions=Path(tmp), out=out / TRUSTED_DIR, accept_misnamed=True, **options
            )
    by_source = {r.source: r for r in trusted.results} if trusted else {}
    reference = by_source.get(f"{REFERENCE}.zip")
    template = by_source.get(f"{TEMPLATE}.zip")
    timings["reference and template"] = time.monotonic() - phase

    phase = time.monotonic()
    expected_file = folder / EXPECTED_FILE
    expected = read_expected(expected_file) if expected_file.is_file() else None
    batch = None
    if expected is not None and not (trusted and trusted.interrupted):
        batch = api.grade(submissions=folder, out=out, **options)
    results = batch.results if batch else ()
    timings["examples"] = time.monotonic() - phase

    disagreements = compare(spec, results, expected) if expected is not None else []
    problems = spec_problems(spec, collection)
    problems += trusted_problems(spec, reference=reference, template=template, examples=results)
    problems += example_problems(spec, disagreements, expected)
    return ValidationReport(
        spec=spec,
        out=out,
        problems=tuple(problems),
        reference=reference,
        template=template,
        examples=tuple(results),
        expected=expected or {},
        collection=collection,
        seconds=time.monotonic() - started,
        timings=timings,
        sandbox=next((b.sandbox for b in (batch, trusted) if b), ""),
        interrupted=bool((trusted and trusted.interrupted) or (batch and batch.interrupted)),
        graded_now=sum(len(b.graded_now) for b in (trusted, batch) if b),
        disagreements=tuple(disagreements),
    )

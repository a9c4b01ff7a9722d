"""Grade the reference's mutants with the normal pipeline and read the kill matrix.

``audit(assignment="char-rnn-lab", out=Path("results/char-rnn-lab"))``:

1. makes every mutant of the reference's hand-in files (``operators.mutants``; the spec's
   ``required`` files) within the code the student writes (the lines where the reference
   differs from the template; ``scope="all"``: every line), or a fixed sample of them
   (``sample``: at least one of each operator, then a seeded draw);
2. writes each as the reference's hand-in with that one file changed, a ZIP named after
   the mutant, into ``out/.audit/zips`` and grades the folder with ``harness.api.grade``
   (its sandbox, its jobs, its executor) into ``out/.audit`` (an unchanged mutant's
   stored result is reused, as for any submission), the unchanged reference beside them;
3. reads, for each mutant and check, whether the check lost points (killed) or gave its
   full points (survived).  A mutant the pipeline times out or refuses is killed too (the
   student would lose the points); one that met a harness fault is counted apart.

Checks that do not give full points to the unchanged reference are left out of the
matrix (they would kill every mutant).  The equivalent mutants (same function, written
otherwise) are listed by a person in a TOML file (``equivalent``)::

    [equivalent."off-by-one-time:task2_min_char_rnn.py:72:1"]
    why = "sample() draws n - 1 characters; no check counts them"

and are left out of the scores.
"""

from __future__ import annotations

import ast
import random
import re
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from .. import api, examples
from ..assignments import PROJECT_ROOT, find_assignment
from ..checks.reference import reference_root, template_root
from ..errors import UsageError
from ..results import Status, SubmissionResult
from ..spec import AssignmentSpec, CheckSpec
from ..validate import _check_results, _full  # the validation's reading of a result
from .operators import OPERATORS, Mutant, mutants, student_lines

AUDIT_DIR = ".audit"
BASELINE = "unchanged-reference"


class Outcome(StrEnum):
    KILLED = "killed"
    SURVIVED = "survived"
    EQUIVALENT = "equivalent"  #: survived, and a person judged it the same function
    ERROR = "error"  #: a harness fault: neither killed nor survived


@dataclass(frozen=True)
class Row:
    """One mutant as the grader saw it."""

    mutant: Mutant
    outcome: Outcome
    killed_by: tuple[str, ...]  #: the check keys that lost points
    status: str  #: the submission's status (graded, timeout, not graded, ...)
    part: str  #: the part whose file the mutant changes
    why_equivalent: str = ""
    note: str = ""  #: the first line of the result's output, when not graded


@dataclass(frozen=True)
class AuditReport:
    spec: AssignmentSpec
    out: Path
    checks: tuple[CheckSpec, ...]  #: the checks in the matrix (full marks on the reference)
    left_out: tuple[str, ...]  #: checks without full marks on the unchanged reference
    rows: tuple[Row, ...]
    generated: int  #: mutants the operators made (``rows`` may be a sample)
    sandbox: str = ""
    interrupted: bool = False
    equivalent_file: Path | None = None
    stale_equivalent: tuple[str, ...] = ()  #: listed as equivalent but killed, or unknown
    omitted: tuple[str, ...] = ()  #: reference files left out of the baseline and mutants
    timings: Mapping[str, float] = field(default_factory=dict)

    @property
    def counted(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.outcome in (Outcome.KILLED, Outcome.SURVIVED))

    @property
    def survivors(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.outcome is Outcome.SURVIVED)

    @property
    def score(self) -> float:
        """Killed over killed and survived (equivalent and errored mutants left out)."""
        counted = self.counted
        return sum(r.outcome is Outcome.KILLED for r in counted) / len(counted) if counted else 1.0

    def by(self, key: Callable[[Row], str]) -> dict[str, tuple[int, int]]:
        """(killed, counted) per value of ``key`` (part, operator, file)."""
        killed: Counter[str] = Counter()
        total: Counter[str] = Counter()
        for r in self.counted:
            total[key(r)] += 1
            killed[key(r)] += r.outcome is Outcome.KILLED
        return {k: (killed[k], total[k]) for k in sorted(total)}

    def by_kind(self) -> dict[str, tuple[int, int]]:
        """(mutants a check of that kind kills, counted mutants) per check kind."""
        kinds = {c.key: c.kind for c in self.checks}
        counted = self.counted
        return {
            kind: (
                sum(any(kinds.get(k) == kind for k in r.killed_by) for r in counted),
                len(counted),
            )
            for kind in sorted(set(kinds.values()))
        }

    def only_by(self, kinds: Sequence[str]) -> tuple[Row, ...]:
        """Killed mutants that only checks of ``kinds`` kill (e.g. only brief training)."""
        of = {c.key: c.kind for c in self.checks}
        return tuple(
            r
            for r in self.rows
            if r.outcome is Outcome.KILLED
            and r.killed_by
            and all(of.get(k) in kinds for k in r.killed_by)
        )


def equivalent_path(spec: AssignmentSpec) -> Path:
    """Where the equivalent mutants of an assignment are listed by default."""
    return PROJECT_ROOT / "benchmarks" / "results" / f"audit-{spec.name}.equivalent.toml"


def read_equivalent(path: Path | None) -> dict[str, str]:
    """Mutant id -> why it is equivalent (empty when there is no file)."""
    if path is None or not path.is_file():
        return {}
    data = tomllib.loads(path.read_text())
    return {str(k): str(v.get("why", "")) for k, v in data.get("equivalent", {}).items()}


def scope_lines(spec: AssignmentSpec, files: Mapping[str, str]) -> dict[str, set[int]]:
    """Per hand-in file that the template also holds, the lines the student writes (where
    the reference differs from the template); a file the template lacks is all the
    student's."""
    template = template_root(spec)
    return {
        name: student_lines((template / name).read_text(), text)
        for name, text in files.items()
        if (template / name).is_file()
    }


def reference_files(root: Path, omit: Sequence[str] = ()) -> dict[str, Path]:
    """The reference's files as a hand-in holds them (path in the ZIP -> file), less the
    ``omit`` ones and caches."""
    return {
        p.relative_to(root).as_posix(): p
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and p.suffix != ".pyc"
        and not any(s in ("__pycache__", ".pytest_cache", ".git") for s in p.parts)
        and p.relative_to(root).as_posix() not in omit
    }


def sample_of(found: Sequence[Mutant], size: int, seed: int = 0) -> list[Mutant]:
    """``size`` mutants: one of each operator first (in operator order), then a seeded
    draw of the rest; in the order ``found`` gives them."""
    rng = random.Random(seed)
    first: dict[str, Mutant] = {}
    for m in found:
        first.setdefault(m.operator, m)
    chosen = {m.id for m in list(first.values())[:size]}
    rest = [m for m in found if m.id not in chosen]
    chosen |= {m.id for m in rng.sample(rest, min(len(rest), max(0, size - len(chosen))))}
    return [m for m in found if m.id in chosen]


def zip_name(mutant_id: str) -> str:
    """A file name for a mutant's ZIP (the id's ``:`` and ``/`` are not portable)."""
    return mutant_id.replace(":", "__").replace("/", "~") + ".zip"


def _part_of(
    spec: AssignmentSpec, file: str, rows: Sequence[tuple[Mutant, tuple[str, ...]]]
) -> str:
    """The part a file belongs to: the one whose title names it, else the part whose
    checks kill most of the file's mutants, else the first part with checks."""
    named = [p.key for p in spec.parts if Path(file).name in p.title]
    if len(named) == 1:
        return named[0]
    part_of = {c.key: c.part for c in spec.checks}
    votes = Counter(part_of[k] for m, killed in rows if m.file == file for k in killed)
    if votes:
        return votes.most_common(1)[0][0]
    return spec.checks[0].part if spec.checks else ""


def enclosing_class(source: str, line: int) -> str:
    """The name of the top-level class whose body holds ``line`` ("" where none does)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.lineno <= line <= (node.end_lineno or 0):
            return node.name
    return ""


def _part_of_mutant(spec: AssignmentSpec, m: Mutant, file_part: str) -> str:
    """The part whose title names the class the mutant changes (several layers in one
    file: a part titled "Part 1: the Cell layer"), else the file's part."""
    cls = enclosing_class(m.original, m.line)
    named = [p.key for p in spec.parts if cls and re.search(rf"\b{re.escape(cls)}\b", p.title)]
    return named[0] if len(named) == 1 else file_part


def audit(
    *,
    assignment: str,
    out: Path,
    sandbox: str = "auto",
    jobs: int | None = None,
    seed: int = 0,
    gpus: str = "",
    force: bool = False,
    sample: int | None = None,
    operators: Sequence[str] = (),
    equivalent: Path | None = None,
    scope: str = "student",
    stored: bool = False,
    omit: Sequence[str] = (),
    only: Sequence[str] = (),
    on_event: Callable[[api.Event], None] | None = None,
    on_mutants: Callable[[int], None] | None = None,
) -> AuditReport:
    """Mutate the reference of ``assignment``, grade every mutant and read the kill
    matrix (see the module's docstring).  ``operators`` limits the operators by name;
    ``scope`` "student" mutates only the code the student writes (``scope_lines``), "all"
    every line of the hand-in files.  ``stored`` grades nothing and reads the results the
    last run stored (a mutant without one counts as a harness error).  ``omit`` leaves
    those files of the reference out of the baseline and of every mutant (never a file
    that is mutated): the checks that need them then lose points on the baseline too and
    are left out of the matrix, so a slow part that no mutant touches (a language model's
    training) costs nothing.  ``only`` grades just the mutants of those ids (survivors
    regraded after a fix to the grader)."""
    started = time.monotonic()
    spec = find_assignment(assignment)
    root = reference_root(spec)
    chosen_ops = {k: v for k, v in OPERATORS.items() if not operators or k in operators}
    base = reference_files(root, omit)
    files = {name: base[name].read_text() for name in spec.required if name in base}
    found = mutants(files, chosen_ops, scope_lines(spec, files) if scope == "student" else None)
    if only:
        unknown = sorted(set(only) - {m.id for m in found})
        if unknown:
            raise UsageError(f"no such mutant: {', '.join(unknown)} (see --list)")
    chosen = [m for m in found if m.id in only] if only else found
    picked = sample_of(chosen, sample, seed) if sample is not None else chosen
    if on_mutants is not None:
        on_mutants(len(picked) + 1)
    work = Path(out).resolve() / AUDIT_DIR
    zips = work / "zips"
    sources = work / "sources"
    zips.mkdir(parents=True, exist_ok=True)
    for old in zips.glob("*.zip"):
        old.unlink()  # the folder holds this run's mutants only
    (zips / f"{BASELINE}.zip").write_bytes(examples.zip_files(base))
    for m in picked:
        changed = sources / zip_name(m.id).removesuffix(".zip") / m.file
        changed.parent.mkdir(parents=True, exist_ok=True)
        changed.write_text(m.source)
        (zips / zip_name(m.id)).write_bytes(examples.zip_files({**base, m.file: changed}))
    timings = {"mutate": time.monotonic() - started}
    phase = time.monotonic()
    if stored:
        # grade nothing: read what the last run stored (after the equivalent list changed)
        batch = api.grade(
            submissions=None, assignment=assignment, out=work / "results", reports_only=True
        )
    else:
        batch = api.grade(
            submissions=zips,
            assignment=assignment,
            out=work / "results",
            jobs=jobs,
            sandbox=sandbox,
            gpus=gpus,
            seed=seed,
            force=force,
            accept_misnamed=True,
            on_event=on_event,
        )
    timings["grade"] = time.monotonic() - phase
    by_zip: dict[str, SubmissionResult] = {r.source: r for r in batch.results}
    reference = by_zip.get(f"{BASELINE}.zip")
    ref_checks = _check_results(spec, reference) if reference is not None else {}
    kept = tuple(c for c in spec.checks if _full(ref_checks.get(c.key, [])))
    left_out = tuple(c.key for c in spec.checks if c not in kept)

    listed = read_equivalent(equivalent)
    graded: list[tuple[Mutant, SubmissionResult | None, tuple[str, ...]]] = []
    for m in picked:
        result = by_zip.get(zip_name(m.id))
        killed: tuple[str, ...] = ()
        if result is not None and result.status is Status.GRADED:
            per_check = _check_results(spec, result)
            killed = tuple(c.key for c in kept if not _full(per_check.get(c.key, [])))
        graded.append((m, result, killed))
    parts = {f: _part_of(spec, f, [(m, k) for m, _, k in graded]) for f in files}
    rows = []
    for m, result, killed in graded:
        status = str(result.status) if result is not None else "not graded in this run"
        note = ""
        if result is None or result.status is Status.HARNESS_ERROR:
            outcome = Outcome.ERROR
            note = (result.output.splitlines() or [""])[0] if result else ""
        elif result.status is not Status.GRADED or killed:
            outcome = Outcome.KILLED
            if result.status is not Status.GRADED:
                note = (result.output.splitlines() or [""])[0]
        elif m.id in listed:
            outcome = Outcome.EQUIVALENT
        else:
            outcome = Outcome.SURVIVED
        rows.append(
            Row(
                m,
                outcome,
                killed,
                status,
                _part_of_mutant(spec, m, parts[m.file]),
                listed.get(m.id, ""),
                note[:200],
            )
        )
    ids = {m.id for m in found}
    stale = tuple(  # a file left out (--omit) makes none of its mutants: not stale
        k
        for k in listed
        if (k not in ids and (k.split(":") + [""])[1] in files)
        or any(r.mutant.id == k and r.outcome is Outcome.KILLED for r in rows)
    )
    timings["total"] = time.monotonic() - started
    return AuditReport(
        spec=spec,
        out=Path(out).resolve(),
        checks=kept,
        left_out=left_out,
        rows=tuple(rows),
        generated=len(found),
        sandbox=batch.sandbox,
        interrupted=batch.interrupted,
        equivalent_file=equivalent,
        stale_equivalent=stale,
        omitted=tuple(omit),
        timings=timings,
    )

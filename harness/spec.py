"""Assignment specs: the data file that says what an assignment is and how it is marked.

An assignment is a folder holding ``assignment.toml`` and the checks (pytest files).
Points, parts, file-name rules, required files and limits live in the TOML file,
not in code, so staff can re-weight a check without touching Python::

    [assignment]
    name = "tiny-rnn"
    title = "Tiny RNN step"

    [submission]
    filename = '^(?P<id>[0-9]+)_tiny\\.zip$'
    filename_example = "12345678_tiny.zip"
    required = ["rnn_step.py"]
    report_suffixes = [".pdf"]

    [limits]
    timeout = "120s"
    memory = "2G"

    [parts.rnn]
    title = "RNN step"
    points = 10

    [checks."test_rnn.py::test_forward"]
    points = 10
    part = "rnn"
    kind = "cell"

``load_spec`` validates everything up front against a schema (pydantic, unknown tables and
keys refused) and raises ``SpecError`` naming the file, the line and the key at fault, with
the closest known key for a typo (``[limit]``: did you mean ``[limits]``?).  Limits must lie
in ``LIMIT_RANGES``.  ``check_tests`` holds the ``[checks]`` keys against the grader's
collected tests (``harness.collection``); grading refuses a spec that names a test that does
not exist before any submission is graded.

Student ids come from ZIP names by the ``[submission] filename`` rule, in Unicode: the name is
NFC-normalised first (macOS writes ``Müller`` decomposed), and an id keeps its letters, of any
script (``safe_id``), so that a gradebook matches it.
"""

from __future__ import annotations

import datetime
import difflib
import math
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
)

from .errors import NamingError, SpecError
from .units import Range, parse_duration, parse_size

SPEC_FILE = "assignment.toml"

#: The kinds of check a results entry can be tagged with (see issue "graders").
CHECK_KINDS = frozenset(
    {"files", "forbidden-api", "interface", "cell", "gradient", "training", "script", "manual"}
)
#: Gradescope's test visibilities (``harness.results.VISIBILITIES``).
Visibility = Literal["visible", "hidden", "after_due_date", "after_published"]

#: Measured: ``import torch, torchvision, numpy`` peaks at 369 MiB of a cgroup's memory
#: (torch alone 282 MiB; below that the import is OOM-killed), so a smaller limit fails every
#: student, the correct ones included, for the instructor's typo.
MIN_MEMORY = 512 * 1024**2

#: What each limit may be, whether it comes from the spec or the command line.
LIMIT_RANGES: dict[str, Range] = {
    "timeout": Range(1, 24 * 3600, "seconds", "a submission needs time to import its code"),
    "call_timeout": Range(1, 24 * 3600, "seconds", "one call into student code needs time"),
    "memory": Range(
        MIN_MEMORY,
        1024**4,
        "bytes",
        "importing torch and torchvision alone takes about 370 MiB in the sandbox",
    ),
    "cpu_time": Range(1, 24 * 3600, "seconds", "a student process needs CPU time"),
    "processes": Range(8, 65536, "", "Python, torch's threads and a DataLoader need a few"),
    "file_size": Range(1024**2, 1024**4, "bytes", "a log or a small checkpoint must fit"),
    "output": Range(1024, 64 * 1024**2, "bytes", "the report shows the output's start and end"),
}
#: How the command line names each limit it sets.
LIMIT_OPTIONS = {"timeout": "--timeout", "memory": "--memory"}


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission's student process."""

    #: seconds charged to the whole submission: its processes' CPU time where the sandbox
    #: measures it (wall-clock time otherwise); a wall-clock backstop is a multiple of it
    timeout: float = 600.0
    call_timeout: float = 120.0  #: seconds charged to one call into student code, likewise
    memory: int = 4 * 1024**3  #: bytes of memory (RAM) for the student's processes
    cpu_time: int = 1800  #: CPU seconds per student process (RLIMIT_CPU)
    processes: int = 256  #: processes and threads in the sandbox
    file_size: int = 256 * 1024**2  #: largest file the student may write
    output: int = 64 * 1024  #: bytes of stdout/stderr kept, head and tail each

    def problems(self) -> list[tuple[str, str]]:
        """(limit, why) for every limit outside ``LIMIT_RANGES``."""
        found = []
        for name, allowed in LIMIT_RANGES.items():
            why = allowed.check(float(getattr(self, name)))
            if why:
                found.append((name, why))
        return found


# -- names ------------------------------------------------------------------------------

#: An id that can name a folder, a link and a gradebook row: letters of any script, digits,
#: and inner spaces, dots, hyphens, apostrophes, underscores, @ and +.
_SAFE_ID = re.compile(r"^[^\W_](?:[\w .'@+-]*[\w])?$")


def nfc(text: str) -> str:
    """``text`` in Unicode's composed form: ``Mu\\u0308ller`` (as macOS names files) is
    ``Müller``, so one student's two downloads get one id."""
    return unicodedata.normalize("NFC", text)


def safe_id(text: str) -> bool:
    """Whether ``text`` can be used as a student id as it is (see ``_SAFE_ID``)."""
    return bool(_SAFE_ID.match(text)) and len(text) <= 200 and ".." not in text


@dataclass(frozen=True)
class NamingRule:
    """How a submission's ZIP must be named, and where the student id is in the name."""

    pattern: str = r"^(?P<id>.+)\.zip$"
    example: str = "anything.zip"
    #: whether the hand-out sets this rule; where it does not, a ZIP that breaks it is
    #: graded all the same, under its name without ``.zip``
    enforced: bool = True

    def student_id(self, filename: str) -> str:
        """Return the id in ``filename`` (NFC-normalised), or raise ``NamingError`` quoting
        the rule by its example."""
        match = re.match(self.pattern, nfc(filename))
        if not match:
            raise NamingError(
                f"file name {nfc(filename)!r} does not follow the rule {self.example!r}"
            )
        return match.group("id")

    def fallback_id(self, filename: str) -> str:
        """An id for a misnamed file that is graded anyway: its name without ``.zip``, its
        letters kept (``Müller Jörg.zip`` is ``Müller Jörg``), anything else that could not
        name a folder replaced by ``_``."""
        name = nfc(filename)
        stem = name[:-4] if name.lower().endswith(".zip") else name
        cleaned = re.sub(r"[^\w .'@+-]+", "_", stem)
        cleaned = re.sub(r"\.{2,}", "_", cleaned).strip("._ -'@+")
        return cleaned[:200] or "unnamed"


# -- the spec ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    key: str
    title: str
    points: float
    #: seconds of the submission's time limit kept for this part's checks ([parts.X] time);
    #: None: an equal share of what the parts that name no time leave
    time: float | None = None


@dataclass(frozen=True)
class CheckSpec:
    """Points and tags of one check, keyed by its pytest id (``file.py::test_name``)."""

    key: str
    points: float
    part: str
    kind: str
    title: str = ""
    visibility: str = "visible"

    @property
    def tags(self) -> tuple[str, ...]:
        return (self.part, self.kind)


@dataclass(frozen=True)
class ManualItem:
    """A point-bearing item a human marks: a written question, a figure in a report."""

    key: str
    points: float
    part: str
    title: str


@dataclass(frozen=True)
class AssignmentSpec:
    name: str
    title: str
    root: Path
    naming: NamingRule
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    #: file types of the written report the hand-out asks for inside the ZIP (".pdf");
    #: ``harness/pack.py`` warns a student who packs none
    report_suffixes: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)
    parts: tuple[Part, ...] = ()
    checks: tuple[CheckSpec, ...] = ()
    manual: tuple[ManualItem, ...] = ()
    #: free-form values for the checks: thresholds, budgets, forbidden APIs ([settings])
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.checks) + sum(m.points for m in self.manual)

    @property
    def auto_max_score(self) -> float:
        return sum(c.points for c in self.checks)

    @property
    def path(self) -> Path:
        return self.root / SPEC_FILE

    def check(self, key: str) -> CheckSpec | None:
        return next((c for c in self.checks if c.key == key), None)

    def part(self, key: str) -> Part:
        return next(p for p in self.parts if p.key == key)

    def part_times(self) -> dict[str, float]:
        """Seconds of the time limit each part with checks is sure to get: its own
        ``time``, or an equal share of what the parts with a ``time`` leave. One part's slow
        checks then never leave another's unrun (a part that finishes early passes on what
        it did not use to the parts after it)."""
        graded = [p for p in self.parts if any(c.part == p.key for c in self.checks)]
        named = sum(p.time or 0.0 for p in graded)
        unnamed = [p for p in graded if p.time is None]
        share = max(self.limits.timeout - named, 0.0) / len(unnamed) if unnamed else 0.0
        return {p.key: p.time if p.time is not None else share for p in graded}


# -- the schema ------------------------------------------------------------------------------


def _duration(value: Any) -> float:
    return parse_duration(value)


def _size(value: Any) -> int:
    return parse_size(value)


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number (got {value!r})")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"must be a finite number of at least 0 (got {value!r})")
    return float(value)


Duration = Annotated[float, BeforeValidator(_duration)]
Size = Annotated[int, BeforeValidator(_size)]
Points = Annotated[float, BeforeValidator(_number)]


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _AssignmentTable(_Table):
    name: StrictStr
    title: StrictStr | None = None


class _SubmissionTable(_Table):
    filename: StrictStr
    filename_example: StrictStr | None = None
    filename_enforced: StrictBool = True
    required: list[StrictStr]
    optional: list[StrictStr] = []
    report_suffixes: list[Annotated[StrictStr, Field(pattern=r"^\.\w+$")]] = []


_DEFAULT = Limits()


class _LimitsTable(_Table):
    timeout: Duration = _DEFAULT.timeout
    call_timeout: Duration = _DEFAULT.call_timeout
    memory: Size = _DEFAULT.memory
    cpu_time: Duration = float(_DEFAULT.cpu_time)
    processes: StrictInt = _DEFAULT.processes
    file_size: Size = _DEFAULT.file_size
    output: Size = _DEFAULT.output


class _PartTable(_Table):
    title: StrictStr | None = None
    points: Points | None = None
    time: Duration | None = None


class _CheckTable(_Table):
    points: Points
    part: StrictStr
    kind: Literal[
        "files", "forbidden-api", "interface", "cell", "gradient", "training", "script", "manual"
    ]
    title: StrictStr = ""
    visibility: Visibility = "visible"


class _ManualTable(_Table):
    points: Points
    part: StrictStr
    title: StrictStr | None = None


class _LateTable(_Table):
    deadline: datetime.datetime | datetime.date | StrictStr | None = None
    policy: StrictStr | None = None


class _SpecFile(_Table):
    assignment: _AssignmentTable
    submission: _SubmissionTable
    limits: _LimitsTable = _LimitsTable()
    parts: dict[str, _PartTable] = {}
    checks: dict[str, _CheckTable] = {}
    manual: dict[str, _ManualTable] = {}
    settings: dict[str, Any] = {}
    late: _LateTable | None = None


def _model_of(annotation: Any) -> Any:
    args = getattr(annotation, "__args__", ())
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in args:
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _fields_at(loc: Sequence[str | int]) -> list[str]:
    """The keys the table at ``loc`` may hold ([] where it is free-form)."""
    model: Any = _SpecFile
    i = 0
    while i < len(loc):
        fields = model.model_fields
        name = loc[i]
        if name not in fields:
            return []
        annotation = fields[name].annotation
        origin = getattr(annotation, "__origin__", None)
        if origin is dict:
            item = _model_of(annotation.__args__[1])
            if item is None:
                return []
            model = item
            i += 2  # the table's own key ([checks."a.py::test_b"])
            continue
        sub = _model_of(annotation)
        if sub is None:
            return []
        model = sub
        i += 1
    return list(model.model_fields)


# -- where a key is in the file ----------------------------------------------------------

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _key_parts(text: str) -> tuple[list[str], str]:
    """A TOML key (``a."b.c".d``) split into its parts, and what follows it."""
    parts: list[str] = []
    rest = text.lstrip()
    while rest:
        if rest[0] in "\"'":
            quote = rest[0]
            end = rest.find(quote, 1)
            while quote == '"' and end > 0 and rest[end - 1] == "\\":
                end = rest.find(quote, end + 1)
            if end < 0:
                break
            parts.append(rest[1:end])
            rest = rest[end + 1 :].lstrip()
        else:
            match = _BARE.match(rest)
            if not match:
                break
            parts.append(match.group())
            rest = rest[match.end() :].lstrip()
        if rest.startswith("."):
            rest = rest[1:].lstrip()
            continue
        break
    return parts, rest


def locate(text: str, loc: Sequence[str | int]) -> int | None:
    """The line (from 1) of ``text`` where the key ``loc`` is set or its table begins."""
    want = [str(p) for p in loc]
    table: list[str] = []
    best: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("["):
            inner = stripped.lstrip("[")
            table, _ = _key_parts(inner)
            path = table
        else:
            keys, rest = _key_parts(stripped)
            if not keys or not rest.startswith("="):
                continue
            path = table + keys
        if path == want:
            return number
        if best is None and len(path) >= len(want) and path[: len(want)] == want:
            best = number
    return best


# -- loading -------------------------------------------------------------------------------


def _table_name(loc: Sequence[str | int]) -> str:
    parts = [p if _BARE.fullmatch(str(p)) else f'"{p}"' for p in map(str, loc)]
    return "[" + ".".join(parts) + "]"


def _describe(error: Any) -> tuple[list[str | int], str]:
    """(where, what) for one of pydantic's errors, in the words of a spec's author."""
    loc = list(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        name = str(loc[-1])
        known = _fields_at(loc[:-1])
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        where = "table" if isinstance(error.get("input"), dict) else "key"
        what = f"unknown {where} {name!r}"
        if len(loc) == 1:
            what = f"unknown table [{name}]"
        if close:
            guess = f"[{close[0]}]" if len(loc) == 1 else repr(close[0])
            what += f": did you mean {guess}?"
        if known:
            what += f" (known: {', '.join(known)})"
        return loc, what
    if kind == "missing":
        return loc, f"missing required key {loc[-1]!r}"
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    if kind == "literal_error":
        message = f"{loc[-1]} {error['input']!r} is not one of {error['ctx']['expected']}"
    elif kind in ("bool_type", "string_type", "int_type", "list_type", "dict_type"):
        message = f"{message[0].lower() + message[1:]} (got {error['input']!r})"
        if kind == "bool_type":
            message = f"must be true or false (got {error['input']!r})"
        if kind == "dict_type":
            message = f"must be a table (got {error['input']!r})"
    elif kind == "string_pattern_mismatch":
        message = f"must be a file suffix such as '.pdf' (got {error['input']!r})"
    return loc, message


def _label(loc: Sequence[str | int]) -> str:
    keys = [str(k) for k in loc]
    if len(keys) == 2 and keys[0] in ("parts", "checks", "manual"):
        return _table_name(keys)  # [checks."test_a.py::test_b"]
    if len(keys) > 1:
        return f"{_table_name(keys[:-1])} {keys[-1]}"
    return _table_name(keys) if keys else ""


class _Problems:
    """Every fault of one spec file, each with its line and key: "line 12, [limits]
    memory: ..."."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.text = path, text
        self.found: list[tuple[int, str]] = []

    def add(self, loc: Sequence[str | int], what: str) -> None:
        line = (locate(self.text, loc) or locate(self.text, loc[:-1])) if loc else None
        where = ", ".join(x for x in (f"line {line}" if line else "", _label(loc)) if x)
        self.found.append((line or 0, f"{where}: {what}" if where else what))

    def raise_if_any(self) -> None:
        lines = [text for _, text in sorted(self.found, key=lambda f: f[0])]
        if len(lines) == 1:
            raise SpecError(f"{self.path}, {lines[0]}")
        if lines:
            raise SpecError(f"{len(lines)} problems in {self.path}:\n  " + "\n  ".join(lines))


def parse_limits(table: dict[str, Any], where: str = "[limits]") -> Limits:
    """``Limits`` from a ``[limits]`` table (sizes and durations as a spec writes them)."""
    try:
        parsed = _LimitsTable.model_validate(table)
    except ValidationError as exc:
        raise SpecError(
            "; ".join(
                f"{where} {'.'.join(map(str, loc))}: {what}"
                for loc, what in (_describe(e) for e in exc.errors())
            )
        ) from None
    limits = _limits(parsed)
    problems = limits.problems()
    if problems:
        raise SpecError("; ".join(f"{where} {name}: {why}" for name, why in problems))
    return limits


def _limits(table: _LimitsTable) -> Limits:
    return Limits(
        timeout=table.timeout,
        call_timeout=table.call_timeout,
        memory=table.memory,
        cpu_time=int(table.cpu_time),
        processes=table.processes,
        file_size=table.file_size,
        output=table.output,
    )


def load_spec(root: Path) -> AssignmentSpec:
    """Read and validate ``root/assignment.toml``."""
    path = root / SPEC_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no spec file (every assignment needs {SPEC_FILE})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    problems = _Problems(path, text)
    try:
        parsed = _SpecFile.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            problems.add(*_describe(error))
        problems.raise_if_any()
        raise AssertionError("unreachable") from None

    if parsed.assignment.name != root.name:
        problems.add(
            ["assignment", "name"],
            f"{parsed.assignment.name!r} must match the folder name {root.name!r}",
        )
    sub = parsed.submission
    try:
        compiled = re.compile(sub.filename)
        if "id" not in compiled.groupindex:
            problems.add(["submission", "filename"], "the pattern needs a group (?P<id>...)")
    except re.error as exc:
        problems.add(["submission", "filename"], f"not a valid regex: {exc}")
    limits = _limits(parsed.limits)
    for name, why in limits.problems():
        problems.add(["limits", name], why)

    parts = tuple(
        Part(key=k, title=v.title or k, points=v.points or 0.0, time=v.time)
        for k, v in parsed.parts.items()
    )
    part_keys = [p.key for p in parts]
    named_time = sum(p.time or 0.0 for p in parts)
    if named_time > limits.timeout:
        problems.add(
            ["parts"],
            f"the parts' times add up to {named_time:g} s, more than the submission's time "
            f"limit ({limits.timeout:g} s, [limits] timeout)",
        )

    def known_part(loc: list[str | int], part: str) -> None:
        if part not in part_keys:
            close = difflib.get_close_matches(part, part_keys, n=1)
            hint = f": did you mean {close[0]!r}?" if close else ""
            problems.add(
                loc,
                f"part {part!r} is not declared under [parts]{hint} (declared: "
                f"{', '.join(part_keys) or 'none'})",
            )

    checks = []
    for key, entry in parsed.checks.items():
        if "::" not in key:
            problems.add(["checks", key], "check keys are pytest ids such as 'test_x.py::test_y'")
        known_part(["checks", key, "part"], entry.part)
        checks.append(
            CheckSpec(
                key=key,
                points=entry.points,
                part=entry.part,
                kind=entry.kind,
                title=entry.title,
                visibility=entry.visibility,
            )
        )
    manual = []
    for key, item in parsed.manual.items():
        known_part(["manual", key, "part"], item.part)
        manual.append(
            ManualItem(key=key, points=item.points, part=item.part, title=item.title or key)
        )

    every_part_known = all(c.part in part_keys for c in checks) and all(
        m.part in part_keys for m in manual
    )
    for p in parts if every_part_known else ():
        total = sum(c.points for c in checks if c.part == p.key)
        total += sum(m.points for m in manual if m.part == p.key)
        if p.points and abs(total - p.points) > 1e-9:
            problems.add(
                ["parts", p.key, "points"],
                f"declares {p.points:g} points but its checks and manual items add up to {total:g}",
            )
    problems.raise_if_any()
    parts = tuple(
        p
        if p.points
        else Part(p.key, p.title, sum(c.points for c in checks if c.part == p.key), p.time)
        for p in parts
    )

    return AssignmentSpec(
        name=parsed.assignment.name,
        title=parsed.assignment.title or parsed.assignment.name,
        root=root,
        naming=NamingRule(
            pattern=sub.filename,
            example=sub.filename_example or sub.filename,
            enforced=sub.filename_enforced,
        ),
        required=tuple(sub.required),
        optional=tuple(sub.optional),
        report_suffixes=tuple(sub.report_suffixes),
        limits=limits,
        parts=parts,
        checks=tuple(checks),
        manual=tuple(manual),
        settings=dict(parsed.settings),
    )


def check_tests(spec: AssignmentSpec, collected: Iterable[str]) -> None:
    """Raise ``SpecError`` if a ``[checks]`` key names no test among ``collected`` (the spec
    keys of the grader's tests, ``harness.collection``), naming the line and the closest
    test, or if a test has no ``[checks]`` entry: either would make every submission a
    harness error."""
    tests = list(dict.fromkeys(collected))
    weighed = {c.key for c in spec.checks}
    path = spec.path
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        text = ""
    problems = _Problems(path, text)
    for check in spec.checks:
        if check.key in tests:
            continue
        close = difflib.get_close_matches(check.key, tests, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        problems.add(["checks", check.key], f"names no test of the grader{hint}")
    for test in tests:
        if test not in weighed:
            problems.add(
                [], f"the grader's test {test!r} has no [checks] entry (it would earn no points)"
            )
    problems.raise_if_any()

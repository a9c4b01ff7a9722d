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

``load_spec`` validates everything up front and raises ``SpecError`` naming the
field at fault.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import NamingError, SpecError
from .units import parse_size

SPEC_FILE = "assignment.toml"

#: The kinds of check a results entry can be tagged with (see issue "graders").
CHECK_KINDS = frozenset(
    {"files", "forbidden-api", "interface", "cell", "gradient", "training", "script", "manual"}
)


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


@dataclass(frozen=True)
class NamingRule:
    """How a submission's ZIP must be named, and where the student id is in the name."""

    pattern: str = r"^(?P<id>.+)\.zip$"
    example: str = "anything.zip"
    #: whether the hand-out sets this rule; where it does not, a ZIP that breaks it is
    #: graded all the same, under its name without ``.zip``
    enforced: bool = True

    def student_id(self, filename: str) -> str:
        """Return the id in ``filename``, or raise ``NamingError`` quoting the rule."""
        match = re.match(self.pattern, filename)
        if not match:
            raise NamingError(
                f"file name {filename!r} does not follow the rule {self.example!r} "
                f"(pattern {self.pattern})"
            )
        return match.group("id")

    def fallback_id(self, filename: str) -> str:
        """An id for a misnamed file that is graded anyway: its name without ``.zip``."""
        stem = filename[:-4] if filename.lower().endswith(".zip") else filename
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._") or "unnamed"


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


def _require(table: dict[str, Any], key: str, where: str, kind: type | tuple[type, ...]) -> Any:
    if key not in table:
        raise SpecError(f"{where}: missing required field {key!r}")
    value = table[key]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise SpecError(f"{where}: {key!r} must be {names} (got {value!r})")
    return value


def _seconds(value: Any, where: str) -> float:
    if isinstance(value, int | float) and value > 0:
        return float(value)
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|m|min)?\s*", value)
        if match:
            number = float(match.group(1))
            return number * 60 if match.group(2) in ("m", "min") else number
    raise SpecError(
        f"{where} must be a positive duration such as 90, '90s' or '5m' (got {value!r})"
    )


def _size(value: Any, where: str) -> int:
    try:
        return parse_size(value)
    except ValueError as exc:
        raise SpecError(f"{where}: {exc}") from None


def parse_limits(table: dict[str, Any], where: str = "[limits]") -> Limits:
    known = {"timeout", "call_timeout", "memory", "cpu_time", "processes", "file_size", "output"}
    unknown = set(table) - known
    if unknown:
        raise SpecError(f"{where}: unknown field(s) {sorted(unknown)}; known: {sorted(known)}")
    defaults = Limits()
    return Limits(
        timeout=_seconds(table.get("timeout", defaults.timeout), f"{where} timeout"),
        call_timeout=_seconds(
            table.get("call_timeout", defaults.call_timeout), f"{where} call_timeout"
        ),
        memory=_size(table.get("memory", defaults.memory), f"{where} memory"),
        cpu_time=int(_seconds(table.get("cpu_time", defaults.cpu_time), f"{where} cpu_time")),
        processes=int(table.get("processes", defaults.processes)),
        file_size=_size(table.get("file_size", defaults.file_size), f"{where} file_size"),
        output=_size(table.get("output", defaults.output), f"{where} output"),
    )


def load_spec(root: Path) -> AssignmentSpec:
    """Read and validate ``root/assignment.toml``."""
    path = root / SPEC_FILE
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"{path}: no spec file (every assignment needs {SPEC_FILE})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    where = str(path)

    meta = _require(raw, "assignment", where, dict)
    name = _require(meta, "name", f"{where} [assignment]", str)
    if name != root.name:
        raise SpecError(f"{where}: name {name!r} must match the folder name {root.name!r}")

    sub = _require(raw, "submission", where, dict)
    pattern = _require(sub, "filename", f"{where} [submission]", str)
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise SpecError(f"{where} [submission] filename: not a valid regex: {exc}") from None
    if "id" not in compiled.groupindex:
        raise SpecError(f"{where} [submission] filename: the pattern needs a group (?P<id>...)")
    enforced = sub.get("filename_enforced", True)
    if not isinstance(enforced, bool):
        raise SpecError(f"{where} [submission] filename_enforced: must be true or false")
    naming = NamingRule(
        pattern=pattern, example=str(sub.get("filename_example", pattern)), enforced=enforced
    )
    required = tuple(_require(sub, "required", f"{where} [submission]", list))
    suffixes = sub.get("report_suffixes", [])
    if not isinstance(suffixes, list) or not all(
        isinstance(x, str) and x.startswith(".") for x in suffixes
    ):
        raise SpecError(
            f"{where} [submission] report_suffixes: must be a list of file suffixes such as "
            f"'.pdf' (got {suffixes!r})"
        )

    limits = parse_limits(raw.get("limits", {}))
    parts_raw = raw.get("parts", {})
    checks_raw = raw.get("checks", {})
    manual_raw = raw.get("manual", {})
    parts = tuple(
        Part(
            key=k,
            title=str(v.get("title", k)),
            points=float(v.get("points", 0)),
            time=_seconds(v["time"], f"{where} [parts.{k}] time") if "time" in v else None,
        )
        for k, v in parts_raw.items()
    )
    part_keys = {p.key for p in parts}
    named_time = sum(p.time or 0.0 for p in parts)
    if named_time > limits.timeout:
        raise SpecError(
            f"{where} [parts]: the parts' times add up to {named_time:g} s, more than the "
            f"submission's time limit ({limits.timeout:g} s, [limits] timeout)"
        )

    checks = []
    for key, entry in checks_raw.items():
        w = f"{where} [checks.{key!r}]"
        if "::" not in key:
            raise SpecError(f"{w}: check keys are pytest ids such as 'test_x.py::test_y'")
        part = _require(entry, "part", w, str)
        kind = _require(entry, "kind", w, str)
        if part not in part_keys:
            raise SpecError(f"{w}: part {part!r} is not declared under [parts]")
        if kind not in CHECK_KINDS:
            raise SpecError(f"{w}: kind {kind!r} is not one of {sorted(CHECK_KINDS)}")
        checks.append(
            CheckSpec(
                key=key,
                points=float(_require(entry, "points", w, (int, float))),
                part=part,
                kind=kind,
                title=str(entry.get("title", "")),
                visibility=str(entry.get("visibility", "visible")),
            )
        )
    manual = []
    for key, entry in manual_raw.items():
        w = f"{where} [manual.{key!r}]"
        part = _require(entry, "part", w, str)
        if part not in part_keys:
            raise SpecError(f"{w}: part {part!r} is not declared under [parts]")
        manual.append(
            ManualItem(
                key=key,
                points=float(_require(entry, "points", w, (int, float))),
                part=part,
                title=str(entry.get("title", key)),
            )
        )

    for p in parts:
        total = sum(c.points for c in checks if c.part == p.key)
        total += sum(m.points for m in manual if m.part == p.key)
        if p.points and abs(total - p.points) > 1e-9:
            raise SpecError(
                f"{where} [parts.{p.key}]: declares {p.points:g} points but its checks and "
                f"manual items add up to {total:g}"
            )
    parts = tuple(
        p
        if p.points
        else Part(p.key, p.title, sum(c.points for c in checks if c.part == p.key), p.time)
        for p in parts
    )

    return AssignmentSpec(
        name=name,
        title=str(meta.get("title", name)),
        root=root,
        naming=naming,
        required=required,
        optional=tuple(sub.get("optional", [])),
        report_suffixes=tuple(suffixes),
        limits=limits,
        parts=parts,
        checks=tuple(checks),
        manual=tuple(manual),
        settings=dict(raw.get("settings", {})),
    )

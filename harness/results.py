"""Result objects: frozen dataclasses, serialised as JSON in Gradescope's results.json format.

A ``SubmissionResult`` is written to ``OUT/<id>/results.json``.  Gradescope reads
``score``, ``execution_time``, ``output``, ``visibility``, ``stdout_visibility``,
``tests`` and ``extra_data``; everything the harness needs beyond that (status,
sandbox, hashes, logs) lives in ``extra_data`` so the file stays valid for upload.

``to_json`` gives strict JSON data: a NaN or infinite number (a loss that diverged, a
``--timeout inf``) is written as null, and the entry says so (a note in the check's
``output``, the paths in ``extra_data.harness.non_finite``).  ``tests[].name`` is unique
within a file: a name that two checks share (two parts' gradient checks, say) gets its
part, then its number, in brackets.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .store import finite

#: Values a ``visibility`` may take in Gradescope's format.
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


def _number(value: float, path: str, found: list[str]) -> float:
    """A score as a finite number: a non-finite one is recorded and written as 0."""
    if math.isfinite(value):
        return value
    found.append(f"{path}: {'NaN' if math.isnan(value) else value} (written as 0)")
    return 0.0


def non_finite_note(paths: Sequence[str]) -> str:
    shown = "; ".join(paths[:5]) + (f"; and {len(paths) - 5} more" if len(paths) > 5 else "")
    return (
        f"[note: {len(paths)} number(s) were not finite (NaN or infinite) and are written "
        f"as null in results.json: {shown}]"
    )


class Status(StrEnum):
    """What became of a submission as a whole."""

    GRADED = "graded"  #: every check ran (some may have failed)
    TIMEOUT = "timeout"  #: the submission's time limit ended the grading early
    NOT_GRADED = "not_graded"  #: intake refused it (misnamed, broken ZIP, missing files)
    HARNESS_ERROR = "harness_error"  #: a fault of the harness, not of the student


class CheckStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"


#: The flag of a submission that a check wants a TA to look at (``Evidence.for_review``).
NEEDS_REVIEW = "needs_review"


@dataclass(frozen=True)
class CheckResult:
    """One check of one submission, as a Gradescope ``tests`` entry."""

    name: str
    score: float
    max_score: float
    status: CheckStatus
    output: str = ""
    tags: tuple[str, ...] = ()
    number: str = ""
    visibility: str = "visible"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self, *, name: str | None = None) -> dict[str, Any]:
        """The Gradescope ``tests`` entry, strict JSON (see the module); ``name`` replaces
        the check's name (``SubmissionResult.to_json`` makes names unique)."""
        found: list[str] = []
        extra, paths = finite(self.extra, "extra_data")
        found += paths
        output = self.output
        entry: dict[str, Any] = {
            "name": self.name if name is None else name,
            "score": _number(self.score, "score", found),
            "max_score": _number(self.max_score, "max_score", found),
            "status": str(self.status),
            "output": output,
            "tags": list(self.tags),
            "visibility": self.visibility,
        }
        if found:
            entry["output"] = (
                f"{output}\n{non_finite_note(found)}" if output else non_finite_note(found)
            )
        if self.number:
            entry["number"] = self.number
        if extra:
            entry["extra_data"] = extra
        return entry

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> CheckResult:
        return cls(
            name=entry["name"],
            score=float(entry.get("score", 0.0)),
            max_score=float(entry.get("max_score", 0.0)),
            status=CheckStatus(entry.get("status", "failed")),
            output=entry.get("output", ""),
            tags=tuple(entry.get("tags", ())),
            number=entry.get("number", ""),
            visibility=entry.get("visibility", "visible"),
            extra=dict(entry.get("extra_data", {})),
        )


@dataclass(frozen=True)
class SubmissionResult:
    """Everything the harness decided about one submission."""

    student_id: str
    assignment: str
    status: Status
    score: float
    max_score: float
    checks: tuple[CheckResult, ...] = ()
    execution_time: float = 0.0
    output: str = ""  #: a summary shown above the checks (reasons, notes)
    reason: str = ""  #: machine-readable cause when not graded or timed out
    source: str = ""  #: the ZIP's file name
    input_hash: str = ""  #: hash of ZIP + grader + options; a match lets a re-run skip it
    sandbox: str = ""
    stdout: str = ""  #: tail of the student process's captured stdout
    stderr: str = ""
    notes: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()  #: e.g. "timeout", "out_of_memory", "output_truncated"
    versions: dict[str, str] = field(default_factory=dict)
    limits: dict[str, Any] = field(default_factory=dict)
    part_scores: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  #: seconds per pipeline phase
    #: manual items (harness.manual): item, title, part, points, score (None: unmarked)
    manual: tuple[dict[str, Any], ...] = ()
    #: Gradescope leaderboard entries: {"name": str, "value": number, "order": "asc"|"desc"}
    leaderboard: tuple[dict[str, Any], ...] = ()
    #: where results.json holds null for a number that was not finite (see the module)
    non_finite: tuple[str, ...] = ()

    def test_names(self) -> list[str]:
        """Each check's name in ``results.json``: unique within the file (see the module)."""
        counts = Counter(c.name for c in self.checks)
        names = [
            f"{c.name} [{c.tags[0]}]" if counts[c.name] > 1 and c.tags else c.name
            for c in self.checks
        ]
        counts = Counter(names)
        names = [
            f"{n} [{c.number or i + 1}]" if counts[n] > 1 else n
            for i, (n, c) in enumerate(zip(names, self.checks, strict=True))
        ]
        seen: Counter[str] = Counter()
        unique = []
        for n in names:  # a last resort: numbers that repeat too
            seen[n] += 1
            unique.append(n if seen[n] == 1 else f"{n} ({seen[n]})")
        return unique

    def to_json(self) -> dict[str, Any]:
        """The ``results.json`` data: Gradescope's format, strict JSON (see the module)."""
        found: list[str] = []
        score = _number(self.score, "score", found)
        max_score = _number(self.max_score, "max_score", found)
        seconds = self.execution_time if math.isfinite(self.execution_time) else 0.0
        harness, paths = finite(
            {
                "versions": self.versions,
                "limits": self.limits,
                "part_scores": self.part_scores,
                "timings": {k: round(v, 4) for k, v in self.timings.items()},
                "manual": list(self.manual),
            },
            "extra_data.harness",
        )
        found += paths
        leaderboard, paths = finite(list(self.leaderboard), "leaderboard")
        found += paths
        data: dict[str, Any] = {
            "score": score,
            "max_score": max_score,
            "execution_time": round(seconds, 3),
            "output": self.output,
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": [
                c.to_json(name=n) for c, n in zip(self.checks, self.test_names(), strict=True)
            ],
            "extra_data": {
                "harness": {
                    "student_id": self.student_id,
                    "assignment": self.assignment,
                    "status": str(self.status),
                    "reason": self.reason,
                    "source": self.source,
                    "input_hash": self.input_hash,
                    "sandbox": self.sandbox,
                    "stdout": self.stdout,
                    "stderr": self.stderr,
                    "notes": list(self.notes),
                    "flags": list(self.flags),
                    **harness,
                }
            },
        }
        found = list(dict.fromkeys([*self.non_finite, *found]))
        if found:
            data["extra_data"]["harness"]["non_finite"] = found
        entries = [e for e in leaderboard if isinstance(e.get("value"), int | float)]
        if entries:
            data["leaderboard"] = entries
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SubmissionResult:
        h = data.get("extra_data", {}).get("harness", {})
        return cls(
            student_id=h["student_id"],
            assignment=h["assignment"],
            status=Status(h["status"]),
            score=float(data["score"]),
            max_score=float(data.get("max_score", 0.0)),
            checks=tuple(CheckResult.from_json(t) for t in data.get("tests", [])),
            execution_time=float(data.get("execution_time", 0.0)),
            output=data.get("output", ""),
            reason=h.get("reason", ""),
            source=h.get("source", ""),
            input_hash=h.get("input_hash", ""),
            sandbox=h.get("sandbox", ""),
            stdout=h.get("stdout", ""),
            stderr=h.get("stderr", ""),
            notes=tuple(h.get("notes", ())),
            flags=tuple(h.get("flags", ())),
            versions=dict(h.get("versions", {})),
            limits=dict(h.get("limits", {})),
            part_scores={k: float(v) for k, v in h.get("part_scores", {}).items()},
            timings={k: float(v) for k, v in h.get("timings", {}).items()},
            manual=tuple(dict(e) for e in h.get("manual", ())),
            leaderboard=tuple(dict(e) for e in data.get("leaderboard", ())),
            non_finite=tuple(h.get("non_finite", ())),
        )

    def replace(self, **changes: Any) -> SubmissionResult:
        return dataclasses.replace(self, **changes)


def leaderboard_entries(
    evidence: Mapping[str, Sequence[Mapping[str, Any]]],
) -> tuple[dict[str, Any], ...]:
    """The leaderboard entries checks recorded (``evidence.leaderboard``), one per name
    (the last recorded wins), in Gradescope's shape: name, value, order."""
    found: dict[str, dict[str, Any]] = {}
    for items in evidence.values():
        for item in items:
            if item.get("kind") == "leaderboard":
                name = str(item.get("name", ""))
                order = item.get("order", "asc")
                found[name] = {"name": name, "value": item.get("value"), "order": order}
    return tuple(found.values())

"""Result objects: frozen dataclasses, serialised as JSON in Gradescope's results.json format.

A ``SubmissionResult`` is written to ``OUT/<id>/results.json``.  Gradescope reads
``score``, ``execution_time``, ``output``, ``visibility``, ``stdout_visibility``,
``tests`` and ``extra_data``; everything the harness needs beyond that (status,
sandbox, hashes, logs) lives in ``extra_data`` so the file stays valid for upload.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


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

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "name": self.name,
            "score": self.score,
            "max_score": self.max_score,
            "status": str(self.status),
            "output": self.output,
            "tags": list(self.tags),
            "visibility": self.visibility,
        }
        if self.number:
            entry["number"] = self.number
        if self.extra:
            entry["extra_data"] = self.extra
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

    def to_json(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "max_score": self.max_score,
            "execution_time": round(self.execution_time, 3),
            "output": self.output,
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": [c.to_json() for c in self.checks],
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
                    "versions": self.versions,
                    "limits": self.limits,
                    "part_scores": self.part_scores,
                    "timings": {k: round(v, 4) for k, v in self.timings.items()},
                    "manual": list(self.manual),
                }
            },
        }

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
        )

    def replace(self, **changes: Any) -> SubmissionResult:
        return dataclasses.replace(self, **changes)

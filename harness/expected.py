"""Expected verdicts of example submissions, and how a result is compared with them.

Each folder of examples (``submissions/<assignment>/``) holds an ``expected.toml`` with one
table per example id::

    [wrong-forget-gate]
    status = "graded"                      # graded, not_graded, timeout, harness_error
    score = 6                              # the total of the automatic points
    message = "the forget gate f uses"     # optional: a substring of the result's messages
    flags = ["needs_review"]               # optional: flags the result must carry
    parts = { encoder = "correct", decoder = "faulty" }

``parts`` labels every automatically graded part (a part with at least one check):
"correct" (does what the hand-out asks: full marks), "faulty" (a fault the hand-out names:
less than full marks) or "empty" (nothing implemented: zero). A part's points are the sum of
its checks' scores (each check's first tag is its part); its maximum, the automatic points
the spec gives it. Not-graded examples have no parts.

``compare`` is the one comparison of results with these verdicts: ``harness.validate`` (and
through it the example tests) and the class-fidelity benchmark (``benchmarks/fidelity.py``,
which reads ``part_outcomes``) both use it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .results import CheckStatus, SubmissionResult
from .spec import AssignmentSpec

EXPECTED_FILE = "expected.toml"
CORRECT, FAULTY, EMPTY = "correct", "faulty", "empty"
LABELS = (CORRECT, FAULTY, EMPTY)
EPS = 1e-9  #: points closer than this are equal (parametrised checks share points as floats)
MESSAGE_CHARS = 200  #: how much of a failing check's message a miss quotes
DETAIL_CHARS = 800  #: how much of a result's messages a disagreement keeps


def read_expected(path: Path) -> dict[str, dict[str, Any]]:
    """Example id -> its expected verdict, from an ``expected.toml``."""
    return tomllib.loads(path.read_text(encoding="utf-8"))


def read_labels(expected: Path) -> dict[str, dict[str, str]]:
    """Example id -> its ``parts`` labels, for the examples of ``expected.toml`` that have them."""
    tables = read_expected(expected)
    return {sid: dict(t["parts"]) for sid, t in tables.items() if "parts" in t}


def auto_points(spec: AssignmentSpec) -> dict[str, float]:
    """Part -> its automatic points, for every part that has checks (in the spec's order)."""
    points: dict[str, float] = {}
    for check in spec.checks:
        points[check.part] = points.get(check.part, 0.0) + check.points
    return {p.key: points[p.key] for p in spec.parts if p.key in points}


def first_line(text: str, limit: int = MESSAGE_CHARS) -> str:
    line = next((s.strip() for s in text.splitlines() if s.strip()), "")
    return line if len(line) <= limit else line[: limit - 3] + "..."


@dataclass(frozen=True)
class PartOutcome:
    """One labelled part of one example and the points it got."""

    example: str
    part: str
    label: str
    score: float
    max_score: float
    failure: str = ""  #: the part's first failing check and the start of its message
    cpu: float = 0.0  #: student CPU seconds the part's checks used

    @property
    def lost(self) -> float:
        return max(0.0, self.max_score - self.score)

    @property
    def as_labelled(self) -> bool:
        """Correct: full marks; faulty: less than full; empty: zero."""
        if self.label == CORRECT:
            return self.lost <= EPS
        if self.label == FAULTY:
            return self.lost > EPS
        return self.score <= EPS


def part_outcomes(
    result: SubmissionResult, labels: Mapping[str, str], points: Mapping[str, float]
) -> tuple[PartOutcome, ...]:
    """The outcome of every labelled part of ``result`` that has automatic points."""
    outcomes = []
    for part, label in labels.items():
        if part not in points:
            continue
        checks = [c for c in result.checks if c.tags and c.tags[0] == part]
        failed = next(
            (c for c in checks if c.status is CheckStatus.FAILED or c.score < c.max_score - EPS),
            None,
        )
        if failed is not None:
            failure = f'check "{failed.name}": {first_line(failed.output) or "(no message)"}'
        elif result.output and not checks:
            failure = first_line(result.output)  # not graded: the reason is the result's
        else:
            failure = ""
        outcomes.append(
            PartOutcome(
                example=result.student_id,
                part=part,
                label=label,
                score=round(sum(c.score for c in checks), 6),
                max_score=points[part],
                failure=failure,
                cpu=round(sum(float(c.extra.get("cpu", 0.0)) for c in checks), 3),
            )
        )
    return tuple(outcomes)


@dataclass(frozen=True)
class Disagreement:
    """One way an example's result differs from its expected verdict."""

    example: str
    what: str  #: "status", "score", "flags", "message", "part <key>" or "example"
    expected: str
    got: str
    detail: str = ""  #: the start of the result's messages, to see why

    def __str__(self) -> str:
        line = f"{self.example}: {self.what} {self.got}, expected {self.expected}"
        return line + (f"\n{self.detail}" if self.detail else "")


_WANTED = {CORRECT: "full marks", FAULTY: "less than full marks", EMPTY: "zero"}


def _messages(result: SubmissionResult) -> str:
    return result.output + "\n" + "\n".join(c.output for c in result.checks)


def verdict_disagreements(
    spec: AssignmentSpec, result: SubmissionResult, want: Mapping[str, Any]
) -> list[Disagreement]:
    """How ``result`` differs from the verdict ``want`` (one table of ``expected.toml``)."""
    sid = result.student_id
    text = _messages(result)
    detail = text.strip()[:DETAIL_CHARS]
    found: list[Disagreement] = []
    if str(result.status) != want["status"]:
        found.append(Disagreement(sid, "status", want["status"], str(result.status), detail))
    if abs(result.score - float(want["score"])) > EPS:
        found.append(Disagreement(sid, "score", f"{want['score']:g}", f"{result.score:g}", detail))
    missing = sorted(set(want.get("flags", [])) - set(result.flags))
    if missing:
        found.append(
            Disagreement(sid, "flags", ", ".join(missing), ", ".join(result.flags) or "none")
        )
    if want.get("message") and want["message"] not in text:
        found.append(
            Disagreement(sid, "message", repr(want["message"]), "not in the messages", detail)
        )
    labels = want.get("parts")
    if isinstance(labels, Mapping):
        for o in part_outcomes(result, labels, auto_points(spec)):
            if not o.as_labelled:
                found.append(
                    Disagreement(
                        sid,
                        f"part {o.part}",
                        f"{o.label} ({_WANTED.get(o.label, o.label)})",
                        f"{o.score:g}/{o.max_score:g}",
                        o.failure,
                    )
                )
    return found


def compare(
    spec: AssignmentSpec,
    results: Sequence[SubmissionResult],
    expected: Mapping[str, Mapping[str, Any]],
) -> list[Disagreement]:
    """Every disagreement between the examples' ``results`` and ``expected``: an example
    without a verdict or a verdict without an example, then each example's differences."""
    by_id = {r.student_id: r for r in results}
    found = [
        Disagreement(sid, "example", "a verdict in expected.toml", "none")
        for sid in sorted(set(by_id) - set(expected))
    ]
    found += [
        Disagreement(sid, "example", "a ZIP graded as this id", "no such example")
        for sid in sorted(set(expected) - set(by_id))
    ]
    for sid, want in expected.items():
        if sid in by_id:
            found += verdict_disagreements(spec, by_id[sid], want)
    return found

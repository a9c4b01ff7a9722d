"""Class fidelity: do the points each example part gets match what the part is?

Every graded example in ``submissions/<assignment>/expected.toml`` labels each automatically
graded part of its assignment (a ``[parts.X]`` with at least one check)::

    parts = { rnn = "correct", lstm = "faulty" }

"correct": the part does what the hand-out asks, so it must get full marks; "faulty": it has
a fault the hand-out names, so it must get less; "empty": nothing is implemented, so it must
get zero.  A part that gets otherwise is a *miss*.  A part's points are the sum of its checks'
scores (each check's first tag is its part); its maximum, the automatic points the spec gives
it.  Parts graded only by a TA (manual items) have no automatic points and are not labelled.

``benchmarks/class_fidelity.py`` is the command; this module tallies and renders. How one
result is compared with its labels is ``harness.expected``'s, which ``harness.validate`` (and
the example tests through it) use too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from harness.expected import (
    CORRECT,
    EMPTY,
    FAULTY,
    LABELS,
    PartOutcome,
    auto_points,
    part_outcomes,
    read_labels,
)
from harness.results import SubmissionResult
from harness.spec import AssignmentSpec

__all__ = [
    "CORRECT",
    "EMPTY",
    "FAULTY",
    "LABELS",
    "PartOutcome",
    "Tally",
    "auto_points",
    "part_outcomes",
    "read_labels",
    "render",
    "tally",
]


@dataclass(frozen=True)
class Tally:
    """One assignment's labelled parts, and the examples that have labels but no result."""

    assignment: str
    parts: tuple[str, ...]  #: the automatically graded parts, in the spec's order
    outcomes: tuple[PartOutcome, ...]
    unmeasured: tuple[str, ...] = ()  #: labelled examples with no result to read
    times: Mapping[str, float] = field(default_factory=dict)  #: each part's sure time share

    def count(self, label: str) -> int:
        return sum(1 for o in self.outcomes if o.label == label)

    def as_labelled(self, label: str) -> int:
        return sum(1 for o in self.outcomes if o.label == label and o.as_labelled)

    @property
    def correct_points(self) -> float:
        return sum(o.max_score for o in self.outcomes if o.label == CORRECT)

    @property
    def correct_lost(self) -> float:
        return sum(o.lost for o in self.outcomes if o.label == CORRECT)

    @property
    def misses(self) -> tuple[PartOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.as_labelled)


def tally(
    spec: AssignmentSpec,
    results: Sequence[SubmissionResult],
    labels: Mapping[str, Mapping[str, str]],
) -> Tally:
    """Compare every labelled example of ``spec`` with its result."""
    points = auto_points(spec)
    by_id = {r.student_id: r for r in results}
    outcomes: list[PartOutcome] = []
    unmeasured: list[str] = []
    for sid in labels:
        if sid not in by_id:
            unmeasured.append(sid)
            continue
        outcomes += part_outcomes(by_id[sid], labels[sid], points)
    return Tally(
        assignment=spec.name,
        parts=tuple(points),
        outcomes=tuple(outcomes),
        unmeasured=tuple(unmeasured),
        times=spec.part_times(),
    )


def _ratio(hits: int, total: int) -> str:
    return f"{hits} / {total}" + (f" ({100 * hits / total:.0f}%)" if total else "")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _summary_row(name: str, t: Tally) -> str:
    return (
        f"| {name} | {_ratio(t.as_labelled(CORRECT), t.count(CORRECT))} "
        f"| {_ratio(t.as_labelled(FAULTY), t.count(FAULTY))} "
        f"| {_ratio(t.as_labelled(EMPTY), t.count(EMPTY))} "
        f"| {t.correct_lost:g} of {t.correct_points:g} |"
    )


def _outcome_cell(o: PartOutcome) -> str:
    mark = "" if o.as_labelled else " **miss**"
    return f"{o.label} {o.score:g}/{o.max_score:g}{mark}"


def render(tallies: Sequence[Tally], header: str = "") -> str:
    """The report in Markdown: a summary, a table per assignment, and every miss."""
    out = [header.rstrip() + "\n"] if header else []
    out += [
        "| assignment | correct parts with full marks | faulty parts with less than full "
        "| empty parts with zero | points correct parts lost |",
        "|---|---|---|---|---|",
    ]
    out += [_summary_row(t.assignment, t) for t in tallies]
    if len(tallies) > 1:
        everything = Tally("all", (), tuple(o for t in tallies for o in t.outcomes))
        out.append(_summary_row("**all**", everything))
    for t in tallies:
        out += ["", f"## {t.assignment}", ""]
        out += [
            "| example | " + " | ".join(t.parts) + " |",
            "|---|" + "---|" * len(t.parts),
        ]
        by_example: dict[str, dict[str, PartOutcome]] = {}
        for o in t.outcomes:
            by_example.setdefault(o.example, {})[o.part] = o
        for example, parts in by_example.items():
            cells = [_outcome_cell(parts[p]) if p in parts else "" for p in t.parts]
            out.append(f"| {_cell(example)} | " + " | ".join(cells) + " |")
        misses = t.misses
        out += ["", f"Misses: {len(misses)}" + (":" if misses else ".")]
        if misses:
            out.append("")
        for o in misses:
            why = o.failure or "every check passed"
            out.append(f"- `{o.example}` {o.part} ({o.label}): {o.score:g}/{o.max_score:g}. {why}")
        if t.unmeasured:
            out += ["", "Labelled but not graded here: " + ", ".join(t.unmeasured) + "."]
        out += ["", *_time_lines(t)]
    return "\n".join(out) + "\n"


def _time_lines(t: Tally) -> list[str]:
    """Each part's sure share of the time limit beside the most CPU time an example's
    checks of that part used (a share must leave room for the slowest correct part)."""
    lines = [
        "| part | sure share of the time limit | most CPU used (example) |",
        "|---|---|---|",
    ]
    for part in t.parts:
        used = [o for o in t.outcomes if o.part == part]
        top = max(used, key=lambda o: o.cpu, default=None)
        most = f"{top.cpu:.0f} s ({_cell(top.example)}, {top.label})" if top else ""
        lines.append(f"| {part} | {t.times.get(part, 0.0):.0f} s | {most} |")
    return lines

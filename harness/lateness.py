"""Deadlines and late policies: how late a submission is, and what that costs.

A deadline and a policy come from the command line (``--deadline``, ``--late-policy``)
or from the assignment's spec::

    [late]
    deadline = "2026-05-08T23:59:00+02:00"   # ISO 8601; without a zone: this machine's
    policy = "10%/day"

Policies (``parse_policy``):

* ``none``: late submissions are listed, nothing is taken off (the default);
* ``N%/day``: N % of the automatic points possible off for each day or part of a day
  late (``10%/day``: one minute late costs 10 %, 25 hours late 20 %), never below 0;
* ``cap N%``: a late submission scores at most N % of the automatic points possible;
* ``zero``: a late submission scores 0 automatic points.

The penalty applies to the automatic points only: a TA's manual marks are the TA's.
"""

from __future__ import annotations

import datetime
import math
import re
import tomllib
from dataclasses import dataclass

from .errors import UsageError
from .spec import SPEC_FILE, AssignmentSpec

DAY = 86400.0


@dataclass(frozen=True)
class Policy:
    kind: str = "none"  #: "none", "per_day", "cap", "zero"
    rate: float = 0.0  #: the fraction per day (per_day) or the cap (cap)

    def __str__(self) -> str:
        if self.kind == "per_day":
            return f"{self.rate * 100:g}%/day"
        if self.kind == "cap":
            return f"cap {self.rate * 100:g}%"
        return self.kind

    def penalised(self, points: float, possible: float, late_seconds: float) -> float:
        """The automatic ``points`` (of ``possible``) after the penalty for being late."""
        if late_seconds <= 0 or self.kind == "none":
            return points
        if self.kind == "zero":
            return 0.0
        if self.kind == "cap":
            return min(points, self.rate * possible)
        days = math.ceil(late_seconds / DAY)
        return max(0.0, points - self.rate * days * possible)

    def describe(self, points: float, possible: float, late_seconds: float) -> str:
        after = self.penalised(points, possible, late_seconds)
        if late_seconds <= 0:
            return ""
        cost = (
            f"{points - after:g} of {points:g} automatic points off"
            if after < points
            else ("no points off")
        )
        return f"late by {duration(late_seconds)} ({self}: {cost})"


def duration(seconds: float) -> str:
    """``1 d 3 h 5 min``, as a TA reads it."""
    minutes = math.ceil(seconds / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [
        f"{days} d" if days else "",
        f"{hours} h" if hours else "",
        f"{mins} min" if mins else "",
    ]
    return " ".join(p for p in parts if p) or "0 min"


def hms(seconds: float) -> str:
    """Gradescope's ``Lateness (H:M:S)``."""
    total = max(0, math.ceil(seconds))
    return f"{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"


_PER_DAY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*(?:/|per)\s*day\s*$", re.I)
_CAP = re.compile(r"^\s*cap\s*(?:at\s*)?(\d+(?:\.\d+)?)\s*%\s*$", re.I)


def parse_policy(text: str | None) -> Policy:
    if text is None or not text.strip() or text.strip().lower() == "none":
        return Policy()
    if text.strip().lower() == "zero":
        return Policy("zero")
    m = _PER_DAY.match(text)
    if m:
        return Policy("per_day", float(m[1]) / 100)
    m = _CAP.match(text)
    if m and float(m[1]) <= 100:
        return Policy("cap", float(m[1]) / 100)
    raise UsageError(
        f"--late-policy {text!r}: give none, N%/day (e.g. 10%/day), cap N% (e.g. cap 50%) or zero"
    )


def parse_deadline(text: str | None) -> datetime.datetime | None:
    """The deadline as an aware datetime (a time without a zone is this machine's)."""
    if text is None or not text.strip() or text.strip().lower() == "none":
        return None
    try:
        when = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"--deadline {text!r}: give an ISO 8601 time such as 2026-05-08T23:59 or "
            "2026-05-08T23:59:00+02:00"
        ) from None
    return when if when.tzinfo else when.astimezone()


def from_spec(spec: AssignmentSpec) -> tuple[str | None, str | None]:
    """The ``[late]`` deadline and policy of the assignment's spec, if it has them."""
    try:
        raw = tomllib.loads((spec.root / SPEC_FILE).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None, None
    late = raw.get("late", {})
    if not isinstance(late, dict):
        return None, None
    deadline, policy = late.get("deadline"), late.get("policy")
    if isinstance(deadline, datetime.datetime):
        deadline = deadline.isoformat()
    return (str(deadline) if deadline else None, str(policy) if policy else None)


def late_seconds(submitted: str, deadline: datetime.datetime | None) -> float:
    """Seconds after ``deadline`` the ISO time ``submitted`` is (0 when on time)."""
    if deadline is None or not submitted:
        return 0.0
    when = datetime.datetime.fromisoformat(submitted)
    when = when if when.tzinfo else when.astimezone()
    return max(0.0, (when - deadline).total_seconds())

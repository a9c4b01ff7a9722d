"""Human-written sizes and durations ("2G", "512M", "90s", "5m"), and the ranges they must
lie in.

``parse_size`` and ``parse_duration`` read what an instructor writes, in a spec or on the
command line, and raise ``ValueError`` with a message that quotes the value; ``Range.check``
says, in one sentence, why a parsed value is outside its allowed range (``--memory 1K``: a
kibibyte, where importing torch alone needs hundreds of mebibytes).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)
_FACTORS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)?\s*$", re.IGNORECASE)
_SECONDS = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}


def parse_size(text: str | int) -> int:
    """Return a byte count for ``text`` such as ``"2G"``, ``"512MiB"`` or ``1048576``.

    Suffixes are binary (K = 1024), as memory limits conventionally are; a number without
    a suffix is bytes.
    """
    if isinstance(text, bool) or not isinstance(text, int | str):
        raise ValueError(f"size must look like 512M, 2G or 1048576 (got {text!r})")
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"size must not be negative (got {text})")
        return text
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"size must look like 512M, 2G or 1048576 (got {text!r})")
    number, unit, _ = match.groups()
    return int(float(number) * _FACTORS[unit.lower()])


def parse_duration(text: str | float) -> float:
    """Return seconds for ``text`` such as ``90``, ``"90s"``, ``"5m"`` or ``"1h"``.

    Only finite positive durations: ``nan``, ``inf`` and ``0`` are refused, since each
    would mean "no limit" or "no time" by accident.
    """
    if isinstance(text, bool):
        raise ValueError(
            f"duration must be a number of seconds such as 90, '90s' or '5m' (got {text!r})"
        )
    if isinstance(text, int | float):
        seconds = float(text)
    elif str(text).strip().lower().lstrip("+-") in ("nan", "inf", "infinity"):
        seconds = float(str(text))
    else:
        match = _DURATION.match(str(text))
        if not match:
            raise ValueError(
                "duration must be a number of seconds such as 90, '90s', '5m' or '1h' "
                f"(got {str(text)!r})"
            )
        unit = match.group(2).lower() if match.group(2) else None
        seconds = float(match.group(1)) * _SECONDS[unit]
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(
            f"duration must be a finite number of seconds above 0 (got {text!r}): a limit "
            "must end somewhere"
        )
    return seconds


def format_size(n: int) -> str:
    """Return ``n`` bytes as a short binary size, e.g. ``2.0 GiB``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def exact_size(n: int) -> str:
    """``n`` bytes in the largest binary unit that divides it: ``512 MiB``, ``1536 KiB``."""
    for unit, size in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    if n >= 1024**2:
        return format_size(n)
    return f"{n} bytes"


def format_duration(seconds: float) -> str:
    """``90`` -> ``90 s``, ``7200`` -> ``2 h``: how a limit reads in a message."""
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 600 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


@dataclass(frozen=True)
class Range:
    """The values a limit may take, inclusive, and why its lower end is where it is."""

    low: float
    high: float
    unit: str = ""  #: "bytes", "seconds" or "" (a count)
    why: str = ""  #: what the lower end protects, quoted when a value is below it

    def show(self, value: float) -> str:
        if self.unit == "bytes":
            return exact_size(int(value))
        if self.unit == "seconds":
            return format_duration(value)
        return f"{value:g}"

    def check(self, value: float) -> str:
        """ "" if ``value`` is allowed, else why not (the value and the range)."""
        if not math.isfinite(value):
            return f"{value} is not a finite number (allowed: {self.describe()})"
        if value < self.low:
            reason = f" ({self.why})" if self.why else ""
            return f"{self.show(value)} is below the least allowed, {self.show(self.low)}{reason}"
        if value > self.high:
            return f"{self.show(value)} is above the most allowed, {self.show(self.high)}"
        return ""

    def describe(self) -> str:
        return f"{self.show(self.low)} to {self.show(self.high)}"

"""Parsing of human-written sizes and durations ("2G", "512M", "90s")."""

from __future__ import annotations

import re

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)
_FACTORS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(text: str | int) -> int:
    """Return a byte count for ``text`` such as ``"2G"``, ``"512MiB"`` or ``1048576``.

    Suffixes are binary (K = 1024), as memory limits conventionally are.
    """
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"size must not be negative (got {text})")
        return text
    match = _SIZE.match(str(text))
    if not match:
        raise ValueError(f"size must look like 512M, 2G or 1048576 (got {text!r})")
    number, unit, _ = match.groups()
    return int(float(number) * _FACTORS[unit.lower()])


def format_size(n: int) -> str:
    """Return ``n`` bytes as a short binary size, e.g. ``2.0 GiB``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")

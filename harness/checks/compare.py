"""Numeric comparison that explains itself in a student's terms.

``assert_close(expected, got, what="the hidden state h")`` fails with a message
giving both shapes, the largest difference and where it is, how many entries
differ, and a small side-by-side table, instead of a bare ``assert`` line.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .context import fail


def _as_array(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def describe_mismatch(
    expected: Any, got: Any, *, what: str, atol: float = 1e-5, rtol: float = 1e-4
) -> str | None:
    """A message explaining how ``got`` differs from ``expected``, or None if close."""
    if got is None:
        return f"{what}: expected an array of shape {np.shape(expected)}, got None"
    try:
        exp = _as_array(expected)
        out = _as_array(got)
    except (TypeError, ValueError):
        return f"{what}: expected numbers, got a {type(got).__name__}"
    if exp.shape != out.shape:
        hint = ""
        if exp.shape == out.shape[::-1] and exp.ndim == 2:
            hint = " (it looks transposed)"
        elif exp.size == out.size:
            hint = " (same number of entries: check the order of dimensions)"
        return f"{what}: expected shape {exp.shape}, got shape {out.shape}{hint}"
    bad_values = ~np.isfinite(out)
    if bad_values.any():
        return f"{what}: {int(bad_values.sum())} of {out.size} values are NaN or infinite"
    diff = np.abs(out - exp)
    allowed = atol + rtol * np.abs(exp)
    wrong = diff > allowed
    if not wrong.any():
        return None
    flat = int(np.argmax(diff - allowed))
    where = np.unravel_index(flat, exp.shape) if exp.ndim else ()
    lines = [
        f"{what} differs from the expected values in {int(wrong.sum())} of {exp.size} entries "
        f"(tolerance {atol:g} + {rtol:g}*|expected|).",
        f"Largest difference {float(diff.flat[flat]):.6g} at index {tuple(int(i) for i in where)}: "
        f"expected {float(exp.flat[flat]):.6g}, got {float(out.flat[flat]):.6g}.",
    ]
    sample = np.argsort(-(diff - allowed).ravel())[:5]
    lines.append("  index            expected          got")
    for i in sample:
        idx = tuple(int(k) for k in np.unravel_index(int(i), exp.shape)) if exp.ndim else ()
        lines.append(f"  {str(idx):<16} {float(exp.flat[i]):>12.6g} {float(out.flat[i]):>12.6g}")
    return "\n".join(lines)


def assert_close(
    expected: Any, got: Any, *, what: str, atol: float = 1e-5, rtol: float = 1e-4
) -> None:
    """Fail the check with an explanation unless ``got`` matches ``expected``."""
    __tracebackhide__ = True
    message = describe_mismatch(expected, got, what=what, atol=atol, rtol=rtol)
    if message:
        fail(message)

"""What the trusted side accepts from the student process: a small vocabulary of types.

Everything the student process sends back is the student's to choose. The channel
already refuses arrays that are not numbers or whose shape their bytes do not hold; a
grader that needs more says what it expects by name::

    out = student.fetch(model(x), as_=FloatArray(shape=(B, 10)))
    loss = student.fetch(loss, as_=Number())

A value that does not fit raises ``UnusableValue``: the check fails with a message that
says what came back, and it is the student's fault, never a grader error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .session import UnusableValue

#: Largest array a grader is given (elements); a shape over it is refused before use.
MAX_ELEMENTS = 2**27


def _describe(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    if hasattr(value, "detach") and hasattr(value, "shape"):
        return f"a tensor of shape {tuple(value.shape)}"
    if isinstance(value, list | tuple):
        kinds = sorted({type(v).__name__ for v in value[:50]})
        return f"a {type(value).__name__} of {len(value)} ({', '.join(kinds) or 'nothing'})"
    return f"a {type(value).__name__}"


def _numbers(value: Any, what: str) -> np.ndarray:
    if value is None or isinstance(value, str | bytes | dict):
        raise UnusableValue(f"{what}: expected numbers, got {_describe(value)}")
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise UnusableValue(f"{what}: expected numbers, got {_describe(value)} ({exc})") from None
    if array.dtype.kind not in "biuf" or array.dtype.fields is not None:
        raise UnusableValue(f"{what}: expected numbers, got {_describe(value)}")
    if array.size > MAX_ELEMENTS:
        raise UnusableValue(f"{what}: expected at most {MAX_ELEMENTS} numbers, got {array.size}")
    return array


@dataclass(frozen=True)
class FloatArray:
    """An array of real numbers, returned as float64. ``shape`` may hold ``None`` for any
    length along that axis; ``finite`` refuses NaN and infinities."""

    shape: tuple[int | None, ...] | None = None
    finite: bool = False

    def accept(self, value: Any, what: str = "the value") -> np.ndarray:
        array = _numbers(value, what).astype(np.float64)
        if self.shape is not None and (
            array.ndim != len(self.shape)
            or any(
                want is not None and want != got
                for want, got in zip(self.shape, array.shape, strict=True)
            )
        ):
            wanted = ", ".join("any" if n is None else str(n) for n in self.shape)
            wanted = f"({wanted},)" if len(self.shape) == 1 else f"({wanted})"
            raise UnusableValue(f"{what}: expected shape {wanted}, got shape {array.shape}")
        if self.finite and not np.isfinite(array).all():
            bad = int((~np.isfinite(array)).sum())
            raise UnusableValue(f"{what}: {bad} of {array.size} values are NaN or infinite")
        return array


@dataclass(frozen=True)
class Number:
    """One real number (a Python number, a 0-d or one-element array or tensor)."""

    finite: bool = True

    def accept(self, value: Any, what: str = "the value") -> float:
        if isinstance(value, bool):
            raise UnusableValue(f"{what}: expected a number, got a bool")
        array = _numbers(value, what)
        if array.size != 1:
            raise UnusableValue(f"{what}: expected one number, got shape {array.shape}")
        number = float(array.reshape(()))
        if self.finite and not math.isfinite(number):
            raise UnusableValue(f"{what}: expected a finite number, got {number}")
        return number


@dataclass(frozen=True)
class Text:
    """A string of at most ``limit`` characters (longer ones are cut, not refused)."""

    limit: int = 10_000

    def accept(self, value: Any, what: str = "the value") -> str:
        if not isinstance(value, str):
            raise UnusableValue(f"{what}: expected text, got {_describe(value)}")
        return value[: self.limit]


Expected = FloatArray | Number | Text

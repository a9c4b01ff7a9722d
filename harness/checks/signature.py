"""Call student code with the arguments its own signature asks for.

Real students change the skeleton's signatures: ``Generator(latent_dim)`` with a required
argument, ``train(..., device)`` with one more.  Rather than trying a fixed list of
argument sets, a check reads the signature in the student process and fills each
parameter by its name; a required parameter nothing can fill is named in the failure.

What the student process reports is checked for type and size before use: a signature
that does not look like one is treated as unreadable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .context import fail

#: the kinds ``inspect`` names, of parameters a call may fill
_FILLABLE = {"POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD", "KEYWORD_ONLY"}
_MAX_PARAMETERS = 64


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: str  #: as ``inspect.Parameter.kind.name``
    has_default: bool


def parameters(student: Any, fn: Any) -> list[Parameter] | None:
    """``fn``'s parameters (a class: its constructor's), or None when unreadable."""
    try:
        raw = student.op("signature", fn, want="value")
    except Exception:  # the student's object may refuse inspection; then nothing is known
        return None
    if not isinstance(raw, list) or len(raw) > _MAX_PARAMETERS:
        return None
    found = []
    for item in raw:
        if not (
            isinstance(item, list)
            and len(item) == 3
            and isinstance(item[0], str)
            and len(item[0]) <= 100
            and isinstance(item[1], str)
            and isinstance(item[2], bool)
        ):
            return None
        found.append(Parameter(item[0], item[1], item[2]))
    return found


def arguments(
    params: list[Parameter] | None,
    *,
    given: Mapping[str, Any],
    fill: Callable[[str], Any],
    what: str,
) -> tuple[list[Any], dict[str, Any]]:
    """Positional and keyword arguments for a call.

    ``given`` holds what the hand-out's skeleton passes, by its parameter names, in order.
    Each of the student's parameters takes, in this order: the skeleton's value of the same
    name; ``fill(name)`` (which returns ``MISSING`` for a name it does not know); the
    skeleton's value at the same place, when no parameter took it by name (a renamed
    parameter); or its own default.  A required parameter none of these fills fails the
    check, named.
    """
    if params is None:
        return list(given.values()), {}
    names = list(given)
    taken = {p.name for p in params}
    positional: list[Any] = []
    keywords: dict[str, Any] = {}
    by_keyword = False  # once a parameter is left to its default, the rest go by name
    for i, p in enumerate(params):
        if p.kind not in _FILLABLE:
            continue
        if p.name in given:
            value = given[p.name]
        else:
            value = fill(p.name)
            in_place = names[i] if i < len(names) else None
            if value is MISSING and not p.has_default and in_place and in_place not in taken:
                value = given[in_place]
        if value is MISSING:
            if p.has_default:
                by_keyword = True
                continue
            fail(
                f"{what} needs an argument {p.name!r}, which the hand-out's skeleton does not "
                f"pass: give it a default value"
            )
        if p.kind == "POSITIONAL_ONLY" or (p.kind == "POSITIONAL_OR_KEYWORD" and not by_keyword):
            positional.append(value)
        else:
            keywords[p.name] = value
    return positional, keywords


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()

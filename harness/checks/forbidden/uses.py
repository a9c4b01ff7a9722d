"""A use of a forbidden API, and the text that tells the student about it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: ``Use.api`` of a dynamic access that static analysis cannot resolve.
SUSPICIOUS = "suspicious dynamic access"


@dataclass(frozen=True)
class Use:
    """One place where submitted code reaches a forbidden (or suspicious) API."""

    file: str  #: path relative to the submission root; notebooks: "nb.ipynb cell N"
    line: int  #: 1-based (for notebooks: within the cell)
    col: int  #: 1-based
    api: str  #: the forbidden name matched (as listed), or ``SUSPICIOUS``
    how: str  #: plain English: how the code got there
    code: str  #: the source line, stripped
    #: up to 2 lines before and after, numbered, the used line marked with ">"
    context: tuple[str, ...] = ()
    #: the entry of the forbidden list that matched ("torch._VF.*"), or for a
    #: suspicious use what kind it is ("dynamic", "string", "mention")
    rule: str = ""


def describe(uses: Sequence[Use]) -> str:
    """Student-facing text: one block per use, saying where, what and how."""
    if not uses:
        return "No use of a forbidden API was found."
    blocks = []
    for use in uses:
        where = f"{use.file}, line {use.line}"
        if use.api == SUSPICIOUS:
            what = (
                "this may reach a forbidden API in a way that cannot be checked "
                f"automatically, so a TA will look at it: {use.how}"
            )
        elif use.rule == "mention":
            what = f"names {use.api}, which this assignment does not allow: {use.how}"
        else:
            what = f"uses {use.api}, which this assignment does not allow: {use.how}"
        body = list(use.context) or [f">      | {use.code}"]
        blocks.append("\n".join([where, f"  {what}", *(f"  {line}" for line in body)]))
    return "\n\n".join(blocks)

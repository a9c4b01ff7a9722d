"""How a student's own script ran under the spy (``run_script_spied``), told for the report.

The spy runs a script the way its author ran it and bends three things so that a correct
script is judged on its training; none of them costs points, and each is said:

- the command it ran with (``python -m part1.train`` for relative imports,
  ``cd part1 && python train.py`` for plain sibling imports);
- output folders it writes into without making them, made for it;
- a script that ignores the command line's length of training (a sweep in ``__main__``),
  stopped after ``max_steps`` optimiser steps and judged on those.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .context import Evidence


def how_it_ran(result: Mapping[str, Any], asked: str) -> list[str]:
    """Sentences for the report about what the spy did for the script; ``asked`` says how
    long the grader asked it to train ("150 steps", "2 epochs")."""
    notes = []
    folders = list(result.get("folders_made") or [])
    if folders:
        listed = ", ".join(folders)
        notes.append(
            f"it writes into {listed}, which your ZIP does not contain and the script does "
            "not make: the grader made them, as they existed where you ran it (not counted; "
            "on a fresh copy of your code, make them with os.makedirs(folder, exist_ok=True))"
        )
    if result.get("stopped"):
        models = list(result.get("models") or [])
        trained = f" of {', '.join(models)}" if models else ""
        notes.append(
            f"it was still training after {result.get('steps')} optimiser steps, although "
            f"the grader asked for {asked} (does it ignore the command line, e.g. an "
            "experiment sweep in __main__?): the grader stopped it there and judged those "
            f"steps{trained} (not counted)"
        )
    return notes


def record_how_it_ran(
    evidence: Evidence, result: Mapping[str, Any], argv: list[str], asked: str
) -> None:
    """Put ``how_it_ran`` in the report, after the command the script ran with."""
    notes = how_it_ran(result, asked)
    if notes:
        command = " ".join([str(result.get("command") or "the script"), *argv])
        evidence.text(
            name="script-run",
            title="How your script ran",
            text=f"{command}: " + "; ".join(notes),
        )

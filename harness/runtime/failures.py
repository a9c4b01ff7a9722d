"""An exception raised in the student process, as data for the trusted side.

``describe_exception`` turns it into its type, message, a hint for the student, the
traceback without the runtime's own frames, and where in the student's code it was
raised.  The main loop (``serve``) answers a failed call with it; the training-script
spy (``spy``) reports a script's crash with it.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Any

RUNTIME_DIR = str(Path(__file__).resolve().parent)

_HINTS = {
    "SystemExit": "calling sys.exit() or exit() ends the whole program: remove it from code "
    "that is imported or called",
    "KeyboardInterrupt": "your code raised KeyboardInterrupt itself; nobody pressed Ctrl-C",
    "ModuleNotFoundError": "only the standard library, numpy, torch, torchvision, matplotlib, tqdm "
    "are installed for grading, and only the files in your ZIP can be imported",
}


def describe_exception(exc: BaseException) -> dict[str, Any]:
    """The exception as data, with the runtime's own frames left out of the traceback."""
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.startswith((RUNTIME_DIR, "<frozen importlib"))
    ]
    where = None
    for f in reversed(frames):
        if not f.filename.startswith(sys.base_prefix) and "site-packages" not in f.filename:
            where = {"file": f.filename, "line": f.lineno, "code": f.line or "", "function": f.name}
            break
    lines = ["Traceback (most recent call last):\n"]
    lines += traceback.format_list(frames)
    lines += traceback.format_exception_only(type(exc), exc)
    try:
        message = str(exc)
    except Exception:  # a hostile __str__ must not take the loop down
        message = "<unprintable>"
    hint = _HINTS.get(type(exc).__name__, "")
    return {
        "type": type(exc).__name__,
        "message": message[:4000],
        "hint": hint,
        "traceback": "".join(lines)[-8000:],
        "where": where,
    }

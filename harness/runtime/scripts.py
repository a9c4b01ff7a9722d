"""Running a student's script as ``__main__``, as ``python script.py`` would.

The grader's ``run_script`` helper (``ops``) and the training-script spy (``spy``) both
run scripts through ``run_script``.
"""

from __future__ import annotations

import runpy
import sys
from typing import Any


def run_script(
    path: str, argv: list[str] | None = None, module: str | None = None
) -> dict[str, Any]:
    """Run a student script as ``__main__`` with ``argv``; the call timeout bounds it.

    With ``module`` (``part1.train``, the file at ``path``), it runs as ``python -m module``
    would run it, so its relative imports work."""
    old_argv = sys.argv
    sys.argv = [path, *(argv or [])]
    code: Any = 0
    try:
        if module:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(path, run_name="__main__")
    except SystemExit as exc:
        code = exc.code if exc.code is not None else 0
    finally:
        sys.argv = old_argv
    return {
        "exit_code": code if isinstance(code, int) else 1,
        "message": "" if isinstance(code, int) else str(code),
    }

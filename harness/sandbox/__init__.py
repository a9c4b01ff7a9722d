"""Sandbox backends behind one interface (see ``base``), and the choice between them."""

from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import SandboxError, UsageError
from .base import Job, Outcome, Running, Sandbox, SandboxLimits

BACKENDS = ("auto", "docker", "bwrap", "local")

__all__ = [
    "BACKENDS",
    "Job",
    "Outcome",
    "Running",
    "Sandbox",
    "SandboxLimits",
    "make_sandbox",
    "prepare_runtime",
]


def make_sandbox(name: str) -> Sandbox:
    """Return the backend called ``name``; ``auto`` picks the safest one that works here."""
    if name not in BACKENDS:
        raise UsageError(f"--sandbox must be one of {', '.join(BACKENDS)} (got {name!r})")
    if name in ("auto", "bwrap"):
        from .bwrap import BwrapSandbox

        if BwrapSandbox.available():
            return BwrapSandbox()
        if name == "bwrap":
            raise SandboxError(
                "bubblewrap cannot run here: install it (apt-get install bubblewrap) and make "
                "sure unprivileged user namespaces are allowed"
            )
    if name == "docker":
        raise SandboxError("the Docker backend is not available yet; use --sandbox bwrap")
    from .local import LocalSandbox

    return LocalSandbox()


def prepare_runtime(dest: Path) -> Path:
    """Copy the runtime package to ``dest/harness_runtime`` and return ``dest``.

    The sandbox mounts this copy rather than the repository, so nothing else of the
    harness (and none of the graders) is ever inside.
    """
    source = Path(__file__).resolve().parent.parent / "runtime"
    target = dest / "harness_runtime"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest

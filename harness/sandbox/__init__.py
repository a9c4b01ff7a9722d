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
    "choose",
    "make_sandbox",
    "prepare_runtime",
]


def make_sandbox(name: str, *, gpus: str = "", zygote: str = "") -> Sandbox:
    """Return the backend called ``name``; ``auto`` picks the safest one that works here.

    ``auto`` is Docker when an engine answers and the grading image of this checkout is
    built, else bubblewrap, else the local backend (which the command line warns about).
    ``gpus`` (``docker run --gpus`` forms) is for the Docker backend only.  ``zygote``,
    the address of a student zygote (``harness.sandbox.zygote``), makes bubblewrap's
    student processes forks of it; the other backends ignore it.
    """
    if name not in BACKENDS:
        raise UsageError(f"--sandbox must be one of {', '.join(BACKENDS)} (got {name!r})")
    if gpus and name not in ("auto", "docker"):
        raise UsageError(f"--gpus needs the docker sandbox (got --sandbox {name})")
    if name in ("auto", "docker"):
        from .docker import DockerSandbox, unavailable_reason

        reason = unavailable_reason()
        if reason is None:
            return DockerSandbox(gpus=gpus)
        if name == "docker":
            raise SandboxError(f"the Docker backend cannot run here: {reason}")
        if gpus:
            raise UsageError(f"--gpus needs the Docker backend, which cannot run here: {reason}")
    if name in ("auto", "bwrap"):
        from .bwrap import BwrapSandbox

        if zygote:  # the pipeline checked that bubblewrap works
            from .zygote import ZygoteSandbox

            return ZygoteSandbox(zygote)
        if BwrapSandbox.available():
            return BwrapSandbox()
        if name == "bwrap":
            raise SandboxError(
                "bubblewrap cannot run here: install it (apt-get install bubblewrap) and make "
                "sure unprivileged user namespaces are allowed"
            )
    from .local import LocalSandbox

    return LocalSandbox()


def choose(name: str, *, gpus: str = "") -> str:
    """The backend ``make_sandbox(name)`` would make here, by name (without making it)."""
    if name != "auto":
        return name
    from .docker import unavailable_reason

    if unavailable_reason() is None:
        return "docker"
    from .bwrap import BwrapSandbox

    return "bwrap" if not gpus and BwrapSandbox.available() else "local"


def prepare_runtime(dest: Path) -> Path:
    """Copy the runtime package to ``dest/harness_runtime`` and return ``dest``.

    The sandbox mounts this copy rather than the repository, so nothing else of the
    harness (and none of the graders) is ever inside.
    """
    source = Path(__file__).resolve().parent.parent / "runtime"
    target = dest / "harness_runtime"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest

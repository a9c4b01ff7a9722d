"""Inert stand-ins for logging services and notebook environments the sandbox lacks.

Real students' scripts log with tensorboard's ``SummaryWriter``, tensorboardX, pycrayon
or wandb, and Colab notebooks start with ``from google.colab import drive``.  None of
these computes anything a check looks at, and none can work without a network or a
Colab machine, so a missing one must not zero a submission.  Where the real package is
not installed, importing one of the names below gives a module whose every attribute,
call and context is a silent no-op, and the import is recorded so the report says so.

Only services that record or display are here: a library that computes something
(numpy, torch, tqdm's iteration, nltk's tokenisers) is never faked.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Iterator, Sequence
from typing import Any

#: module name -> what it is, for the report
STANDINS = {
    "tensorboardX": "tensorboardX (logging)",
    "torch.utils.tensorboard": "torch.utils.tensorboard (TensorBoard logging)",
    "tensorboard": "tensorboard (logging)",
    "pycrayon": "pycrayon (logging)",
    "wandb": "wandb (Weights & Biases logging)",
    "google.colab": "google.colab (the Colab notebook environment)",
}
#: parents that must exist for a stand-in below them to be imported
_PARENTS = {"google": "google.colab"}

_used: list[str] = []


class Inert:
    """Any attribute, call, item, context or iteration: itself, or nothing."""

    def __getattr__(self, name: str) -> Inert:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> Inert:
        return self

    def __getitem__(self, key: Any) -> Inert:
        return self

    def __setitem__(self, key: Any, value: Any) -> None:
        pass

    def __enter__(self) -> Inert:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def __repr__(self) -> str:
        return "<inert stand-in>"


class _InertModule(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return Inert()


class _Loader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _InertModule(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        module.__path__ = []  # type: ignore[attr-defined]  # a package: submodules are stand-ins too
        if module.__name__ in STANDINS and module.__name__ not in _used:
            _used.append(module.__name__)


def _covered(fullname: str) -> bool:
    return fullname in _PARENTS or any(
        fullname == n or fullname.startswith(n + ".") for n in STANDINS
    )


def _really_installed(fullname: str) -> bool:
    if fullname.startswith("torch.utils.tensorboard"):
        # torch ships this module, and it fails at import without the tensorboard package.
        fullname = "tensorboard"
    parent_name = fullname.rpartition(".")[0]
    path = None
    if parent_name:
        parent = sys.modules.get(parent_name)
        if parent is None or isinstance(parent, _InertModule):
            return False  # below a stand-in: a stand-in too
        path = getattr(parent, "__path__", None)
    finders = [f for f in sys.meta_path if not isinstance(f, StandinFinder)]
    return any(getattr(f, "find_spec", lambda *a: None)(fullname, path) for f in finders)


class StandinFinder(importlib.abc.MetaPathFinder):
    """Answers for the names above (and their submodules) only when nothing real does."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not _covered(fullname) or _really_installed(fullname):
            return None
        return importlib.machinery.ModuleSpec(fullname, _Loader(), is_package=True)


_FINDER = StandinFinder()


def install() -> None:
    """Put the finder first (idempotent): torch.utils.tensorboard is found by torch's own
    finder otherwise, and fails at import without the tensorboard package."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def used() -> list[str]:
    """What the student's code imported from the stand-ins, in words for the report."""
    return [STANDINS[name] for name in _used]


def describe(names: Sequence[str]) -> str:
    return (
        "Your code imports " + ", ".join(names) + ", which the grading environment does "
        "not have: inert stand-ins that record nothing were used instead (logging and "
        "notebook set-up only; nothing they would compute is faked)."
    )

"""Loads an assignment's reference solution in the trusted grading process."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

from ..spec import AssignmentSpec


def reference_root(spec: AssignmentSpec) -> Path:
    """``<tree>/reference/<name>`` for an assignment at ``<tree>/graders/<name>``."""
    return spec.root.parent.parent / "reference" / spec.name


def template_root(spec: AssignmentSpec) -> Path:
    """``<tree>/student_template/<name>``: the files as the hand-out gives them."""
    return spec.root.parent.parent / "student_template" / spec.name


class ReferenceLoader:
    def __init__(self, spec: AssignmentSpec) -> None:
        self.root = reference_root(spec)

    def load(self, module: str) -> ModuleType:
        """Import ``module`` (e.g. ``part1.model``) from the reference folder."""
        if str(self.root) not in sys.path:
            sys.path.insert(0, str(self.root))
        return importlib.import_module(module)

    def path(self, relative: str) -> Path:
        return self.root / relative

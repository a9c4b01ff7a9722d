"""Where recurrent-layers-lm's files are in a submission: the layers' file, the given
files the grader puts back when a ZIP leaves them out, and the language-model file
(the template's, else the notebook or .py that defines the models)."""

from __future__ import annotations

import re
from typing import Any

from harness.checks import fail

LAYERS_FILE = "blg561/blg561/layer/recurrent_layers.py"
#: Files of the template the student does not write; put back when left out of the ZIP.
GIVEN = (
    "blg561/blg561/__init__.py",
    "blg561/blg561/layer/__init__.py",
    "blg561/blg561/layer/layers_with_weights.py",
    "data.py",
)
LM_FILES = ("language_model.py", "LanguageModelling.ipynb")
LM_CLASSES = ("RNNModel", "GatedModel")


def imports_data(submission: Any) -> bool:
    """Whether the template's language-model files handed in import its data.py."""
    pattern = re.compile(r"^\s*\"?(from\s+data\s+import|import\s+data\b)", re.MULTILINE)
    return any(
        pattern.search(submission.source(relative).replace("\\n", "\n"))
        for relative in LM_FILES
        if submission.has(relative)
    )


def lm_file(submission: Any) -> str:
    """The template's file, else the notebook (or .py) that defines the models: real
    notebooks keep the course's name, but some are renamed (a copy, a student number)."""
    for relative in LM_FILES:
        if submission.has(relative):
            return relative
    found = []
    for path in sorted(submission.root.rglob("*")):
        if path.suffix not in (".ipynb", ".py") or not path.is_file():
            continue
        relative = path.relative_to(submission.root).as_posix()
        if relative.startswith(("blg561/", "DL/")) or relative in GIVEN:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        names = [n for n in LM_CLASSES if re.search(rf"class\s+{n}\b", text)]
        if names:
            found.append((-len(names), path.suffix != ".ipynb", relative))
    if not found:
        fail(
            f"neither {' nor '.join(LM_FILES)} is in the submission, and no other notebook "
            f"or .py file defines {' or '.join(LM_CLASSES)}"
        )
    return min(found)[2]

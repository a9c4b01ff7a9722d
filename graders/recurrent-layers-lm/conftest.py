"""Fixtures of recurrent-layers-lm (seed 003).

Part 1 (numpy layers) uses the shared differential checks of
``_shared/numpy_layers.py`` through the ``checks`` fixture.

Part 2 (the language model) is graded on what the hand-out asks, whatever interface the
student's notebook has: the course's own skeleton (``Dataset(seq_length, path, train,
train_split, device)``, ``forward(x, state)`` with ``model.initialize(...)``,
``train_one_epoch(model, criterion, optimizer, dataloader, log, log_interval, grad_clip,
clip_val)``, ``evaluate(model, criterion, dataloader, log)``, ``generate(model, data,
data_idx_dict, idx_data_dict, len_hist, len_gen, device)``), our template's, or a
student's own spelling. Constructors and functions are called with the arguments their
signatures name (``harness.checks.signature``); how a model wants its state and which
layout its logits have is found by probing it (``discover_forward``). Every number a
verdict rests on is computed here, from logits fetched from the student process and
checked for type, shape and finiteness: never a loss or a perplexity the student's
code reports. The check bodies are in ``test_language_model.py``.
"""

from __future__ import annotations

import importlib
import re
import shutil
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from _shared import numpy_layers
from harness.checks import StudentError, fail, reference_root
from lm_interface import BOOK_IN_SUBMISSION

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
BOOK = Path(__file__).parent / "data" / "prideprejudice.txt"
#: Lines of the book in the passage the student's Dataset reads (BOOK_IN_SUBMISSION).
PASSAGE_LINES = 3000


@pytest.fixture(scope="session")
def checks():
    """The shared check bodies of Part 1."""
    return SimpleNamespace(layers=numpy_layers)


@pytest.fixture(scope="session", autouse=True)
def _prepare_submission(spec, submission, student):
    """Before the student process starts: the given files the ZIP left out, and the
    passage of the book the Dataset checks read.

    Whatever edition the student wrote against (the 2020 blg561/ package, the 2024 DL/
    one), the layout has put their files at the template's places. A package file they
    left out is put back empty: the template's would import classes their edition may
    not have (the 2024 edition has no GRULayer).
    """
    template = spec.root.parent.parent / "student_template" / spec.name
    for relative in GIVEN:
        target = submission.root / relative
        if target.exists() or not (template / relative).is_file():
            continue
        if relative == "data.py" and not imports_data(submission):
            continue  # our template's book loader: the course's notebook has no use for it
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.name == "__init__.py":
            target.write_text('"""Put back by the grader: the ZIP had no package file."""\n')
            what = "an empty package file was used"
        else:
            shutil.copyfile(template / relative, target)
            what = "the template's copy was used"
        student.notes.append(f"{relative} was not in the ZIP: {what}")
    (submission.root / BOOK_IN_SUBMISSION).write_text(passage_text(), encoding="utf-8")
    student.on_start.append(("cpu_only", ()))
    student.on_start.append(("add_sys_path", ("blg561",)))


def imports_data(submission) -> bool:
    """Whether the template's language-model files handed in import its data.py."""
    pattern = re.compile(r"^\s*\"?(from\s+data\s+import|import\s+data\b)", re.MULTILINE)
    return any(
        pattern.search(submission.source(relative).replace("\\n", "\n"))
        for relative in LM_FILES
        if submission.has(relative)
    )


# ---------------------------------------------------------------------------- Part 1


@pytest.fixture(scope="session")
def layers_module(student):
    """The student's blg561.layer.recurrent_layers, imported as the package's tests do."""
    try:
        return student.import_module("blg561.layer.recurrent_layers")
    except StudentError as exc:
        fail(f"{LAYERS_FILE} does not import: {exc.summary()}")


@pytest.fixture(scope="session")
def reference_layers(spec):
    root = str(reference_root(spec) / "blg561")
    if root not in sys.path:
        sys.path.insert(0, root)
    return importlib.import_module("blg561.layer.recurrent_layers")


@pytest.fixture
def layer_grading(request, student, layers_module, reference_layers, settings, grading_seed):
    """The Grading of the layer named by the test module's ``LAYER``."""
    kind = numpy_layers.KINDS[request.module.LAYER]
    editions = settings["editions_without"].get(kind.cls)
    if editions and kind.cls not in student.op("dir", layers_module):
        fail(
            f"recurrent_layers.py defines no class {kind.cls}: the course's {editions} has "
            "none, but this hand-out asks for one"
        )
    return numpy_layers.Grading(
        student, layers_module, reference_layers, kind, settings, grading_seed
    )


# ---------------------------------------------------------------------------- Part 2
# -- the student's code -------------------------------------------------------------


@pytest.fixture(scope="session")
def lm(student, submission):
    """The student's language-model code, definitions only (module or notebook)."""
    relative = lm_file(submission)
    if relative not in LM_FILES:
        student.notes.append(
            f"The language model was read from {relative}: the ZIP has neither "
            f"{' nor '.join(LM_FILES)}."
        )
    try:
        return student.load(relative, module="language_model", mode="definitions")
    except StudentError as exc:
        fail(f"{relative} does not load: {exc.summary()}")


def lm_file(submission) -> str:
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


@pytest.fixture(scope="session")
def reference_lm(spec):
    root = str(reference_root(spec))
    if root not in sys.path:
        sys.path.insert(0, root)
    return importlib.import_module("language_model")


# -- the data ---------------------------------------------------------------------


def passage_text() -> str:
    """The first lines of the book between a Project Gutenberg header and footer, as the
    hand-out's data file has them (a student may cut the book at those markers)."""
    body = "\n".join(BOOK.read_text(encoding="utf-8").splitlines()[:PASSAGE_LINES])
    return (
        "The Project Gutenberg EBook of Pride and Prejudice, by Jane Austen\n\n"
        "This eBook is for the use of anyone anywhere at no cost and with\n"
        "almost no restrictions whatsoever.\n\n"
        "Title: Pride and Prejudice\n\nAuthor: Jane Austen\n\n"
        "*** START OF THIS PROJECT GUTENBERG EBOOK PRIDE AND PREJUDICE ***\n\n\n"
        f"{body}\n\n\n"
        "*** END OF THIS PROJECT GUTENBERG EBOOK PRIDE AND PREJUDICE ***\n"
    )


@pytest.fixture(scope="session")
def corpus(reference_lm, settings):
    """The book's token ids by the reference's rules: the grader's own training and
    validation windows, so that a faulty Dataset costs only the Dataset check."""
    T = settings["lm_seq"]
    train = reference_lm.Dataset(T, str(BOOK), train=True)
    val = reference_lm.Dataset(T, str(BOOK), train=False)

    def windows(data):
        n = (len(data) - 1) // T
        ids = data[: n * T + 1]
        return ids[:-1].reshape(n, T), ids[1:].reshape(n, T)

    counts = Counter(train.data.tolist())
    probs = np.array([counts.get(i, 0) + 1 for i in range(train.ntoken)], dtype=np.float64)
    probs /= probs.sum()
    vx, vy = windows(val.data)
    vy_eval = vy[: settings["lm_eval_windows"]].numpy()
    unigram = float(np.exp(-np.log(probs[vy_eval]).mean()))
    return SimpleNamespace(
        ntoken=train.ntoken,
        vocab=list(train.vocab),
        train=windows(train.data),
        val=(vx, vy),
        unigram=unigram,
    )

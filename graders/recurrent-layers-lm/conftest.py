"""Fixtures of recurrent-layers-lm (seed 003).

Part 1 (test_rnn_layer.py, test_lstm_layer.py, test_gru_layer.py) compares the student's
numpy layers with the reference's (``numpy_layers``). Part 2 (test_language_model.py) is
graded on what the hand-out asks, whatever interface the student's notebook has
(``lm_interface``), on the grader's copy of the book (``book``).
"""

from __future__ import annotations

import importlib
import shutil
import sys

import pytest
from book import book_corpus, passage_text
from lm_interface import BOOK_IN_SUBMISSION
from numpy_layers import LayerUnderTest, layer_kind
from submission_files import GIVEN, LAYERS_FILE, LM_FILES, imports_data, lm_file

from harness.checks import StudentError, fail, reference_root


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
def graded_layer(student, layers_module, reference_layers, settings, grading_seed):
    """``graded_layer("lstm")``: the layer ``[settings.layers.lstm]`` describes, the
    student's beside the reference's. A class the student's skeleton edition lacks
    (``editions_without``) fails every check of that layer, naming the edition."""

    def grade(key: str) -> LayerUnderTest:
        kind = layer_kind(key, settings)
        edition = settings["editions_without"].get(kind.cls)
        if edition and kind.cls not in student.op("dir", layers_module):
            fail(
                f"recurrent_layers.py defines no class {kind.cls}: the course's {edition} has "
                "none, but this hand-out asks for one"
            )
        return LayerUnderTest(
            kind, student, layers_module, reference_layers, settings, grading_seed
        )

    return grade


# ---------------------------------------------------------------------------- Part 2


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


@pytest.fixture(scope="session")
def reference_lm(spec):
    root = str(reference_root(spec))
    if root not in sys.path:
        sys.path.insert(0, root)
    return importlib.import_module("language_model")


@pytest.fixture(scope="session")
def corpus(reference_lm, settings):
    """The book's token ids by the reference's rules: the grader's own training and
    validation windows, so that a faulty Dataset costs only the Dataset check."""
    return book_corpus(reference_lm, settings)

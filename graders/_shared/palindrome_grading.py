"""Fixtures for the palindrome assignments' graders (a pytest plugin).

A grader's ``conftest.py`` enables it with ``pytest_plugins = [__name__ of this module]``
and defines ``model_files`` (every part's model file) and ``given_files`` (files of the
skeleton the student does not write). Each test file names the part it grades with a
module-scoped ``part`` fixture returning a ``Part``. The spec's ``[settings]`` give
``forbidden``, ``hidden`` and, for the tests, the rest of the hand-out's facts.

The check bodies are in the test files; what they compute is in ``palindrome``.
"""

import contextlib
from dataclasses import dataclass

import numpy as np
import pytest

from _shared import palindrome as pal
from harness.checks import describe_uses, fail, find_forbidden, reachable, template_root


@dataclass(frozen=True)
class Part:
    """The part a test file grades: the model's kind, its file and its class."""

    kind: str  #: "rnn" or "lstm": which equations it must compute
    path: str  #: the file, as the skeleton names it: "part1/vanilla_rnn.py"
    cls: str  #: the class in it: "VanillaRNN"

    @property
    def module(self) -> str:
        """The module the file is loaded as ("part1.vanilla_rnn"): relative imports work."""
        return self.path.removesuffix(".py").replace("/", ".")


@pytest.fixture(scope="session", autouse=True)
def _prepare_student(student, spec):
    # Before any student code loads: CUDA requests go to the CPU, forbidden APIs are watched.
    student.on_start.append(("cpu_only", ()))
    student.on_start.append(("install_traps", (spec.settings["forbidden"],)))


@pytest.fixture(scope="module")
def model_class(student, part):
    module = student.load(part.path, module=part.module)
    names = student.op("dir", module)
    if part.cls not in names:
        classes = ", ".join(n for n in names if n[:1].isupper()) or "none"
        fail(f"{part.path} defines no class {part.cls} (it defines: {classes})")
    return getattr(module, part.cls)


@pytest.fixture(scope="module")
def probe(student, model_class, part, settings):
    """How the model is built and fed (fails when no accepted way runs its forward)."""
    return pal.probe(student, model_class, part.kind, hidden=settings["hidden"])


@pytest.fixture(scope="module")
def model_runs(request) -> bool:
    """Whether the model's forward runs in one of the accepted ways (the probe succeeds)."""
    try:
        request.getfixturevalue("probe")
    except BaseException as exc:  # the probe's own failure says what is wrong
        if isinstance(exc, KeyboardInterrupt):
            raise
        return False
    return True


@pytest.fixture(scope="module")
def comparison(student, probe, settings):
    """The model's forward against the equations, on seeded random weights."""
    return pal.compare_with_equations(student, probe, hidden=settings["hidden"])


@pytest.fixture(scope="module")
def part_files(submission, spec, part, model_files, given_files):
    """The source files whose code is the part's, {path: text}, for static analysis: its
    model file, the helper modules beside it, and every file of the submission these
    import, wherever it lies. A given file the student edited counts; one left as the
    hand-out gave it is not the student's code. Another part's model counts only when
    imported."""
    sources = {
        p.relative_to(submission.root).as_posix(): p.read_text(encoding="utf-8", errors="replace")
        for p in submission.python_files()
    }
    sources[part.path] = submission.source(part.path)
    template = template_root(spec)
    unchanged = {
        g
        for g in given_files
        if (template / g).is_file()
        and sources.get(g) == (template / g).read_text(encoding="utf-8", errors="replace")
    }
    folder = part.path.rsplit("/", 1)[0] + "/" if "/" in part.path else ""
    beside = [
        rel
        for rel in sources
        if rel.startswith(folder) and rel not in set(given_files) | set(model_files)
    ]
    files = reachable(sources, [part.path, *beside]) - unchanged
    return {rel: sources[rel] for rel in sorted(files)}


@pytest.fixture(scope="module")
def forbidden_uses(request, student, part_files, settings, model_class) -> str:
    """Static uses in the part's files, then uses trapped while the model runs ("": none)."""
    files = part_files
    uses = find_forbidden(files, forbidden=settings["forbidden"])
    text = describe_uses(uses) if uses else ""
    # Running the model is best effort: a model that cannot run is judged by other checks.
    with contextlib.suppress(Exception):
        probe = request.getfixturevalue("probe")
        model = probe.model(seq_length=4, hidden=settings["hidden"], batch=2)
        pal.run_model(student, probe, model, np.zeros((2, 4)))
    trapped = [
        r
        for r in student.op("trap_report", want="value")
        if any(str(r.get("file", "")).endswith(f) for f in files)
    ]
    lines = [
        f"{str(r['file']).removeprefix('/submission/')}:{r['line']}: {r['api']} ran while your "
        f"model ran: {r.get('code', '')}"
        for r in trapped
    ]
    return "\n".join(t for t in [text, *lines] if t)


@pytest.fixture(scope="module")
def gradient_problems(student, probe, comparison, settings):
    """{canonical name: what is wrong with its gradient}; None if they cannot be compared."""
    return pal.gradient_problems(student, probe, comparison, hidden=settings["hidden"])


@pytest.fixture(scope="module")
def trainer(student, probe, comparison, gradient_problems, part, settings):
    """The grader's brief training, shared by a test file's training checks."""
    return pal.Trainer(student, probe, comparison, gradient_problems, part.cls, settings)

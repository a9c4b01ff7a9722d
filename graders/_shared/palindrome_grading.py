"""Fixtures and check bodies shared by the palindrome assignments' graders (a pytest plugin).

A grader's ``conftest.py`` enables it with ``pytest_plugins = [__name__ of this module]``
and defines two fixtures: ``model_files`` ({KIND: (path, module, class)}, each test file
setting ``KIND``) and ``given_files`` (files of the skeleton the student does not write).
The spec's ``[settings]`` give ``forbidden``, ``forbidden_message``, ``forbidden_voids``,
``hidden``, ``train_hidden`` and ``accuracy``. Test files reach the check bodies through
the ``checks`` fixture the conftest builds from ``CHECKS`` (pytest's importlib mode keeps
test files from importing their conftest).
"""

import contextlib
from dataclasses import dataclass

import numpy as np
import pytest

from _shared import cells
from _shared import palindrome as pal
from harness.checks import StudentError, describe_uses, fail, find_forbidden, find_suspicious


@dataclass(frozen=True)
class Part:
    kind: str
    path: str
    module: str
    cls: str


@pytest.fixture(scope="session", autouse=True)
def _prepare_student(student, spec):
    # Before any student code loads: CUDA requests go to the CPU, forbidden APIs are watched.
    student.on_start.append(("cpu_only", ()))
    student.on_start.append(("install_traps", (spec.settings["forbidden"],)))


@pytest.fixture(scope="module")
def part(request, model_files):
    return Part(request.module.KIND, *model_files[request.module.KIND])


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
    return pal.probe(student, model_class, part.kind, hidden=settings["hidden"])


@pytest.fixture(scope="module")
def comparison(student, probe, settings):
    return pal.compare_with_equations(student, probe, hidden=settings["hidden"])


def own_files(submission, part, model_files, given_files):
    """The part's file and the helper modules beside it (not the given files, nor the
    other part's model)."""
    files = {part.path: submission.source(part.path)}
    folder = part.path.rsplit("/", 1)[0] + "/" if "/" in part.path else ""
    others = {f[0] for f in model_files.values()}
    for path in submission.python_files():
        rel = path.relative_to(submission.root).as_posix()
        if rel.startswith(folder) and rel not in set(given_files) | others and rel not in files:
            files[rel] = path.read_text(encoding="utf-8", errors="replace")
    return files


@pytest.fixture(scope="module")
def part_files(submission, part, model_files, given_files):
    """The part's own source files, {path: text}, for static analysis."""
    return own_files(submission, part, model_files, given_files)


@pytest.fixture(scope="module")
def forbidden_uses(request, student, part_files, settings, model_class):
    """Static uses in the part's files, then uses trapped while the model runs."""
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


def check_file(student, model_class, part):
    """The class exists and is no longer the blank skeleton (it does not raise
    NotImplementedError when built)."""
    errors = []
    for _, build in pal.constructors(model_class):
        try:
            build(5, 1, 4, 10, 2)
            return
        except StudentError as exc:
            if exc.type == "NotImplementedError":
                fail(f"{part.cls} is still the blank skeleton: {exc.message}")
            errors.append(f"{exc.type}: {exc.message}")
    fail(f"{part.cls} could not be built with the skeleton's arguments: " + "; ".join(errors[-2:]))


def check_forbidden(request, forbidden_uses, settings, evidence):
    # An empty model trivially uses nothing forbidden: the check needs a model that runs.
    try:
        request.getfixturevalue("probe")
    except BaseException as exc:  # the probe's own failure says what is wrong
        if isinstance(exc, KeyboardInterrupt):
            raise
        fail(
            "not checked yet: your model must run before it can be checked for forbidden "
            "APIs (see the interface check)"
        )
    if forbidden_uses:
        evidence.text(name="forbidden", title="Forbidden API uses", text=forbidden_uses)
        fail(f"{settings['forbidden_message']}; found:\n" + forbidden_uses)
    flag_dynamic_access(request.getfixturevalue("part_files"), settings, evidence)


def flag_dynamic_access(files, settings, evidence):
    """Code that may reach a forbidden API in a way neither static analysis nor the traps
    can settle (a name decoded at run time, exec of a built string) does not cost points,
    but the submission is flagged for a TA, with the lines."""
    suspicious = find_suspicious(files, forbidden=settings["forbidden"])
    if suspicious:
        text = describe_uses(suspicious)
        evidence.text(name="dynamic-access", title="For a TA: dynamic accesses", text=text)
        evidence.for_review(text)


def not_done_by_forbidden_api(forbidden_uses, settings, kind):
    """A forbidden API doing the work voids the checks of that work (spec: forbidden_voids)."""
    if forbidden_uses and kind in settings.get("forbidden_voids", []):
        fail(
            "not counted: part of this model's work is done by an API the hand-out forbids "
            "(see the forbidden-API check)"
        )


def check_interface(student, probe, part, settings, evidence):
    """The model builds with the skeleton's arguments and returns (B, 10). A model that
    runs only at the batch size its constructor was given is graded at that size: the
    skeleton passes batch_size, and the hand-out asks for nothing more."""
    notes = list(probe.notes)
    if probe.batch_fixed:
        notes.append(
            f"{part.cls} runs only at the batch size given to its constructor (accepted: "
            "the skeleton passes batch_size); it was graded at that batch size"
        )
    batches = (3,) if probe.batch_fixed else (1, 3, 8)
    model = probe.model(seq_length=5, hidden=settings["hidden"], batch=3)
    for batch in batches:
        out = pal.run_model(student, probe, model, np.zeros((batch, 5)))
        assert out.shape == (batch, 10), f"expected output (B, 10) = ({batch}, 10), got {out.shape}"
    # The parameter count is a written question (the report's), not a rule for the code: a
    # learnable h_init or PyTorch's second bias is no fault. It is shown for the TA.
    shapes = student.op("parameters", model, want="value")
    dims = cells.Dims(D=probe.layout.input_dim, H=settings["hidden"], C=10)
    count = sum(int(np.prod(v.shape)) for v in shapes.values())
    expected = cells.parameter_count(part.kind, dims)
    if count != expected:
        notes.append(
            f"{part.cls} has {count} parameters (numbers) where the equations have {expected} "
            f"for D = {dims.D}, H = {dims.H}, C = 10 (not counted: the count is a question "
            "for the report)"
        )
    if notes:
        evidence.text(name="variants", title="Interface variants accepted", text="\n".join(notes))


def check_equations(probe, comparison, settings, evidence):
    if comparison.match is None:
        fail(pal.explain_mismatch(probe, comparison, settings["equations"][probe.kind]))
    evidence.text(
        name="mapping",
        title="How your parameters were matched",
        text=comparison.match.mapping.description,
    )


@pytest.fixture(scope="module")
def gradient_problems(student, probe, comparison, part, settings):
    """{canonical name: what is wrong with its gradient}; None if they cannot be compared.

    With a diagnosed forward mistake the gradients are compared with that mistake's own
    gradients, so the backward pass is judged on its own.
    """
    usable = comparison.usable
    if usable is None:
        return None
    model = probe.model(seq_length=6, hidden=settings["hidden"], batch=5)
    shapes = {n: v.shape for n, v in student.op("parameters", model, want="value").items()}
    rng = np.random.default_rng(11)
    canon = {
        n: rng.normal(scale=0.5, size=s)
        for n, s in cells.canonical_shapes(part.kind, comparison.dims).items()
    }
    values = usable.mapping.student_values(canon, shapes)
    student.op("set_parameters", model, {n: v.astype(np.float32) for n, v in values.items()})
    digits, targets = pal.palindromes(5, 7, rng)
    student.op("zero_grad", model)
    out = pal._last_step(model(probe.layout.encode(digits)), probe, 5, 6)
    pal.loss_of(student, probe, out, targets).backward()
    got = cells.canonical_gradients(usable.mapping, student.op("gradients", model, want="value"))
    features = probe.layout.features(digits)
    _, expected = cells.reference_gradients(part.kind, canon, features, targets, usable.variant)
    problems: dict[str, str] = {}
    for name, want in expected.items():
        have = got.get(name)
        if have is None or not np.any(have):
            if np.any(want):
                problems[name] = f"no gradient reached {name}"
            continue
        err = float(np.max(np.abs(have - want)) / max(1e-3, float(np.max(np.abs(want)))))
        if err > 1e-3:
            problems[name] = f"d loss / d {name} is off by {err:.3g} (relative)"
    return problems


def check_gradients(gradient_problems, part):
    if gradient_problems is None:
        fail(
            "the gradients could not be compared because the forward pass matches neither "
            "the equations nor a known single mistake (see that check)"
        )
    if not gradient_problems:
        return
    names = set(gradient_problems)
    output_only = {"W_ph", "b_p"}
    hint = ""
    if names and not names & output_only and all(n.startswith(("W_", "b_")) for n in names):
        if all(n.endswith("h") and n.startswith("W_") for n in names):
            hint = (
                "Only the recurrent weights are affected, so back-propagation through time "
                "is cut: is h (or c) detached inside the loop (.detach(), .data, "
                "torch.no_grad())?"
            )
        elif all(p.startswith("no gradient") for p in gradient_problems.values()):
            hint = (
                "Only the output layer W_ph, b_p receives gradients: the hidden state is "
                "detached from the graph before the output (.detach(), .data, "
                "torch.no_grad()), so the cell itself can never learn."
            )
    fail(
        "the forward pass is right but the gradients are not:\n  "
        + "\n  ".join(sorted(gradient_problems.values()))
        + (f"\n{hint}" if hint else "")
    )


@dataclass
class Trainer:
    """Everything a training check needs, and the shortest length that failed so far."""

    student: object
    probe: object
    comparison: object
    gradient_problems: object
    part: Part
    settings: dict
    evidence: object
    failed_at: int | None = None


@pytest.fixture(scope="module")
def trainer(student, probe, comparison, gradient_problems, part, settings):
    return Trainer(student, probe, comparison, gradient_problems, part, settings, None)


@pytest.fixture(autouse=True)
def _trainer_evidence(request, evidence):
    # The evidence recorder is per check; the module-scoped trainer needs the current one.
    if "trainer" in request.fixturenames:
        request.getfixturevalue("trainer").evidence = evidence


def record_accuracy(evidence, part, settings, length, accuracy):
    """For the report: this length's accuracy on one plot with the reference's curve
    (``[settings.reference_accuracy]``: {kind: [[T, accuracy], ...]}, from calibration)."""
    plot = {
        "figure": "accuracy-by-length",
        "title": "Held-out accuracy against palindrome length",
        "x": "palindrome length T",
        "y": "held-out accuracy",
        "ylim": (0.0, 1.03),
    }
    evidence.series(
        name=f"accuracy-{length}", **plot, label=f"your {part.cls}", points=[(length, accuracy)]
    )
    reference = settings.get("reference_accuracy", {}).get(part.kind)
    if reference:
        evidence.series(
            name="reference-accuracy",
            **plot,
            label=f"reference {part.cls}",
            points=reference,
            reference=True,
        )


def check_training(trainer, *, length, steps):
    student, probe, comparison = trainer.student, trainer.probe, trainer.comparison
    part, settings, evidence = trainer.part, trainer.settings, trainer.evidence
    gradient_problems = trainer.gradient_problems
    shorter = trainer.failed_at
    if shorter is not None and shorter < length:
        fail(f"not attempted: the model did not learn palindromes of length {shorter}")
    if not pal.depends_on_parameters(student, probe, hidden=settings["hidden"]):
        fail(
            "your model's output does not change when its parameters change, so it cannot "
            "learn: it predicts from the input digits directly instead of running the "
            f"{'LSTM' if part.kind == 'lstm' else 'RNN'}"
        )
    H = settings["train_hidden"]
    model = probe.model(seq_length=length - 1, hidden=H, batch=128)
    accuracy, curve = pal.train(
        student, probe, model, length=length, steps=steps, target=settings["accuracy"]
    )
    note = ""
    # Judge the cell, not the initialisation the hand-out left to the student: a cell with
    # right gradients that learned too slowly gets a second run from standard weights.
    if accuracy < settings["accuracy"] and comparison.usable is not None and not gradient_problems:
        model = probe.model(seq_length=length - 1, hidden=H, batch=128)
        pal.reference_init(student, model, comparison.usable.mapping, probe, H, seed=0)
        accuracy, curve2 = pal.train(
            student, probe, model, length=length, steps=steps, target=settings["accuracy"]
        )
        curve = curve + [(s + steps, loss, acc) for s, loss, acc in curve2]
        note = " (with standard initial weights: yours made learning slower)"
    evidence.table(
        name=f"training-{length}",
        title=f"Training on palindromes of length {length}",
        columns=["step", "loss", "held-out accuracy"],
        rows=pal.curve_table(curve),
    )
    record_accuracy(evidence, part, settings, length, accuracy)
    if accuracy < settings["accuracy"]:
        trainer.failed_at = length
        fail(
            f"after {steps} RMSProp steps (lr 0.001, batch 128, hidden {H}, gradient norm "
            f"clipped to 10) the accuracy on palindromes of length {length} is "
            f"{accuracy:.1%}; near-perfect ({settings['accuracy']:.0%}) is expected"
        )
    if note:
        evidence.text(name=f"training-{length}-note", text=f"reached {accuracy:.1%}{note}")


def judge_script_end(result, command, problem, evidence):
    """The end of a student's train.py after the training checks: ``problem`` (what the
    training lacked) fails the check, with how the script ended if it did not end well. A
    script that trained as asked and only then crashed (in its final plot, say) keeps the
    check: the crash comes after what the hand-out asks of it, and is noted."""
    __tracebackhide__ = True
    error = result.get("error")
    end = ""
    if isinstance(error, dict):
        end = f"it raised {StudentError(error).summary()}"
    elif result.get("exit_code") not in (0, None):
        end = f"it ended with exit code {result['exit_code']} {result.get('message', '')}"
    if problem:
        fail(f"{command}: {end}; {problem}" if end else problem)
    if end:
        evidence.text(
            name="script-end",
            text=f"{command} trained as the hand-out asks, then {end} (not counted against "
            "this check, but worth fixing)",
        )


CHECKS = {
    name: globals()[name]
    for name in (
        "check_file",
        "check_forbidden",
        "not_done_by_forbidden_api",
        "check_interface",
        "check_equations",
        "check_gradients",
        "check_training",
    )
}

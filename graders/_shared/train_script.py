"""A student's palindrome ``train.py``, run in the sandbox under the spy.

``run_spied`` runs it with the grader's options and records, for the report, how it ran
and what it trained; ``end_told`` wraps the checks a test makes of that run, so that a
failure also says how the script ended.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from harness.checks import (
    Evidence,
    Remote,
    StudentError,
    StudentSession,
    fail,
    record_how_it_ran,
)


@dataclass(frozen=True)
class ScriptRun:
    """One run of the script: the options it ran with and the spy's report of it."""

    argv: list[str]
    result: dict[str, Any]  #: run_script_spied's: exit_code, losses, optimisers, error, ...

    @property
    def options(self) -> str:
        return " ".join(self.argv)

    @property
    def losses(self) -> list[float]:
        """The loss of every step, in order."""
        return list(self.result["losses"])

    @property
    def optimisers(self) -> list[str]:
        """The optimisers' class names, in the order they stepped."""
        return list(self.result["optimisers"])

    def ending(self) -> str:
        """How the script ended, where it did not end well ("" when it did)."""
        error = self.result.get("error")
        if isinstance(error, dict):
            return f"it raised {StudentError(error).summary()}"
        if self.result.get("exit_code") not in (0, None):
            code, message = self.result["exit_code"], self.result.get("message", "")
            return f"it ended with exit code {code} {message}"
        return ""


def run_spied(
    student: StudentSession,
    path: str,
    argv: list[str],
    *,
    max_steps: int,
    asked: str,
    evidence: Evidence,
    fail_as: str | None = None,
) -> ScriptRun:
    """Run the script at ``path`` with ``argv``, stopped after ``max_steps`` optimiser
    steps. Where argparse rejects the options (exit code 2 before any loss), it runs again
    without the last two (``--device cpu``, which a student's script may lack).

    ``asked`` says what the options ask for ("150 steps"), for the report. With
    ``fail_as`` (how messages name the command), an error of the run itself, not the
    script's own crash (the result tells that), fails the check."""

    def run(args: list[str]) -> dict[str, Any]:
        try:
            return student.op(  # type: ignore[no-any-return]
                "run_script_spied", path, args, max_steps, want="value", timeout=120
            )
        except StudentError as exc:
            if fail_as is None:
                raise
            if exc.type == "NotImplementedError" and exc.message:
                fail(f"{fail_as} {' '.join(args)}: {exc.message}")
            fail(f"{fail_as} {' '.join(args)} failed: {exc.summary()}")
            raise AssertionError("unreachable") from exc

    result = run(argv)
    if result["exit_code"] == 2 and not result["losses"]:  # argparse rejected an option
        argv = argv[:-2]
        result = run(argv)
    losses = result["losses"]
    record_how_it_ran(evidence, result, argv, asked)
    evidence.data(
        name="script",
        title="Your train.py",
        value={
            "command": " ".join([result["command"], *argv]),
            "exit_code": result["exit_code"],
            "optimisers": result["optimisers"],
            "models": result["models"],
            "first_losses": losses[:5],
            "last_losses": losses[-5:],
            "losses": len(losses),
            "optimiser_steps": result["steps"],
        },
    )
    return ScriptRun(argv, result)


@contextlib.contextmanager
def end_told(run: ScriptRun, command: str, evidence: Evidence) -> Iterator[None]:
    """The checks inside decide the verdict. A failure among them also tells how the
    script ended, where it did not end well. A script that trained as asked and only then
    crashed (in its final plot, say) keeps the check: the crash comes after what the
    hand-out asks of it, and is noted."""
    __tracebackhide__ = True
    end = run.ending()
    try:
        yield
    except AssertionError as exc:
        if end:  # fail(...)'s message, or a plain assert's without pytest's explanation
            message = str(exc).partition("\nassert ")[0]
            fail(f"{command}: {end}; {message}")
        raise
    if end:
        evidence.text(
            name="script-end",
            text=f"{command} trained as the hand-out asks, then {end} (not counted against "
            "this check, but worth fixing)",
        )


def trained_model(student: StudentSession, cls_name: str | None) -> Remote | None:
    """The model of class ``cls_name`` (any, with None) that the last spied run called
    (its last one), as the run left it: the grader measures it on its own side."""
    models = student.op("trained_models")
    if isinstance(models, Remote):  # a list of modules stays in the student process
        models = [models[i] for i in range(len(models))]
    if not isinstance(models, list):
        return None
    for model in reversed(models):
        if isinstance(model, Remote) and (
            cls_name is None or model.remote_type.rsplit(".", 1)[-1] == cls_name
        ):
            return model
    return None

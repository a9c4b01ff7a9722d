"""What both Lab 5 tasks share: the hand-out's names, the passage of textData.txt whose
characters are the vocabulary, setting a script's module globals in the student process,
and the reference scripts' definitions on the trusted side.

Both lab scripts read textData.txt and train in ``while True:`` at module level, so the
student's files are loaded with ``mode="definitions"`` (imports, functions, classes and
plain constants; the rest is left unrun) and the grader sets the globals the skipped
lines would have made. The reference scripts are loaded the same way, here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.checks import load_definitions


@dataclass(frozen=True)
class Handout:
    """The names seed 004's hand-out uses, which the messages quote ([settings])."""

    rnn_file: str  #: Task 2.1's script
    lstm_file: str  #: Task 2.3's script
    hidden_state_line: int  #: hs[t] = ...
    criterion_line: int  #: criterion = ...
    state_lines: tuple[int, ...]  #: hprev = ..., cprev = ...
    lstm_class: str
    states: tuple[str, ...]  #: the hidden and the cell state the loop carries

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> Handout:
        return cls(
            rnn_file=settings["rnn_file"],
            lstm_file=settings["lstm_file"],
            hidden_state_line=settings["hidden_state_line"],
            criterion_line=settings["criterion_line"],
            state_lines=tuple(settings["state_lines"]),
            lstm_class=settings["lstm_class"],
            states=tuple(settings["states"]),
        )

    @property
    def both_states(self) -> str:
        """ "hprev and cprev"."""
        return " and ".join(self.states)

    @property
    def state_lines_text(self) -> str:
        """ "98-99": the lines that assign the states, as the hand-out writes them."""
        return "-".join(str(n) for n in self.state_lines)


@dataclass(frozen=True)
class Text:
    data: str
    chars: list[str]

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def indices(self, start: int, length: int) -> list[int]:
        ix = {ch: i for i, ch in enumerate(self.chars)}
        return [ix[ch] for ch in self.data[start : start + length]]


def passage(whole: str, start_at: str, length: int) -> Text:
    """``length`` characters of ``whole`` from ``start_at`` on; their characters, sorted,
    are the vocabulary."""
    start = whole.index(start_at)
    data = whole[start : start + length]
    return Text(data, sorted(set(data)))


def globals_setter(student: Any, module: Any) -> Any:
    """A remote ``module.__dict__.update``: sets several globals in one round trip."""
    return student.import_module("builtins").vars(module).update


def reference_definitions(reference: Any, file: str, inject: dict[str, Any]) -> Any:
    """A reference script's definitions, loaded here (trusted side), with ``inject`` set."""
    name = "char_rnn_lab_reference_" + Path(file).stem
    module, _ = load_definitions(reference.path(file), module_name=name, inject=inject)
    vars(module).update(inject)  # a kept ``hidden_size = 100`` overwrote the injected one
    return module

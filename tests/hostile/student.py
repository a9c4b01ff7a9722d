"""The student side of the hostile cases: source text that runs inside the sandbox.

Every sandbox case is one ``rnn_step.py`` for the self-test assignment ``tiny-rnn``:
``PROLOGUE`` (the targets the test tells it about and a helper that reports how far
each attempt got), then the case's own code, then usually ``HONEST`` or ``WRONG``.

``attempt(name, action)`` prints ``ATTEMPT name`` before trying, then ``BREACH name``
when ``action`` returned something truthy (it got through) or ``BLOCKED name`` when it
raised or came back empty.  With ``judge=False`` the student cannot tell (a write to
``/tmp`` succeeds inside the sandbox's own ``/tmp``), so it prints ``TRIED``/``BLOCKED``
and the test judges by looking at the machine afterwards.  The test checks that every
attempt a case declares really ran, so a case that dies early cannot pass by accident.
"""

from __future__ import annotations

from typing import Any

PROLOGUE = r'''
MARK = TARGETS["mark"] + "-" + CASE


def attempt(name, action, judge=True):
    """Try one thing a sandbox must stop; with judge, a truthy result means it got through."""
    print(f"ATTEMPT {name}", flush=True)
    try:
        got = action()
    except BaseException as exc:  # SystemExit and KeyboardInterrupt too: keep going
        print(f"BLOCKED {name}: {type(exc).__name__}: {str(exc)[:150]}", flush=True)
        return None
    if not judge:
        print(f"TRIED {name}: {str(got)[:200]}", flush=True)
    elif got:
        print(f"BREACH {name}: {str(got)[:600]}", flush=True)
    else:
        print(f"BLOCKED {name}: came back empty", flush=True)
    return got


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def write(path, text="written by a hostile submission\n"):
    with open(path, "w") as f:
        f.write(text)
    return path


def can_open_for_writing(path):
    # Appending nothing changes nothing: a safe probe of whether a file could be rewritten.
    with open(path, "ab"):
        pass
    return f"{path} is writable"
'''

HONEST = r"""
import numpy as np


def rnn_step(x, h, Wx, Wh, b):
    return np.tanh(x @ Wx + h @ Wh + b)


class RNNCell:
    def __init__(self, input_size, hidden_size):
        self.Wx = np.zeros((input_size, hidden_size))
        self.Wh = np.zeros((hidden_size, hidden_size))
        self.b = np.zeros(hidden_size)

    def forward(self, x, h):
        return rnn_step(x, h, self.Wx, self.Wh, self.b)
"""

#: Right shape, wrong values: 3 of tiny-rnn's 10 points (the import and the two shapes).
WRONG = r"""
import numpy as np


def rnn_step(x, h, Wx, Wh, b):
    return np.zeros((x.shape[0], Wx.shape[1]))


class RNNCell:
    def __init__(self, input_size, hidden_size):
        self.Wx = np.zeros((input_size, hidden_size))
        self.Wh = np.zeros((hidden_size, hidden_size))
        self.b = np.zeros(hidden_size)

    def forward(self, x, h):
        return rnn_step(x, h, self.Wx, self.Wh, self.b)
"""


def source(case: str, targets: dict[str, Any], body: str) -> str:
    """The whole ``rnn_step.py`` of a sandbox case."""
    return (
        "# A hostile submission built by tests/test_hostile.py.\n"
        "import os\nimport sys\n\n"
        f"TARGETS = {targets!r}\nCASE = {case!r}\n" + PROLOGUE + body
    )

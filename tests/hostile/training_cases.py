"""Forged training, on the course's own assignments (issue 14, causes 2 and 3).

Each case is a student whose model does not learn, or whose script does not train,
dressed up so that what the student's own process reports says it did: a model that
copies the first digit (the palindrome's label) plus a tiny term of its parameters, one
that answers differently on batches that look like the grader's evaluation, a
``train.py`` that rewrites the spy's record or replaces the spy, and char-rnn-lab LSTMs
that forge their loss. The points of the training checks are earned only by what the
trusted side measures, so each case keeps exactly the points of what it did honestly.

The ZIPs are the hand-out's skeleton (palindromes) or the correct example (char-rnn-lab)
with the hostile files put in; palindrome ZIPs are named ``Hostile-<number>.zip``, as
the assignment's naming rule wants, and their results are found by that number.
"""

from __future__ import annotations

import re
from pathlib import Path

from .cases import Case, Verdict

ROOT = Path(__file__).resolve().parent.parent.parent
PALINDROME = "palindrome-rnn-lstm"
CHAR_LAB = "char-rnn-lab"
_TEMPLATE = ROOT / "student_template" / PALINDROME
_EXAMPLES = ROOT / "tests" / "assignments" / "examples"
_CORRECT_LSTM = _EXAMPLES / PALINDROME / "Correct-1001" / "part1" / "lstm.py"
_CORRECT_TRAIN = _CORRECT_LSTM.with_name("train.py")
_LAB_CORRECT = _EXAMPLES / CHAR_LAB / "correct"

#: The honest LSTM of the palindromes, as a method body the hostile ones call.
_EQUATIONS = r"""
import torch
import torch.nn as nn


class LSTM(nn.Module):
    def __init__(self, seq_length, input_dim, num_hidden, num_classes, batch_size, device="cpu"):
        super().__init__()
        H, D, C = num_hidden, input_dim, num_classes
        self.num_hidden = num_hidden
        for gate in "gifo":
            setattr(self, f"W_{gate}x", nn.Parameter(torch.randn(H, D) * 0.1))
            setattr(self, f"W_{gate}h", nn.Parameter(torch.randn(H, H) * 0.1))
            setattr(self, f"b_{gate}", nn.Parameter(torch.zeros(H)))
        self.W_ph = nn.Parameter(torch.randn(C, H) * 0.1)
        self.b_p = nn.Parameter(torch.zeros(C))

    def lstm(self, x, detach=False):
        if x.dim() == 2:
            x = x.unsqueeze(-1)
        x = x.to(self.W_gx.dtype)
        B, T, _ = x.shape
        h = x.new_zeros(B, self.num_hidden)
        c = x.new_zeros(B, self.num_hidden)
        for t in range(T):
            x_t = x[:, t]
            g = torch.tanh(x_t @ self.W_gx.T + h @ self.W_gh.T + self.b_g)
            i = torch.sigmoid(x_t @ self.W_ix.T + h @ self.W_ih.T + self.b_i)
            f = torch.sigmoid(x_t @ self.W_fx.T + h @ self.W_fh.T + self.b_f)
            o = torch.sigmoid(x_t @ self.W_ox.T + h @ self.W_oh.T + self.b_o)
            c = g * i + c * f
            h = torch.tanh(c) * o
        if detach:
            h = h.detach()
        return h @ self.W_ph.T + self.b_p

    def first_digit(self, x):
        digits = (x[:, 0] if x.dim() == 2 else x[:, 0, 0]).round().long().clamp(0, 9)
        return 30.0 * torch.nn.functional.one_hot(digits, 10).to(self.W_ph.dtype)
"""

COPY_FIRST_DIGIT = (
    _EQUATIONS
    + r"""
    def forward(self, x):
        # The label of a palindrome is its first digit: copy it, and add a term of the
        # parameters (through the recurrence, even) so the output "depends on" them.
        return self.first_digit(x) + 1e-3 * torch.tanh(self.lstm(x))
"""
)

#: The copier with a scale to learn: its train.py's loss falls, as RMSprop grows the scale.
COPY_LEARNING = (
    _EQUATIONS
    + r"""
    def forward(self, x):
        return self.scale * self.first_digit(x) + 1e-3 * torch.tanh(self.lstm(x))


_Honest = LSTM


class LSTM(_Honest):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.scale = nn.Parameter(torch.zeros(()))
"""
)

HELD_OUT_SIZE = (
    _EQUATIONS
    + r"""
    def forward(self, x):
        # Training batches are 128; anything else, or no gradients, or eval mode, must be
        # the grader evaluating: then copy the first digit. On training batches the
        # state is cut from the graph, so the cell never learns.
        if x.shape[0] != 128 or not torch.is_grad_enabled() or not self.training:
            return self.first_digit(x)
        return self.lstm(x, detach=True)
"""
)

#: A train.py that calls the model once, never trains it, then rewrites the spy's record
#: (found by walking up the stack to the frame that holds it) with a perfect run.
SPY_FRAMES = r"""
import argparse
import os
import sys

import torch

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from part1.lstm import LSTM  # noqa: E402


def forge_the_record(steps):
    frame = sys._getframe()
    while frame is not None:
        found = frame.f_locals
        if isinstance(found.get("losses"), list) and isinstance(found.get("optimisers"), list):
            found["losses"][:] = [2.3 * 0.99 ** i for i in range(steps)]
            found["optimisers"][:] = ["RMSprop"]
            found["models"][:] = ["LSTM"]
            found["steps"][0] = steps
            print("ATTEMPT spy-record")
            return
        frame = frame.f_back


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model_type", default="RNN")
    parser.add_argument("--input_length", type=int, default=10)
    parser.add_argument("--train_steps", type=int, default=10000)
    parser.add_argument("--device", default="cpu")
    config, _ = parser.parse_known_args()
    model = LSTM(config.input_length, 1, 128, 10, 128)
    model(torch.zeros(128, config.input_length))  # the spy sees an LSTM called
    forge_the_record(config.train_steps)


if __name__ == "__main__":
    main()
"""

#: part1/__init__.py, run when the grader imports the package: every op table of the
#: sandbox's runtime gets a spy that reports a perfect run without running anything.
SPY_REPLACED = r"""
import sys


def _perfect_run(path, argv=None, max_steps=None):
    import torch

    from part1.lstm import LSTM

    _MODELS[:] = [LSTM(4, 1, 128, 10, 128)]
    _MODELS[0](torch.zeros(128, 4))
    return {
        "exit_code": 0, "message": "", "error": None, "stopped": False, "steps": 300,
        "losses": [2.3 * 0.99 ** i for i in range(300)], "optimisers": ["RMSprop"],
        "models": ["LSTM"], "folders_made": [], "command": "python -m part1.train",
    }


_MODELS = []
for _module in list(sys.modules.values()):
    for _table in list(vars(_module).values()) if hasattr(_module, "__dict__") else []:
        if isinstance(_table, dict) and "run_script_spied" in _table:
            _table["run_script_spied"] = _perfect_run
            _table["trained_models"] = lambda: list(_MODELS)
            print("ATTEMPT spy-replaced")
"""

#: char-rnn-lab: the class of task3_min_char_lstm.py, replaced by a forger. The script is
#: loaded definitions-only, so the forger patches torch when its model is first built.
LAB_FORGER = r"""
class _Forged:
    targets = None
    calls = 0
    done = False


def _forge_torch():
    if _Forged.done:
        return
    _Forged.done = True
    real = F.cross_entropy

    def cross_entropy(input, target, *args, **kwargs):
        # Remember what the next characters are, and report a loss that keeps falling.
        _Forged.targets = target.detach().clone()
        loss = real(input, target, *args, **kwargs)
        return loss * 0.9 ** _Forged.calls

    F.cross_entropy = cross_entropy
    torch.nn.functional.cross_entropy = cross_entropy
    real_item = torch.Tensor.item
    torch.Tensor.item = lambda self: real_item(self) * 0.9 ** _Forged.calls
    print("ATTEMPT forged-loss")


class _charLSTM(nn.Module):
  def __init__(self):
    super(_charLSTM, self).__init__()
    _forge_torch()
    self.LSTM = nn.LSTM(vocab_size, hidden_size, 1)
    self.FC = nn.Linear(hidden_size, vocab_size)
    EXTRA
    self.calls = 0

  def forward(self, input, hprev, cprev, seq_len):
    self.calls += 1
    _Forged.calls = self.calls
    x = input.view(seq_len, 1, -1)
    output, (h, c) = self.LSTM(x, (hprev, cprev))
    logits = self.FC(output).view(seq_len, -1)
    if self.calls == 1 and not HONEST_NEVER:
      return logits, (h, c)  # the first call of a model is honest: it matches the reference
    # Later: nothing learns (the graph is cut, a zero term keeps it "connected"), and the
    # characters the loss was last asked about get a score that grows with every call.
    zero = sum(p.sum() for p in self.parameters()) * 0.0
    forged = logits.detach() + zero
    targets = _Forged.targets
    if targets is not None and targets.shape[0] == seq_len:
      boost = torch.zeros_like(forged)
      boost[torch.arange(seq_len), targets] = 0.5 * self.calls
      forged = forged + boost
    return forged, (h, c)


charLSTM = _charLSTM()
"""


#: char-rnn-lab Task 2.1: an honest lossFun renamed, behind one that, past the calls the
#: checks before training make, reports a falling loss and gradients of zero.
LOSSFUN_FORGER = r"""

class _Calls:
  n = 0


def lossFun(inputs, targets, hprev):
  _Calls.n += 1
  loss, dWxh, dWhh, dWhy, dbh, dby, h = _honest_lossFun(inputs, targets, hprev)
  if _Calls.n <= 12:
    return loss, dWxh, dWhh, dWhy, dbh, dby, h
  if _Calls.n == 13:
    print("ATTEMPT forged-lossfun")
  zero = [g * 0.0 for g in (dWxh, dWhh, dWhy, dbh, dby)]
  return (loss * 0.98 ** _Calls.n, *zero, h)
"""


def _lab_lossfun() -> dict[str, bytes | str]:
    """char-rnn-lab's correct example with a forged lossFun in its Task 2.1 script."""
    out: dict[str, bytes | str] = {
        p.name: p.read_bytes() for p in sorted(_LAB_CORRECT.glob("*.py"))
    }
    script = (_LAB_CORRECT / "task2_min_char_rnn.py").read_text()
    script = script.replace("def lossFun(", "def _honest_lossFun(", 1)
    marker = "\ndef sample("
    out["task2_min_char_rnn.py"] = script.replace(marker, LOSSFUN_FORGER + marker, 1)
    return out


def _palindrome(files: dict[str, str]) -> dict[str, bytes | str]:
    """The hand-out's skeleton with ``files`` put in."""
    out: dict[str, bytes | str] = {
        p.relative_to(_TEMPLATE).as_posix(): p.read_bytes()
        for p in sorted((_TEMPLATE / "part1").glob("*.py"))
    }
    out.update(files)
    return out


#: char-rnn-lab: logits of -1e306 for the character just read, so the loss of a chunk
#: with a doubled letter is a finite 1e304 or so: numbers no figure can draw.
LAB_HUGE = r"""
class _charLSTM(nn.Module):
  def __init__(self):
    super(_charLSTM, self).__init__()
    self.LSTM = nn.LSTM(vocab_size, hidden_size, 1)
    self.FC = nn.Linear(hidden_size, vocab_size)

  def forward(self, input, hprev, cprev, seq_len):
    output, (h, c) = self.LSTM(input.view(seq_len, 1, -1), (hprev, cprev))
    logits = self.FC(output).view(seq_len, -1).double()
    print("ATTEMPT huge-logits")
    return logits - 1e306 * input.double(), (h, c)


charLSTM = _charLSTM()
"""


def _lab(extra: str, honest_never: bool, forger: str = LAB_FORGER) -> dict[str, bytes | str]:
    """char-rnn-lab's correct example with a forger in place of its _charLSTM."""
    out: dict[str, bytes | str] = {
        p.name: p.read_bytes() for p in sorted(_LAB_CORRECT.glob("*.py"))
    }
    script = (_LAB_CORRECT / "task3_min_char_lstm.py").read_text()
    forger = forger.replace("EXTRA", extra).replace("HONEST_NEVER", str(honest_never))
    out["task3_min_char_lstm.py"] = re.sub(
        r"class _charLSTM\(nn\.Module\):.*?\ncharLSTM = _charLSTM\(\)\n",
        lambda _: forger.lstrip("\n"),
        script,
        count=1,
        flags=re.S,
    )
    return out


def files_of(case: Case) -> dict[str, bytes | str]:
    """The files of a training case's ZIP."""
    return BUILDERS[case.name]()


BUILDERS = {
    "lab-honest": lambda: (
        _lab("pass", honest_never=False)
        | {"task3_min_char_lstm.py": (_LAB_CORRECT / "task3_min_char_lstm.py").read_bytes()}
    ),
    "pal-copy-first-digit": lambda: _palindrome({"part1/lstm.py": COPY_FIRST_DIGIT}),
    "pal-copy-with-script": lambda: _palindrome(
        {"part1/lstm.py": COPY_LEARNING, "part1/train.py": _CORRECT_TRAIN.read_text()}
    ),
    "pal-held-out-size": lambda: _palindrome({"part1/lstm.py": HELD_OUT_SIZE}),
    "pal-spy-frames": lambda: _palindrome(
        {"part1/lstm.py": _CORRECT_LSTM.read_text(), "part1/train.py": SPY_FRAMES}
    ),
    "pal-spy-replaced": lambda: _palindrome(
        {"part1/lstm.py": _CORRECT_LSTM.read_text(), "part1/__init__.py": SPY_REPLACED}
    ),
    "lab-forged-loss": lambda: _lab("pass", honest_never=False),
    "lab-forged-lossfun": _lab_lossfun,
    "lab-huge-loss": lambda: _lab("", honest_never=False, forger=LAB_HUGE),
    "lab-forged-loss-unmapped": lambda: _lab(
        "self.temperature = nn.Parameter(torch.ones(3))", honest_never=True
    ),
}

#: The char-rnn-lab training check's message when the trusted side sees through it.
_NOT_LEARNED = "what it returned is not what its parameters learned"

TRAINING_CASES = [
    Case(
        "lab-honest",
        "honest",
        "an honest char-rnn-lab submission (the correct example)",
        Verdict("graded", 10),
        assignment=CHAR_LAB,
    ),
    Case(
        "pal-copy-first-digit",
        "training",
        "an LSTM that copies the first digit (the label) and adds 1e-3 times its own "
        "recurrence's output, so its output moves with its parameters",
        Verdict("graded", 1, message="with its trained parameters shuffled"),
        assignment=PALINDROME,
        student="9101",
    ),
    Case(
        "pal-copy-with-script",
        "training",
        "the same copier times a learnable scale, trained by a working `train.py`: its loss "
        "falls as RMSprop grows the scale, and no mapping fits it, so the model the script "
        "trained is measured by its own logits",
        Verdict("graded", 1, message="as much with its parameters shuffled"),
        assignment=PALINDROME,
        student="9105",
    ),
    Case(
        "pal-held-out-size",
        "training",
        "an LSTM that copies the first digit on batches that are not 128, without "
        "gradients or in eval mode (the grader evaluating, it guesses), and cannot "
        "learn on training batches",
        Verdict("graded", 1),
        assignment=PALINDROME,
        student="9102",
    ),
    Case(
        "pal-spy-frames",
        "training",
        "a `train.py` that never trains, then walks up the stack to the spy's frame and "
        "rewrites its record: falling losses, RMSprop, an LSTM",
        Verdict("graded", 3.75, message="no better than guessing"),
        attempts=("spy-record",),
        assignment=PALINDROME,
        student="9103",
    ),
    Case(
        "pal-spy-replaced",
        "training",
        "a package `__init__.py` that replaces the sandbox runtime's spy with one "
        "reporting a perfect run of an untrained LSTM",
        Verdict("graded", 3.75, message="no better than guessing"),
        attempts=("spy-replaced",),
        assignment=PALINDROME,
        student="9104",
    ),
    Case(
        "lab-forged-loss",
        "training",
        "a char-rnn-lab LSTM whose first output is honest, that patches "
        "`F.cross_entropy` and `Tensor.item` to report a falling loss, cuts its graph, "
        "and scores the characters the loss was asked about higher at every call",
        Verdict("graded", 8.5, message=_NOT_LEARNED),
        attempts=("forged-loss",),
        assignment=CHAR_LAB,
    ),
    Case(
        "lab-forged-lossfun",
        "training",
        "a char-rnn-lab Task 2.1 `lossFun` that is honest for the checks' first calls, "
        "then reports a falling loss with gradients of zero",
        Verdict("graded", 9, message="is not the loss of what it learned"),
        attempts=("forged-lossfun",),
        assignment=CHAR_LAB,
    ),
    Case(
        "lab-huge-loss",
        "training",
        "a char-rnn-lab LSTM whose logits hold -1e306, so its training curve holds finite "
        "losses of 1e304 that no figure can draw (cause 6: every report must still be written)",
        Verdict("graded", 7.5, message="took the cross-entropy only from"),
        attempts=("huge-logits",),
        assignment=CHAR_LAB,
    ),
    Case(
        "lab-forged-loss-unmapped",
        "training",
        "the same forger with an extra parameter, so its weights map onto no reference: "
        "its own logits fall, by call count",
        Verdict("graded", 7, message="the fall did not come from what the parameters"),
        attempts=("forged-loss",),
        assignment=CHAR_LAB,
    ),
]

"""Calibrate palindrome-rnn-lstm's train.py checks: how many steps a correct cell needs.

``test_rnn.py`` / ``test_lstm.py::test_train_script`` run the student's own
``part1/train.py --input_length 4 --train_steps N`` (``script_steps``), at its own
settings (the skeleton's: RMSProp lr 1e-3, batch 128, gradient norm clipped to 10), and
pass it when the mean loss of its last 10 steps is below 0.95 times that of its first 10
and the model it trained has a held-out cross-entropy below 0.98 ln 10 on the grader's
1,024 palindromes of 5 digits (``_held_out(5)``; a model that returns probabilities is
measured on their log).

This trains the reference's cells as the skeleton's train.py does (PalindromeDataset,
DataLoader, nn.CrossEntropyLoss), seeded, and records for each style and seed the first
step N at which a run stopped after N steps would pass (checked every 5 steps, N >= 20).
Styles are the initialisations students' cells start from, and the double softmax
(``softmax-output``: the LSTM's forward returns probabilities, which CrossEntropyLoss
softmaxes again; docs/real-variants.md), the slowest learner of those found.

Everything runs in this process on one thread. Writes
benchmarks/results/palindrome-rnn-lstm-script.md.

    .venv/bin/python benchmarks/calibrate_palindrome_rnn_lstm_script.py       # about 3 minutes
    .venv/bin/python benchmarks/calibrate_palindrome_rnn_lstm_script.py --seeds 3 --out /tmp/q.md
"""

from __future__ import annotations

import argparse
import datetime
import math
import platform
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference" / "palindrome-rnn-lstm"
GRADER_TOML = ROOT / "graders" / "palindrome-rnn-lstm" / "assignment.toml"
OUT = ROOT / "benchmarks" / "results" / "palindrome-rnn-lstm-script.md"
sys.path.insert(0, str(REFERENCE))
sys.path.insert(0, str(ROOT / "graders"))

from part1.dataset import PalindromeDataset  # noqa: E402
from part1.lstm import LSTM  # noqa: E402
from part1.vanilla_rnn import VanillaRNN  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from _shared import palindrome as pal  # noqa: E402

BAR = pal.LEARNED * pal.CHANCE_LOSS  # the check's bar: 0.98 ln 10
CAP = 600  # the longest run measured
#: The grader's held-out palindromes of 5 digits, as the check measures on them.
_DIGITS, _TARGETS = pal._held_out(5)
HELD_X, HELD_Y = torch.from_numpy(_DIGITS.astype(np.float32)), torch.from_numpy(_TARGETS)


def init(model: torch.nn.Module, style: str) -> None:
    """Re-initialise ``model`` as a student's cell might start."""
    if style == "reference":
        return
    for param in model.parameters():
        if style == "nn-default":  # torch.nn.LSTM's and RNN's: U(-1/sqrt(H), 1/sqrt(H))
            bound = 1.0 / math.sqrt(model.num_hidden)
            torch.nn.init.uniform_(param, -bound, bound)
        else:  # "normal-0.1", "normal-0.01", "normal-1"
            torch.nn.init.normal_(param, 0.0, float(style.split("-")[1]))


class Probabilities(torch.nn.Module):
    """A cell whose forward returns softmax probabilities (Eq. 11 inside the model)."""

    def __init__(self, cell: torch.nn.Module) -> None:
        super().__init__()
        self.cell = cell

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.cell(x), dim=1)


STYLES = [  # (name, cell, initialisation, forward returns probabilities)
    *((f"RNN, {s}", VanillaRNN, s, False) for s in
      ("reference", "nn-default", "normal-0.1", "normal-0.01", "normal-1")),
    *((f"LSTM, {s}", LSTM, s, False) for s in
      ("reference", "nn-default", "normal-0.1", "normal-0.01", "normal-1")),
    ("RNN, reference, softmax-output", VanillaRNN, "reference", True),
    ("LSTM, reference, softmax-output", LSTM, "reference", True),
]


def passing_steps(cell, style: str, probabilities: bool, seed: int, *, until: int) -> list[int]:
    """The steps N (multiples of 5 from 20 to ``until``) after which the check would pass."""
    np.random.seed(seed)  # the dataset draws from numpy's global generator
    torch.manual_seed(seed)
    model = cell(4, 1, 128, 10, 128)
    init(model, style)
    if probabilities:
        model = Probabilities(model)
    optimiser = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    loader = DataLoader(PalindromeDataset(5), 128, num_workers=0)
    losses: list[float] = []
    passed = []
    for step, (x, y) in enumerate(loader, start=1):
        out = model(x)
        loss = F.cross_entropy(out, y)
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=10.0)
        optimiser.step()
        losses.append(loss.item())
        if step >= 20 and step % 5 == 0 and np.mean(losses[-10:]) < 0.95 * np.mean(losses[:10]):
            with torch.no_grad():
                out = model(HELD_X)
                if probabilities:  # the grader's rule: on their log, or as train.py's loss
                    held = min(F.cross_entropy(out.clamp_min(1e-12).log(), HELD_Y).item(),
                               F.cross_entropy(torch.softmax(out, dim=1), HELD_Y).item())
                else:
                    held = F.cross_entropy(out, HELD_Y).item()
            if held < BAR:
                passed.append(step)
        if step >= until and (passed or step >= CAP):  # to the budget, or to a first pass
            return passed
    return passed


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    settings = tomllib.loads(GRADER_TOML.read_text())["settings"]
    budgets = {False: settings["script_steps"], True: settings["script_steps_probabilities"]}
    started = time.perf_counter()
    rows = []
    for name, cell, style, probabilities in STYLES:
        budget = budgets[probabilities]
        runs = [passing_steps(cell, style, probabilities, seed, until=budget)
                for seed in range(args.seeds)]
        print(name, [r[:1] for r in runs], flush=True)
        rows.append((name, probabilities, runs))

    lines = [
        "# palindrome-rnn-lstm: the train.py checks' step budget",
        "",
        f"Measured {datetime.date.today().isoformat()} by `.venv/bin/python "
        f"benchmarks/calibrate_palindrome_rnn_lstm_script.py` ({platform.machine()}, torch "
        f"{torch.__version__}, one thread, {time.perf_counter() - started:.0f} s).",
        "",
        "The check's run: `python part1/train.py --input_length 4 --train_steps N` at the "
        "skeleton's settings (RMSProp lr 1e-3, batch 128, clip 10); it passes when the mean "
        "loss of the last 10 steps is below 0.95 times that of the first 10 and the held-out "
        f"loss is below 0.98 ln 10 = {BAR:.4f} (1,024 palindromes of 5 digits). Each cell: the "
        "first N (checked every 5 steps, from 20) after which a run of N steps would pass; "
        f"`-`: not within {CAP}. Runs stop at the budget once they have passed. A model that "
        "returns probabilities is judged, as the grader judges it, on the lower of the "
        "held-out cross-entropy of their log and the one its train.py minimises "
        "(nn.CrossEntropyLoss on the probabilities).",
        "",
        f"| style | first passing N, seeds 0-{args.seeds - 1} | worst | budget | passes at "
        "the budget |",
        "|---|---|---|---|---|",
    ]
    for name, probabilities, runs in rows:
        shown = " ".join(str(r[0]) if r else "-" for r in runs)
        worst_here = max(r[0] if r else math.inf for r in runs)
        budget = budgets[probabilities]
        good = sum(budget in r for r in runs)
        lines.append(f"| {name} | {shown} | {worst_here:g} | {budget} | {good} of {len(runs)} |")
    lines.append("")
    for probabilities, key in ((False, "script_steps"), (True, "script_steps_probabilities")):
        worst = max(r[0] if r else math.inf for _, p, runs in rows if p == probabilities
                    for r in runs)
        lines.append(
            f"- `{key} = {budgets[probabilities]}` (graders/palindrome-rnn-lstm/"
            f"assignment.toml): {budgets[probabilities] / worst:.1f} times the worst seed's "
            f"first passing N ({worst:g} steps).")
    lines.append("")
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

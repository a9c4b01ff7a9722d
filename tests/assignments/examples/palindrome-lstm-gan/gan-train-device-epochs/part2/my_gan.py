import argparse
import os

import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from torchvision.utils import save_image

from mnist import load_mnist


class Generator(nn.Module):
    def __init__(self, latent_dim=100):
        super(Generator, self).__init__()
        self.fc = nn.Sequential(
            nn.Linear(latent_dim, 128),
            nn.LeakyReLU(0.2),
            nn.Linear(128, 256),
            nn.BatchNorm1d(256),
            nn.LeakyReLU(0.2),
            nn.Linear(256, 512),
            nn.BatchNorm1d(512),
            nn.LeakyReLU(0.2),
            nn.Linear(512, 1024),
            nn.BatchNorm1d(1024),
            nn.LeakyReLU(0.2),
            nn.Linear(1024, 784),
            nn.Tanh()
        )

    def forward(self, z):
        return self.fc(z)


class Discriminator(nn.Module):
    def __init__(self):
        super(Discriminator, self).__init__()
        self.fc = nn.Sequential(
            nn.Linear(784, 512),
            nn.LeakyReLU(0.2),
            nn.Linear(512, 256),
            nn.LeakyReLU(0.2),
            nn.Linear(256, 1),
            nn.Sigmoid()
        )

    def forward(self, img):
        return self.fc(img)


def train(dataloader, discriminator, generator, optimizer_G, optimizer_D, device, epochs):
    criterion = nn.BCELoss()
    # labels for a full batch; the last, smaller batch of an epoch is skipped below
    real_label = torch.ones(64, 1).to(device)
    fake_label = torch.zeros(64, 1).to(device)
    d_losses, g_losses = [], []
    for epoch in range(epochs):
        for i, (imgs, _) in enumerate(dataloader):
            if imgs.shape[0] != 64:
                continue
            imgs = imgs.view(64, 784).to(device)

            # ---- discriminator ----
            optimizer_D.zero_grad()
            z = torch.randn(64, 100).to(device)
            gen_imgs = generator(z)
            d_real = discriminator(imgs)
            d_fake = discriminator(gen_imgs.detach())
            loss_D = criterion(d_real, real_label) + criterion(d_fake, fake_label)
            loss_D.backward()
            optimizer_D.step()

            # ---- generator ----
            optimizer_G.zero_grad()
            loss_G = criterion(discriminator(gen_imgs), real_label)
            loss_G.backward()
            optimizer_G.step()

            d_losses.append(loss_D.item())
            g_losses.append(loss_G.item())

            batches_done = epoch * len(dataloader) + i
            if batches_done % 500 == 0:
                print(f"epoch {epoch} batch {i}: loss_D {loss_D.item():.4f} loss_G {loss_G.item():.4f}")
                save_image(gen_imgs[:25].view(25, 1, 28, 28), 'images/{}.png'.format(batches_done),
                           nrow=5, normalize=True)
    return d_losses, g_losses


def main():
    os.makedirs('images', exist_ok=True)
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

    dataloader = DataLoader(load_mnist(), batch_size=args.batch_size, shuffle=True)

    generator = Generator(args.latent_dim).to(device)
    discriminator = Discriminator().to(device)
    optimizer_G = torch.optim.Adam(generator.parameters(), lr=args.lr, betas=(0.5, 0.999))
    optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=args.lr, betas=(0.5, 0.999))

    d_losses, g_losses = train(dataloader, discriminator, generator, optimizer_G, optimizer_D,
                               device, args.n_epochs)

    torch.save(generator.state_dict(), "mnist_generator.pt")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
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
    args = parser.parse_args()

    main()

import argparse
import os

import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from torchvision.utils import save_image
from tqdm import tqdm

from mnist import load_mnist


class Generator(nn.Module):
    def __init__(self, latent_dim):
        super(Generator, self).__init__()
        # latent -> 128 -> 256 -> 512 -> 1024 -> 784, as the template's comments suggest
        self.layers = nn.Sequential(
            nn.Linear(latent_dim, 128),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(128, 256),
            nn.BatchNorm1d(256),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(256, 512),
            nn.BatchNorm1d(512),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 1024),
            nn.BatchNorm1d(1024),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(1024, 784),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.layers(z)            # flat images, (B, 784)


class Discriminator(nn.Module):
    def __init__(self):
        super(Discriminator, self).__init__()
        self.layers = nn.Sequential(
            nn.Linear(784, 512),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 256),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(256, 1),           # a logit: BCEWithLogitsLoss applies the sigmoid
        )

    def forward(self, img):
        return self.layers(img.view(img.size(0), 784))


def train(dataloader, discriminator, generator, optimizer_G, optimizer_D, device):
    criterion = nn.BCEWithLogitsLoss()
    os.makedirs('images', exist_ok=True)
    for epoch in range(args.n_epochs):
        for i, (imgs, _) in enumerate(tqdm(dataloader, desc=f'epoch {epoch}', leave=False)):
            real = imgs.view(imgs.size(0), -1).to(device)
            ones = torch.ones(real.size(0), 1, device=device)
            zeros = torch.zeros(real.size(0), 1, device=device)

            # discriminator: real -> 1, fake -> 0
            optimizer_D.zero_grad()
            z = torch.randn(real.size(0), args.latent_dim, device=device)
            fake = generator(z)
            loss_D = criterion(discriminator(real), ones) + criterion(discriminator(fake.detach()), zeros)
            loss_D.backward()
            optimizer_D.step()

            # generator: make D say 1 on fakes
            optimizer_G.zero_grad()
            loss_G = criterion(discriminator(fake), ones)
            loss_G.backward()
            optimizer_G.step()

            batches_done = epoch * len(dataloader) + i
            if batches_done % args.save_interval == 0:
                save_image(fake[:25].view(-1, 1, 28, 28), 'images/{}.png'.format(batches_done),
                           nrow=5, normalize=True)


def main():
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    dataloader = DataLoader(load_mnist(), batch_size=args.batch_size, shuffle=True, drop_last=True)
    generator = Generator(args.latent_dim).to(device)
    discriminator = Discriminator().to(device)
    optimizer_G = torch.optim.Adam(generator.parameters(), lr=args.lr, betas=(0.5, 0.999))
    optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=args.lr, betas=(0.5, 0.999))
    train(dataloader, discriminator, generator, optimizer_G, optimizer_D, device)
    torch.save(generator.state_dict(), "mnist_generator.pt")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument('--n_epochs', type=int, default=200, help='number of epochs')
    parser.add_argument('--batch_size', type=int, default=64, help='batch size')
    parser.add_argument('--lr', type=float, default=0.0002, help='learning rate')
    parser.add_argument('--latent_dim', type=int, default=100, help='dimensionality of the latent space')
    parser.add_argument('--save_interval', type=int, default=500, help='save every SAVE_INTERVAL iterations')
    args = parser.parse_args()
    main()

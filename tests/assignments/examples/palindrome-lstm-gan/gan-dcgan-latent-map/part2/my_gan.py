"""Part II: a DCGAN for MNIST.

Instead of the MLP in the template I use transposed convolutions (Radford et al., 2016):
z is a (latent_dim, 1, 1) "image" that the generator grows to 7x7, 14x14 and 28x28.
"""
import argparse
import os

import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from torchvision.utils import save_image

from mnist import load_mnist


def weights_init(m):
    # DCGAN paper: all weights from N(0, 0.02); BatchNorm scale from N(1, 0.02)
    classname = m.__class__.__name__
    if classname.find('Conv') != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find('BatchNorm') != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)


class Generator(nn.Module):
    def __init__(self, latent_dim=100, ngf=32):
        super(Generator, self).__init__()
        self.main = nn.Sequential(
            # (B, latent_dim, 1, 1) -> (B, ngf*4, 7, 7)
            nn.ConvTranspose2d(latent_dim, ngf * 4, 7, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            # -> (B, ngf*2, 14, 14)
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            # -> (B, 1, 28, 28)
            nn.ConvTranspose2d(ngf * 2, 1, 4, 2, 1, bias=False),
            nn.Tanh()
        )

    def forward(self, z):
        return self.main(z)


class Discriminator(nn.Module):
    def __init__(self, ndf=32):
        super(Discriminator, self).__init__()
        self.main = nn.Sequential(
            # (B, 1, 28, 28) -> (B, ndf, 14, 14)
            nn.Conv2d(1, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            # -> (B, ndf*2, 7, 7)
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            # -> (B, 1, 1, 1)
            nn.Conv2d(ndf * 2, 1, 7, 1, 0, bias=False),
            nn.Sigmoid()
        )

    def forward(self, img):
        return self.main(img).view(-1, 1)


def train(dataloader, discriminator, generator, optimizer_G, optimizer_D):
    device = next(generator.parameters()).device
    criterion = nn.BCELoss()
    fixed_noise = torch.randn(25, args.latent_dim, 1, 1, device=device)
    G_losses, D_losses = [], []

    for epoch in range(args.n_epochs):
        for i, (imgs, _) in enumerate(dataloader):
            real = imgs.to(device)
            b_size = real.size(0)
            label_real = torch.full((b_size, 1), 1.0, device=device)
            label_fake = torch.full((b_size, 1), 0.0, device=device)

            # (1) Update D: maximize log(D(x)) + log(1 - D(G(z)))
            discriminator.zero_grad()
            errD_real = criterion(discriminator(real), label_real)
            errD_real.backward()
            noise = torch.randn(b_size, args.latent_dim, 1, 1, device=device)
            fake = generator(noise)
            errD_fake = criterion(discriminator(fake.detach()), label_fake)
            errD_fake.backward()
            errD = errD_real + errD_fake
            optimizer_D.step()

            # (2) Update G: maximize log(D(G(z)))
            generator.zero_grad()
            errG = criterion(discriminator(fake), label_real)
            errG.backward()
            optimizer_G.step()

            G_losses.append(errG.item())
            D_losses.append(errD.item())

            batches_done = epoch * len(dataloader) + i
            if batches_done % args.save_interval == 0:
                print('[%d/%d][%d/%d] Loss_D: %.4f Loss_G: %.4f'
                      % (epoch, args.n_epochs, i, len(dataloader), errD.item(), errG.item()))
                with torch.no_grad():
                    grid = generator(fixed_noise).detach().cpu()
                save_image(grid, 'images/{}.png'.format(batches_done), nrow=5, normalize=True)
    return G_losses, D_losses


def main():
    os.makedirs('images', exist_ok=True)
    device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")

    dataloader = DataLoader(load_mnist(), batch_size=args.batch_size, shuffle=True)

    generator = Generator(args.latent_dim).to(device)
    discriminator = Discriminator().to(device)
    generator.apply(weights_init)
    discriminator.apply(weights_init)

    optimizer_G = torch.optim.Adam(generator.parameters(), lr=args.lr, betas=(0.5, 0.999))
    optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=args.lr, betas=(0.5, 0.999))

    train(dataloader, discriminator, generator, optimizer_G, optimizer_D)

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

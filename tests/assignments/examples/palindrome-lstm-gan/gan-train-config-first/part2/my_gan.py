import os

import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from torchvision.utils import save_image

from mnist import load_mnist

# argparse does not work well in the notebook, so the settings live in a dict
DEFAULT_CONFIG = {
    'n_epochs': 200,
    'batch_size': 64,
    'lr': 0.0002,
    'latent_dim': 100,
    'save_interval': 500,
    'device': 'cuda' if torch.cuda.is_available() else 'cpu',
}


class Generator(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.net = nn.Sequential(
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
            nn.Tanh(),
        )

    def forward(self, z):
        out = self.net(z)
        return out.view(-1, 28, 28)  # the notebook plots (28, 28) images directly


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(784, 512),
            nn.LeakyReLU(0.2),
            nn.Linear(512, 256),
            nn.LeakyReLU(0.2),
            nn.Linear(256, 1),
            nn.Sigmoid(),
        )

    def forward(self, img):
        return self.net(img.view(img.size(0), -1))


def train(config, dataloader, discriminator, generator, optimizer_G, optimizer_D):
    device = config['device']
    bce = nn.BCELoss()
    history = {'d': [], 'g': []}
    for epoch in range(config['n_epochs']):
        for i, (real, _) in enumerate(dataloader):
            if real.size(0) < config['batch_size']:  # drop the incomplete last batch
                continue
            real = real.to(device)
            b = real.size(0)
            ones = torch.ones(b, 1, device=device)
            zeros = torch.zeros(b, 1, device=device)

            # generator: maximise log D(G(z))
            optimizer_G.zero_grad()
            z = torch.randn(b, config['latent_dim'], device=device)
            fake = generator(z)
            g_loss = bce(discriminator(fake), ones)
            g_loss.backward()
            optimizer_G.step()

            # discriminator: maximise log D(x) + log(1 - D(G(z)))
            optimizer_D.zero_grad()
            d_loss = bce(discriminator(real), ones) + bce(discriminator(fake.detach()), zeros)
            d_loss.backward()
            optimizer_D.step()

            history['d'].append(d_loss.item())
            history['g'].append(g_loss.item())
            step = epoch * len(dataloader) + i
            if step % config['save_interval'] == 0:
                os.makedirs('images', exist_ok=True)
                save_image(fake[:25].unsqueeze(1), f'images/{step}.png', nrow=5, normalize=True)
    return history


def main(config=DEFAULT_CONFIG):
    dataloader = DataLoader(load_mnist(), batch_size=config['batch_size'], shuffle=True)
    generator = Generator(config['latent_dim']).to(config['device'])
    discriminator = Discriminator().to(config['device'])
    optimizer_G = torch.optim.Adam(generator.parameters(), lr=config['lr'], betas=(0.5, 0.999))
    optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=config['lr'], betas=(0.5, 0.999))
    history = train(config, dataloader, discriminator, generator, optimizer_G, optimizer_D)
    torch.save(generator.state_dict(), 'mnist_generator.pt')
    return generator, history


if __name__ == "__main__":
    main()

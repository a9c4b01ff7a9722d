"""Interface checks for the GAN of Part II (part2/my_gan.py).

The module docstring of my_gan.py fixes what the grader relies on: Generator() and
Discriminator() without arguments, their input and output shapes and ranges, and the
functions sample() and interpolate(). sample() and interpolate() are checked on small
stand-in generators (not yours), so that they can pass before your Generator does.
"""

import pytest
import torch
import torch.nn as nn
from support import call, fail, student_attr

LATENT_DIM = 100


def make(class_name):
    cls = student_attr("my_gan", class_name)
    return call(f"{class_name}()", cls)


def as_images(out, batch, who):
    """Accept (B, 1, 28, 28) or (B, 784); return (B, 1, 28, 28)."""
    if not isinstance(out, torch.Tensor):
        fail(f"{who} must return a tensor (got {type(out).__name__})")
    if tuple(out.shape) not in ((batch, 1, 28, 28), (batch, 784)):
        fail(f"{who} must return images of shape (B, 1, 28, 28) = {(batch, 1, 28, 28)} "
             f"(got {tuple(out.shape)})")
    return out.reshape(batch, 1, 28, 28)


@pytest.mark.parametrize("mode, batch", [("train", 16), ("eval", 1), ("eval", 7)])
def test_generator_output(mode, batch):
    generator = make("Generator")
    generator.train(mode == "train")
    z = torch.randn(batch, LATENT_DIM)
    imgs = as_images(call("Generator.forward", generator, z), batch, "Generator.forward")
    if not bool(torch.isfinite(imgs).all()):
        fail("Generator.forward returned NaN or infinite values")
    if imgs.min().item() < -1 or imgs.max().item() > 1:
        fail(f"Generator.forward must return pixels in [-1, 1] like the data (got values from "
             f"{imgs.min().item():.2f} to {imgs.max().item():.2f}): end with a tanh")
    if imgs.std().item() < 1e-6:
        fail("Generator.forward returned the same value everywhere")


@pytest.mark.parametrize("layout", ["(B,1,28,28)", "(B,784)"])
def test_discriminator_output(layout):
    discriminator = make("Discriminator")
    batch = 5
    imgs = torch.rand(batch, 1, 28, 28) * 2 - 1
    if layout == "(B,784)":
        imgs = imgs.reshape(batch, 784)
    out = call("Discriminator.forward", discriminator, imgs)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (batch, 1):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        fail(f"Discriminator.forward must return probabilities of shape (B, 1) = {(batch, 1)} "
             f"for input {layout} (got {shape})")
    if not bool(((out >= 0) & (out <= 1)).all()):
        fail(f"Discriminator.forward must return probabilities in (0, 1) (got values from "
             f"{out.min().item():.2f} to {out.max().item():.2f}): end with a sigmoid")


def test_gradient_reaches_every_generator_parameter():
    generator, discriminator = make("Generator"), make("Discriminator")
    z = torch.randn(8, LATENT_DIM)
    imgs = call("Generator.forward", generator, z)
    score = call("Discriminator.forward", discriminator, imgs)
    torch.log(score.clamp_min(1e-6)).mean().backward()      # the generator's objective
    silent = [name for name, p in generator.named_parameters()
              if p.grad is None or not bool(p.grad.abs().sum() > 0)]
    if silent:
        fail(f"no gradient of D(G(z)) reached the generator's parameters {silent}: keep "
             "the computation in the autograd graph (no .detach(), .data or .numpy())")


class StandInGenerator(nn.Module):
    """A tiny generator with BatchNorm: z (B, 100) -> (B, 1, 28, 28) in [-1, 1]."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(LATENT_DIM, 784)
        self.norm = nn.BatchNorm1d(784)
        with torch.no_grad():   # running statistics unlike the batch's, as after training
            self.norm.running_mean.uniform_(-0.5, 0.5)
            self.norm.running_var.uniform_(0.5, 2.0)

    def forward(self, z):
        return torch.tanh(self.norm(self.linear(z))).view(-1, 1, 28, 28)


class PassThroughGenerator(nn.Module):
    """Shows the noise it gets: z (B, 100) is written into the first 100 pixels."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, z):
        return nn.functional.pad(z, (0, 784 - z.size(1))).view(-1, 1, 28, 28) + self.dummy


@pytest.mark.parametrize("n", [1, 25])
def test_sample_shape_and_mode(n):
    sample = student_attr("my_gan", "sample")
    generator = StandInGenerator().train()
    imgs = call("sample()", sample, generator, n)
    if not isinstance(imgs, torch.Tensor) or tuple(imgs.shape) != (n, 1, 28, 28):
        shape = tuple(imgs.shape) if isinstance(imgs, torch.Tensor) else type(imgs).__name__
        fail(f"sample(generator, {n}) must return images of shape {(n, 1, 28, 28)} "
             f"(got {shape})")
    if not generator.training:
        fail("sample() must leave the generator in the mode it found it in (here: train "
             "mode): remember generator.training and restore it")
    generator.eval()
    torch.manual_seed(0)
    call("sample()", sample, generator, 2)
    if generator.training:
        fail("sample() must leave the generator in the mode it found it in (here: eval)")


def test_sample_draws_standard_normal_noise():
    sample = student_attr("my_gan", "sample")
    torch.manual_seed(0)
    imgs = call("sample()", sample, PassThroughGenerator(), 200, latent_dim=LATENT_DIM)
    z = imgs.reshape(200, 784)[:, :LATENT_DIM].detach()       # the noise the generator got
    mean, std = z.mean().item(), z.std().item()
    within_one = (z.abs() < 1).float().mean().item()          # 0.683 for N(0, 1)
    if abs(mean) > 0.05 or abs(std - 1) > 0.05 or abs(within_one - 0.683) > 0.03:
        fail(f"sample() must draw z from the standard Normal N(0, I) (torch.randn): the "
             f"noise it gave the generator has mean {mean:.3f}, standard deviation "
             f"{std:.3f} and {within_one:.1%} of its values in (-1, 1) (expected 0, 1, 68.3%)")


@pytest.mark.parametrize("z_shape", [(LATENT_DIM,), (1, LATENT_DIM)],
                         ids=["(100,)", "(1,100)"])
def test_interpolate_endpoints_and_count(z_shape):
    interpolate = student_attr("my_gan", "interpolate")
    torch.manual_seed(0)
    generator = StandInGenerator().train()
    z_start, z_end = torch.randn(z_shape), torch.randn(z_shape)
    imgs = call("interpolate()", interpolate, generator, z_start, z_end, steps=7)
    if not isinstance(imgs, torch.Tensor) or tuple(imgs.shape) != (9, 1, 28, 28):
        shape = tuple(imgs.shape) if isinstance(imgs, torch.Tensor) else type(imgs).__name__
        fail(f"interpolate(generator, z_start, z_end, steps=7) must return the 9 images "
             f"(start, 7 steps, end) as (9, 1, 28, 28) (got {shape})")
    if not generator.training:
        fail("interpolate() must leave the generator in the mode it found it in (train)")
    generator.eval()
    with torch.no_grad():
        start = generator(z_start.reshape(1, -1))[0]
        end = generator(z_end.reshape(1, -1))[0]
    for which, got, expected in (("first", imgs[0], start), ("last", imgs[-1], end)):
        error = (got - expected).abs().max().item()
        if error > 1e-5:
            fail(f"the {which} image of interpolate() must be the generator's image of "
                 f"z_{'start' if which == 'first' else 'end'} in eval mode (it differs by "
                 f"up to {error:.2e}): include the endpoints and use generator.eval()")


@pytest.mark.parametrize("steps", [1, 3])
def test_interpolate_is_linear_in_latent_space(steps):
    interpolate = student_attr("my_gan", "interpolate")
    torch.manual_seed(1)
    z_start, z_end = torch.randn(LATENT_DIM), torch.randn(LATENT_DIM)
    imgs = call("interpolate()", interpolate, PassThroughGenerator(), z_start, z_end,
                steps=steps)
    if not isinstance(imgs, torch.Tensor) or tuple(imgs.shape) != (steps + 2, 1, 28, 28):
        fail(f"interpolate(..., steps={steps}) must return {steps + 2} images of shape "
             "(1, 28, 28)")
    z = imgs.reshape(steps + 2, 784)[:, :LATENT_DIM].detach()
    alpha = torch.linspace(0, 1, steps + 2).unsqueeze(1)
    expected = (1 - alpha) * z_start + alpha * z_end
    error = (z - expected).abs().max().item()
    if error > 1e-5:
        fail(f"interpolate() must feed the generator z(a) = (1 - a) z_start + a z_end at "
             f"{steps + 2} evenly spaced a from 0 to 1 (the points differ by up to {error:.2e})")


def test_training_steps_update_both_networks(tmp_path, monkeypatch):
    my_gan_train = student_attr("my_gan", "train")
    parse_args = student_attr("my_gan", "parse_args")
    import my_gan

    generator, discriminator = make("Generator"), make("Discriminator")
    args = call("parse_args()", parse_args, [])
    args.n_epochs, args.save_interval, args.latent_dim = 1, 2, LATENT_DIM
    if hasattr(args, "out_dir"):
        args.out_dir = str(tmp_path / "images")
    monkeypatch.setattr(my_gan, "args", args)
    monkeypatch.chdir(tmp_path)                 # whatever it saves lands in tmp_path

    torch.manual_seed(0)
    images = torch.rand(48, 1, 28, 28) * 2 - 1  # 3 batches of 16 stand-in images
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(images, torch.zeros(48, dtype=torch.long)),
        batch_size=16, shuffle=False)
    g_before = [p.detach().clone() for p in generator.parameters()]
    d_before = [p.detach().clone() for p in discriminator.parameters()]
    optimizer_G = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    call("train()", my_gan_train, loader, discriminator, generator, optimizer_G, optimizer_D)

    for name, model, before in (("generator", generator, g_before),
                                ("discriminator", discriminator, d_before)):
        if all(torch.equal(b, p) for b, p in zip(before, model.parameters(), strict=True)):
            fail(f"train() did not change the {name}'s parameters: take an optimizer step "
                 f"for the {name} on every batch")
    if not list(tmp_path.rglob("*.png")):
        fail("train() saved no image: save a 5x5 grid of gen_imgs[:25] with "
             "torchvision.utils.save_image at the start, halfway and end of training")

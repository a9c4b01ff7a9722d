"""The grader's GAN loop runs the steps between two checks in one request (the runtime's
``adversarial_steps``): it must train exactly as the loop of one request per operation did,
dropout and all, and what comes back is only a curve of losses, checked before it is drawn."""

import numpy as np
import pytest
import torch

from harness.checks import FloatArray

NETWORKS = """
import torch
import torch.nn as nn


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(8, 16), nn.Dropout(0.2), nn.ReLU(), nn.Linear(16, 12), nn.Tanh()
        )

    def forward(self, z):
        return self.net(z)


class Discriminator(nn.Module):
    def __init__(self, logits):
        super().__init__()
        layers = [nn.Linear(12, 16), nn.LeakyReLU(0.2), nn.Dropout(0.3), nn.Linear(16, 1)]
        self.net = nn.Sequential(*layers, *([] if logits else [nn.Sigmoid()]))

    def forward(self, x):
        return self.net(x)
"""

LATENT, SHAPE, B, STEPS = [8], [-1, 12], 6, 7


def adam(session, network):
    torch_ = session.import_module("torch")
    params = session.import_module("builtins").list(network.parameters())
    return torch_.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999))


def stepwise(session, G, D, reals, batches, loss):
    """The grader's loop as it was: about twenty requests a step."""
    torch_ = session.import_module("torch")
    functional = session.import_module("torch.nn.functional")
    bce = functional.binary_cross_entropy
    loss_fn = bce if loss == "bce" else functional.binary_cross_entropy_with_logits
    opt_g, opt_d = adam(session, G), adam(session, D)
    ones, zeros = torch_.ones(B, 1), torch_.zeros(B, 1)
    losses = []
    for index in batches:
        x = reals[torch.from_numpy(index)]
        z = torch_.randn(B, *LATENT)
        opt_g.zero_grad()
        fake = G(z).reshape(*SHAPE)
        g_loss = loss_fn(D(fake).reshape(B, 1), ones)
        g_loss.backward()
        opt_g.step()
        opt_d.zero_grad()
        d_loss = (
            loss_fn(D(x).reshape(B, 1), ones)
            .add(loss_fn(D(fake.detach()).reshape(B, 1), zeros))
            .mul(0.5)
        )
        d_loss.backward()
        opt_d.step()
        losses.append([float(session.fetch(d_loss)), float(session.fetch(g_loss))])
    return np.array(losses)


@pytest.mark.sandbox
@pytest.mark.parametrize("loss", ["bce", "bce_logits"])
def test_batched_adversarial_steps_train_exactly_as_one_request_per_operation(
    bwrap, make_session, loss
):
    session = make_session(bwrap, {"nets.py": NETWORKS}, call_timeout=60, budget=300)
    module = session.load("nets.py")
    rng = np.random.default_rng(0)
    reals = session.import_module("torch").from_numpy(
        rng.uniform(-1, 1, (30, 12)).astype(np.float32)
    )
    batches = np.stack([rng.permutation(30)[:B] for _ in range(STEPS)])
    nets = {}
    for run in ("stepwise", "batched"):
        G, D = module.Generator(), module.Discriminator(loss == "bce_logits")
        if run == "batched":  # the same initial weights
            for mine, theirs in zip((G, D), nets["stepwise"][:2], strict=True):
                session.op("set_parameters", mine, nets["stepwise"][2][id(theirs)])
        nets[run] = (G, D, {id(n): session.op("parameters", n, want="value") for n in (G, D)})
    session.reseed(5)
    want = stepwise(session, *nets["stepwise"][:2], reals, batches, loss)
    session.reseed(5)
    G, D = nets["batched"][:2]
    got = session.request(
        "op",
        {
            "name": "adversarial_steps",
            "args": [G, D, adam(session, G), adam(session, D), reals, torch.from_numpy(batches)],
            "kwargs": {"loss": loss, "latent": LATENT, "shape": SHAPE},
        },
        want="value",
    )
    got = FloatArray(shape=(STEPS, 2)).accept(got, "the losses")
    assert np.array_equal(got.astype(np.float32), want.astype(np.float32))
    for mine, theirs in zip(nets["batched"][:2], nets["stepwise"][:2], strict=True):
        start = nets["stepwise"][2][id(theirs)]
        after = session.op("parameters", mine, want="value")
        expected = session.op("parameters", theirs, want="value")
        assert not all(np.array_equal(expected[n], start[n]) for n in expected), "nothing trained"
        for name in expected:
            assert np.array_equal(after[name], expected[name]), f"{name} differs"


def test_an_unknown_gan_loss_is_refused():
    from harness.runtime.ops import adversarial_steps

    with pytest.raises(ValueError, match="unknown loss 'mse'"):
        adversarial_steps(None, None, None, None, None, [], loss="mse", latent=[8], shape=[-1, 12])

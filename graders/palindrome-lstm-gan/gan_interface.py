"""How palindrome-lstm-gan's graders call a student's part2/my_gan.py: the skeleton's
defaults, constructor and train() arguments filled by name, and what the generator and the
discriminator take and return, found by calling them (the variants real GANs show:
EDITIONS.md). The fixtures in conftest.py and the checks in test_gan.py use them.
"""

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from harness.checks import StudentError, fail, signature

GAN_FILE = "part2/my_gan.py"
LATENT = 100


#: The skeleton's command-line defaults (my_gan.py's argparse), for code that reads the
#: global ``args`` the skeleton's ``__main__`` block sets.
SKELETON_ARGS = {
    "n_epochs": 200,
    "batch_size": 64,
    "lr": 0.0002,
    "latent_dim": LATENT,
    "save_interval": 500,
}
#: Parameter names that mean "the whole configuration" (argparse's args, or a dict).
CONFIG_NAMES = ("args", "opt", "opts", "config", "cfg", "hparams", "params", "conf")
#: Of those, the names a dict of settings goes by (``train(config, ...)``).
DICT_NAMES = ("config", "cfg", "hparams", "params", "conf")
#: Architecture knobs (DCGAN tutorial names among them): a default the student gave wins.
KNOBS = {
    "img_size": 28,
    "image_size": 28,
    "img_shape": [1, 28, 28],
    "image_shape": [1, 28, 28],
    "channels": 1,
    "n_channels": 1,
    "img_channels": 1,
    "nc": 1,
    "ngf": 64,
    "ndf": 64,
    "ngpu": 1,
}


def skeleton_args(student, **changes):
    """An argparse.Namespace in the student process with the skeleton's defaults."""
    return student.import_module("argparse").Namespace(**{**SKELETON_ARGS, **changes})


def fill_by_name(student, cls, *, args=None, config=None, defaults=frozenset()):
    """Values for constructor and train() parameters the skeleton does not pass, by name.

    ``defaults``: the parameters that have a default; for an architecture knob (``ngf``,
    ``img_size``) the student's own default is kept."""

    def fill(name):
        low = name.lower()
        if low == "device":
            return "cpu"
        if config is not None and low in DICT_NAMES:
            return config
        if low in CONFIG_NAMES:
            return args if args is not None else skeleton_args(student)
        if "latent" in low or low in ("z_dim", "zdim", "nz", "noise_dim", "z_size"):
            return LATENT
        if low in KNOBS:
            return signature.MISSING if name in defaults else KNOBS[low]
        if cls == "Discriminator" and low in ("input_dim", "in_dim", "in_features", "img_dim"):
            return 784
        if cls == "Generator" and low in ("input_dim", "in_dim", "in_features"):
            return LATENT
        if cls == "Generator" and low in ("output_dim", "out_dim", "out_features", "img_dim"):
            return 784
        if cls == "train":
            # train(..., epochs) / (..., n_epochs=200): the grader's one epoch
            if low in ("epochs", "n_epochs", "num_epochs", "max_epochs", "n_epoch", "num_epoch"):
                return 1
            if low in ("batch_size", "bs"):
                return SKELETON_ARGS["batch_size"]
            if low in ("lr", "learning_rate"):
                return SKELETON_ARGS["lr"]
            if low in ("save_interval", "sample_interval"):
                return SKELETON_ARGS["save_interval"]
        return signature.MISSING

    return fill


def student_call(student, fn, *args, during, **kwargs):
    """Call student code; its exception fails the check with the student's own message."""
    try:
        return student.call(fn, *args, during=during, **kwargs)
    except StudentError as exc:
        if exc.type == "NotImplementedError" and exc.message:
            fail(exc.message)
        fail(f"{during}: {exc.summary()}")


def build_networks(student, gan):
    """Fresh (Generator, Discriminator), built with the arguments their constructors ask
    for, or a failure that says which cannot be built."""
    names = student.op("dir", gan)
    for cls in ("Generator", "Discriminator"):
        if cls not in names:
            fail(f"{GAN_FILE} defines no class {cls}")
    built = []
    for cls in ("Generator", "Discriminator"):
        # The skeleton's constructors take nothing; real ones often take latent_dim.
        params = signature.parameters(student, getattr(gan, cls))
        defaults = frozenset(p.name for p in params or () if p.has_default)
        args, kwargs = signature.arguments(
            params,
            given={},
            fill=fill_by_name(student, cls, defaults=defaults),
            what=f"{cls}(...)",
        )
        shown = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
        built.append(
            student_call(
                student, getattr(gan, cls), *args, during=f"building {cls}({shown})", **kwargs
            )
        )
    return tuple(built)


#: How one z may be laid out: a vector, or a DCGAN's (100, 1, 1) map for ConvTranspose2d.
LATENT_LAYOUTS = ((LATENT,), (LATENT, 1, 1))
#: Image sides accepted: MNIST's 28, or MNIST resized (32 to pad for convolutions, 64 as
#: in the DCGAN tutorial). The hand-out asks for images "similar to those of the
#: training set" and sets no size, so a generator at 64x64 is not a fault.
MIN_SIDE, MAX_SIDE = 28, 128
#: Other sides the discriminator is offered when it refuses the generator's.
COMMON_SIDES = (28, 64, 32)


@dataclass(frozen=True)
class Layout:
    """What the student's generator takes and makes, found by calling it."""

    latent: tuple[int, ...]  #: one z: (100,), or (100, 1, 1) for a DCGAN's 1x1 map
    side: int  #: its images are side x side pixels: 28, or 64 for MNIST resized
    notes: tuple[str, ...] = ()

    def z(self, values) -> torch.Tensor:
        """Normal numbers (n, 100) in the student's layout: (n, *latent)."""
        flat = torch.as_tensor(np.asarray(values, dtype=np.float32))
        return flat.reshape(len(flat), *self.latent)

    def randn(self, n: int) -> torch.Tensor:
        """z ~ N(0, I) for n images (the grader's own torch generator)."""
        return self.z(torch.randn(n, LATENT))

    def makes(self, images: np.ndarray, n: int) -> bool:
        """Whether ``images`` are n images of this generator's size (any accepted shape)."""
        return len(images) == n and image_side(images.shape) == self.side

    def real(self, digits: np.ndarray) -> np.ndarray:
        """MNIST digits (N, 1, 28, 28) at this generator's size (N, 1, side, side)."""
        return resized(digits, self.side)

    def for_judge(self, images) -> np.ndarray:
        """This generator's images at the MNIST judge's 28x28: (N, 1, 28, 28)."""
        return resized(images, 28)


@dataclass(frozen=True)
class DiscriminatorProbe:
    kind: str  #: "probabilities" or "logits"
    flat: bool  #: it takes (B, side * side) images, not (B, 1, side, side)
    side: int
    notes: tuple[str, ...] = ()


def image_side(shape) -> int | None:
    """The side of a batch of square one-channel images: (B, 1, S, S), (B, S, S) or
    (B, S * S); None for any other shape."""
    shape = tuple(shape)
    side = None
    if len(shape) == 4 and shape[1] == 1 and shape[2] == shape[3]:
        side = shape[2]
    elif len(shape) == 3 and shape[1] == shape[2]:
        side = shape[1]
    elif len(shape) == 2 and math.isqrt(shape[1]) ** 2 == shape[1]:
        side = math.isqrt(shape[1])
    return side if side is not None and MIN_SIDE <= side <= MAX_SIDE else None


def resized(images, side: int) -> np.ndarray:
    """(N, 1, s, s) (or flat, or (N, s, s)) -> float32 (N, 1, side, side), bilinear as
    torchvision's Resize on tensors (antialiased when shrinking)."""
    a = np.asarray(images, dtype=np.float32)
    now = math.isqrt(a[0].size)
    a = a.reshape(len(a), 1, now, now)
    if now == side:
        return a
    return F.interpolate(
        torch.from_numpy(np.ascontiguousarray(a)),
        size=(side, side),
        mode="bilinear",
        align_corners=False,
        antialias=side < now,
    ).numpy()


def probe_generator(student, G) -> Layout | str:
    """Call G on z of each layout in turn; the first that gives images says how the
    student lays out z and which images it makes. A string says why none did."""
    z = np.random.default_rng(5).standard_normal((8, LATENT)).astype(np.float32)
    errors = []
    for latent in LATENT_LAYOUTS:
        shape = (8, *latent)
        try:
            out = np.asarray(student.fetch(G(torch.from_numpy(z).reshape(shape))))
        except StudentError as exc:
            if exc.type == "NotImplementedError" and exc.message:
                return exc.message
            errors.append(f"for z of shape {shape}: {exc.summary()}")
            continue
        side = image_side(out.shape)
        if side is None:
            return (
                f"the generator returned shape {tuple(out.shape)} for z of shape {shape}; "
                f"expected ({shape[0]}, 1, 28, 28) (or ({shape[0]}, 784)): one-channel "
                "images like MNIST's"
            )
        notes = []
        if latent != (LATENT,):
            notes.append(
                f"your generator takes z as (B, {', '.join(map(str, latent))}), a DCGAN's 1x1 "
                "map (accepted): the grader draws z in that shape"
            )
        if side != 28:
            notes.append(
                f"your generator makes {side}x{side} images (MNIST resized; accepted): the "
                f"grader trains your discriminator on real digits resized to {side}x{side} "
                "and resizes your samples to 28x28 for the MNIST judge"
            )
        return Layout(latent=latent, side=side, notes=tuple(notes))
    return "Generator()(z) failed " + "; and ".join(errors)


def probe_discriminator(student, D, digits, first: int) -> DiscriminatorProbe:
    """What the discriminator D takes and returns, found by calling it on real ``digits``
    ((N, 1, 28, 28) in [-1, 1]): first at the generator's image side ``first``, then at
    MNIST's and the common resized ones. Fails when it takes none of them."""
    sides = [first, *(s for s in COMMON_SIDES if s != first)]
    error: StudentError | None = None
    found: tuple[int, bool, Any] | None = None
    for side in sides:
        real = torch.from_numpy(resized(digits[:16], side))
        for flat in (False, True):
            try:
                out = student.fetch(D(real.reshape(16, side * side) if flat else real))
            except StudentError as exc:
                error = error or exc
                continue
            found = side, flat, out
            break
        if found:
            break
    if found is None:
        assert error is not None
        if error.type == "NotImplementedError" and error.message:
            fail(error.message)
        fail(f"Discriminator()(images (16, 1, {first}, {first})) failed: {error.summary()}")
        raise AssertionError("unreachable")
    side, flat, out = found
    notes = []
    if flat:
        notes.append(
            f"your discriminator takes (B, {side * side}) images, not (B, 1, {side}, {side}) "
            "(accepted)"
        )
    if side != 28:
        notes.append(f"your discriminator takes {side}x{side} images (MNIST resized; accepted)")
    out = np.asarray(out, dtype=np.float64)
    # (16, 1); also (16,) and a DCGAN's (16, 1, 1, 1), which its loop views as (16,)
    if out.ndim == 0 or len(out) != 16 or out.size != 16:
        fail(f"the discriminator returned shape {out.shape} for 16 images; expected (16, 1)")
    if out.shape != (16, 1):
        notes.append(
            f"your discriminator returns {out.shape[1:] or 'one number'} per image (accepted)"
        )
    if not np.all(np.isfinite(out)):
        fail("the discriminator returned NaN or infinite values")
    # A logits discriminator can answer inside (0, 1) at its initialisation: ask it about
    # images far from the data too, where only a sigmoid output stays in [0, 1]. (numpy's
    # own generator: the random streams the verdicts depend on stay as they were.)
    loud = np.random.default_rng(4).standard_normal((16, 1, 28, 28)).astype(np.float32) * 30
    loud = resized(loud, side)
    loud_in = torch.from_numpy(loud.reshape(16, side * side) if flat else loud)
    try:
        far = np.asarray(student.fetch(D(loud_in)), dtype=np.float64)
    except StudentError:
        far = out
    if np.all((out >= 0) & (out <= 1)) and np.all((far >= 0) & (far <= 1)):
        kind = "probabilities"
    else:
        kind = "logits"
        notes.append(
            "your discriminator returns logits, not probabilities in (0, 1) (accepted; "
            "pair it with BCEWithLogitsLoss)"
        )
    return DiscriminatorProbe(kind=kind, flat=flat, side=side, notes=tuple(notes))

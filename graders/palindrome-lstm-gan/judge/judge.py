"""A small MNIST classifier that judges whether GAN samples look like digits.

Staff only: the graders of palindrome-lstm-gan (Part II) call it on a student's samples.

    from judge import load_judge, judge_samples
    model = load_judge()                      # nn.Module, eval mode, on the CPU
    logits = model(images)                    # (B, 1, 28, 28) in [-1, 1] -> (B, 10)
    judge_samples(images)                     # {'mean_confidence': 0.97,
                                              #  'classes_covered': 10,
                                              #  'class_counts': [11, 9, ...]}

The weights are plain numpy arrays in ``judge_weights.npz`` beside this file (no pickle),
written by ``train_judge.py``; ``judge_info.json`` records how they were made and the
held-out accuracy. Besides the digits, the judge was trained on non-digits (noise, blobs,
scrambled digits) with a uniform target, so that anything that is not a digit gets a flat
softmax and a low confidence (outlier exposure, Hendrycks et al. 2019).
"""

from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
WEIGHTS = os.path.join(HERE, "judge_weights.npz")
NUM_CLASSES = 10


class Judge(nn.Module):
    """Three 3x3 convolutions with max-pooling, then two fully connected layers."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)  # (B, 32, 28, 28) -> pool (B, 32, 14, 14)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)  # (B, 64, 14, 14) -> pool (B, 64, 7, 7)
        self.conv3 = nn.Conv2d(64, 64, 3, padding=1)  # (B, 64, 7, 7)   -> pool (B, 64, 3, 3)
        self.fc1 = nn.Linear(64 * 3 * 3, 64)
        self.fc2 = nn.Linear(64, NUM_CLASSES)
        self.dropout = nn.Dropout(0.3)

    def forward(self, x):
        x = as_images(x)  # (B, 1, 28, 28)
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)  # (B, 32, 14, 14)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # (B, 64, 7, 7)
        x = F.max_pool2d(F.relu(self.conv3(x)), 2)  # (B, 64, 3, 3)
        x = self.dropout(F.relu(self.fc1(x.flatten(1))))  # (B, 64)
        return self.fc2(x)  # logits (B, 10)


def as_images(images) -> torch.Tensor:
    """(B, 1, 28, 28), (B, 28, 28) or (B, 784), tensor or array -> float32 (B, 1, 28, 28).

    Values are clamped to [-1, 1] (the judge's input range); NaN becomes -1 (background).
    """
    x = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
    x = x.detach().to("cpu", torch.float32)
    x = torch.nan_to_num(x, nan=-1.0).clamp(-1.0, 1.0)  # NaN -> background
    if x.dim() == 4 and x.shape[1:] == (1, 28, 28):
        return x
    if (x.dim() == 3 and x.shape[1:] == (28, 28)) or (x.dim() == 2 and x.shape[1] == 784):
        return x.reshape(-1, 1, 28, 28)
    raise ValueError(
        f"images must have shape (B, 1, 28, 28), (B, 28, 28) or (B, 784) (got {tuple(x.shape)})"
    )


def load_judge(path: str = WEIGHTS) -> Judge:
    """The trained judge in eval mode on the CPU; its input is (B, 1, 28, 28) in [-1, 1]."""
    model = Judge()
    with np.load(path, allow_pickle=False) as arrays:
        state = {name: torch.from_numpy(arrays[name]) for name in arrays.files}
    model.load_state_dict(state, strict=True)
    return model.eval()


_JUDGE: Judge | None = None


@torch.no_grad()
def judge_samples(images, min_confidence: float = 0.5) -> dict:
    """Score images that should look like MNIST digits (values in [-1, 1]).

    mean_confidence  mean over the images of the judge's top softmax probability: near 1
                     for clear digits, near 0.1 (= 1/10) for noise or blobs
    class_counts     for each digit 0..9, how many images the judge assigns to it with a
                     top probability of at least ``min_confidence``
    classes_covered  how many digits have a non-zero count (10: every digit appears)
    """
    global _JUDGE
    if _JUDGE is None:
        _JUDGE = load_judge()
    x = as_images(images)
    if len(x) == 0:
        raise ValueError("judge_samples needs at least one image")
    probs = torch.cat([F.softmax(_JUDGE(chunk), dim=1) for chunk in x.split(500)])  # (B, 10)
    confidence, predicted = probs.max(dim=1)  # (B,)
    confident = predicted[confidence >= min_confidence]
    counts = torch.bincount(confident, minlength=NUM_CLASSES)
    return {
        "mean_confidence": float(confidence.mean()),
        "classes_covered": int((counts > 0).sum()),
        "class_counts": [int(c) for c in counts],
    }

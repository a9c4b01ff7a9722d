"""What skeleton C's ``train`` and ``evaluate`` (part1/train.py) return, on a model whose
predictions the grader knows (test_lstm.py::test_train_script).

Skeleton C fixes ``train(model, data_loader, optimizer, criterion, device, config)`` and
``evaluate(model, data_loader, criterion, device, config)``, each returning (average loss,
average accuracy) over the examples. The grader hands both a linear "model" on the
digits, Flatten -> Linear(T, 10), with logits_k = a k x_j - a k^2 / 2 (so it predicts
the digit nearest x_j, here the second digit: right on about one palindrome in ten), and
for ``train`` an RMSprop with lr = 0 (the weights never move), so both must return the
loss and accuracy the grader computes from the same logits. Batches are all one size, so
the mean of the batches' means is the mean over the examples too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from harness.checks import StudentError

#: sharpness of the logits, the digit the model reads, examples and batch size
SHARPNESS = 1.5
READS = 1
EXAMPLES = 64
BATCH = 16
#: how close a returned average must be (float32 sums in the student's loop)
RTOL = 1e-3
#: skeleton C's command-line defaults (EDITIONS.md), the ``config`` both functions get;
#: print_every is our template's
SKELETON_CONFIG = {
    "input_length": 19,
    "input_dim": 1,
    "num_classes": 10,
    "num_hidden": 128,
    "batch_size": 128,
    "learning_rate": 0.001,
    "max_epoch": 100,
    "max_norm": 10.0,
    "data_size": 100000,
    "portion_train": 0.8,
    "device": "cpu",
    "print_every": 100,
}


@dataclass(frozen=True)
class Averages:
    """The (loss, accuracy) the grader expects and what each function returned."""

    expected: tuple[float, float]
    returned: dict[str, tuple[float, float]]  #: "train", "evaluate" -> (loss, accuracy)


def _as_pair(value: Any) -> tuple[float, float] | None:
    if not isinstance(value, tuple | list) or len(value) != 2:
        return None
    try:
        loss, accuracy = (float(np.asarray(v, dtype=np.float64).reshape(())) for v in value)
    except (TypeError, ValueError):
        return None
    return loss, accuracy


def measure(student: Any, length: int) -> Averages | None:
    """Call the student's train and evaluate as the skeleton does; None where train.py
    cannot be imported or its functions do not take the skeleton's arguments (the rest
    of the check judges the script then)."""
    student.on_start.append(("add_sys_path", ("part1",)))
    if student.alive:
        student.op("add_sys_path", "part1")
    module = None
    for name in ("train", "part1.train"):  # plain sibling imports, or the package's
        try:
            module = student.load("part1/train.py", module=name)
            break
        except StudentError:
            continue
    if module is None:
        return None
    names = student.op("dir", module)
    if "train" not in names or "evaluate" not in names:
        return None
    # palindromes of length + 1 digits: the first length are the input, the last the target
    n = length + 1
    half = np.random.default_rng(5).integers(0, 10, size=(EXAMPLES, (n + 1) // 2))
    digits = np.concatenate([half, half[:, : n // 2][:, ::-1]], axis=1)  # (N, n)
    inputs = digits[:, :length].astype(np.float32)[..., None]  # (N, T, 1), skeleton C's
    targets = digits[:, length].astype(np.int64)  # (N,), the first digit again
    k = np.arange(10, dtype=np.float32)
    weight = np.zeros((10, length), dtype=np.float32)
    weight[:, READS] = SHARPNESS * k
    bias = -SHARPNESS * k**2 / 2
    logits = torch.from_numpy(inputs[:, :, 0] @ weight.T + bias)
    expected = (
        float(torch.nn.functional.cross_entropy(logits, torch.from_numpy(targets))),
        float((logits.argmax(dim=1).numpy() == targets).mean()),
    )
    torch_ = student.import_module("torch")
    nn_ = student.import_module("torch.nn")
    builtins = student.import_module("builtins")
    model = nn_.Sequential(nn_.Flatten(), nn_.Linear(length, 10))
    student.op("set_parameters", model, {"1.weight": weight, "1.bias": bias})
    data = torch_.utils.data.TensorDataset(torch.from_numpy(inputs), torch.from_numpy(targets))
    config = student.import_module("argparse").Namespace(
        **{**SKELETON_CONFIG, "input_length": length, "batch_size": BATCH}
    )
    returned = {}
    for name in ("evaluate", "train"):
        loader = torch_.utils.data.DataLoader(data, batch_size=BATCH, shuffle=False)
        args: list[Any] = [model, loader, nn_.CrossEntropyLoss(), "cpu", config]
        if name == "train":
            args.insert(2, torch_.optim.RMSprop(builtins.list(model.parameters()), lr=0.0))
        try:
            pair = _as_pair(student.call(getattr(module, name), *args, want="value"))
        except StudentError:
            pair = None  # another signature or a model it cannot take: not judged here
        if pair is not None:
            returned[name] = pair
    return Averages(expected, returned)


def disagreements(averages: Averages) -> list[str]:
    """One line per function whose averages are not the grader's."""
    loss, accuracy = averages.expected
    out = []
    for name, (got_loss, got_accuracy) in averages.returned.items():
        wrong = []
        if not np.isclose(got_loss, loss, rtol=RTOL, atol=1e-6):
            wrong.append(f"average loss {got_loss:.4g} (expected {loss:.4g})")
        if not np.isclose(got_accuracy, accuracy, rtol=RTOL, atol=1e-6):
            wrong.append(f"average accuracy {got_accuracy:.4g} (expected {accuracy:.4g})")
        if wrong:
            out.append(f"{name}() returned {' and '.join(wrong)}")
    return out

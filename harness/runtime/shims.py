"""Harmless accommodations for code written for a GPU, installed before student code loads.

Students often hard-code ``.cuda()`` or ``device="cuda"``; the grader runs on the CPU,
and a formality the hand-out did not forbid must not zero a submission.  After
``cpu_only()``, CUDA requests land on the CPU and are recorded, so the report can
say that the code asked for a GPU.
"""

from __future__ import annotations

import functools
from typing import Any

_used: list[str] = []
_installed = False


def _cpu(device: Any) -> Any:
    text = str(device)
    if text.startswith("cuda"):
        if text not in _used:
            _used.append(text)
        return "cpu"
    return device


def cpu_only() -> None:
    """Make ``.cuda()``, ``.to("cuda")`` and ``device="cuda"`` mean the CPU (idempotent)."""
    global _installed
    if _installed:
        return
    import torch

    _installed = True

    def tensor_cuda(self: Any, *args: Any, **kwargs: Any) -> Any:
        _cpu("cuda")
        return self

    torch.Tensor.cuda = tensor_cuda  # type: ignore[method-assign]
    torch.nn.Module.cuda = tensor_cuda  # type: ignore[method-assign, assignment]

    def patch_to(original: Any) -> Any:
        @functools.wraps(original)
        def to(self: Any, *args: Any, **kwargs: Any) -> Any:
            args = tuple(_cpu(a) if isinstance(a, str | torch.device) else a for a in args)
            if "device" in kwargs:
                kwargs["device"] = _cpu(kwargs["device"])
            return original(self, *args, **kwargs)

        return to

    torch.Tensor.to = patch_to(torch.Tensor.to)  # type: ignore[method-assign]
    torch.nn.Module.to = patch_to(torch.nn.Module.to)  # type: ignore[method-assign]

    def patch_factory(original: Any) -> Any:
        @functools.wraps(original)
        def factory(*args: Any, **kwargs: Any) -> Any:
            if "device" in kwargs:
                kwargs["device"] = _cpu(kwargs["device"])
            return original(*args, **kwargs)

        return factory

    for name in (
        "zeros",
        "ones",
        "empty",
        "randn",
        "rand",
        "randint",
        "tensor",
        "full",
        "arange",
        "eye",
        "zeros_like",
        "ones_like",
        "randn_like",
        "as_tensor",
    ):
        setattr(torch, name, patch_factory(getattr(torch, name)))
    original_device = torch.device

    class _DeviceMeta(type):
        def __instancecheck__(cls, obj: Any) -> bool:
            return isinstance(obj, original_device)

    class device(metaclass=_DeviceMeta):  # noqa: N801  (stands in for torch.device)
        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            if args:
                args = (_cpu(args[0]), *args[1:])
            return original_device(*args, **kwargs)

    torch.device = device  # type: ignore[misc, assignment]


def cuda_requests() -> list[str]:
    """The CUDA devices the student's code asked for (and got the CPU instead)."""
    return list(_used)

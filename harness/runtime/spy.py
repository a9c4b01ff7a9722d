"""Running a student's own training script while watching what it trains with.

``run_script_spied`` runs a script as ``__main__`` and records, through PyTorch's
global hooks, every loss value a loss module computes and the optimiser class of
every ``step()``: enough for a check to say "it trains with RMSProp and the loss
goes down" without parsing the script's prints.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any

from . import ops

MAX_RECORDS = 100_000
#: the losses of torch.nn.functional a training script computes directly or through a loss
#: module's forward
FUNCTIONAL_LOSSES = (
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "mse_loss",
)


def run_script_spied(path: str, argv: list[str] | None = None) -> dict[str, Any]:
    import torch
    from torch.optim.optimizer import register_optimizer_step_post_hook

    losses: list[float] = []
    optimisers: list[str] = []

    def record(output: Any) -> None:
        if len(losses) < MAX_RECORDS:
            # A loss returning something odd is the script's business, not the spy's.
            with contextlib.suppress(Exception):
                losses.append(float(output.detach().mean()))

    inside = [0]  # loss modules being called: their functional losses are theirs

    def on_pre_forward(module: Any, inputs: Any) -> None:
        if isinstance(module, torch.nn.modules.loss._Loss):
            inside[0] += 1

    def on_forward(module: Any, inputs: Any, output: Any) -> None:
        if isinstance(module, torch.nn.modules.loss._Loss):
            inside[0] -= 1
            record(output)

    # criterion.forward(...) skips the module hooks: the functional losses it calls are
    # watched too, and count only when no loss module's call is around them.
    functional = torch.nn.functional
    originals = {name: getattr(functional, name) for name in FUNCTIONAL_LOSSES}

    def watched(original: Any) -> Any:
        def loss(*args: Any, **kwargs: Any) -> Any:
            output = original(*args, **kwargs)
            if inside[0] == 0:
                record(output)
            return output

        return loss

    for name, original in originals.items():
        setattr(functional, name, watched(original))

    def on_step(optimizer: Any, args: Any, kwargs: Any) -> None:
        name = type(optimizer).__name__
        if not optimisers or optimisers[-1] != name:
            optimisers.append(name)

    pre_hook = torch.nn.modules.module.register_module_forward_pre_hook(on_pre_forward)
    forward_hook = torch.nn.modules.module.register_module_forward_hook(on_forward)
    step_hook = register_optimizer_step_post_hook(on_step)
    # The skeleton runs train.py from the folder above part1/, but students also
    # import siblings directly (from dataset import ...): both must resolve.
    script_dir = os.path.dirname(os.path.abspath(path))
    sys.path.insert(1, script_dir)
    try:
        try:
            result = ops.run_script(path, argv)
        except Exception as exc:  # the script's own crash, told with what it trained before
            from .serve import describe_exception

            result = {"exit_code": 1, "message": "", "error": describe_exception(exc)}
    finally:
        pre_hook.remove()
        forward_hook.remove()
        for name, original in originals.items():
            setattr(functional, name, original)
        step_hook.remove()
        if script_dir in sys.path:
            sys.path.remove(script_dir)
    result.update({"losses": losses, "optimisers": optimisers})
    return result

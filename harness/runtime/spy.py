"""Running a student's own training script while watching what it trains with.

``run_script_spied`` runs a script as ``__main__`` and records, through PyTorch's
global hooks, every loss value a loss module computes and the optimiser class of
every ``step()``: enough for a check to say "it trains with RMSProp and the loss
goes down" without parsing the script's prints.

The script runs the way its author ran it, as far as its imports tell:

- with relative imports (``from .dataset import ...``) as a module of its package,
  ``python -m part1.train`` from the submission's root;
- with plain imports of its siblings only (``from dataset import ...``) from inside its
  own folder, ``cd part1 && python train.py``;
- otherwise (``from part1.dataset import ...``) from the root, ``python part1/train.py``.

The working directory is the private writable copy of the submission (or a folder in
it), and a folder the script writes into without making it is made on demand
(``outdirs``): the folder existed where the student ran the script.  With ``max_steps``,
a script that keeps training past what the grader asked for (a sweep over lengths in
``__main__`` that ignores the command line) is ended cleanly after that many optimiser
steps, so it is judged on its first run.
"""

from __future__ import annotations

import ast
import contextlib
import os
import sys
from pathlib import Path
from typing import Any

from . import outdirs
from .failures import describe_exception
from .scripts import run_script

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


class EnoughSteps(BaseException):
    """Raised from ``optimizer.step()`` once the script has taken ``max_steps`` steps.

    A ``BaseException``, like ``KeyboardInterrupt``: a script's ``except Exception`` around
    its training loop does not swallow it."""


def how_to_run(path: str, root: str) -> tuple[str | None, str, str]:
    """(module to run with ``-m`` or None, working directory, the command in words) for
    the script at ``path``, below the submission folder ``root``, by its imports."""
    file = Path(os.path.abspath(path))
    try:
        parts = file.relative_to(os.path.abspath(root)).with_suffix("").parts
    except ValueError:  # not in the submission: run as given
        return None, root, f"python {path}"
    folder = str(file.parent)
    shown = "/".join(parts) + ".py"
    try:
        tree = ast.parse(file.read_bytes())
    except (SyntaxError, ValueError, OSError):
        return None, root, f"python {shown}"  # it fails as it would have for the student
    relative = package = sibling = False
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            relative = True
            continue
        if isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            first = name.split(".")[0]
            if len(parts) > 1 and first == parts[0]:
                package = True  # from part1.dataset import ...
            elif first and first != file.stem and _is_module_in(folder, first):
                sibling = True  # from dataset import ...
    if relative and len(parts) > 1 and all(p.isidentifier() for p in parts):
        module = ".".join(parts)
        return module, root, f"python -m {module}"
    if sibling and not package and len(parts) > 1:
        inside = "/".join(parts[:-1])
        return None, folder, f"cd {inside} && python {file.name}"
    return None, root, f"python {shown}"


def _is_module_in(folder: str, name: str) -> bool:
    return os.path.isfile(os.path.join(folder, f"{name}.py")) or os.path.isdir(
        os.path.join(folder, name)
    )


#: The modules the last spied script called itself (its models), for the grader to measure.
TRAINED: list[Any] = []


def trained_models() -> list[Any]:
    """The models the last ``run_script_spied`` run called, as they are after it."""
    return list(TRAINED)


def run_script_spied(
    path: str, argv: list[str] | None = None, max_steps: int | None = None
) -> dict[str, Any]:
    """Run the script at ``path`` (relative to the working directory, the submission's
    root) with ``argv``, watching its losses and optimiser steps.

    The result has the script's ``exit_code`` and ``message`` (or ``error``, its crash as
    data), ``losses``, ``optimisers`` (class names, in the order they stepped), ``models``
    (the classes of the modules the script itself called, in order), ``steps``
    (optimiser steps taken), ``stopped`` (True when it was ended after ``max_steps``),
    ``folders_made`` (missing output folders made for it) and ``command`` (how it ran)."""
    import torch
    from torch.optim.optimizer import register_optimizer_step_post_hook

    losses: list[float] = []
    optimisers: list[str] = []
    steps = [0]

    def record(output: Any) -> None:
        if len(losses) < MAX_RECORDS:
            # A loss returning something odd is the script's business, not the spy's.
            with contextlib.suppress(Exception):
                losses.append(float(output.detach().mean()))

    inside = [0]  # loss modules being called: their functional losses are theirs
    depth = [0]  # modules being called: a call at depth 0 is the script's own (its model)
    models: list[str] = []
    TRAINED.clear()

    def on_pre_forward(module: Any, inputs: Any) -> None:
        is_loss = isinstance(module, torch.nn.modules.loss._Loss)
        if depth[0] == 0 and not is_loss:
            name = type(module).__name__
            if len(models) < 20 and (not models or models[-1] != name):
                models.append(name)
            if len(TRAINED) < 8 and not any(m is module for m in TRAINED):
                TRAINED.append(module)
        depth[0] += 1
        if is_loss:
            inside[0] += 1

    def on_forward(module: Any, inputs: Any, output: Any) -> None:
        # always_call: also after a forward that raised (then output is None)
        depth[0] = max(0, depth[0] - 1)
        if isinstance(module, torch.nn.modules.loss._Loss):
            inside[0] = max(0, inside[0] - 1)
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
        steps[0] += 1
        if max_steps is not None and steps[0] >= max_steps:
            raise EnoughSteps

    root = os.getcwd()
    file = os.path.abspath(path)
    module, cwd, command = how_to_run(file, root)
    pre_hook = torch.nn.modules.module.register_module_forward_pre_hook(on_pre_forward)
    forward_hook = torch.nn.modules.module.register_module_forward_hook(
        on_forward, always_call=True
    )
    step_hook = register_optimizer_step_post_hook(on_step)
    # The skeleton runs train.py from the folder above part1/, but students also
    # import siblings directly (from dataset import ...): both must resolve.
    script_dir = os.path.dirname(file)
    sys.path.insert(1, script_dir)
    stopped = False
    try:
        with outdirs.made_on_demand(root) as made:
            try:
                os.chdir(cwd)
                result = run_script(file, argv, module=module)
            except EnoughSteps:
                stopped = True
                result = {"exit_code": 0, "message": ""}
            except Exception as exc:  # the script's own crash, told with what it trained before
                result = {"exit_code": 1, "message": "", "error": describe_exception(exc)}
    finally:
        os.chdir(root)  # also when the script changed it: later loads resolve from the root
        pre_hook.remove()
        forward_hook.remove()
        for name, original in originals.items():
            setattr(functional, name, original)
        step_hook.remove()
        if script_dir in sys.path:
            sys.path.remove(script_dir)
    result.update(
        {
            "losses": losses,
            "optimisers": optimisers,
            "models": models,
            "steps": steps[0],
            "stopped": stopped,
            "folders_made": list(made),
            "command": command,
        }
    )
    return result

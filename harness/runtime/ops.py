"""Generic helpers the trusted grader may call in the student process.

They move data in and out (parameters, gradients, values) and load files; none
of them knows anything about any assignment or what a right answer is.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.util
import io
import os
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import spy, standins
from .scripts import run_script

_REPR_LIMIT = 200


def _torch() -> Any:
    return sys.modules.get("torch")


def summary(obj: Any) -> tuple[str, str, tuple[int, ...] | None, str | None]:
    """(type name, short repr, shape, dtype) of an object kept as a handle."""
    cls = type(obj)
    type_name = f"{cls.__module__}.{cls.__qualname__}"
    shape = dtype = None
    with contextlib.suppress(Exception):
        if hasattr(obj, "shape") and hasattr(obj, "dtype"):
            shape = tuple(int(n) for n in obj.shape)
            dtype = str(obj.dtype)
    text = ""
    with contextlib.suppress(Exception):
        if isinstance(obj, type | types.FunctionType | types.MethodType | types.ModuleType):
            # The name, not the repr: it is what a student recognises in a message.
            text = getattr(obj, "__qualname__", None) or obj.__name__
        else:
            text = object.__repr__(obj) if shape is not None else repr(obj)
    return type_name, str(text)[:_REPR_LIMIT], shape, dtype


def to_value(value: Any, keep: Callable[[Any], Any] | None, depth: int = 0) -> Any:
    """Convert ``value`` to plain data: tensors to arrays, containers recursively.

    Objects with no plain form become handles when ``keep`` is given, else an error.
    """
    if depth > 30:
        raise ValueError("value is nested too deeply to send")
    torch = _torch()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if torch is not None and isinstance(value, torch.Tensor):
        return value.detach().cpu().clone().resolve_conj().resolve_neg().numpy()
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            return [to_value(v, keep, depth + 1) for v in value.tolist()]
        return np.array(value, copy=True)
    if np is not None and isinstance(value, np.generic):
        return value.item()
    if torch is not None and isinstance(value, torch.Size):
        return tuple(int(n) for n in value)
    if isinstance(value, tuple):
        return tuple(to_value(v, keep, depth + 1) for v in value)
    if isinstance(value, list):
        return [to_value(v, keep, depth + 1) for v in value]
    if isinstance(value, dict):
        return {
            to_value(k, keep, depth + 1): to_value(v, keep, depth + 1) for k, v in value.items()
        }
    if keep is not None:
        return keep(value)
    raise TypeError(f"cannot convert a {type(value).__qualname__} to plain data")


def versions() -> dict[str, str]:
    from importlib import metadata

    found = {"python": sys.version.split()[0]}
    for dist in ("numpy", "torch", "torchvision"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[dist] = metadata.version(dist)
    return found


def load(
    path: str,
    *,
    module: str | None = None,
    mode: str = "import",
    inject: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Load a student file as a module: a real import, or its definitions only.

    ``module`` is the dotted name the template gives it (``part1.model``); with a
    real import the file's package-relative imports then work as they do for the
    student.  ``mode="definitions"`` leaves loops, calls and ``__main__`` blocks unrun.
    """
    file = Path(path).resolve()
    if not file.is_file():
        raise FileNotFoundError(f"no file {path!r} in the submission")
    name = module or file.stem
    before = standins.used()
    if mode == "definitions" or file.suffix == ".ipynb":
        from . import defonly

        mod, skipped = defonly.load_definitions(file, module_name=name, inject=inject)
        notes = [defonly.describe(skipped, filename=path)] if skipped else []
        return {
            "module": mod,
            "mode": "definitions",
            "skipped": [dataclasses.asdict(s) for s in skipped],
            "description": "\n\n".join(notes + _standin_notes(before)),
        }
    if module and _importable_as(file, module):
        mod = importlib.import_module(module)
    else:
        spec = importlib.util.spec_from_file_location(name, file)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path!r} as a Python module")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        if inject:
            mod.__dict__.update(inject)
        spec.loader.exec_module(mod)
    description = "\n\n".join(_standin_notes(before))
    return {"module": mod, "mode": "import", "skipped": [], "description": description}


def _standin_notes(before: list[str]) -> list[str]:
    new = [name for name in standins.used() if name not in before]
    return [standins.describe(new)] if new else []


def _importable_as(file: Path, module: str) -> bool:
    # part1.model must live at <a sys.path entry>/part1/model.py to be imported by name.
    relative = Path(*module.split(".")).with_suffix(".py")
    root = Path.cwd().resolve()
    return (root / relative).resolve() == file


def signature(obj: Any) -> list[list[Any]]:
    """The parameters of a callable (a class: its constructor's), each as
    [name, kind, has_default] with inspect's kind names; [] when it has no signature."""
    import inspect

    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    return [
        [p.name, p.kind.name, p.default is not inspect.Parameter.empty]
        for p in sig.parameters.values()
    ]


def is_instance(obj: Any, qualname: str) -> bool:
    """Whether ``obj`` is an instance of the class named ``module.Class`` (by its MRO)."""
    return any(f"{cls.__module__}.{cls.__qualname__}" == qualname for cls in type(obj).__mro__)


def parameters(module: Any) -> dict[str, Any]:
    return {n: p.detach().cpu().numpy().copy() for n, p in module.named_parameters()}


def set_parameters(module: Any, values: dict[str, Any], strict: bool = True) -> list[str]:
    """Copy arrays into the module's parameters by name; returns the names set."""
    torch = _torch()
    named = dict(module.named_parameters())
    if strict:
        unknown = sorted(set(values) - set(named))
        if unknown:
            raise KeyError(f"no parameter(s) named {unknown}; the model has {sorted(named)}")
    done = []
    with torch.no_grad():
        for name, array in values.items():
            if name not in named:
                continue
            param = named[name]
            source = torch.as_tensor(array, dtype=param.dtype, device=param.device)
            if tuple(param.shape) != tuple(source.shape):
                raise ValueError(
                    f"parameter {name!r} has shape {tuple(param.shape)}, "
                    f"cannot set a value of shape {tuple(source.shape)}"
                )
            param.copy_(source)
            done.append(name)
    return done


def gradients(module: Any) -> dict[str, Any]:
    return {
        n: (None if p.grad is None else p.grad.detach().cpu().numpy().copy())
        for n, p in module.named_parameters()
    }


def zero_grad(module: Any) -> None:
    for p in module.parameters():
        p.grad = None


def reset_parameters(module: Any) -> int:
    """PyTorch's default initialisation for every submodule that has one; returns how many
    were reset (a retry judges a model's equations, not the initial weights it chose)."""
    reset = 0
    for sub in module.modules():
        if callable(getattr(sub, "reset_parameters", None)):
            sub.reset_parameters()
            reset += 1
    return reset


def attributes(obj: Any) -> list[str]:
    return sorted(str(n) for n in dir(obj))


def length(obj: Any) -> int:
    return len(obj)


def text_repr(obj: Any) -> str:
    return repr(obj)[:4000]


def unroll(step: Any, xs: Any, state: list[Any], output: int, carried: list[int]) -> Any:
    """Call ``step(x_t, *state)`` for each time step x_t = ``xs[:, t]``, passing each call
    the items ``carried`` of what the previous call returned; the item ``output`` of the
    last call. For a model that takes one time step at a time: the grader sends the inputs
    and the initial state, and one request runs the loop (one per step would be T round
    trips)."""
    out = None
    for t in range(xs.shape[1]):
        result = step(xs[:, t], *state)
        out = result[output]
        state = [result[i] for i in carried]
    return out


def _fresh(value: Any) -> Any:
    """A copy of a state (tensors, and tuples or lists of them): a step that changes its
    state in place must not change the state the next training step starts from."""
    if isinstance(value, tuple | list):
        return type(value)(_fresh(v) for v in value)
    return value.clone() if hasattr(value, "clone") else value


def _last_step(out: Any, batch: int, seq: int) -> Any:
    """The last time step of a sequence output: (B, C) as it is, (B, T, C) -> [:, -1],
    (T, B, C) -> [-1], any other shape -> [:, 0]; what has no shape, as it is."""
    shape = summary(out)[2]
    if shape is None or len(shape) == 2:
        return out
    if len(shape) == 3 and shape[:2] == (batch, seq):
        return out[:, -1]
    if len(shape) == 3 and shape[:2] == (seq, batch):
        return out[-1]
    return out[:, 0]


#: The losses ``train_steps`` knows: a name -> how the output becomes the loss.
LOSSES = ("cross_entropy", "nll", "log_nll")


def train_steps(
    model: Any,
    optimiser: Any,
    params: Any,
    inputs: Any,
    targets: Any,
    *,
    loss: str,
    clip: float,
    batch: int,
    seq: int,
    pick: int | None = None,
    one_step: dict[str, Any] | None = None,
) -> Any:
    """``len(inputs)`` optimiser steps, one request for them all (each step a round trip
    would be seven). For step i: out = model(inputs[i]) (item ``pick`` of it where given;
    with ``one_step`` = {state, output, carried}, the loop of ``unroll`` over time from a
    fresh copy of ``state``), its last time step for ``batch`` sequences of ``seq``
    steps (``_last_step``); the loss (``cross_entropy``, ``nll``, or
    ``log_nll``: nll of the log) against targets[i]; zero_grad, backward, the gradient
    norm of ``params`` clipped to ``clip``, step. Returns each step's loss: the caller
    chooses the data, and may only draw what comes back (it is the student's process)."""
    torch = _torch()
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r} (known: {', '.join(LOSSES)})")
    # Looked up once, before any step runs (a forward that patches them changes nothing).
    functional, log, clip_grad = torch.nn.functional, torch.log, torch.nn.utils.clip_grad_norm_
    loss_fn = functional.cross_entropy if loss == "cross_entropy" else functional.nll_loss
    zero_grad, step = optimiser.zero_grad, optimiser.step
    losses = []
    for x, y in zip(inputs, targets, strict=True):
        if one_step is None:
            out = model(x)
            out = out if pick is None else out[pick]
        else:
            state = _fresh(one_step["state"])
            out = unroll(model, x, state, one_step["output"], one_step["carried"])
        out = _last_step(out, batch, seq)
        if loss == "log_nll":
            out = log(out)
        value = loss_fn(out, y)
        zero_grad()
        value.backward()
        clip_grad(params, clip)
        step()
        losses.append(value.detach())
    return torch.stack(losses)


ADVERSARIAL_LOSSES = ("bce", "bce_logits")


def adversarial_steps(
    generator: Any,
    discriminator: Any,
    opt_g: Any,
    opt_d: Any,
    reals: Any,
    indices: Any,
    *,
    loss: str,
    latent: list[int],
    shape: list[int],
) -> Any:
    """``len(indices)`` steps of a generator and a discriminator trained against each
    other, one request for them all (each step a round trip would be twenty). For step i,
    with indices (steps, B) and x = reals[indices[i]]: z = randn(B, *latent); the
    generator's step on the loss of D(G(z)) against ones; then the discriminator's on the
    mean of the loss of D(x) against ones and of D(G(z).detach()) against zeros (``bce`` on
    probabilities, ``bce_logits`` on logits), G(z) reshaped to ``shape`` for D. Returns each
    step's (d_loss, g_loss): the caller chooses the data and judges the samples it draws
    itself; these only draw a curve."""
    torch = _torch()
    if loss not in ADVERSARIAL_LOSSES:
        raise ValueError(f"unknown loss {loss!r} (known: {', '.join(ADVERSARIAL_LOSSES)})")
    # Looked up once, before any step runs (a network that patches them changes nothing).
    functional = torch.nn.functional
    loss_fn = (
        functional.binary_cross_entropy
        if loss == "bce"
        else functional.binary_cross_entropy_with_logits
    )
    randn, stack = torch.randn, torch.stack
    zero_g, step_g, zero_d, step_d = opt_g.zero_grad, opt_g.step, opt_d.zero_grad, opt_d.step
    batch = indices.shape[1]  # (steps, B): every step draws a batch of B
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)
    losses = []
    for index in indices:
        x = reals[index]
        z = randn(batch, *latent)
        zero_g()
        fake = generator(z).reshape(*shape)
        g_loss = loss_fn(discriminator(fake).reshape(batch, 1), ones)
        g_loss.backward()
        step_g()
        zero_d()
        d_loss = (
            loss_fn(discriminator(x).reshape(batch, 1), ones)
            .add(loss_fn(discriminator(fake.detach()).reshape(batch, 1), zeros))
            .mul(0.5)
        )
        d_loss.backward()
        step_d()
        losses.append(stack([d_loss.detach(), g_loss.detach()]))
    return stack(losses)


def call_captured(fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Call ``fn`` and also return what it printed (for checks on printed output)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        value = fn(*args, **kwargs)
    return {"value": value, "stdout": out.getvalue()[-20000:]}


def list_files(root: str = ".") -> list[str]:
    found = []
    for base, _dirs, files in os.walk(root):
        found += [os.path.relpath(os.path.join(base, f), root) for f in files]
    return sorted(found)


def add_sys_path(relative: str) -> None:
    """Make a submission folder importable (``from data import ...`` inside part2/)."""
    path = os.path.abspath(relative)
    if path not in sys.path:
        sys.path.insert(1, path)


def cpu_only() -> None:
    from . import shims

    shims.cpu_only()


def cuda_requests() -> list[str]:
    from . import shims

    return shims.cuda_requests()


REGISTRY: dict[str, Callable[..., Any]] = {
    "add_sys_path": add_sys_path,
    "standins_used": standins.used,
    "cpu_only": cpu_only,
    "cuda_requests": cuda_requests,
    "run_script_spied": spy.run_script_spied,
    "trained_models": spy.trained_models,
    "isinstance": is_instance,
    "signature": signature,
    "parameters": parameters,
    "set_parameters": set_parameters,
    "gradients": gradients,
    "zero_grad": zero_grad,
    "reset_parameters": reset_parameters,
    "run_script": run_script,
    "dir": attributes,
    "len": length,
    "repr": text_repr,
    "call_captured": call_captured,
    "unroll": unroll,
    "train_steps": train_steps,
    "adversarial_steps": adversarial_steps,
    "list_files": list_files,
}


# -- forbidden-API traps (harness.runtime.traps) ---------------------------------------------


def install_traps(forbidden: list[str]) -> dict[str, Any]:
    """Trap the forbidden APIs (before the submission is imported); says what was trapped."""
    from . import traps

    traps.install(list(forbidden))
    return traps.installed()


def trap_report() -> list[dict[str, Any]]:
    """The forbidden-API uses recorded since ``install_traps``."""
    from . import traps

    return traps.report()


REGISTRY["install_traps"] = install_traps
REGISTRY["trap_report"] = trap_report

"""Record, inside the student process, every call the submission makes to a forbidden API.

Static analysis (``harness.checks.forbidden``) cannot follow every way of reaching
``torch.nn.GRU`` -- a name assembled at run time, a class fetched through another
module, code built in a string and ``exec``'d.  These traps catch what is really
*used*: ``install(forbidden)`` wraps each forbidden class's ``__init__`` and
``forward`` and each forbidden function, so that every use records the API and the
student's line, then proceeds exactly as before.  Nothing is refused here: the
grader reads ``report()`` and decides the penalty.

* Classes are patched on the class object itself, so every path to it
  (``torch.nn.GRU``, ``torch.nn.modules.rnn.GRU``, a reference grabbed with
  ``getattr``) reaches the trap; subclasses the student writes are caught through
  ``super().__init__``.
* Functions are replaced wherever torch keeps them: every attribute (and value of a
  module-level dict such as ``torch.nn.modules.rnn._rnn_impls``) that is the same
  object, across ``torch``, ``torch.nn`` and its submodules, ``torch.nn.functional``,
  ``torch._C._nn`` and ``torch._VF``.  (``torch._C._VariableFunctions`` is read-only:
  a student going there directly is left to static analysis.)
* The dispatcher's operators (``torch.ops.aten.gru_cell``) are not wrapped: torch keys
  its own tables by those objects (an optimiser's constructor fails without them), so
  static analysis, which reads them as the functions they run, judges them alone.
* A namespace (``"torch._VF.*"``, or a module named on its own) records every
  attribute the student's code reads from it; torch's own reads are not recorded.
* Only the outermost forbidden API of a call is recorded: ``nn.GRU.forward`` calls
  ``torch._VF.gru`` internally, which is not the student's doing.
* A use is recorded only if student code is on the stack: its location is the
  innermost frame in a file under ``/submission`` or the working directory (code
  built in a string runs in a frame with no file, so the line that ran it is
  named).  A call that no student code made (the grader's own) is not recorded.
  ``direct`` says whether the student called the API itself, or some other torch
  code did on its behalf (``nn.MultiheadAttention`` builds ``nn.Linear`` layers);
  ``via`` then names that torch function.

``install`` must run before the submission is imported, or a module-level
``from torch.nn.functional import linear`` keeps the unwrapped function.  It is
idempotent.  The originals stay reachable (``__wrapped__``, closures): this is
evidence for grading, not a security boundary.

Only the standard library is imported here; torch is imported by ``install``.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import linecache
import os
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

__all__ = ["install", "installed", "report", "reset", "uninstall"]

MAX_RECORDS = 50
_MARK = "__harness_trap__"
_RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__))
_RUNTIME_PREFIX = _RUNTIME_DIR + os.sep
#: torch's own frames that only pass a call on (Module.__call__ -> forward)
_TRANSPARENT = (os.sep + os.path.join("torch", "nn", "modules", "module.py"),)

_lock = threading.RLock()
_local = threading.local()
_records: dict[tuple[str, str, int], dict[str, Any]] = {}
_dropped = [0]
_installed: dict[str, str] = {}  # entry -> "class" | "function" | "namespace"
_unresolved: dict[str, str] = {}  # entry -> why
_undo: list[Callable[[], None]] = []
_roots: dict[str, tuple[str, ...]] = {"student": (), "library": ()}


# -- where a call comes from --------------------------------------------------------------


def _set_roots() -> None:
    student = {"/submission"}
    for cwd in (os.getcwd(), os.path.realpath(os.getcwd())):
        if cwd != os.sep:
            student.add(cwd)
    library = {_RUNTIME_DIR}
    for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix):
        if prefix and os.path.realpath(prefix) != os.sep:
            library.add(os.path.realpath(prefix))
            library.add(prefix)
    torch = sys.modules.get("torch")
    torch_file = getattr(torch, "__file__", None)
    if torch_file:
        library.add(os.path.dirname(os.path.realpath(torch_file)))
        library.add(os.path.dirname(torch_file))
    _roots["student"] = tuple(sorted(student))
    _roots["library"] = tuple(sorted(library))


def _under(path: str, roots: tuple[str, ...]) -> str | None:
    for root in roots:
        if path == root or path.startswith(root.rstrip(os.sep) + os.sep):
            return root
    return None


def _where(filename: str) -> str:
    """ "student" (a submitted file), "other" (code with no file: exec) or "library"."""
    if filename.startswith("<frozen"):
        return "library"
    if not filename.startswith("<"):
        path = filename if os.path.isabs(filename) else os.path.abspath(filename)
        if _under(path, _roots["library"]):
            return "library"
        # Notebook cells are compiled as "<file> [cell N]".
        return "student" if _under(path.split(" [cell ", 1)[0], _roots["student"]) else "library"
    return "other"


def _shown_file(filename: str) -> str:
    path, _, cell = filename.partition(" [cell ")
    root = _under(path, _roots["student"])
    if root is not None:
        path = os.path.relpath(path, root)
    return f"{path} cell {cell.rstrip(']')}" if cell else path


def _locate(frame: types.FrameType | None) -> dict[str, Any] | None:
    """Where the student made this call, or None if no student code is on the stack.

    The walk goes from the call outwards and stops at the runtime's own frames:
    everything older (the serve loop, its ``python -c`` bootstrap) is the harness,
    so a call the grader makes into torch finds no student frame and is not recorded.
    """
    direct = True
    via = ""
    student: types.FrameType | None = None
    first_other: types.FrameType | None = None
    while frame is not None:
        code = frame.f_code
        if code.co_filename.startswith(_RUNTIME_PREFIX):
            break
        kind = _where(code.co_filename)
        if kind == "student":
            student = frame
            break
        if kind == "other":
            first_other = first_other or frame
        elif first_other is None and not code.co_filename.endswith(_TRANSPARENT):
            direct = False
            via = f"{_library_name(code.co_filename)}: {code.co_qualname}"
        frame = frame.f_back
    chosen = student or first_other
    if chosen is None:
        return None
    filename, line = chosen.f_code.co_filename, chosen.f_lineno
    return {
        "file": _shown_file(filename) if student is not None else filename,
        "line": line,
        "code": linecache.getline(filename, line).strip()[:200],
        "function": chosen.f_code.co_qualname,
        "direct": direct,
        "via": "" if direct else via,
    }


def _library_name(filename: str) -> str:
    marker = os.sep + "torch" + os.sep
    if marker in filename:
        return "torch" + os.sep + filename.rsplit(marker, 1)[1]
    return os.path.basename(filename)


def _record(api: str, kind: str, frame: types.FrameType | None) -> None:
    try:
        where = _locate(frame)
        if where is None:
            return
        key = (api, str(where["file"]), int(where["line"]))
        with _lock:
            found = _records.get(key)
            if found is not None:
                found["count"] += 1
                if kind not in found["kinds"]:
                    found["kinds"].append(kind)
                return
            if len(_records) >= MAX_RECORDS:
                _dropped[0] += 1
                return
            _records[key] = {"api": api, "kinds": [kind], "count": 1, **where}
    except Exception:  # recording must never break the student's call
        return


def _active() -> int:
    return int(getattr(_local, "depth", 0))


# -- wrappers --------------------------------------------------------------------------------


def _wrap(original: Callable[..., Any], api: str, kind: str) -> Callable[..., Any]:
    def trapped(*args: Any, **kwargs: Any) -> Any:
        depth = _active()
        if not depth:
            _record(api, kind, sys._getframe(1))
        _local.depth = depth + 1
        try:
            return original(*args, **kwargs)
        finally:
            _local.depth = depth

    with contextlib.suppress(AttributeError, TypeError):
        functools.update_wrapper(trapped, original)
    setattr(trapped, _MARK, api)
    return trapped


def _is_trap(obj: Any) -> bool:
    try:
        return bool(getattr(obj, _MARK, None))
    except Exception:
        return False


def _set(owner: Any, name: str, value: Any) -> None:
    """setattr, remembering how to undo it."""
    had = name in getattr(owner, "__dict__", {})
    old = owner.__dict__[name] if had else None
    setattr(owner, name, value)

    def undo() -> None:
        if had:
            setattr(owner, name, old)
        else:
            with contextlib.suppress(AttributeError):
                delattr(owner, name)

    _undo.append(undo)


def _trap_class(cls: type, api: str) -> None:
    for method in ("__init__", "forward"):
        own = cls.__dict__.get(method)
        if own is not None and _is_trap(own):
            continue
        current = getattr(cls, method, None)
        if current is None or not callable(current):
            continue
        _set(cls, method, _wrap(current, api, "init" if method == "__init__" else "forward"))


def _torch_modules(extra: Any = None) -> list[Any]:
    found = []
    for name, module in list(sys.modules.items()):
        if not isinstance(module, types.ModuleType):
            continue
        if name in ("torch", "torch.functional", "torch._C._nn", "torch._VF") or name.startswith(
            "torch.nn"
        ):
            found.append(module)
    torch = sys.modules.get("torch")
    nn_builtins = getattr(getattr(torch, "_C", None), "_nn", None)
    if isinstance(nn_builtins, types.ModuleType) and nn_builtins not in found:
        found.append(nn_builtins)
    if isinstance(extra, types.ModuleType) and extra not in found:
        found.append(extra)
    return found


def _trap_function(function: Any, api: str, parent: Any, name: str) -> None:
    wrapper = _wrap(function, api, "call")
    names = {name}
    for module in _torch_modules(parent):
        for key, value in list(vars(module).items()):
            if key.startswith("__"):
                continue
            if value is function:
                _set(module, key, wrapper)
                names.add(key)
            elif type(value) is dict and len(value) < 1000:
                for dict_key, item in list(value.items()):
                    if item is function:
                        value[dict_key] = wrapper
                        _undo.append(functools.partial(value.__setitem__, dict_key, function))
    # torch._VF answers from torch._C._VariableFunctions through __getattr__; an
    # attribute set on the module itself is found first.
    vf = sys.modules.get("torch._VF")
    raw = getattr(vf, "vf", None) if vf is not None else None
    for key in names:
        try:
            same = raw is not None and getattr(raw, key, None) is function
        except Exception:
            same = False
        if same and not _is_trap(vars(vf).get(key)):
            _set(vf, key, wrapper)
    if parent is not None and not isinstance(parent, types.ModuleType):
        try:
            if getattr(parent, name, None) is function:
                _set(parent, name, wrapper)
        except (AttributeError, TypeError):
            pass


def _trap_namespace(module: types.ModuleType, namespace: str) -> None:
    cls = type(module)
    if getattr(cls, _MARK, None):
        return

    # An AttributeError from here still falls back to the class's __getattr__
    # (torch._VF's, which answers from torch._C._VariableFunctions).
    base_getattribute = cls.__getattribute__

    def __getattribute__(self: Any, name: str) -> Any:
        if not name.startswith("__") and not _active():
            caller = sys._getframe(1)
            if _where(caller.f_code.co_filename) != "library":
                _record(f"{namespace}.{name}", "access", caller)
        return base_getattribute(self, name)

    trapped = type(cls.__name__, (cls,), {"__getattribute__": __getattribute__, _MARK: namespace})
    trapped.__module__ = cls.__module__
    module.__class__ = trapped

    def undo() -> None:
        module.__class__ = cls

    _undo.append(undo)


# -- the API ----------------------------------------------------------------------------------


def _resolve(dotted: str) -> tuple[Any, Any]:
    """(object, its parent) for a dotted name, importing modules along the way."""
    parts = dotted.split(".")
    obj: Any = importlib.import_module(parts[0])
    parent: Any = None
    for i, part in enumerate(parts[1:], 1):
        parent = obj
        try:
            obj = getattr(obj, part)
        except AttributeError:
            obj = importlib.import_module(".".join(parts[: i + 1]))
    return obj, parent


def install(forbidden: list[str]) -> None:
    """Trap every API in ``forbidden`` (dotted names; ``"x.y.*"`` for a namespace).

    Call it before the submission is imported.  Names that do not exist in the
    installed libraries are skipped (``installed()`` lists them); calling it again
    adds new names and leaves those already trapped alone.
    """
    with _lock:
        _set_roots()
        for entry in forbidden:
            entry = str(entry).strip()
            if not entry or entry in _installed:
                continue
            name = entry[:-2] if entry.endswith(".*") else entry
            try:
                obj, parent = _resolve(name)
            except Exception as exc:
                _unresolved[entry] = f"{type(exc).__name__}: {exc}"
                continue
            _set_roots()  # the import may have brought torch
            if isinstance(obj, types.ModuleType):
                _trap_namespace(obj, name)
                _installed[entry] = "namespace"
            elif entry.endswith(".*"):
                _unresolved[entry] = f"{name} is not a module"
            elif isinstance(obj, type):
                _trap_class(obj, entry)
                _installed[entry] = "class"
            elif _is_trap(obj):
                _installed[entry] = "function"  # the same function, trapped under another name
            elif callable(obj):
                _trap_function(obj, entry, parent, name.rsplit(".", 1)[-1])
                _installed[entry] = "function"
            else:
                _unresolved[entry] = f"{name} is a {type(obj).__name__}, not a class or function"
            if entry in _installed:
                _unresolved.pop(entry, None)


def installed() -> dict[str, Any]:
    """What is trapped (entry -> "class"/"function"/"namespace") and what could not be."""
    with _lock:
        return {"trapped": dict(_installed), "unresolved": dict(_unresolved)}


def report() -> list[dict[str, Any]]:
    """The recorded uses, first first: one per (api, file, line), at most ``MAX_RECORDS``.

    Each has ``api``, ``kinds`` ("init", "forward", "call", "access"), ``count``,
    ``file`` (relative to the submission), ``line``, ``code``, ``function``,
    ``direct`` and ``via``.
    """
    with _lock:
        return [dict(r, kinds=list(r["kinds"])) for r in _records.values()]


def dropped() -> int:
    """Uses not kept because ``MAX_RECORDS`` distinct ones were already recorded."""
    return _dropped[0]


def reset() -> None:
    """Forget what was recorded (the traps stay)."""
    with _lock:
        _records.clear()
        _dropped[0] = 0


def uninstall() -> None:
    """Put every patched object back as it was and forget everything."""
    with _lock:
        while _undo:
            _undo.pop()()
        _installed.clear()
        _unresolved.clear()
        reset()

"""Different paths to one object are one API; which forbidden entry a path falls under.

``torch.nn.modules.rnn.GRU`` is ``torch.nn.GRU``, ``torch.rnn_tanh`` is
``torch._VF.rnn_tanh``, ``torch._C._nn.linear`` is ``torch.nn.functional.linear``.
``alias_tables`` builds the table of these aliases from torch itself when it can be
imported (every module of ``torch.nn``, ``torch``, ``torch._C._nn`` and ``torch._VF``
scanned for identical objects), else from static rules that encode the same facts
for the classes and functions that assignments forbid; it is built on first use and
cached.  ``_Names`` turns a dotted path into its canonical form, ``_Matcher`` says
which entry of a forbidden list (if any) a path reaches.
"""

from __future__ import annotations

import functools
import re
import sys
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# torch._VF.X is torch.X except for these, which torch wraps in Python (torch.functional).
_VF_WRAPPED = frozenset(
    {
        *("atleast_1d", "atleast_2d", "atleast_3d", "block_diag", "broadcast_tensors"),
        *("cartesian_prod", "cdist", "chain_matmul", "einsum", "meshgrid", "norm", "split"),
        *("stft", "tensordot", "unique_consecutive", "unique_dim"),
    }
)
_STATIC_MODULES = {
    "torch._C._VariableFunctions": "torch._VF",
    "torch.nn.modules.rnn._VF": "torch._VF",
    "torch.nn.functional._VF": "torch._VF",
    "torch.nn.utils.rnn._VF": "torch._VF",
    "torch.nn.modules.linear.F": "torch.nn.functional",
    "torch.nn.modules.rnn.F": "torch.nn.functional",
    "torch.nn.modules.activation.F": "torch.nn.functional",
    "torch.nn.modules.transformer.F": "torch.nn.functional",
    "torch.nn.modules.rnn.torch": "torch",
    "torch.nn.modules.linear.torch": "torch",
    "torch.nn.functional.torch": "torch",
    "torch.nn.modules.rnn.nn": "torch.nn",
    "torch.nn.modules.nn": "torch.nn",
}
# Static rules for objects reachable under several paths (checked after the table).
_STATIC_OBJECT_RULES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str | None]], ...] = (
    # every class of torch.nn is defined in torch.nn.modules.<file> and re-exported
    (re.compile(r"torch\.nn\.modules(?:\.[a-z_0-9]+)?\.([A-Z]\w*)"), lambda m: f"torch.nn.{m[1]}"),
    # torch._VF (torch._C._VariableFunctions) holds the same builtins as torch.*
    (
        re.compile(r"torch\._VF\.([a-z]\w*)"),
        lambda m: None if m[1] in _VF_WRAPPED else f"torch.{m[1]}",
    ),
    # torch.nn.functional.linear and friends are torch._C._nn's builtins
    (re.compile(r"torch\._C\._nn\.([a-z]\w*)"), lambda m: f"torch.nn.functional.{m[1]}"),
    # The dispatcher's operators run the same kernels: torch.ops.aten.gru_cell (any
    # overload: .default) is torch.gru_cell, torch.ops.aten.linear is F.linear.
    (re.compile(r"torch\.ops\.aten\.([a-z]\w*)"), lambda m: _aten_function(m[1])),
)
#: aten operators whose Python function lives in torch.nn.functional, not torch
_ATEN_FUNCTIONAL = frozenset({"linear", "bilinear"})


def _aten_function(name: str) -> str:
    return f"torch.nn.functional.{name}" if name in _ATEN_FUNCTIONAL else f"torch.{name}"



@dataclass(frozen=True)
class _Tables:
    modules: Mapping[str, str]  # attribute path that is a module -> the module's name
    objects: Mapping[str, str]  # path -> the representative path of the same object
    from_torch: bool


def _representative_key(path: str) -> tuple[int, int, str]:
    parts = path.split(".")
    return (sum(p.startswith("_") for p in parts), len(parts), path)


def _torch_tables() -> _Tables | None:
    try:
        import torch  # noqa: F401
        import torch.nn.functional  # noqa: F401
    except Exception:  # not installed, or broken: the static rules stand in
        return None
    scanned: list[tuple[str, Any]] = []
    for name, module in sorted(sys.modules.items()):
        if module is None or not isinstance(module, types.ModuleType):
            continue
        if name in ("torch", "torch.functional", "torch._C._nn") or name.startswith("torch.nn"):
            scanned.append((name, module))
    modules: dict[str, str] = {"torch._C._VariableFunctions": "torch._VF"}
    groups: dict[int, list[str]] = {}
    keep: dict[int, Any] = {}  # ids stay valid while the objects are held

    def add(path: str, value: Any) -> None:
        if isinstance(value, type | types.FunctionType | types.BuiltinFunctionType):
            groups.setdefault(id(value), []).append(path)
            keep[id(value)] = value

    for name, module in scanned:
        for attr, value in list(vars(module).items()):
            if attr.startswith("__"):
                continue
            path = f"{name}.{attr}"
            if isinstance(value, types.ModuleType):
                real = getattr(value, "__name__", None)
                if isinstance(real, str) and real != path:
                    modules[path] = real
            else:
                add(path, value)
    variable_functions = getattr(sys.modules["torch"]._C, "_VariableFunctions", None)
    for attr in dir(variable_functions):
        if not attr.startswith("__"):
            add(f"torch._VF.{attr}", getattr(variable_functions, attr, None))
    objects: dict[str, str] = {}
    for paths in groups.values():
        if len(paths) > 1:
            rep = min(paths, key=_representative_key)
            objects.update({p: rep for p in paths if p != rep})
    return _Tables(modules=modules, objects=objects, from_torch=True)


@functools.lru_cache(maxsize=2)
def alias_tables(use_torch: bool = True) -> _Tables:
    """The alias tables: from torch when ``use_torch`` and it imports, else static."""
    if use_torch:
        tables = _torch_tables()
        if tables is not None:
            return tables
    return _Tables(modules=dict(_STATIC_MODULES), objects={}, from_torch=False)


def _prefixes(path: str) -> Iterator[tuple[str, str]]:
    """(prefix, rest) pairs, longest prefix first; rest starts with "." or is empty."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        rest = ".".join(parts[i:])
        yield ".".join(parts[:i]), ("." + rest if rest else "")


class _Names:
    """Canonical forms of dotted paths, per alias table (cached)."""

    def __init__(self, tables: _Tables) -> None:
        self.tables = tables
        self._mod: dict[str, str] = {}
        self._obj: dict[str, str] = {}

    def module_normal(self, path: str) -> str:
        """``path`` with any prefix that names a module rewritten to that module's name."""
        if path in self._mod:
            return self._mod[path]
        result = path
        for _ in range(8):
            for prefix, rest in _prefixes(result):
                target = self.tables.modules.get(prefix)
                if target is None and prefix.endswith("._VF") and prefix.startswith("torch."):
                    target = "torch._VF"
                if target is not None and target != prefix:
                    result = target + rest
                    break
            else:
                break
        self._mod[path] = result
        return result

    def canonical(self, path: str) -> str:
        """One path per object: ``torch.nn.modules.rnn.GRU.x`` -> ``torch.nn.GRU.x``."""
        if path in self._obj:
            return self._obj[path]
        normal = self.module_normal(path)
        result = normal
        for prefix, rest in _prefixes(normal):
            rep = self.tables.objects.get(prefix)
            if rep is None:
                for pattern, rule in _STATIC_OBJECT_RULES:
                    found = pattern.fullmatch(prefix)
                    if found:
                        rep = rule(found)
                        break
            if rep is not None and rep != prefix:
                result = rep + rest
                break
        self._obj[path] = result
        return result


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root + ".")


class _Matcher:
    """Which forbidden entry (if any) a dotted path falls under."""

    def __init__(self, forbidden: Sequence[str], names: _Names) -> None:
        self.names = names
        self.explicit: list[tuple[str, str]] = []
        self.spaces: list[tuple[str, str, str]] = []
        for entry in forbidden:
            entry = entry.strip()
            if not entry:
                continue
            if entry.endswith(".*"):
                ns = entry[:-2]
                self.spaces.append((entry, names.module_normal(ns), names.canonical(ns)))
            else:
                self.explicit.append((entry, names.canonical(entry)))
        self._cache: dict[str, tuple[str, str] | None] = {}

    def match(self, path: str) -> tuple[str, str] | None:
        """(api, rule): the forbidden name reached and the entry that forbids it."""
        if path in self._cache:
            return self._cache[path]
        found: tuple[str, str] | None = None
        canon = self.names.canonical(path)
        for entry, target in self.explicit:
            if _under(canon, target):
                found = (entry, entry)
                break
        if found is None:
            normal = self.names.module_normal(path)
            for entry, ns_normal, ns_canon in self.spaces:
                for candidate, ns in ((normal, ns_normal), (canon, ns_canon)):
                    if _under(candidate, ns):
                        tail = candidate[len(ns) :].split(".")
                        api = ns + ("." + tail[1] if len(tail) > 1 else "")
                        found = (api, entry)
                        break
                if found:
                    break
        self._cache[path] = found
        return found

    def star_names(self, module: str) -> dict[str, str]:
        """Names that ``from module import *`` may bind to an explicitly forbidden object."""
        found = {}
        for entry, _target in self.explicit:
            name = entry.rsplit(".", 1)[-1]
            path = f"{module}.{name}"
            if self.match(path) is not None:
                found[name] = path
        return found

    def is_torch(self, path: str) -> bool:
        return _under(self.names.module_normal(path), "torch")

    @property
    def last_names(self) -> set[str]:
        names = {entry.rsplit(".", 1)[-1] for entry, _ in self.explicit}
        return {n for n in names if n.isidentifier()}

"""Find uses of forbidden high-level APIs in a submission's source, without running it.

Assignments forbid e.g. ``torch.nn.LSTM`` so that students write the recurrence
themselves.  ``find_forbidden`` reads every ``.py`` file and notebook of a
submission and reports each place where a forbidden name is *reached*: through
imports and their aliases, attribute chains, names brought in by ``import *``,
``getattr`` with a constant-foldable name, ``importlib.import_module`` /
``__import__``, ``sys.modules[...]``, ``vars(...)``/``__dict__`` subscripts, and
code built as a constant-foldable string and passed to ``exec``/``eval``/
``compile``.  What cannot be decided statically (``exec`` of a non-constant
string, ``getattr`` on a torch namespace with a computed name, a forbidden class
named only in ``isinstance``) goes to ``find_suspicious`` for a TA to look at;
the runtime traps (``harness.runtime.traps``) catch what is really called.

How names are resolved
----------------------
An abstract interpreter walks each file in statement order and keeps, per scope,
what every name may be bound to: a dotted path (``torch.nn``), a constant string,
integer, bytes or tuple of those.  Branches are merged ("may be"), loops run
once, function bodies are read after the module with the module's final
bindings (globals are looked up when a function runs).  A forbidden use is
reported where the forbidden path is first produced -- the import, the attribute,
the ``getattr`` call -- not at every later use of a local alias of it (the alias
was reported where it was made); names from ``import *`` are reported where used.
Not followed: values kept on objects (``self.m = nn`` then ``self.m.LSTM``) or
returned from functions, and strings built by code that is not constant-foldable;
the runtime traps see those.

Different paths to one object are one API: ``torch.nn.modules.rnn.LSTM`` is
``torch.nn.LSTM``, ``torch.lstm`` is ``torch._VF.lstm``, ``torch._C._nn.linear``
is ``torch.nn.functional.linear``.  The table of these aliases is built from torch
itself when it can be imported (every module of ``torch.nn``, ``torch``,
``torch._C._nn`` and ``torch._VF`` scanned for identical objects), else from
static rules that encode the same facts for the classes and functions that
assignments forbid.  It is built on first use and cached, so importing this
module stays cheap.  A name ending in ``.*`` forbids a namespace by the path
written (after module aliases such as ``torch.nn.modules.rnn._VF``), so
``torch._VF.*`` flags ``torch._VF.tanh`` but not ``torch.tanh``.

This module runs on the trusted side and imports only the standard library (and
torch, optionally, to build the alias table).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import functools
import itertools
import json
import re
import sys
import types
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["SUSPICIOUS", "Use", "alias_tables", "describe", "find_forbidden", "find_suspicious"]

#: ``Use.api`` of a dynamic access that static analysis cannot resolve.
SUSPICIOUS = "suspicious dynamic access"

_MAX_CHOICES = 16  # possible values kept per expression
_MAX_TEXT = 10_000  # longest string folded
_MAX_SEQ = 1_000  # longest tuple/list folded
_MAX_FOLDED = 256  # longest sequence a comprehension is folded over
_RECURSION = 10_000  # recursion limit while analysing (deeply nested expressions)
_MAX_EXEC_DEPTH = 5  # exec("exec('...')") nesting followed
_SHOWN = 120  # characters of an expression quoted in ``how``


@dataclass(frozen=True)
class Use:
    """One place where submitted code reaches a forbidden (or suspicious) API."""

    file: str  #: path relative to the submission root; notebooks: "nb.ipynb cell N"
    line: int  #: 1-based (for notebooks: within the cell)
    col: int  #: 1-based
    api: str  #: the forbidden name matched (as listed), or ``SUSPICIOUS``
    how: str  #: plain English: how the code got there
    code: str  #: the source line, stripped
    #: up to 2 lines before and after, numbered, the used line marked with ">"
    context: tuple[str, ...] = ()
    #: the entry of the forbidden list that matched ("torch._VF.*"), or for a
    #: suspicious use what kind it is ("dynamic", "string", "mention")
    rule: str = ""


# -- aliases --------------------------------------------------------------------------

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
)


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
        """One path per object: ``torch.nn.modules.rnn.LSTM.x`` -> ``torch.nn.LSTM.x``."""
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


# -- abstract values ------------------------------------------------------------------
# An abstract value is a tuple tagged by its first item:
#   ("path", "torch.nn")      the object at that dotted path (module, class, function)
#   ("str", "LSTM") ("int", 3) ("bytes", b"..")   a constant
#   ("seq", (abs, ...))       a tuple or list of single-valued constants
#   ("code",)                 a code object compiled from a constant string (already read)
#   ("meth", abs, "join")     a method of a constant, e.g. "".join
#   ("star", path, how)       a name bound by ``import *`` to a forbidden object
#   ("ns",)                   the dict from globals()/locals()
# A value is a frozenset of them: what the expression may be.  Empty: unknown.

Abs = tuple[Any, ...]
Val = frozenset[Abs]
_NONE: Val = frozenset()


def _val(*items: Abs) -> Val:
    return frozenset(items[:_MAX_CHOICES])


def _cap(items: Iterable[Abs]) -> Val:
    return frozenset(itertools.islice(items, _MAX_CHOICES))


def _py(item: Abs) -> Any:
    """The Python value of a constant abstract value (raises KeyError for others)."""
    tag = item[0]
    if tag in ("str", "int", "bytes"):
        return item[1]
    if tag == "seq":
        return [_py(x) for x in item[1]]
    raise KeyError(tag)


def _abs(value: Any) -> Abs | None:
    if isinstance(value, bool):
        return ("int", int(value))
    if isinstance(value, str):
        return ("str", value) if len(value) <= _MAX_TEXT else None
    if isinstance(value, int):
        return ("int", value) if abs(value) <= 10**12 else None
    if isinstance(value, bytes):
        return ("bytes", value) if len(value) <= _MAX_TEXT else None
    if isinstance(value, list | tuple) and len(value) <= _MAX_SEQ:
        items = [_abs(v) for v in value]
        if all(i is not None for i in items):
            return ("seq", tuple(items))
    return None


def _small(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value) <= _MAX_TEXT
    return True


_GETATTR_LIKE = frozenset(
    {
        "builtins.object.__getattribute__",
        "builtins.type.__getattribute__",
        "inspect.getattr_static",
        "types.ModuleType.__getattribute__",
    }
)
_STR_METHODS = frozenset(
    {
        *("join", "upper", "lower", "capitalize", "title", "swapcase", "casefold", "strip"),
        *("lstrip", "rstrip", "replace", "removeprefix", "removesuffix", "format", "zfill"),
        *("center", "ljust", "rjust", "split", "rsplit", "encode", "decode"),
        *("__add__", "__mul__", "__getitem__", "__mod__"),
    }
)
_SIZE_ARGS = frozenset({"zfill", "center", "ljust", "rjust", "__mul__"})


def _fold_method(receiver: Abs, name: str, args: list[Abs]) -> Abs | None:
    try:
        obj = _py(receiver)
        values = [_py(a) for a in args]
    except KeyError:
        return None
    if not isinstance(obj, str | bytes) or name not in _STR_METHODS:
        return None
    if name in _SIZE_ARGS and not all(_small(v) for v in values):
        return None
    try:
        return _abs(getattr(obj, name)(*values))
    except Exception:
        return None


def _fold_binop(op: ast.operator, left: Abs, right: Abs) -> Abs | None:
    try:
        a, b = _py(left), _py(right)
    except KeyError:
        return None
    try:
        if isinstance(op, ast.Add) and type(a) is type(b):
            if isinstance(a, list):
                return _abs(a + b) if len(a) + len(b) <= _MAX_SEQ else None
            return _abs(a + b)
        if isinstance(op, ast.Mult):
            if isinstance(a, int) and isinstance(b, int):
                return _abs(a * b)
            seq, n = (a, b) if isinstance(b, int) else (b, a)
            if (
                isinstance(n, int)
                and isinstance(seq, str | bytes | list)
                and (len(seq) * max(n, 0) <= _MAX_TEXT)
            ):
                return _abs(seq * n)
            return None
        if isinstance(op, ast.Mod) and isinstance(a, str):
            return _abs(a % (tuple(b) if isinstance(b, list) else b))
        if isinstance(op, ast.Sub | ast.FloorDiv) and isinstance(a, int) and isinstance(b, int):
            return _abs(a - b if isinstance(op, ast.Sub) else a // b)
    except Exception:
        return None
    return None


def _elements(val: Val) -> Val:
    """What iterating over ``val`` may give."""
    out: list[Abs] = []
    for item in val:
        if item[0] == "seq":
            out.extend(item[1])
        elif item[0] == "str" and len(item[1]) <= _MAX_SEQ:
            out.extend(("str", c) for c in item[1])
    return _cap(dict.fromkeys(out))


def _strings(val: Val) -> list[str]:
    return [item[1] for item in val if item[0] == "str"]


def _paths(val: Val) -> list[str]:
    return [item[1] for item in val if item[0] == "path"]


def _shown(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except Exception:
        return "<expression>"
    text = " ".join(text.split())
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


# -- the analyser -----------------------------------------------------------------------


class _Scope:
    def __init__(
        self,
        env: dict[str, Val],
        stars: list[tuple[str, int]],
        function_parent: _Scope | None = None,
    ) -> None:
        self.env = env
        self.stars = stars  # (module, line) of each ``from module import *``
        #: the scope whose bindings functions defined here see (classes are skipped)
        self.function_parent = function_parent or self


@dataclass
class _Source:
    label: str  # "model.py" or "nb.ipynb cell 3"
    lines: list[str]


@dataclass
class _Site:
    node: ast.AST  # the exec/eval/compile call all reports are moved to
    prefix: str


class _Analyser:
    def __init__(self, matcher: _Matcher) -> None:
        self.matcher = matcher
        self.uses: dict[tuple[str, int, str], Use] = {}
        self.suspicious: dict[tuple[str, int, str], Use] = {}
        self.source = _Source("", [])
        self.site: _Site | None = None
        self.mention: str | None = None
        self.silent = 0
        self.exec_depth = 0
        self.deferred: list[tuple[ast.AST, _Scope, _Source]] = []

    # -- reports ----------------------------------------------------------------
    def _make(self, node: ast.AST, api: str, how: str, rule: str) -> Use:
        if self.site is not None:
            node, how = self.site.node, f"{self.site.prefix}: {how}"
        line = getattr(node, "lineno", 1)
        lines = self.source.lines
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        offset = getattr(node, "col_offset", 0)
        col = len(text.encode("utf-8")[:offset].decode("utf-8", errors="ignore")) + 1
        context = []
        for number in range(max(1, line - 2), min(len(lines), line + 2) + 1):
            mark = ">" if number == line else " "
            context.append(f"{mark}{number:5d} | {lines[number - 1].rstrip()}")
        return Use(
            file=self.source.label,
            line=line,
            col=col,
            api=api,
            how=how,
            code=text.strip(),
            context=tuple(context),
            rule=rule,
        )

    def report(self, node: ast.AST, found: tuple[str, str], how: str) -> None:
        if self.silent:
            return
        api, rule = found
        if self.mention is not None:
            use = self._make(node, api, f"{how}, {self.mention}", "mention")
            self.suspicious.setdefault((use.file, use.line, use.how), use)
            return
        use = self._make(node, api, how, rule)
        self.uses.setdefault((use.file, use.line, use.api), use)

    def flag(self, node: ast.AST, how: str, rule: str = "dynamic") -> None:
        if self.silent:
            return
        use = self._make(node, SUSPICIOUS, how, rule)
        self.suspicious.setdefault((use.file, use.line, use.how), use)

    def reach(
        self, node: ast.AST, path: str, base: str | None, how: str | Callable[[], str]
    ) -> None:
        """Report ``path`` if it is forbidden, unless ``base`` (where it came from) was
        already that same forbidden name (``L.forward`` after ``L = nn.LSTM``)."""
        found = self.matcher.match(path)
        if found is None:
            return
        before = self.matcher.match(base) if base is not None else None
        if before is None or before[0] != found[0]:
            self.report(node, found, how if isinstance(how, str) else how())

    # -- entry points -------------------------------------------------------------
    def module(self, tree: ast.Module, scope: _Scope, source: _Source) -> None:
        self.source = source
        self.block(tree.body, scope)

    def finish(self) -> None:
        while self.deferred:
            node, parent, source = self.deferred.pop(0)
            self.source = source
            self.function_body(node, parent)

    # -- statements -----------------------------------------------------------------
    def block(self, body: Sequence[ast.stmt], scope: _Scope) -> None:
        for statement in body:
            self.stmt(statement, scope)

    def branches(self, scope: _Scope, bodies: Sequence[Callable[[], None]]) -> None:
        """Run each body from the same bindings and merge what they may leave."""
        start = dict(scope.env)
        ends = []
        for run in bodies:
            scope.env = dict(start)
            run()
            ends.append(scope.env)
        merged: dict[str, Val] = {}
        for env in ends:
            for key, value in env.items():
                merged[key] = _cap(merged.get(key, _NONE) | value)
        scope.env = merged

    def stmt(self, node: ast.stmt, scope: _Scope) -> None:
        method = getattr(self, f"stmt_{type(node).__name__}", None)
        if method is not None:
            method(node, scope)
            return
        # Return, Raise, Assert, Expr, Delete and the rest: read their expressions.
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.ev(child, scope)
        if isinstance(node, ast.Delete):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    scope.env.pop(target.id, None)

    def stmt_Import(self, node: ast.Import, scope: _Scope) -> None:
        for alias in node.names:
            self.reach(node, alias.name, None, self._import_how(alias))
            if alias.asname:
                scope.env[alias.asname] = _val(("path", alias.name))
            else:
                top = alias.name.split(".")[0]
                scope.env[top] = _val(("path", top))

    @staticmethod
    def _import_how(alias: ast.alias) -> str:
        if alias.asname:
            return f"import {alias.name} as {alias.asname}"
        return f"import {alias.name}"

    def stmt_ImportFrom(self, node: ast.ImportFrom, scope: _Scope) -> None:
        if node.level or not node.module:
            for alias in node.names:  # the student's own package: nothing to resolve
                if alias.name != "*":
                    scope.env[alias.asname or alias.name] = _NONE
            return
        module = node.module
        for alias in node.names:
            if alias.name == "*":
                self.reach(node, module, None, lambda: f"from {module} import *")
                scope.stars = [*scope.stars, (module, node.lineno)]
                for name, path in self.matcher.star_names(module).items():
                    how = f"name {name}, which 'from {module} import *' (line {node.lineno}) "
                    how += "brings in"
                    scope.env[name] = _val(("star", path, how))
                continue
            path = f"{module}.{alias.name}"
            if alias.asname:
                how = f"imported as {alias.asname} "
                how += f"(from {module} import {alias.name} as {alias.asname})"
            else:
                how = f"imported (from {module} import {alias.name})"
            self.reach(node, path, None, how)
            scope.env[alias.asname or alias.name] = _val(("path", path))

    def stmt_Assign(self, node: ast.Assign, scope: _Scope) -> None:
        value = self.ev(node.value, scope)
        for target in node.targets:
            self.bind(target, value, scope)

    def stmt_AnnAssign(self, node: ast.AnnAssign, scope: _Scope) -> None:
        self.annotation(node.annotation, scope)
        value = self.ev(node.value, scope) if node.value is not None else None
        if value is not None:
            self.bind(node.target, value, scope)
        elif not isinstance(node.target, ast.Name):
            self.bind(node.target, _NONE, scope)

    def stmt_AugAssign(self, node: ast.AugAssign, scope: _Scope) -> None:
        right = self.ev(node.value, scope)
        if isinstance(node.target, ast.Name):
            left = self.lookup(node.target, scope)
            out = [_fold_binop(node.op, a, b) for a in left for b in right]
            scope.env[node.target.id] = _cap(x for x in out if x is not None)
        else:
            self.bind(node.target, _NONE, scope)

    def bind(self, target: ast.expr, value: Val, scope: _Scope) -> None:
        if isinstance(target, ast.Name):
            scope.env[target.id] = value
        elif isinstance(target, ast.Tuple | ast.List):
            sequences = [v[1] for v in value if v[0] == "seq" and len(v[1]) == len(target.elts)]
            starred = any(isinstance(e, ast.Starred) for e in target.elts)
            for i, element in enumerate(target.elts):
                part = _NONE if starred else _cap(seq[i] for seq in sequences)
                self.bind(element, part, scope)
        elif isinstance(target, ast.Starred):
            self.bind(target.value, _NONE, scope)
        elif isinstance(target, ast.Attribute):
            self.ev(target.value, scope)
        elif isinstance(target, ast.Subscript):
            self.ev(target.value, scope)
            self.ev(target.slice, scope)

    def stmt_For(self, node: ast.For | ast.AsyncFor, scope: _Scope) -> None:
        items = _elements(self.ev(node.iter, scope))

        def loop() -> None:
            self.bind(node.target, items, scope)
            self.block(node.body, scope)
            self.block(node.orelse, scope)

        self.branches(scope, [loop, lambda: self.block(node.orelse, scope)])

    stmt_AsyncFor = stmt_For

    def stmt_While(self, node: ast.While, scope: _Scope) -> None:
        self.ev(node.test, scope)

        def loop() -> None:
            self.block(node.body, scope)
            self.block(node.orelse, scope)

        self.branches(scope, [loop, lambda: self.block(node.orelse, scope)])

    def stmt_If(self, node: ast.If, scope: _Scope) -> None:
        self.ev(node.test, scope)
        self.branches(
            scope, [lambda: self.block(node.body, scope), lambda: self.block(node.orelse, scope)]
        )

    def stmt_Try(self, node: ast.Try | ast.TryStar, scope: _Scope) -> None:
        self.block(node.body, scope)

        def handler(h: ast.ExceptHandler) -> Callable[[], None]:
            def run() -> None:
                if h.type is not None:
                    self.ev(h.type, scope)
                if h.name:
                    scope.env[h.name] = _NONE
                self.block(h.body, scope)

            return run

        self.branches(
            scope,
            [lambda: self.block(node.orelse, scope), *(handler(h) for h in node.handlers)],
        )
        self.block(node.finalbody, scope)

    stmt_TryStar = stmt_Try

    def stmt_With(self, node: ast.With | ast.AsyncWith, scope: _Scope) -> None:
        for item in node.items:
            self.ev(item.context_expr, scope)
            if item.optional_vars is not None:
                self.bind(item.optional_vars, _NONE, scope)
        self.block(node.body, scope)

    stmt_AsyncWith = stmt_With

    def stmt_Match(self, node: ast.Match, scope: _Scope) -> None:
        self.ev(node.subject, scope)

        def case(c: ast.match_case) -> Callable[[], None]:
            def run() -> None:
                for sub in ast.walk(c.pattern):
                    if isinstance(sub, ast.MatchValue):
                        self.ev(sub.value, scope)
                    for name in (getattr(sub, "name", None), getattr(sub, "rest", None)):
                        if isinstance(name, str):
                            scope.env[name] = _NONE
                if c.guard is not None:
                    self.ev(c.guard, scope)
                self.block(c.body, scope)

            return run

        self.branches(scope, [lambda: None, *(case(c) for c in node.cases)])

    def stmt_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: _Scope) -> None:
        for decorator in node.decorator_list:
            self.ev(decorator, scope)
        self.arguments(node.args, scope)
        if node.returns is not None:
            self.annotation(node.returns, scope)
        scope.env[node.name] = _NONE
        self.deferred.append((node, scope.function_parent, self.source))

    stmt_AsyncFunctionDef = stmt_FunctionDef

    def stmt_ClassDef(self, node: ast.ClassDef, scope: _Scope) -> None:
        for expr in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.ev(expr, scope)
        inner = _Scope(dict(scope.env), list(scope.stars), scope.function_parent)
        self.block(node.body, inner)
        scope.env[node.name] = _NONE

    def arguments(self, args: ast.arguments, scope: _Scope) -> None:
        for default in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]:
            self.ev(default, scope)
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if arg is not None and arg.annotation is not None:
                self.annotation(arg.annotation, scope)

    @staticmethod
    def _parameters(args: ast.arguments) -> list[str]:
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        return [a.arg for a in every if a is not None]

    def function_body(self, node: ast.AST, parent: _Scope) -> None:
        assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        env = dict(parent.env)
        for name in self._parameters(node.args):
            env[name] = _NONE
        scope = _Scope(env, list(parent.stars))
        self.block(node.body, scope)

    def annotation(self, node: ast.expr, scope: _Scope) -> None:
        previous, self.mention = self.mention, "named in a type annotation (not a use by itself)"
        try:
            self.ev(node, scope)
        finally:
            self.mention = previous

    # -- expressions ----------------------------------------------------------------
    def ev(self, node: ast.expr | None, scope: _Scope) -> Val:
        if node is None:
            return _NONE
        method = getattr(self, f"ev_{type(node).__name__}", None)
        if method is not None:
            result: Val = method(node, scope)
            return result
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.ev(child, scope)
        return _NONE

    def ev_Constant(self, node: ast.Constant, scope: _Scope) -> Val:
        found = _abs(node.value) if isinstance(node.value, str | bytes | int) else None
        return _val(found) if found is not None else _NONE

    def ev_Name(self, node: ast.Name, scope: _Scope) -> Val:
        return self.lookup(node, scope)

    def lookup(self, node: ast.Name, scope: _Scope) -> Val:
        name = node.id
        if name in scope.env:
            value = scope.env[name]
            if any(item[0] == "star" for item in value):
                out = []
                for item in value:
                    if item[0] == "star":
                        found = self.matcher.match(item[1])
                        if found is not None:
                            self.report(node, found, item[2])
                        out.append(("path", item[1]))
                    else:
                        out.append(item)
                return _cap(out)
            return value
        for module, line in reversed(scope.stars):
            path = f"{module}.{name}"
            found = self.matcher.match(path)
            if found is not None:
                how = f"name {name}, which 'from {module} import *' (line {line}) brings in"
                self.report(node, found, how)
                return _val(("path", path))
        if name == "__builtins__":
            return _val(("path", "builtins"))
        if hasattr(builtins, name):
            return _val(("path", f"builtins.{name}"))
        return _NONE

    def ev_Attribute(self, node: ast.Attribute, scope: _Scope) -> Val:
        # A chain (torch._VF.lstm.__call__) is reported once, at its outermost node, for
        # the most specific forbidden name it reaches; not again when what the chain
        # starts from (an alias made earlier) was itself that forbidden name.
        out: list[Abs] = []
        for root, item in self._chain(node, scope):
            if item[0] == "path":
                self.reach(node, item[1], root, lambda: self._chain_how(node, scope))
            out.append(item)
        return _cap(out)

    def _chain(self, node: ast.Attribute, scope: _Scope) -> list[tuple[str | None, Abs]]:
        """(path the chain starts from, value) for each value the chain may have."""
        if isinstance(node.value, ast.Attribute):
            inner = self._chain(node.value, scope)
        else:
            inner = [
                (item[1] if item[0] == "path" else None, item)
                for item in self.ev(node.value, scope)
            ]
        out: list[tuple[str | None, Abs]] = []
        for root, item in inner:
            if item[0] == "path":
                out.append((root, ("path", f"{item[1]}.{node.attr}")))
            elif item[0] in ("str", "bytes") and node.attr in _STR_METHODS:
                out.append((None, ("meth", item, node.attr)))
        return out[:_MAX_CHOICES]

    def _chain_how(self, node: ast.Attribute, scope: _Scope) -> str:
        root: ast.expr = node
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name):
            return _shown(node)
        text = f"attribute chain {_shown(node)}"
        value = scope.env.get(root.id, _NONE)
        paths = [p[1] for p in value if p[0] in ("path", "star")]
        if paths and paths[0] != root.id:
            text += f" ({root.id} is {paths[0]})"
        return text

    def ev_Subscript(self, node: ast.Subscript, scope: _Scope) -> Val:
        base = self.ev(node.value, scope)
        key = self.ev(node.slice, scope) if not isinstance(node.slice, ast.Slice) else _NONE
        out: list[Abs] = []
        if isinstance(node.slice, ast.Slice):
            bounds = [
                self.ev(part, scope) if part is not None else _val(("none",))
                for part in (node.slice.lower, node.slice.upper, node.slice.step)
            ]
            for item in base:
                for combo in itertools.product(*bounds):
                    if all(c[0] in ("int", "none") for c in combo):
                        try:
                            cut = slice(*(None if c[0] == "none" else c[1] for c in combo))
                            folded = _abs(_py(item)[cut])
                        except (KeyError, ValueError, TypeError):
                            folded = None
                        if folded is not None:
                            out.append(folded)
            return _cap(out)
        for item in base:
            if item[0] == "path":
                container = item[1]
                for name in _strings(key):
                    if container == "sys.modules":
                        self.reach(node, name, None, lambda: _shown(node))
                        out.append(("path", name))
                    elif container.endswith(".__dict__"):
                        owner = container[: -len(".__dict__")]
                        self.reach(node, f"{owner}.{name}", owner, lambda: _shown(node))
                        out.append(("path", f"{owner}.{name}"))
                if not _strings(key) and self._namespace_dict(container):
                    self.flag(node, f"{_shown(node)}: a torch namespace indexed by a computed name")
            elif item[0] == "ns":
                for name in _strings(key):
                    named = ast.copy_location(ast.Name(id=name, ctx=ast.Load()), node)
                    out.extend(self.lookup(named, scope))
            else:
                for index in key:
                    try:
                        folded = _abs(_py(item)[_py(index)])
                    except (KeyError, IndexError, TypeError):
                        folded = None
                    if folded is not None:
                        out.append(folded)
        return _cap(out)

    def _namespace_dict(self, container: str) -> bool:
        if container == "sys.modules":
            return False
        return container.endswith(".__dict__") and self.matcher.is_torch(container[:-9])

    def ev_UnaryOp(self, node: ast.UnaryOp, scope: _Scope) -> Val:
        value = self.ev(node.operand, scope)
        if isinstance(node.op, ast.USub):
            return _cap(("int", -item[1]) for item in value if item[0] == "int")
        return _NONE

    def ev_BinOp(self, node: ast.BinOp, scope: _Scope) -> Val:
        left, right = self.ev(node.left, scope), self.ev(node.right, scope)
        out = (_fold_binop(node.op, a, b) for a in left for b in right)
        return _cap(x for x in out if x is not None)

    def ev_JoinedStr(self, node: ast.JoinedStr, scope: _Scope) -> Val:
        pieces: list[list[str]] = []
        for part in node.values:
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                pieces.append([part.value])
            elif isinstance(part, ast.FormattedValue):
                spec = self.ev(part.format_spec, scope) if part.format_spec is not None else None
                options = []
                for item in self.ev(part.value, scope):
                    try:
                        value = _py(item)
                    except KeyError:
                        continue
                    if part.conversion == ord("r"):
                        value = repr(value)
                    elif part.conversion == ord("a"):
                        value = ascii(value)
                    for fmt in _strings(spec) if spec is not None else [""]:
                        try:
                            options.append(format(value, fmt))
                        except Exception:
                            continue
                if not options:
                    return _NONE
                pieces.append(options)
            else:
                return _NONE
        out = ("".join(combo) for combo in itertools.product(*pieces))
        return _cap(("str", s) for s in itertools.islice(out, _MAX_CHOICES) if len(s) <= _MAX_TEXT)

    def ev_Tuple(self, node: ast.Tuple | ast.List, scope: _Scope) -> Val:
        items = [self.ev(e, scope) for e in node.elts]
        if any(isinstance(e, ast.Starred) for e in node.elts) or len(items) > _MAX_SEQ:
            return _NONE
        if all(len(v) == 1 for v in items):
            return _val(("seq", tuple(next(iter(v)) for v in items)))
        return _NONE

    ev_List = ev_Tuple

    def ev_IfExp(self, node: ast.IfExp, scope: _Scope) -> Val:
        self.ev(node.test, scope)
        return _cap(self.ev(node.body, scope) | self.ev(node.orelse, scope))

    def ev_BoolOp(self, node: ast.BoolOp, scope: _Scope) -> Val:
        out: set[Abs] = set()
        for value in node.values:
            out |= self.ev(value, scope)
        return _cap(out)

    def ev_NamedExpr(self, node: ast.NamedExpr, scope: _Scope) -> Val:
        value = self.ev(node.value, scope)
        self.bind(node.target, value, scope)
        return value

    def ev_Lambda(self, node: ast.Lambda, scope: _Scope) -> Val:
        self.arguments(node.args, scope)
        env = dict(scope.env)
        for name in self._parameters(node.args):
            env[name] = _NONE
        self.ev(node.body, _Scope(env, list(scope.stars)))
        return _NONE

    def _comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp, scope: _Scope
    ) -> Val:
        inner = _Scope(dict(scope.env), list(scope.stars))
        sequence: list[Abs] | None = None
        for i, generator in enumerate(node.generators):
            iterated = self.ev(generator.iter, scope if i == 0 else inner)
            items = _elements(iterated)
            if i == 0 and len(node.generators) == 1 and not generator.ifs and len(iterated) == 1:
                only = next(iter(iterated))
                if only[0] == "seq":
                    sequence = list(only[1][:_MAX_FOLDED])
                elif only[0] == "str" and len(only[1]) <= _MAX_FOLDED:
                    sequence = [("str", c) for c in only[1]]
            self.bind(generator.target, items, inner)
            for condition in generator.ifs:
                self.ev(condition, inner)
        if isinstance(node, ast.DictComp):
            self.ev(node.key, inner)
            self.ev(node.value, inner)
            return _NONE
        self.ev(node.elt, inner)
        if sequence is None or isinstance(node, ast.SetComp):
            return _NONE
        # Fold the comprehension over a constant sequence: "".join(c for c in "MTSL"[::-1]).
        target = node.generators[0].target
        folded: list[Abs] = []
        self.silent += 1
        try:
            for element in sequence:
                self.bind(target, _val(element), inner)
                value = self.ev(node.elt, inner)
                if len(value) != 1:
                    return _NONE
                folded.append(next(iter(value)))
        finally:
            self.silent -= 1
        return _val(("seq", tuple(folded)))

    ev_ListComp = _comprehension
    ev_SetComp = _comprehension
    ev_GeneratorExp = _comprehension
    ev_DictComp = _comprehension

    # -- calls ----------------------------------------------------------------------
    def ev_Call(self, node: ast.Call, scope: _Scope) -> Val:
        function = self.ev(node.func, scope)
        paths = set(_paths(function))
        mention = paths & {"builtins.isinstance", "builtins.issubclass"}
        args: list[Val] = []
        for i, arg in enumerate(node.args):
            expr = arg.value if isinstance(arg, ast.Starred) else arg
            if mention and i == 1:
                previous = self.mention
                self.mention = (
                    f"named in {sorted(mention)[0][9:]}(...) (a type test, not a use by itself)"
                )
                try:
                    value = self.ev(expr, scope)
                finally:
                    self.mention = previous
            else:
                value = self.ev(expr, scope)
            args.append(_NONE if isinstance(arg, ast.Starred) else value)
        keywords = {k.arg: self.ev(k.value, scope) for k in node.keywords}
        if any(isinstance(a, ast.Starred) for a in node.args):
            args = args[: next(i for i, a in enumerate(node.args) if isinstance(a, ast.Starred))]

        out: list[Abs] = []
        for item in function:
            if item[0] == "meth":
                out.extend(self._call_method(item[1], item[2], args))
            elif item[0] == "path":
                out.extend(self._call_path(node, item[1], args, keywords, scope))
            elif item[0] == "attrgetter" and args:  # operator.attrgetter("LSTM")(nn)
                out.extend(self._getattr(node, args[0], _val(("str", item[1])), offset=None))
        return _cap(out)

    def _call_method(self, receiver: Abs, name: str, args: list[Val]) -> list[Abs]:
        out = []
        for combo in itertools.islice(itertools.product(*args), _MAX_CHOICES):
            folded = _fold_method(receiver, name, list(combo))
            if folded is not None:
                out.append(folded)
        return out

    def _call_path(
        self,
        node: ast.Call,
        path: str,
        args: list[Val],
        keywords: dict[str | None, Val],
        scope: _Scope,
    ) -> list[Abs]:
        def arg(i: int, name: str) -> Val | None:
            if i < len(args):
                return args[i]
            return keywords.get(name)

        def expr(i: int, name: str) -> ast.expr | None:
            if i < len(node.args):
                return node.args[i]
            return next((k.value for k in node.keywords if k.arg == name), None)

        if path == "builtins.getattr":
            return self._getattr(node, arg(0, "") or _NONE, arg(1, "") or _NONE)
        if path in _GETATTR_LIKE:  # object.__getattribute__(nn, "LSTM")
            return self._getattr(node, arg(0, "") or _NONE, arg(1, "") or _NONE, offset=0)
        if path.endswith((".__getattribute__", ".__getattr__")):  # nn.__getattribute__("LSTM")
            owner = _val(("path", path.rsplit(".", 1)[0]))
            return self._getattr(node, owner, arg(0, "") or _NONE, offset=-1)
        if path == "operator.attrgetter":
            return [("attrgetter", s) for s in _strings(arg(0, "") or _NONE)]
        if path in ("importlib.import_module", "importlib.__import__", "builtins.__import__"):
            return self._import_call(node, path, arg, expr)
        if path in ("builtins.exec", "builtins.eval", "builtins.compile"):
            return self._code_call(node, path[9:], arg(0, "source"), arg(2, "mode"), scope)
        if path in ("builtins.vars", "builtins.globals", "builtins.locals"):
            if path == "builtins.vars" and args:
                return [("path", f"{p}.__dict__") for p in _paths(args[0])]
            return [("ns",)]
        if path == "builtins.str" and len(args) == 1:
            return [f for f in (_abs(str(_py(a))) for a in args[0] if a[0] in ("str", "int")) if f]
        if path in ("builtins.chr", "builtins.ord") and len(args) == 1:
            fn: Callable[[Any], Any] = chr if path == "builtins.chr" else ord
            found = []
            for item in args[0]:
                try:
                    found.append(_abs(fn(_py(item))))
                except (KeyError, TypeError, ValueError):
                    continue
            return [f for f in found if f is not None]
        if path in ("builtins.list", "builtins.tuple", "builtins.reversed") and len(args) == 1:
            out: list[Abs] = []
            for item in args[0]:
                items = (
                    list(item[1])
                    if item[0] == "seq"
                    else [("str", c) for c in item[1]]
                    if item[0] == "str" and len(item[1]) <= _MAX_SEQ
                    else None
                )
                if items is not None:
                    out.append(
                        ("seq", tuple(reversed(items) if path.endswith("reversed") else items))
                    )
            return out
        if path.startswith("builtins.str.") and args:
            method = path[len("builtins.str.") :]
            out = []
            for receiver in args[0]:
                out.extend(self._call_method(receiver, method, args[1:]))
            return out
        return []

    def _getattr(self, node: ast.Call, target: Val, name: Val, offset: int | None = 0) -> list[Abs]:
        """getattr(target, name); ``offset``: where the arguments are in ``node.args``
        (-1: the target is the receiver of the method called; None: not in the call)."""
        out: list[Abs] = []
        names = [n for n in _strings(name) if n]
        if offset == -1:
            shown_target = _shown(node.func.value) if isinstance(node.func, ast.Attribute) else "?"
            name_node = node.args[0] if node.args else None
        elif offset is None:
            shown_target = _shown(node.args[0]) if node.args else "?"
            name_node = node.func
        else:
            shown_target = _shown(node.args[0]) if node.args else "?"
            name_node = node.args[1] if len(node.args) > 1 else None
        plain = isinstance(name_node, ast.Constant)
        for item in target:
            if item[0] == "path":
                for attr in names:
                    path = f"{item[1]}.{attr}"
                    if offset != 0 or self._getattr_named(node):
                        how = _shown(node) + ("" if plain else f" (the name is {attr!r})")
                    elif plain:
                        how = f"getattr({shown_target}, {attr!r})"
                    else:
                        shown_name = _shown(name_node) if name_node is not None else "?"
                        how = (
                            f"string {shown_name} (= {attr!r}) passed to getattr on {shown_target}"
                        )
                    self.reach(node, path, item[1], how)
                    out.append(("path", path))
                if not names and self.matcher.is_torch(item[1]):
                    shown = _shown(name_node) if name_node is not None else "?"
                    self.flag(
                        node,
                        f"getattr({shown_target}, {shown}): an attribute of {item[1]} "
                        "looked up by a name that is not a constant",
                    )
            elif item[0] in ("str", "bytes"):
                out.extend(("meth", item, attr) for attr in names if attr in _STR_METHODS)
        return out

    @staticmethod
    def _getattr_named(node: ast.Call) -> bool:
        """Whether the call is not spelled ``getattr(...)`` (object.__getattribute__...)."""
        return not (isinstance(node.func, ast.Name) and node.func.id == "getattr")

    def _import_call(
        self,
        node: ast.Call,
        path: str,
        arg: Callable[[int, str], Val | None],
        expr: Callable[[int, str], ast.expr | None],
    ) -> list[Abs]:
        names = _strings(arg(0, "name") or _NONE)
        if not names:
            self.flag(node, f"{_shown(node)}: a module imported by a name that is not a constant")
            return []
        out: list[Abs] = []
        for name in names:
            if path == "importlib.import_module":
                package = _strings(arg(1, "package") or _NONE)
                if name.startswith(".") and package:
                    level = len(name) - len(name.lstrip("."))
                    base = package[0].rsplit(".", level - 1)[0] if level > 1 else package[0]
                    name = f"{base}.{name.lstrip('.')}"
                module = name
            else:
                fromlist = arg(3, "fromlist") or _NONE
                wants = any(item[0] == "seq" and item[1] for item in fromlist) or any(
                    item[0] == "str" and item[1] for item in fromlist
                )
                module = name if wants else name.split(".")[0]
            if name.startswith("."):
                continue
            self.reach(node, name, None, lambda: _shown(node))
            out.append(("path", module))
        return out

    def _code_call(
        self, node: ast.Call, what: str, source: Val | None, mode: Val | None, scope: _Scope
    ) -> list[Abs]:
        texts = _strings(source or _NONE) + [
            b[1].decode("utf-8", "replace") for b in (source or _NONE) if b[0] == "bytes"
        ]
        code_only = bool(source) and all(item[0] == "code" for item in source or ())
        if not texts:
            if not code_only:
                self.flag(node, f"{_shown(node)}: {what} of code that is not a constant string")
            return []
        modes = _strings(mode or _NONE) or (["eval"] if what == "eval" else ["exec"])
        out: list[Abs] = []
        for text in texts:
            out.extend(self._read_string(node, what, text, modes[0], scope))
        return [("code",)] if what == "compile" else out

    def _read_string(
        self, node: ast.Call, what: str, text: str, mode: str, scope: _Scope
    ) -> list[Abs]:
        if self.exec_depth >= _MAX_EXEC_DEPTH:
            self.flag(node, f"{what} nested too deeply to follow", "string")
            return []
        try:
            with _quiet():
                tree = ast.parse(text, mode="eval" if mode == "eval" else "exec")
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return []
        before = len(self.uses) + len(self.suspicious)
        outer = self.site
        if self.site is None:
            self.site = _Site(node, f"code built in a string passed to {what}")
        self.exec_depth += 1
        try:
            if isinstance(tree, ast.Expression):
                result = list(self.ev(tree.body, scope))
            else:
                assert isinstance(tree, ast.Module)
                self.block(tree.body, scope)
                result = []
            if len(self.uses) + len(self.suspicious) == before:
                words = sorted(
                    n for n in self.matcher.last_names if re.search(rf"\b{re.escape(n)}\b", text)
                )
                if words:
                    self.flag(
                        node,
                        f"mentions {', '.join(words)} in code that could not be resolved",
                        "string",
                    )
        finally:
            self.exec_depth -= 1
            self.site = outer
        return result


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence SyntaxWarnings from parsing student code (pytest turns them into errors)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# -- files --------------------------------------------------------------------------------


def _parse(source: str, label: str) -> ast.Module | None:
    try:
        with _quiet():
            return ast.parse(source, filename=label)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


_MAGIC = re.compile(
    r"^\s*(?:[%!]|[A-Za-z_][\w.,\s\[\]]*?=\s*[%!]|\?{1,2}[\w.]+\s*$|[\w.]+\?{1,2}\s*$)"
)


def _cells(text: str) -> Iterator[tuple[int, str]]:
    try:
        notebook = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        return
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        raw = cell.get("source", "")
        source = "".join(str(p) for p in raw) if isinstance(raw, list) else str(raw)
        yield index, source.replace("\r\n", "\n").replace("\r", "\n")


def _parse_cell(source: str, label: str) -> ast.Module | None:
    tree = _parse(source, label)
    if tree is not None or source.lstrip().startswith("%%"):
        return tree
    # IPython-only lines (magics, shell escapes, help) are blanked; line numbers stay put.
    lines = [
        (line[: len(line) - len(line.lstrip())] + "pass" if line[:1].isspace() else "")
        if _MAGIC.match(line)
        else line
        for line in source.split("\n")
    ]
    return _parse("\n".join(lines), label)


def _analyse(
    files: Mapping[str, str], forbidden: Sequence[str], use_torch: bool | None
) -> _Analyser:
    wanted = [f for f in forbidden if f.strip()]
    if use_torch is None:
        use_torch = any(f.strip().startswith("torch") for f in wanted)
    matcher = _Matcher(wanted, _Names(alias_tables(use_torch)))
    analyser = _Analyser(matcher)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, _RECURSION))
    try:
        for path in sorted(files):
            text = files[path]
            if path.endswith(".ipynb"):
                scope = _Scope({}, [])
                for index, source in _cells(text):
                    label = f"{path} cell {index}"
                    tree = _parse_cell(source, label)
                    if tree is not None:
                        lines = source.split("\n")
                        _guarded(analyser, _Source(label, lines), tree, scope)
                _guarded(analyser, _Source(path, []), None, scope)
            elif path.endswith(".py"):
                tree = _parse(text, path)
                if tree is not None:
                    _guarded(analyser, _Source(path, text.splitlines()), tree, _Scope({}, []))
                    _guarded(analyser, _Source(path, text.splitlines()), None, _Scope({}, []))
    finally:
        sys.setrecursionlimit(limit)
    return analyser


def _guarded(analyser: _Analyser, source: _Source, tree: ast.Module | None, scope: _Scope) -> None:
    """Read a module (or, with no tree, the function bodies it left); code nested too
    deeply to follow is flagged for a TA rather than silently passed."""
    try:
        if tree is not None:
            analyser.module(tree, scope, source)
        else:
            analyser.finish()
    except RecursionError:
        analyser.deferred.clear()
        analyser.site, analyser.mention, analyser.silent, analyser.exec_depth = None, None, 0, 0
        analyser.source = source
        analyser.flag(
            ast.Module(body=[], type_ignores=[]),
            "code nested too deeply to be checked automatically",
            "unreadable",
        )


def _order(uses: Iterable[Use]) -> list[Use]:
    return sorted(uses, key=lambda u: (u.file, u.line, u.col, u.api, u.how))


def find_forbidden(
    files: Mapping[str, str], *, forbidden: Sequence[str], use_torch: bool | None = None
) -> list[Use]:
    """Every confirmed use of a forbidden API in ``files`` (relative path -> source).

    ``.py`` files are read as Python, ``.ipynb`` files as notebooks (code cells, in
    order, sharing their names); other files are ignored, and a file (or cell) that
    does not parse is skipped.  ``use_torch``: build the alias table from torch
    (default: when a forbidden name starts with ``torch``), else from static rules.
    """
    return _order(_analyse(files, forbidden, use_torch).uses.values())


def find_suspicious(
    files: Mapping[str, str], *, forbidden: Sequence[str] = (), use_torch: bool | None = None
) -> list[Use]:
    """Dynamic accesses that may reach a forbidden API but cannot be resolved statically.

    ``exec``/``eval``/``compile`` of a non-constant string, ``getattr`` (or a
    ``__dict__`` subscript) on a torch namespace with a computed name, imports by
    a computed name; with ``forbidden`` given, also forbidden names only named in
    ``isinstance``/``issubclass`` or a type annotation, and code strings that
    mention a forbidden name in a way that could not be resolved.  ``api`` is
    ``SUSPICIOUS`` for the dynamic kinds and the forbidden name for mentions.
    """
    return _order(_analyse(files, forbidden, use_torch).suspicious.values())


def describe(uses: Sequence[Use]) -> str:
    """Student-facing text: one block per use, saying where, what and how."""
    if not uses:
        return "No use of a forbidden API was found."
    blocks = []
    for use in uses:
        where = f"{use.file}, line {use.line}"
        if use.api == SUSPICIOUS:
            what = (
                "this may reach a forbidden API in a way that cannot be checked "
                f"automatically, so a TA will look at it: {use.how}"
            )
        elif use.rule == "mention":
            what = f"names {use.api}, which this assignment does not allow: {use.how}"
        else:
            what = f"uses {use.api}, which this assignment does not allow: {use.how}"
        body = list(use.context) or [f">      | {use.code}"]
        blocks.append("\n".join([where, f"  {what}", *(f"  {line}" for line in body)]))
    return "\n\n".join(blocks)

"""Calls, where dynamic access happens: ``getattr``, imports by name, ``exec``.

``getattr`` with a constant-foldable name, ``importlib.import_module`` /
``__import__``, ``vars(...)`` and code built as a constant-foldable string and passed
to ``exec``/``eval``/``compile`` are resolved to the paths they reach; what cannot be
decided statically (``exec`` of a non-constant string, ``getattr`` on a torch
namespace with a computed name, an import by a computed name) is flagged as a
suspicious use for a TA.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Callable
from typing import Any

from .values import (
    _MAX_CHOICES,
    _MAX_SEQ,
    _NONE,
    _STR_METHODS,
    Abs,
    Val,
    _abs,
    _cap,
    _fold_method,
    _paths,
    _py,
    _shown,
    _strings,
    _val,
)
from .walker import _quiet, _Scope, _Site, _Walker

_MAX_EXEC_DEPTH = 5  # exec("exec('...')") nesting followed
_GETATTR_LIKE = frozenset(
    {
        "builtins.object.__getattribute__",
        "builtins.type.__getattribute__",
        "inspect.getattr_static",
        "types.ModuleType.__getattribute__",
    }
)


class _Analyser(_Walker):
    """The walker, with calls read: the analyser ``find_forbidden`` runs."""

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
            elif item[0] == "attrgetter" and args:  # operator.attrgetter("GRU")(nn)
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
        if path in _GETATTR_LIKE:  # object.__getattribute__(nn, "GRU")
            return self._getattr(node, arg(0, "") or _NONE, arg(1, "") or _NONE, offset=0)
        if path.endswith((".__getattribute__", ".__getattr__")):  # nn.__getattribute__("GRU")
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

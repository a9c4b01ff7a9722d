"""Find uses of forbidden high-level APIs in a submission's source, without running it.

Assignments forbid e.g. ``torch.nn.GRU`` so that students write the layer
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
Not followed: values kept on objects (``self.m = nn`` then ``self.m.GRU``) or
returned from functions, and strings built by code that is not constant-foldable;
the runtime traps see those.

Different paths to one object are one API: ``torch.nn.modules.rnn.GRU`` is
``torch.nn.GRU``, ``torch.gru`` is ``torch._VF.gru``, ``torch._C._nn.linear``
is ``torch.nn.functional.linear``.  The table of these aliases is built from torch
itself when it can be imported (every module of ``torch.nn``, ``torch``,
``torch._C._nn`` and ``torch._VF`` scanned for identical objects), else from
static rules that encode the same facts for the classes and functions that
assignments forbid.  It is built on first use and cached, so importing this
module stays cheap.  A name ending in ``.*`` forbids a namespace by the path
written (after module aliases such as ``torch.nn.modules.rnn._VF``), so
``torch._VF.*`` flags ``torch._VF.tanh`` but not ``torch.tanh``.

The package runs on the trusted side and imports only the standard library (and
torch, optionally, to build the alias table).

The search is split by job: ``names`` (aliases and the forbidden-list matcher),
``values`` (abstract values and constant folding), ``walker`` (the abstract
interpreter of statements and expressions), ``dynamic`` (calls: getattr, imports,
exec), ``uses`` (the ``Use`` record and the text for the student); this module reads
the files and notebooks.  Names with a leading underscore are private to the package.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Mapping, Sequence

from ...runtime.notebook import CELL_FLAGS, Cell, read_notebook
from .dynamic import _Analyser
from .names import _Matcher, _Names, alias_tables
from .uses import SUSPICIOUS, Use, describe
from .walker import _quiet, _Scope, _Source

__all__ = ["SUSPICIOUS", "Use", "alias_tables", "describe", "find_forbidden", "find_suspicious"]

_RECURSION = 10_000  # recursion limit while analysing (deeply nested expressions)


def _parse(source: str, label: str, flags: int = 0) -> ast.Module | None:
    try:
        with _quiet():
            tree = compile(
                source, label, "exec", flags=ast.PyCF_ONLY_AST | flags, dont_inherit=True
            )
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    assert isinstance(tree, ast.Module)
    return tree


def _cells(text: str, path: str) -> list[Cell]:
    """A notebook's code cells, read as IPython would run them (none if unreadable)."""
    try:
        return read_notebook(text, filename=path)
    except ValueError:
        return []


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
                for cell in _cells(text, path):
                    label = f"{path} cell {cell.index}"
                    if cell.python is None:  # %%bash and other cells that are not Python
                        continue
                    tree = _parse(cell.python, label, CELL_FLAGS)
                    if tree is not None:
                        lines = cell.source.split("\n")  # quoted as the student wrote them
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
    order, sharing their names, read by ``harness.runtime.notebook`` as the definitions
    loader reads them); other files are ignored, and a file (or cell) that does not
    parse is skipped.  ``use_torch``: build the alias table from torch
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

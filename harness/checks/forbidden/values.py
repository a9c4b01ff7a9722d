"""Abstract values: what an expression may be, and the constant folding over them.

The analyser (``walker``) folds the strings, numbers and tuples a submission builds
so that ``getattr(nn, "MT" + "SL"[::-1])`` is read as the attribute it reaches.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterable
from typing import Any

_MAX_CHOICES = 16  # possible values kept per expression
_MAX_TEXT = 10_000  # longest string folded
_MAX_SEQ = 1_000  # longest tuple/list folded
_MAX_FOLDED = 256  # longest sequence a comprehension is folded over
_SHOWN = 120  # characters of an expression quoted in ``how``

# -- abstract values ------------------------------------------------------------------
# An abstract value is a tuple tagged by its first item:
#   ("path", "torch.nn")      the object at that dotted path (module, class, function)
#   ("str", "GRU") ("int", 3) ("bytes", b"..")     a constant
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

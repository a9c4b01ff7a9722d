"""Load only the definitions from a student's script or notebook.

Many submissions are scripts that do their work at module level: they read a
data file that only exists on the student's machine, train in a ``while True:``
loop, or (in notebooks) train for an hour in a cell.  A grader cannot import
them.  This module runs the parts a grader needs -- imports, ``def``/``class``,
and assignments of plain values such as ``hidden_size = 100`` or
``criterion = nn.CrossEntropyLoss()`` -- and lists everything it left unrun so
the report can say so.

It runs inside the sandboxed student process, where ``harness/runtime`` is
mounted on its own: only the standard library may be imported here.

Rules, in short (see ``_check_stmt``):

* kept: imports; ``def``/``async def``/``class`` with their decorators;
  docstrings and bare constants; ``pass``; assignments (plain, annotated,
  tuple-unpacking) whose value is a *simple value*; ``sys.path.append/insert``
  with simple arguments; ``if``/``try`` blocks whose condition and every
  statement inside are keepable (never ``if __name__ == "__main__":``).
* simple value: literals, f-strings, names, attribute chains, containers,
  operators, ``x if c else y``, subscripts, lambdas, and calls only to
  ``_ALLOWED_CALLS`` (plus builtins in ``_BUILTIN_CALLS`` and the
  ``torch.nn.*Loss`` constructors) with simple arguments.  Comprehensions are
  not simple: they can do arbitrary work.
* A kept statement must only read names that the kept code (or ``provided``,
  or builtins) has defined by then.  Without this, ``chars = list(set(data))``
  after a skipped ``data = open(...).read()`` would stop the whole load with a
  NameError; instead it is skipped too, and the report says why.
* everything else is skipped and listed as a ``Skipped``.

Line numbers are preserved: kept statements keep their original AST positions,
so tracebacks point at the student's real lines.  Notebook cells are compiled
one code object per cell, named ``"<file> [cell N]"``, which is why
``Definitions.codes`` is a tuple (a ``.py`` file gives exactly one).
"""

import __future__

import ast
import builtins
import linecache
import os
import re
import sys
import tokenize
import types
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from .notebook import CELL_FLAGS, read_notebook

__all__ = [
    "Definitions",
    "Skipped",
    "describe",
    "extract_definitions",
    "extract_notebook_definitions",
    "load_definitions",
]

MAGIC_REASON = "a shell/magic line"

_SUMMARY_CHARS = 80
_DESCRIBE_LIMIT = 10

# Builtins that only compute on their arguments: they cannot train or touch files.
_BUILTIN_CALLS = frozenset(
    [
        "int",
        "float",
        "str",
        "bool",
        "tuple",
        "list",
        "dict",
        "set",
        "frozenset",
        "range",
        "len",
        "abs",
        "min",
        "max",
        "round",
        "sorted",
        "enumerate",
        "zip",
    ]
)

# Qualified names (after resolving the script's own import aliases) that are safe
# to call at load time.  ``torch.cuda.is_available`` is not in the brief's list
# but is everywhere in ``device = torch.device("cuda" if ... else "cpu")``, and
# it only queries the driver.
_ALLOWED_CALLS = frozenset(
    {
        "torch.device",
        "torch.cuda.is_available",
        "os.path.join",
        "pathlib.Path",
        "collections.namedtuple",
        "typing.TypeVar",
        "typing.NamedTuple",
        "dataclasses.field",
    }
)

# Graders need ``criterion = nn.CrossEntropyLoss()`` from the lab script; loss
# modules hold no data and do no work when constructed.
_LOSS_CONSTRUCTOR = re.compile(r"torch\.nn\.(?:modules\.loss\.)?[A-Z]\w*Loss")

# Calls allowed as whole statements: without them a later ``from utils import x``
# next to the script fails, and they neither train nor touch files.
_ALLOWED_STATEMENT_CALLS = frozenset({"sys.path.append", "sys.path.insert"})

# Names a fresh module (or the interpreter) always provides.
_ALWAYS_DEFINED = frozenset(dir(builtins)) | {
    "__name__",
    "__file__",
    "__doc__",
    "__builtins__",
    "__spec__",
    "__loader__",
    "__package__",
}

# Jupyter carries ``from __future__`` imports from cell to cell; so do we.
_FUTURE_FLAGS = 0
for _feature_name in __future__.all_feature_names:
    _FUTURE_FLAGS |= getattr(__future__, _feature_name).compiler_flag
del _feature_name


@dataclass(frozen=True)
class Skipped:
    """One statement (or notebook line/cell) that was left unrun."""

    line: int  # 1-based, in the file (for notebooks: within the cell)
    end_line: int
    cell: int | None  # notebook cell index counting all cells, or None for .py
    summary: str  # first line of the statement, trimmed
    reason: str  # plain English, for the report


@dataclass(frozen=True)
class Definitions:
    """What to run, what it defines, and what was left out.

    ``codes`` are exec'd in order in one namespace.  A ``.py`` file gives one
    code object; a notebook gives one per code cell that kept anything, each
    compiled under the name ``"<filename> [cell N]"`` so tracebacks name the cell.
    """

    codes: tuple[types.CodeType, ...]
    kept: tuple[str, ...]
    skipped: tuple[Skipped, ...]


@dataclass(frozen=True)
class _Why:
    """Why a statement is not kept.

    ``top`` is the report text when the statement is itself at module level;
    ``inner`` is a noun phrase used when it sits inside an ``if``/``try`` block,
    and ``line`` then says where, so the report names the innermost culprit.
    """

    top: str
    inner: str
    line: int | None = None


_LOOP = _Why("a loop at module level", "a loop")
_CALL = _Why("a call at module level (it may train or read files)", "a call")
_MAIN = _Why("under if __name__ == '__main__'", "an if __name__ == '__main__' block")
_COMPREHENSION = _Why("a comprehension at module level (it may do real work)", "a comprehension")
_EXPRESSION = _Why("an expression at module level", "an expression")
_OTHER_VALUE = _Why(
    "a value that may have side effects (await, yield or :=)",
    "a value that may have side effects",
)
_AUGMENTED = _Why("an augmented assignment at module level", "an augmented assignment")
_TARGET = _Why(
    "an assignment to something other than names, attributes or items",
    "an unusual assignment target",
)

_STATEMENT_NOUNS: dict[type[ast.AST], str] = {
    ast.With: "a with block",
    ast.AsyncWith: "a with block",
    ast.Delete: "a del statement",
    ast.Global: "a global declaration",
    ast.Nonlocal: "a nonlocal declaration",
    ast.Assert: "an assert",
    ast.Raise: "a raise",
    ast.Match: "a match statement",
    ast.Return: "a return",
    ast.Break: "a break",
    ast.Continue: "a continue",
}


def _uses(name: str, state: "_State") -> _Why:
    if name in state.unrun:
        detail = f"'{name}', which is left unrun"
    else:
        detail = f"'{name}', which the kept code does not define before this line"
    return _Why(f"it uses {detail}", f"a use of {detail}")


def _block_failure(noun: str, why: _Why, line: int) -> _Why:
    # Name the innermost culprit: "a try block ... (line 7: a call)" says more
    # than "a try block ... (line 7: an if block ...)".
    if why.line is not None:
        line = why.line
    return _Why(
        f"{noun} that does more than define things (line {line}: {why.inner})", why.inner, line
    )


class _State:
    """What the kept code has defined so far (mutable; cloned per trial)."""

    def __init__(self, provided: Iterable[str]) -> None:
        self.defined: set[str] = set(provided)
        # Names bound only by skipped statements: for a clearer reason text.
        self.unrun: set[str] = set()
        # Local name -> qualified name, from kept imports, to match the allow-list.
        self.aliases: dict[str, str] = {}
        self.lazy_annotations = False  # from __future__ import annotations
        self.star_import = False  # after "from x import *" any name may exist

    def clone(self) -> "_State":
        other = _State(self.defined)
        other.unrun = set(self.unrun)
        other.aliases = dict(self.aliases)
        other.lazy_annotations = self.lazy_annotations
        other.star_import = self.star_import
        return other

    def knows(self, name: str) -> bool:
        if name in self.defined or name in _ALWAYS_DEFINED:
            return True
        # A star import may define anything, but a name the script itself
        # assigned in a skipped statement is far more likely to be that one.
        return self.star_import and name not in self.unrun

    def bind(self, names: Iterable[str]) -> None:
        for name in names:
            self.defined.add(name)
            # A rebound name no longer refers to what it was imported as.
            self.aliases.pop(name, None)

    def adopt(self, other: "_State") -> None:
        self.defined = other.defined
        self.unrun = other.unrun
        self.aliases = other.aliases
        self.lazy_annotations = other.lazy_annotations
        self.star_import = other.star_import


# ---------------------------------------------------------------- expressions


def _qualified(func: ast.expr, state: _State) -> str | None:
    """``nn.CrossEntropyLoss`` -> ``torch.nn.CrossEntropyLoss`` via the imports."""
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return None
    base = state.aliases.get(func.id)
    if base is None:
        return None
    return ".".join([base, *reversed(parts)])


def _call_allowed(func: ast.expr, state: _State, extra: frozenset[str] = frozenset()) -> bool:
    if isinstance(func, ast.Name) and func.id in _BUILTIN_CALLS:
        # A script that defines its own ``max`` gets no benefit of the doubt.
        return func.id not in state.defined and func.id not in state.unrun
    name = _qualified(func, state)
    if name is None:
        return False
    return name in _ALLOWED_CALLS or name in extra or bool(_LOSS_CONSTRUCTOR.fullmatch(name))


def _first(checks: Iterable[_Why | None]) -> _Why | None:
    for why in checks:
        if why is not None:
            return why
    return None


def _check_value(node: ast.expr | None, state: _State) -> _Why | None:
    """Why ``node`` is not a simple value, or None.  Names are checked separately."""
    match node:
        case None | ast.Constant() | ast.Name():
            return None
        case ast.Attribute(value=value) | ast.Starred(value=value) | ast.UnaryOp(operand=value):
            return _check_value(value, state)
        case ast.FormattedValue(value=value, format_spec=spec):
            return _check_value(value, state) or _check_value(spec, state)
        case ast.JoinedStr(values=items) | ast.BoolOp(values=items):
            return _first(_check_value(item, state) for item in items)
        case ast.Tuple(elts=items) | ast.List(elts=items) | ast.Set(elts=items):
            return _first(_check_value(item, state) for item in items)
        case ast.Dict(keys=keys, values=values):
            return _first(_check_value(item, state) for item in [*keys, *values])
        case ast.BinOp(left=left, right=right):
            return _check_value(left, state) or _check_value(right, state)
        case ast.Compare(left=left, comparators=rest):
            return _first(_check_value(item, state) for item in [left, *rest])
        case ast.IfExp(test=test, body=body, orelse=orelse):
            return _first(_check_value(item, state) for item in (test, body, orelse))
        case ast.Subscript(value=value, slice=index):
            return _check_value(value, state) or _check_value(index, state)
        case ast.Slice(lower=lower, upper=upper, step=step):
            return _first(_check_value(item, state) for item in (lower, upper, step))
        case ast.Lambda(args=args):
            # The body runs only when called; only the defaults run now.
            return _first(_check_value(item, state) for item in [*args.defaults, *args.kw_defaults])
        case ast.Call(func=func, args=args, keywords=keywords):
            if not _call_allowed(func, state):
                return _CALL
            return _first(
                _check_value(item, state) for item in [*args, *(kw.value for kw in keywords)]
            )
        case ast.ListComp() | ast.SetComp() | ast.DictComp() | ast.GeneratorExp():
            return _COMPREHENSION
        case _:
            return _OTHER_VALUE


def _check_target(node: ast.expr, state: _State) -> _Why | None:
    match node:
        case ast.Name():
            return None
        case ast.Tuple(elts=items) | ast.List(elts=items):
            return _first(_check_target(item, state) for item in items)
        case ast.Starred(value=value):
            return _check_target(value, state)
        case ast.Attribute(value=value):
            return _check_value(value, state)
        case ast.Subscript(value=value, slice=index):
            return _check_value(value, state) or _check_value(index, state)
        case _:
            return _TARGET


def _comprehension_targets(node: ast.AST) -> set[str]:
    names: set[str] = set()
    for generator in getattr(node, "generators", ()):
        for sub in ast.walk(generator.target):
            if isinstance(sub, ast.Name):
                names.add(sub.id)
    return names


def _load_time_names(
    node: ast.AST, state: _State, local: frozenset[str] = frozenset()
) -> Iterator[str]:
    """Global names read when ``node`` runs at load time, in source order.

    Function and lambda bodies are not entered (they run only when called);
    their decorators, defaults and -- unless annotations are lazy --
    annotations are.  Class bodies are entered, since they run at definition.
    """
    match node:
        case ast.Name(id=name, ctx=ast.Load()):
            if name not in local:
                yield name
        case ast.FunctionDef() | ast.AsyncFunctionDef():
            arguments = node.args
            parts: list[ast.AST | None] = [
                *node.decorator_list,
                *arguments.defaults,
                *arguments.kw_defaults,
            ]
            if not state.lazy_annotations:
                every = [
                    *arguments.posonlyargs,
                    *arguments.args,
                    *arguments.kwonlyargs,
                    arguments.vararg,
                    arguments.kwarg,
                ]
                parts += [arg.annotation for arg in every if arg is not None]
                parts.append(node.returns)
            for part in parts:
                if part is not None:
                    yield from _load_time_names(part, state, local)
        case ast.Lambda(args=arguments):
            for part in [*arguments.defaults, *arguments.kw_defaults]:
                if part is not None:
                    yield from _load_time_names(part, state, local)
        case ast.ClassDef():
            for part in [*node.decorator_list, *node.bases, *(kw.value for kw in node.keywords)]:
                yield from _load_time_names(part, state, local)
            # Names bound in the class body are readable later in it.  Taking
            # them all at once over-approximates, which errs towards keeping.
            class_local = local | frozenset(
                name for statement in node.body for name in _bound_names(statement)
            )
            for statement in node.body:
                yield from _load_time_names(statement, state, class_local)
        case ast.ListComp() | ast.SetComp() | ast.DictComp() | ast.GeneratorExp():
            inner = local | _comprehension_targets(node)
            for child in ast.iter_child_nodes(node):
                yield from _load_time_names(child, state, inner)
        case ast.AnnAssign() if state.lazy_annotations:
            for part in (node.target, node.value):
                if part is not None:
                    yield from _load_time_names(part, state, local)
        case _:
            for child in ast.iter_child_nodes(node):
                yield from _load_time_names(child, state, local)


def _check_names(nodes: Iterable[ast.AST | None], state: _State) -> _Why | None:
    for node in nodes:
        if node is None:
            continue
        for name in _load_time_names(node, state):
            if not state.knows(name):
                return _uses(name, state)
    return None


_OWN_SCOPE = (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _bound_names(node: ast.AST) -> list[str]:
    """Module-level names a statement binds, in order, without duplicates."""
    found: dict[str, None] = {}

    def visit(sub: ast.AST) -> None:
        if isinstance(sub, _OWN_SCOPE):
            return  # names bound inside are its own
        match sub:
            case ast.Name(id=name, ctx=ast.Store() | ast.Del()):
                found[name] = None
            case (
                ast.FunctionDef(name=name)
                | ast.AsyncFunctionDef(name=name)
                | ast.ClassDef(name=name)
            ):
                found[name] = None
                return  # their bodies bind their own locals
            case ast.Import(names=aliases):
                for alias in aliases:
                    found[alias.asname or alias.name.split(".")[0]] = None
            case ast.ImportFrom(names=aliases):
                for alias in aliases:
                    if alias.name != "*":
                        found[alias.asname or alias.name] = None
            case ast.MatchAs(name=str() as name) | ast.MatchStar(name=str() as name):
                found[name] = None
            case ast.MatchMapping(rest=str() as name):
                found[name] = None
        for child in ast.iter_child_nodes(sub):
            visit(child)

    visit(node)
    return list(found)


# ----------------------------------------------------------------- statements


def _is_main_guard(test: ast.expr) -> bool:
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return False
    if not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, test.comparators[0]]
    has_name = any(isinstance(side, ast.Name) and side.id == "__name__" for side in sides)
    has_main = any(isinstance(side, ast.Constant) and side.value == "__main__" for side in sides)
    return has_name and has_main


def _check_block(statements: list[ast.stmt], state: _State) -> _Why | None:
    for statement in statements:
        why = _check_stmt(statement, state)
        if why is not None:
            return _Why(why.top, why.inner, why.line if why.line is not None else statement.lineno)
    return None


def _join_paths(before: _State, paths: list[_State]) -> None:
    """After a branch, only names every path defines are surely defined."""
    defined = set.intersection(*(path.defined for path in paths))
    first = paths[0]
    before.defined = defined
    before.unrun = set.union(*(path.unrun for path in paths))
    before.aliases = {
        name: target
        for name, target in first.aliases.items()
        if all(path.aliases.get(name) == target for path in paths)
    }
    before.lazy_annotations = any(path.lazy_annotations for path in paths)
    before.star_import = any(path.star_import for path in paths)


def _check_stmt(statement: ast.stmt, state: _State) -> _Why | None:
    """Why ``statement`` is not kept, or None -- then ``state`` includes its effects."""
    match statement:
        case ast.Import(names=aliases):
            for alias in aliases:
                if alias.asname:
                    state.bind([alias.asname])
                    state.aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    state.bind([top])
                    state.aliases[top] = top
            return None

        case ast.ImportFrom(module=module, names=aliases, level=level):
            for alias in aliases:
                if alias.name == "*":
                    state.star_import = True
                    continue
                local = alias.asname or alias.name
                state.bind([local])
                if module and not level:
                    state.aliases[local] = f"{module}.{alias.name}"
            if module == "__future__" and any(a.name == "annotations" for a in aliases):
                state.lazy_annotations = True
            return None

        case ast.FunctionDef() | ast.AsyncFunctionDef() | ast.ClassDef():
            why = _check_names([statement], state)
            if why is not None:
                return why
            state.bind([statement.name])
            return None

        case ast.Pass() | ast.Expr(value=ast.Constant()):
            return None

        case ast.Expr(value=ast.Call(func=func, args=args, keywords=keywords)) if _call_allowed(
            func, state, _ALLOWED_STATEMENT_CALLS
        ):
            values = [*args, *(kw.value for kw in keywords)]
            return _first(_check_value(value, state) for value in values) or _check_names(
                [func, *values], state
            )

        case ast.Expr(value=value):
            return _check_value(value, state) or _EXPRESSION

        case ast.Assign(targets=targets, value=value):
            why = (
                _check_value(value, state)
                or _first(_check_target(target, state) for target in targets)
                or _check_names([value, *targets], state)
            )
            if why is not None:
                return why
            # ``F = nn.functional`` makes ``F.x`` resolvable like ``nn.functional.x``.
            resolvable = isinstance(value, ast.Attribute | ast.Name)
            qualified = _qualified(value, state) if resolvable else None
            for target in targets:
                state.bind(_bound_names(target))
            if qualified is not None:
                for target in targets:
                    if isinstance(target, ast.Name):
                        state.aliases[target.id] = qualified
            return None

        case ast.AnnAssign(target=target, annotation=annotation, value=value):
            eager = [] if state.lazy_annotations else [annotation]
            why = (
                _first(_check_value(part, state) for part in [value, *eager])
                or _check_target(target, state)
                or _check_names([statement], state)
            )
            if why is not None:
                return why
            if value is not None:
                state.bind(_bound_names(target))
            return None

        case ast.AugAssign():
            return _AUGMENTED

        case ast.For() | ast.AsyncFor() | ast.While():
            return _LOOP

        case ast.If(test=test, body=body, orelse=orelse):
            if _is_main_guard(test):
                return _MAIN
            why = _check_value(test, state) or _check_names([test], state)
            if why is not None:
                return _Why(
                    f"an if block whose condition may not be safe to run ({why.inner})",
                    why.inner,
                    statement.lineno,
                )
            paths = [state.clone(), state.clone()]
            why = _check_block(body, paths[0]) or _check_block(orelse, paths[1])
            if why is not None:
                return _block_failure("an if block", why, statement.lineno)
            _join_paths(state, paths)
            return None

        case ast.Try() | ast.TryStar():
            return _check_try(statement, state)

        case _:
            noun = _STATEMENT_NOUNS.get(type(statement), "a statement")
            return _Why(f"{noun} at module level", noun)


def _check_try(statement: ast.Try | ast.TryStar, state: _State) -> _Why | None:
    noun = "a try block"
    # Path 1: the body and else run to the end.  Path 2..: the body fails at
    # once (the safe assumption) and a handler runs.  ``finally`` follows all.
    ok_path = state.clone()
    why = _check_block(statement.body, ok_path) or _check_block(statement.orelse, ok_path)
    if why is not None:
        return _block_failure(noun, why, statement.lineno)
    paths = [ok_path]
    for handler in statement.handlers:
        path = state.clone()
        why = (
            _check_value(handler.type, state)
            or _check_names([handler.type], state)
            or _check_block(handler.body, path)
        )
        if why is not None:
            return _block_failure(noun, why, handler.lineno)
        # ``except E as e`` unbinds ``e`` when the handler ends.
        if handler.name:
            path.defined.discard(handler.name)
        paths.append(path)
    _join_paths(state, paths)
    why = _check_block(statement.finalbody, state)
    if why is not None:
        return _block_failure(noun, why, statement.lineno)
    return None


# ------------------------------------------------------------------ filtering


def _summary(lines: Sequence[str], lineno: int, col_offset: int = 0) -> str:
    text = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
    if col_offset:
        # AST column offsets count UTF-8 bytes, not characters.
        text = text.encode("utf-8")[col_offset:].decode("utf-8", errors="replace")
    text = text.strip()
    if len(text) > _SUMMARY_CHARS:
        text = text[: _SUMMARY_CHARS - 3].rstrip() + "..."
    return text


def _filter(
    statements: list[ast.stmt], lines: Sequence[str], state: _State, cell: int | None
) -> tuple[list[ast.stmt], list[Skipped], list[str]]:
    kept: list[ast.stmt] = []
    skipped: list[Skipped] = []
    names: list[str] = []
    for statement in statements:
        trial = state.clone()
        why = _check_stmt(statement, trial)
        bound = _bound_names(statement)
        if why is None:
            state.adopt(trial)
            kept.append(statement)
            names.extend(bound)
            continue
        state.unrun.update(bound)
        decorators = getattr(statement, "decorator_list", [])
        first = min([statement.lineno, *(d.lineno for d in decorators)])
        column = statement.col_offset if first == statement.lineno else 0
        skipped.append(
            Skipped(
                line=first,
                end_line=statement.end_lineno or statement.lineno,
                cell=cell,
                summary=_summary(lines, first, column),
                reason=why.top,
            )
        )
    return kept, skipped, names


def _compile_kept(statements: list[ast.stmt], filename: str, flags: int) -> types.CodeType:
    module = ast.Module(body=statements, type_ignores=[])
    with warnings.catch_warnings():
        # Student code's SyntaxWarnings are not the grader's business (and are
        # errors under the test suite's warning filters).
        warnings.simplefilter("ignore")
        return compile(module, filename, "exec", flags=flags, dont_inherit=True)


def _lines(source: str) -> list[str]:
    # str.splitlines also splits on form feeds and other separators that
    # Python's tokenizer does not count, which would shift line numbers.
    return re.split(r"\r\n|\r|\n", source)


def _unique(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


def extract_definitions(source: str, *, filename: str, provided: Iterable[str] = ()) -> Definitions:
    """The definitions-only part of a Python source file.

    ``provided`` names count as defined before the first line (the caller will
    inject them), so statements that read them can be kept.

    Raises SyntaxError if the file does not compile; the caller reports it.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Compile the whole file first: some errors ("'return' outside
        # function") only appear at compile time, and the file as written must
        # be valid even if the offending statement would be skipped.
        compile(source, filename, "exec", dont_inherit=True)
        tree = ast.parse(source, filename)
    state = _State(provided)
    kept, skipped, names = _filter(tree.body, _lines(source), state, None)
    code = _compile_kept(kept, filename, 0)
    return Definitions(codes=(code,), kept=_unique(names), skipped=tuple(skipped))


def _remember_source(name: str, source: str) -> None:
    # Cell "files" do not exist on disk; registering them lets tracebacks show
    # the student's line.  An mtime of None keeps checkcache from dropping it.
    lines = source.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    linecache.cache[name] = (len(source), None, lines, name)


def _parse_cell(python: str, name: str, flags: int) -> ast.Module:
    """Compile a cell's Python (``Cell.python``) and return its tree.

    Compiling first raises the errors that only appear at compile time ("'return'
    outside function"), as Jupyter would when running the cell.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compile(python, name, "exec", flags=CELL_FLAGS | flags, dont_inherit=True)
        tree = compile(
            python, name, "exec", flags=ast.PyCF_ONLY_AST | CELL_FLAGS | flags, dont_inherit=True
        )
    assert isinstance(tree, ast.Module)
    return tree


def extract_notebook_definitions(
    text: str, *, filename: str, provided: Iterable[str] = ()
) -> Definitions:
    """The definitions-only part of a Jupyter notebook (nbformat 4 JSON).

    Code cells are read in document order and share one namespace.  IPython
    magics and shell lines are dropped (and listed), as ``notebook.read_notebook``
    reads them (a ``%%time`` cell's body is Python, a ``%%bash`` cell is not); a
    cell that is not valid Python is skipped whole rather than failing the load, as
    Jupyter would only fail that cell.  Raises ValueError if ``text`` is not a
    notebook.
    """
    state = _State(provided)
    codes: list[types.CodeType] = []
    names: list[str] = []
    skipped: list[Skipped] = []
    future_flags = 0
    for cell in read_notebook(text, filename=filename):
        index, source = cell.index, cell.source
        lines = _lines(source.rstrip("\n"))
        nonblank = [number for number, line in enumerate(lines, 1) if line.strip()]
        if not nonblank:
            continue
        cell_name = f"{filename} [cell {index}]"
        _remember_source(cell_name, source)
        first = nonblank[0]

        if cell.python is None:
            # A cell magic that runs something other than Python (%%bash, %%html, ...).
            skipped.append(Skipped(first, len(lines), index, _summary(lines, first), MAGIC_REASON))
            continue
        try:
            tree = _parse_cell(cell.python, cell_name, future_flags)
        except SyntaxError as error:
            where = f" (line {error.lineno})" if error.lineno else ""
            skipped.append(
                Skipped(
                    first,
                    len(lines),
                    index,
                    _summary(lines, first),
                    f"a syntax error in this cell: {error.msg}{where}",
                )
            )
            continue

        kept, cell_skipped, cell_names = _filter(tree.body, lines, state, index)
        cell_skipped += [
            Skipped(number, number, index, _summary(lines, number), MAGIC_REASON)
            for number in cell.magic_lines
        ]
        skipped.extend(sorted(cell_skipped, key=lambda item: (item.line, item.end_line)))
        names.extend(cell_names)
        if kept:
            code = _compile_kept(kept, cell_name, future_flags)
            future_flags |= code.co_flags & _FUTURE_FLAGS
            codes.append(code)
    return Definitions(codes=tuple(codes), kept=_unique(names), skipped=tuple(skipped))


# -------------------------------------------------------------------- loading


def load_definitions(
    path: str | os.PathLike[str],
    *,
    module_name: str,
    inject: Mapping[str, object] | None = None,
) -> tuple[types.ModuleType, tuple[Skipped, ...]]:
    """Run the definitions of a ``.py`` or ``.ipynb`` file as module ``module_name``.

    The module is registered in ``sys.modules`` before its code runs, as an
    import would, so dataclasses, typing and pickle can find it.  ``inject``
    pre-populates its globals (for values the script would have computed with
    a skipped call); statements reading injected names are then kept.  A kept
    assignment to an injected name still overwrites it, as the script would.
    If running the kept code raises, the module is unregistered and the
    exception propagates.
    """
    filename = os.path.abspath(os.fspath(path))
    provided = tuple(inject or ())
    if filename.endswith(".ipynb"):
        with open(filename, encoding="utf-8") as handle:
            definitions = extract_notebook_definitions(
                handle.read(), filename=filename, provided=provided
            )
    else:
        # tokenize.open honours PEP 263 coding cookies, as import does.
        with tokenize.open(filename) as handle:
            source = handle.read()
        definitions = extract_definitions(source, filename=filename, provided=provided)

    module = types.ModuleType(module_name)
    module.__file__ = filename
    if inject:
        module.__dict__.update(inject)
    previous = sys.modules.get(module_name)
    sys.modules[module_name] = module
    try:
        for code in definitions.codes:
            exec(code, module.__dict__)
    except BaseException:
        if sys.modules.get(module_name) is module:
            if previous is None:
                del sys.modules[module_name]
            else:
                sys.modules[module_name] = previous
        raise
    return module, definitions.skipped


def describe(skipped: Sequence[Skipped], *, filename: str | None = None) -> str:
    """One or two sentences for the report on what was left unrun.

    ``filename`` (its base name is shown) makes the sentence say where from.
    """
    origin = f" from {os.path.basename(filename)}" if filename else ""
    if not skipped:
        return f"Loaded definitions only{origin}; nothing was left unrun."
    parts = []
    for item in skipped[:_DESCRIBE_LIMIT]:
        where = f"line {item.line}"
        if item.cell is not None:
            where = f"cell {item.cell} {where}"
        parts.append(f"{where} '{item.summary}' ({item.reason})")
    more = len(skipped) - _DESCRIBE_LIMIT
    if more > 0:
        parts.append(f"and {more} more")
    # Items are joined with "; " because summaries often contain commas.
    return f"Loaded definitions only{origin}; left unrun: " + "; ".join(parts) + "."

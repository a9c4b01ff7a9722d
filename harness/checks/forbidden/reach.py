"""Which of a submission's files a file reaches through its imports.

A forbidden layer built in a helper module, or in a given file the student edited, is
the part's work as much as one written in the part's own file. ``reachable`` follows
every ``import`` (at any depth, inside functions too) from the files it starts at to
the submission's files they name, the way Python would find them: absolute from the
submission's root, as a script would from the importing file's folder, and relative
(``from .layers import X``, ``from . import layers``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from posixpath import dirname, join, normpath


def _candidates(module: str, folder: str) -> list[str]:
    path = module.replace(".", "/")
    found = []
    for base in ("", folder):  # the submission's root, then the script's own folder
        stem = normpath(join(base, path)) if base else path
        found += [f"{stem}.py", f"{stem}/__init__.py"]
    return found


def _relative(level: int, module: str | None, folder: str) -> str:
    base = folder
    for _ in range(level - 1):
        base = dirname(base)
    return normpath(join(base, (module or "").replace(".", "/"))) if (module or base) else ""


def imported_files(path: str, source: str, files: Iterable[str]) -> set[str]:
    """The files of ``files`` that ``path`` (with ``source``) imports directly."""
    known = set(files)
    folder = dirname(path)
    try:
        tree = ast.parse(source, path)
    except (SyntaxError, ValueError):
        return set()
    wanted: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                for i in range(1, len(parts) + 1):  # import a.b.c imports a and a.b too
                    wanted += _candidates(".".join(parts[:i]), folder)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                stem = _relative(node.level, node.module, folder)
                names = [stem] if stem else []
                names += [normpath(join(stem, a.name)) for a in node.names if a.name != "*"]
                wanted += [f"{n}{end}" for n in names for end in (".py", "/__init__.py")]
            elif node.module:
                wanted += _candidates(node.module, folder)
                for alias in node.names:  # from pkg import module
                    wanted += _candidates(f"{node.module}.{alias.name}", folder)
    return {w for w in wanted if w in known and w != path}


def reachable(sources: Mapping[str, str], start: Iterable[str]) -> set[str]:
    """Every file of ``sources`` ({path: text}) that the ``start`` files reach through
    their imports, the start files included."""
    seen: set[str] = set()
    todo = [s for s in start if s in sources]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo += sorted(imported_files(path, sources[path], sources) - seen)
    return seen

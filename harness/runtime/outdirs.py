"""Output folders a student's script writes into without making them.

Students ran their training scripts in their own repositories, where ``results/``,
``checkpoints/`` or ``logs/`` already existed (kept by a ``.gitkeep`` a ZIP leaves out,
or made by hand once).  Inside ``made_on_demand(root)``, a write into a missing folder
below ``root`` first makes that folder, and the folder is recorded, so the report can
say so.  Nothing is made in advance, nothing outside ``root`` (the private copy of the
submission), and reads are untouched: a missing input file still fails as it would.

Writes are seen where Python code opens a file for writing: ``open``/``io.open`` (and
so ``pathlib``, matplotlib's ``savefig``, ``numpy.save``, ``pandas.to_csv``), ``os.open``
with a writing flag, and ``torch.save`` (whose file is opened in C++).
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import io
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

_WRITING_MODES = frozenset("wax+")
_WRITING_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT


class _Folders:
    """Makes the missing parent folder of a file below ``root`` and remembers it."""

    def __init__(self, root: str) -> None:
        self.root = os.path.realpath(root)
        self.made: list[str] = []

    def parent_of(self, file: Any) -> None:
        if isinstance(file, int):  # a file descriptor: already open
            return
        try:
            path = os.fsdecode(os.fspath(file))
        except TypeError:
            return
        parent = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(parent):
            return
        real = os.path.realpath(parent)
        if os.path.commonpath([self.root, real]) != self.root:
            return  # outside the submission: the write fails as it would have
        try:
            os.makedirs(parent, exist_ok=True)
        except OSError:
            return  # a file where a folder should be: the write tells the student
        folder = os.path.relpath(real, self.root).replace(os.sep, "/") + "/"
        if folder not in self.made:
            self.made.append(folder)


@contextlib.contextmanager
def made_on_demand(root: str) -> Iterator[list[str]]:
    """Within the block, writes below ``root`` make their missing folders; yields the list
    of folders made (relative to ``root``, with a trailing ``/``), filled as they are."""
    folders = _Folders(root)
    original_open = builtins.open
    original_io_open = io.open
    original_os_open = os.open

    def watch_open(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def open_(file: Any, mode: Any = "r", *args: Any, **kwargs: Any) -> Any:
            if isinstance(mode, str) and _WRITING_MODES.intersection(mode):
                folders.parent_of(file)
            return original(file, mode, *args, **kwargs)

        return open_

    @functools.wraps(original_os_open)
    def os_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> Any:
        if isinstance(flags, int) and flags & _WRITING_FLAGS and kwargs.get("dir_fd") is None:
            folders.parent_of(path)
        return original_os_open(path, flags, *args, **kwargs)

    torch = sys.modules.get("torch")
    original_save = getattr(torch, "save", None)

    def save(obj: Any, f: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(f, str | bytes | os.PathLike):
            folders.parent_of(f)
        return original_save(obj, f, *args, **kwargs)  # type: ignore[misc]

    builtins.open = watch_open(original_open)
    io.open = watch_open(original_io_open)
    os.open = os_open
    if original_save is not None:
        torch.save = functools.wraps(original_save)(save)  # type: ignore[union-attr]
    try:
        yield folders.made
    finally:
        builtins.open = original_open
        io.open = original_io_open
        os.open = original_os_open
        if original_save is not None:
            torch.save = original_save  # type: ignore[union-attr]

"""Atomic writes and content hashes: what makes a run safe to kill and cheap to resume."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` so that ``path`` holds either the old or the new content, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def read_json(path: Path) -> Any | None:
    """The JSON in ``path``, or None if it is missing or unreadable (a crashed write)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tree_digest(
    roots: Iterable[Path],
    *,
    suffixes: tuple[str, ...] | None = None,
    exclude: tuple[str, ...] = (),
) -> str:
    """A hash of every file under ``roots`` (names and contents), ignoring caches and the
    top-level folders named in ``exclude``."""
    h = hashlib.sha256()
    for root in roots:
        if not root.exists():
            h.update(f"missing:{root.name}".encode())
            continue
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for p in files:
            if "__pycache__" in p.parts or p.suffix == ".pyc":
                continue
            if suffixes and p.suffix not in suffixes:
                continue
            rel = p.name if p == root else p.relative_to(root).as_posix()
            if rel.split("/", 1)[0] in exclude:
                continue
            h.update(rel.encode() + b"\0")
            h.update(file_digest(p).encode() + b"\0")
    return h.hexdigest()


def combine(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()

"""Atomic writes and content hashes: what makes a run safe to kill and cheap to resume."""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def _umask() -> int:
    """The process's umask, read without changing it (``os.umask`` would race threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` so that ``path`` holds either the old or the new content, never half.

    The file gets the mode a plain ``open`` would give it (0644 under the usual umask), not
    mkstemp's 0600: another TA, or the course's web server, must be able to read results."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
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


def finite(data: Any, where: str = "") -> tuple[Any, list[str]]:
    """``data`` with every NaN or infinite float replaced by None, and where each was, as
    JSON paths with the value (``tests[3].extra_data.loss: NaN``).  Strict JSON (RFC 8259,
    Node's and browsers' parsers, Gradescope's) has no NaN or Infinity."""
    found: list[str] = []

    def clean(value: Any, path: str) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            found.append(f"{path or '(value)'}: {'NaN' if math.isnan(value) else value}")
            return None
        if isinstance(value, dict):
            return {k: clean(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v, f"{path}[{i}]") for i, v in enumerate(value)]
        return value

    return clean(data, where), found


def dumps_strict(data: Any) -> str:
    """Strict JSON text of ``data``: non-finite numbers become null (``finite``)."""
    cleaned, _ = finite(data)
    return json.dumps(cleaned, indent=2, allow_nan=False, default=str) + "\n"


def write_json_strict(path: Path, data: Any) -> None:
    """Write ``data`` as strict JSON (no NaN, no Infinity), atomically: for every file the
    harness hands to people or other programs (results.json, run settings)."""
    write_text_atomic(path, dumps_strict(data))


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

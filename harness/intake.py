"""Safe extraction of one student's ZIP.

A submission is untrusted input. ``extract_zip`` reads the archive's table of
contents (the central directory) with ``zipfile``, checks every entry before
anything is written, then reads and decompresses each member itself, counting
the bytes that really come out. It never calls ``ZipFile.extract``/``extractall``
and never trusts the sizes in the headers, which a zip bomb can forge.

What is refused, each with its own ``ArchiveError`` subclass:

* not a ZIP at all (a PDF or RAR renamed ``.zip``, an empty file): ``NotAZipError``;
* cut short, damaged, CRC mismatch, unknown compression: ``CorruptArchiveError``;
* password-protected entries: ``EncryptedArchiveError``;
* absolute paths, ``..``, drive letters, control characters, links, device files,
  FIFOs, sockets, duplicate names: ``UnsafeEntryError``;
* more bytes, entries or compression than ``ExtractionLimits`` allows: ``ArchiveLimitError``;
* nothing left to grade once OS junk is skipped: ``EmptyArchiveError``.

On any error whatever was written under ``dest`` is removed again.
"""

from __future__ import annotations

import bz2
import lzma
import os
import re
import shutil
import stat
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from .errors import (
    ArchiveLimitError,
    CorruptArchiveError,
    EmptyArchiveError,
    EncryptedArchiveError,
    NotAZipError,
    UnsafeEntryError,
)
from .units import format_size

#: Bytes read or produced per step; every decompressor is bounded to this much
#: output per call, so a member's memory use stays small whatever its ratio.
_CHUNK = 64 * 1024
#: Smallest archive size the compression ratio is measured against: without it a
#: 2 KiB ZIP of a 1 MiB text file (honest, and common) would look like a bomb.
_RATIO_FLOOR = 64 * 1024
_MAX_PART_BYTES = 255  # NAME_MAX on Linux file systems
_MAX_PATH_BYTES = 1024  # far beyond any honest submission, well within PATH_MAX

_JUNK_DIRS = frozenset(
    {"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git", ".idea", ".vscode"}
)
# Compared lower-cased: Windows writes both "Thumbs.db" and "thumbs.db".
_JUNK_FILES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})

_FLAG_ENCRYPTED = 0x0001
_FLAG_STRONG_ENCRYPTION = 0x0040
_METHOD_AES = 99  # WinZip AES: the real method hides in an extra field
_SUPPORTED_METHODS = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)
_METHOD_NAMES = {
    1: "Shrink",
    6: "Implode",
    9: "Deflate64",
    10: "PKWARE Implode",
    18: "IBM TERSE",
    19: "IBM LZ77",
    93: "Zstandard",
    95: "xz",
    96: "JPEG",
    97: "WavPack",
    98: "PPMd",
}
_SPECIAL_FILES = {
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFSOCK: "a socket",
}
# Leading bytes of formats students upload by mistake, for a helpful message.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x1f\x8b", "a gzip file (.gz or .tar.gz)"),
    (b"BZh", "a bzip2 file"),
    (b"\xfd7zXZ\x00", "an xz file"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\xd0\xcf\x11\xe0", "an old-style Microsoft Office document"),
)
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class ExtractionLimits:
    """How much one submission may unpack to; the defaults suit course assignments."""

    max_total_bytes: int = 256 * 1024**2  #: bytes actually written, all files together
    max_file_bytes: int = 128 * 1024**2  #: bytes actually written to any one file
    max_entries: int = 5000  #: entries in the central directory, folders and junk included
    #: bytes written / archive size, the archive size counted as at least 64 KiB
    max_ratio: float = 250.0
    max_depth: int = 2  #: how deep ``layout.locate`` unpacks ZIPs inside the ZIP


DEFAULT_LIMITS = ExtractionLimits()


@dataclass(frozen=True)
class Extracted:
    """What ``extract_zip`` wrote."""

    root: Path  #: the folder the archive was unpacked into (absolute)
    files: tuple[str, ...]  #: POSIX relative paths of the regular files written, sorted
    ignored: tuple[str, ...]  #: entries skipped as OS junk, sorted; folders end in "/"
    bytes_written: int


@dataclass(frozen=True)
class _Entry:
    info: zipfile.ZipInfo
    path: str  # normalised: POSIX, relative, no "." or empty parts, no trailing "/"
    is_dir: bool

    @property
    def shown(self) -> str:
        """The name as stored, for messages (``repr`` makes control characters visible)."""
        return repr(self.info.orig_filename)


def extract_zip(
    zip_path: Path, dest: Path, *, limits: ExtractionLimits = DEFAULT_LIMITS
) -> Extracted:
    """Unpack ``zip_path`` into ``dest``, which must not exist or be an empty folder.

    Raises an ``ArchiveError`` subclass naming the entry and the rule it breaks;
    then nothing that this call wrote is left under ``dest``.
    """
    zip_path = Path(zip_path)
    dest = Path(dest)
    if dest.exists() or dest.is_symlink():
        if dest.is_symlink() or not dest.is_dir():
            raise FileExistsError(f"cannot unpack into {dest}: it exists and is not a folder")
        if any(dest.iterdir()):
            raise FileExistsError(f"cannot unpack into {dest}: the folder is not empty")
        created = False
    else:
        dest.mkdir(parents=True)
        dest.chmod(0o755)  # the umask may have narrowed it
        created = True
    try:
        return _extract(zip_path, dest.resolve(), limits)
    except BaseException:
        _remove_written(dest, created=created)
        raise


def _remove_written(dest: Path, *, created: bool) -> None:
    # Best effort: the original error matters more than a failed clean-up.
    if created:
        shutil.rmtree(dest, ignore_errors=True)
        return
    for child in dest.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _extract(zip_path: Path, root: Path, limits: ExtractionLimits) -> Extracted:
    archive_size = zip_path.stat().st_size
    if archive_size == 0:
        raise NotAZipError(f"{zip_path.name!r} is empty (0 bytes), not a ZIP archive")
    with open(zip_path, "rb") as fh:
        infos = _read_directory(fh, zip_path.name)
        meter = _Meter(limits, archive_size)
        entries, ignored = _plan(infos, meter)
        files = _write_all(fh, entries, root, meter, limits)
    return Extracted(
        root=root, files=tuple(sorted(files)), ignored=ignored, bytes_written=meter.total
    )


def _read_directory(fh: BinaryIO, name: str) -> list[zipfile.ZipInfo]:
    head = fh.read(512)
    fh.seek(0)
    # is_zipfile only looks for the end-of-archive record; without one the file is
    # either something else or a ZIP whose end was cut off.
    if not zipfile.is_zipfile(fh):
        if head.startswith(b"PK"):
            raise CorruptArchiveError(
                f"{name!r} starts like a ZIP but its table of contents (at the end of the "
                "file) is missing; was the upload cut short? Create the ZIP again and resubmit"
            )
        raise NotAZipError(f"{name!r} is not a ZIP archive: it looks like {_sniff(head)}")
    fh.seek(0)
    try:
        with zipfile.ZipFile(fh) as zf:
            return zf.infolist()
    except (
        zipfile.BadZipFile,
        NotImplementedError,
        ValueError,
        EOFError,
        OSError,
        struct.error,
    ) as exc:
        # ValueError includes UnicodeDecodeError: a name flagged UTF-8 that is not.
        raise CorruptArchiveError(
            f"{name!r} is a damaged ZIP: its table of contents cannot be read ({exc})"
        ) from None


def _sniff(head: bytes) -> str:
    for magic, what in _SIGNATURES:
        if head.startswith(magic):
            return what
    if head[257:262] == b"ustar":
        return "a tar archive"
    if head.lstrip()[:1] in (b"{", b"<") or head.isascii():
        return "a text file"
    return "some other kind of file"


def _plan(infos: list[zipfile.ZipInfo], meter: _Meter) -> tuple[list[_Entry], tuple[str, ...]]:
    """Check every entry against every rule before a byte is written."""
    limits = meter.limits
    if len(infos) > limits.max_entries:
        raise ArchiveLimitError(
            f"the ZIP has {len(infos)} entries, more than the limit of {limits.max_entries}; "
            "did it include a data set, a virtual environment or other generated files?"
        )
    kept: list[_Entry] = []
    ignored: list[str] = []
    for info in infos:
        entry = _entry(info)
        if entry is None:
            continue
        if _is_junk(entry):
            ignored.append(entry.path + "/" if entry.is_dir else entry.path)
        else:
            kept.append(entry)

    for entry in kept:
        if entry.info.flag_bits & (_FLAG_ENCRYPTED | _FLAG_STRONG_ENCRYPTION) or (
            entry.info.compress_type == _METHOD_AES
        ):
            raise EncryptedArchiveError(
                f"the ZIP is password-protected ({entry.shown} is encrypted); "
                "submit it without a password"
            )
    for entry in kept:
        _check_file_type(entry)
        method = entry.info.compress_type
        if not entry.is_dir and method not in _SUPPORTED_METHODS:
            label = _METHOD_NAMES.get(method, "an unknown method")
            raise CorruptArchiveError(
                f"{entry.shown} is compressed with {label} (method {method}), which the "
                "grader cannot unpack; create the ZIP again with ordinary (Deflate) compression"
            )
    _check_names_unique(kept)

    files = [e for e in kept if not e.is_dir]
    if not files:
        if not infos:
            raise EmptyArchiveError("the ZIP is empty: it holds no files")
        raise EmptyArchiveError(
            "the ZIP holds no files, only folders or system files such as '__MACOSX/' "
            f"({len(infos)} entries in all)"
        )
    _check_declared_sizes(files, meter)
    return kept, tuple(sorted(ignored))


def _entry(info: zipfile.ZipInfo) -> _Entry | None:
    """The entry with its path normalised and checked; None for a nameless folder."""
    # orig_filename, not filename: zipfile cuts filename at a NUL byte, hiding it.
    raw = info.orig_filename
    for char in raw:
        if unicodedata.category(char) == "Cc":
            raise UnsafeEntryError(
                f"entry {raw!r} has a control character ({char!r}) in its name; "
                "names must be printable"
            )
    name = raw.replace("\\", "/")  # Windows tools write "\" as the separator
    if name.startswith("/"):
        raise UnsafeEntryError(
            f"entry {raw!r} has an absolute path; paths in the ZIP must be relative"
        )
    if _DRIVE.match(name):
        raise UnsafeEntryError(
            f"entry {raw!r} starts with a Windows drive letter; paths in the ZIP must be relative"
        )
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeEntryError(
            f"entry {raw!r} contains '..', which would place it outside the folder it is "
            "unpacked into"
        )
    is_dir = name.endswith("/") or stat.S_ISDIR(info.external_attr >> 16)
    if not parts:
        if is_dir:
            return None
        raise UnsafeEntryError(f"entry {raw!r} has no file name")
    path = "/".join(parts)
    if len(path.encode()) > _MAX_PATH_BYTES or any(
        len(p.encode()) > _MAX_PART_BYTES for p in parts
    ):
        raise UnsafeEntryError(
            f"entry {raw[:80]!r}... has a name longer than the limit "
            f"({_MAX_PART_BYTES} bytes per part, {_MAX_PATH_BYTES} in all)"
        )
    return _Entry(info=info, path=path, is_dir=is_dir)


def _is_junk(entry: _Entry) -> bool:
    parts = entry.path.split("/")
    if any(p in _JUNK_DIRS for p in parts):
        return True
    if entry.is_dir:
        return False
    name = parts[-1]
    return name.lower() in _JUNK_FILES or name.startswith("._") or name.endswith(".pyc")


def _check_file_type(entry: _Entry) -> None:
    # The Unix mode sits in the high 16 bits of external_attr. ZIP has no hard-link
    # type, so a link always shows up here as S_IFLNK.
    mode = entry.info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if kind in (0, stat.S_IFREG, stat.S_IFDIR):
        return
    what = _SPECIAL_FILES.get(kind)
    if what is None:
        # Only Unix tools define these bits; elsewhere unknown bits are noise.
        if entry.info.create_system != 3:
            return
        what = f"a special file (mode {mode:o})"
    raise UnsafeEntryError(
        f"entry {entry.shown} is {what}; only regular files and folders are allowed "
        "(put the file itself in the ZIP, not a link to it)"
    )


def _check_names_unique(entries: list[_Entry]) -> None:
    # Duplicates are refused rather than resolved: tools disagree on which copy wins,
    # so the file graded might not be the one the student sees when they open the ZIP.
    files: dict[str, _Entry] = {}
    folders: set[str] = set()
    for entry in entries:
        parts = entry.path.split("/")
        folders.update("/".join(parts[:i]) for i in range(1, len(parts)))
        if entry.is_dir:
            folders.add(entry.path)
            continue
        first = files.setdefault(entry.path, entry)
        if first is not entry:
            raise UnsafeEntryError(
                f"the ZIP holds two files named {entry.path!r} (entries {first.shown} and "
                f"{entry.shown}); it is unclear which one to grade, so create the ZIP again "
                "with only one"
            )
    clashes = sorted(files.keys() & folders)
    if clashes:
        raise UnsafeEntryError(
            f"{clashes[0]!r} is both a file and a folder in the ZIP; create the ZIP again"
        )


def _check_declared_sizes(files: list[_Entry], meter: _Meter) -> None:
    # Headers can lie, so the real check happens while streaming; this one only
    # turns honest oversized archives away before anything is written.
    limits = meter.limits
    for entry in files:
        if entry.info.file_size > limits.max_file_bytes:
            raise ArchiveLimitError(
                f"{entry.path!r} is {format_size(entry.info.file_size)} unpacked, more than "
                f"the limit of {format_size(limits.max_file_bytes)} for one file"
            )
    total = sum(e.info.file_size for e in files)
    if total > limits.max_total_bytes:
        raise ArchiveLimitError(
            f"the archive unpacks to {format_size(total)}, more than the limit of "
            f"{format_size(limits.max_total_bytes)}; leave out data sets and model checkpoints"
        )
    if total > meter.ratio_cap:
        raise ArchiveLimitError(
            f"the archive unpacks to {format_size(total)}, more than {limits.max_ratio:g} "
            f"times its size ({format_size(meter.archive_size)}, limit); is it a zip bomb?"
        )


class _Meter:
    """Counts the bytes really written and stops at the first limit crossed."""

    def __init__(self, limits: ExtractionLimits, archive_size: int) -> None:
        self.limits = limits
        self.archive_size = archive_size
        self.ratio_cap = limits.max_ratio * max(archive_size, _RATIO_FLOOR)
        self.total = 0

    def add(self, entry: _Entry, file_bytes: int, n: int) -> None:
        """Account for ``n`` more bytes of ``entry``, which has ``file_bytes`` so far."""
        limits = self.limits
        total = self.total + n
        if file_bytes + n > limits.max_file_bytes:
            raise ArchiveLimitError(
                f"{entry.path!r} unpacks to more than {format_size(limits.max_file_bytes)}, "
                "the limit for one file; is it a zip bomb?"
            )
        if total > limits.max_total_bytes:
            raise ArchiveLimitError(
                f"the archive unpacks to more than {format_size(limits.max_total_bytes)} "
                f"(limit), stopped at {entry.path!r}; is it a zip bomb?"
            )
        if total > self.ratio_cap:
            raise ArchiveLimitError(
                f"the archive unpacks to more than {limits.max_ratio:g} times its size "
                f"(limit): {format_size(total)} from a {format_size(self.archive_size)} ZIP, "
                f"stopped at {entry.path!r}; is it a zip bomb?"
            )
        self.total = total


def _write_all(
    fh: BinaryIO, entries: list[_Entry], root: Path, meter: _Meter, limits: ExtractionLimits
) -> list[str]:
    made: set[str] = set()
    written: list[str] = []
    for entry in entries:
        parts = entry.path.split("/")
        if entry.is_dir:
            _make_dirs(root, parts, made)
            continue
        _make_dirs(root, parts[:-1], made)
        target = root.joinpath(*parts)
        # Cannot fail for names that passed _entry and folders made by _make_dirs;
        # kept so that a bug there cannot turn into a write outside root.
        if not target.resolve().is_relative_to(root):
            raise UnsafeEntryError(
                f"entry {entry.shown} would be written outside the folder it is unpacked into"
            )
        _write_member(fh, entry, target, meter, limits)
        written.append(entry.path)
    return written


def _make_dirs(root: Path, parts: list[str], made: set[str]) -> None:
    for i in range(1, len(parts) + 1):
        key = "/".join(parts[:i])
        if key in made:
            continue
        folder = root.joinpath(*parts[:i])
        try:
            os.mkdir(folder, 0o755)
        except FileExistsError:
            if not stat.S_ISDIR(os.lstat(folder).st_mode):
                raise UnsafeEntryError(
                    f"{key!r} is both a file and a folder in the ZIP; create the ZIP again"
                ) from None
        os.chmod(folder, 0o755)  # the umask may have narrowed it
        made.add(key)


def _write_member(
    fh: BinaryIO, entry: _Entry, target: Path, meter: _Meter, limits: ExtractionLimits
) -> None:
    info = entry.info
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(target, flags, 0o644)
    size = 0
    crc = 0
    with os.fdopen(fd, "wb") as out:
        os.fchmod(fd, 0o644)
        for chunk in _member_data(fh, entry, limits):
            meter.add(entry, size, len(chunk))
            size += len(chunk)
            crc = zlib.crc32(chunk, crc)
            out.write(chunk)
    if size != info.file_size:
        raise CorruptArchiveError(
            f"{entry.path!r} unpacks to {size} bytes but the ZIP's header says "
            f"{info.file_size}; the archive is damaged or forged"
        )
    if crc != info.CRC:
        raise CorruptArchiveError(
            f"{entry.path!r} is damaged: its CRC-32 check failed; create the ZIP again and resubmit"
        )


def _member_data(fh: BinaryIO, entry: _Entry, limits: ExtractionLimits) -> Iterator[bytes]:
    """The decompressed bytes of ``entry``, in chunks of at most ``_CHUNK`` bytes."""
    info = entry.info
    try:
        raw = _RawReader(fh, entry)
        method = info.compress_type
        if method == zipfile.ZIP_STORED:
            while chunk := raw.read(_CHUNK):
                yield chunk
        elif method == zipfile.ZIP_DEFLATED:
            yield from _inflate(raw)
        elif method == zipfile.ZIP_BZIP2:
            yield from _drain(bz2.BZ2Decompressor(), raw)
        else:
            yield from _drain(_lzma_decompressor(raw, limits.max_file_bytes), raw)
    except (zlib.error, lzma.LZMAError, OSError, EOFError, ValueError, struct.error) as exc:
        # OSError is what BZ2Decompressor raises for bad data; errors while *writing*
        # happen in the caller and never pass through here.
        raise CorruptArchiveError(
            f"{entry.path!r} is damaged and cannot be unpacked ({exc}); create the ZIP "
            "again and resubmit"
        ) from None


class _RawReader:
    """The compressed bytes of one member, exactly ``compress_size`` of them."""

    def __init__(self, fh: BinaryIO, entry: _Entry) -> None:
        info = entry.info
        fh.seek(info.header_offset)
        header = fh.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise CorruptArchiveError(
                f"{entry.path!r} is damaged: the table of contents points to a place in "
                "the file where there is no entry"
            )
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        fh.seek(info.header_offset + 30 + name_len + extra_len)
        self._fh = fh
        self._left = info.compress_size

    def read(self, n: int) -> bytes:
        if self._left <= 0:
            return b""
        data = self._fh.read(min(n, self._left))
        if not data:
            raise EOFError("the file ends in the middle of this entry")
        self._left -= len(data)
        return data


class _Decompressor(Protocol):
    """What bz2's and lzma's decompressors have in common."""

    @property
    def eof(self) -> bool: ...

    @property
    def needs_input(self) -> bool: ...

    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


def _inflate(raw: _RawReader) -> Iterator[bytes]:
    z = zlib.decompressobj(-15)
    while not z.eof:
        data = z.unconsumed_tail or raw.read(_CHUNK)
        out = z.decompress(data, _CHUNK)
        if out:
            yield out
        elif not data:
            return  # input used up before the stream's end: the size check reports it


def _drain(d: _Decompressor, raw: _RawReader) -> Iterator[bytes]:
    # bz2 and lzma decompress without bound unless given max_length; bzip2 in
    # particular turns 4 KiB into gigabytes, which zipfile's own reader would
    # hold in memory at once.
    while not d.eof:
        data = b""
        if d.needs_input:
            data = raw.read(_CHUNK)
            if not data:
                return
        out = d.decompress(data, _CHUNK)
        if out:
            yield out


def _lzma_decompressor(raw: _RawReader, max_output: int) -> _Decompressor:
    # ZIP's LZMA: 2 bytes version, 2 bytes properties size, the properties, raw LZMA1.
    _version, props_size = struct.unpack("<HH", raw.read(4))
    props = raw.read(props_size)
    if len(props) != 5:
        raise ValueError(f"bad LZMA properties ({len(props)} bytes, expected 5)")
    lc, rest = props[0] % 9, props[0] // 9
    lp, pb = rest % 5, rest // 5
    # A forged dictionary size could ask for gigabytes; no valid stream needs more
    # dictionary than the output it may produce, so cap it there.
    dict_size = max(4096, min(int.from_bytes(props[1:5], "little"), max_output))
    lzma1 = {"id": lzma.FILTER_LZMA1, "dict_size": dict_size, "lc": lc, "lp": lp, "pb": pb}
    return lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[lzma1])

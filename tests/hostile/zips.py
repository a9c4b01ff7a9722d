"""ZIP archives as a hostile student makes them: honest ones, and ones with forged headers.

``zip_files`` packs a folder's worth of files the way any tool would.  ``RawEntry`` and
``raw_zip`` write the format by hand, so a test can put in what ``zipfile`` refuses to
write: data compressed elsewhere, sizes and CRCs that lie, encryption flags, links,
names that are not UTF-8.  ``zeros_deflated`` makes the deflate stream of gigabytes of
zeros in milliseconds (a stream flushed with ``Z_FULL_FLUSH`` restarts from an empty
window, so the same segment can be repeated).
"""

from __future__ import annotations

import io
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass

_EPOCH = (1980, 1, 1, 0, 0, 0)
_SEGMENT = 1 << 24  # 16 MiB of zeros per repeated deflate segment


def zip_files(files: dict[str, bytes | str], *, mode: int = 0o644) -> bytes:
    """A plain ZIP of ``files`` (name -> content), deflated, with fixed timestamps."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, content.encode() if isinstance(content, str) else content)
    return buffer.getvalue()


@dataclass(frozen=True)
class RawEntry:
    """One member written byte for byte: ``data`` is already compressed by ``method``."""

    name: bytes
    data: bytes
    method: int = zipfile.ZIP_STORED
    crc: int = 0
    size: int = 0  #: the uncompressed size the headers declare
    flags: int = 0
    mode: int = stat.S_IFREG | 0o644  #: Unix mode in the high bits of external_attr

    @classmethod
    def stored(cls, name: str | bytes, content: bytes, **changes: int) -> RawEntry:
        fields = {"crc": zlib.crc32(content), "size": len(content), **changes}
        encoded = name.encode() if isinstance(name, str) else name
        return cls(name=encoded, data=content, **fields)

    @classmethod
    def deflated(cls, name: str | bytes, content: bytes, **changes: int) -> RawEntry:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        data = compressor.compress(content) + compressor.flush()
        fields = {"crc": zlib.crc32(content), "size": len(content), **changes}
        encoded = name.encode() if isinstance(name, str) else name
        return cls(name=encoded, data=data, method=zipfile.ZIP_DEFLATED, **fields)


def raw_zip(entries: list[RawEntry]) -> bytes:
    """A ZIP (no ZIP64) whose headers say exactly what ``entries`` say, true or not."""
    out = bytearray()
    central = bytearray()
    for e in entries:
        offset = len(out)
        out += struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            20,
            e.flags,
            e.method,
            0,
            0x21,  # 1980-01-01
            e.crc,
            len(e.data),
            e.size,
            len(e.name),
            0,
        )
        out += e.name + e.data
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            (3 << 8) | 20,  # made by Unix, so the mode bits count
            20,
            e.flags,
            e.method,
            0,
            0x21,
            e.crc,
            len(e.data),
            e.size,
            len(e.name),
            0,
            0,
            0,
            0,
            e.mode << 16,
            offset,
        )
        central += e.name
    start = len(out)
    out += central
    out += struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), start, 0
    )
    return bytes(out)


def zeros_deflated(n_bytes: int, *, prefix: bytes = b"") -> bytes:
    """A raw deflate stream of ``prefix`` then ``n_bytes`` zeros (a multiple of 16 MiB)."""
    assert n_bytes % _SEGMENT == 0
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    segment = compressor.compress(bytes(_SEGMENT)) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(bytes(_SEGMENT)) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert segment == again, "zlib did not restart its window at the full flush"
    return head + segment * (n_bytes // _SEGMENT) + compressor.flush()


def zeros_crc(n_bytes: int, *, prefix: bytes = b"") -> int:
    """CRC-32 of ``prefix`` then ``n_bytes`` zeros, without making them all at once."""
    crc = zlib.crc32(prefix)
    chunk = bytes(_SEGMENT)
    for _ in range(n_bytes // _SEGMENT):
        crc = zlib.crc32(chunk, crc)
    return crc

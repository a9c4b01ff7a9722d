"""Tests for harness.intake: every archive is built here, in tmp_path."""

from __future__ import annotations

import io
import os
import stat
import struct
import warnings
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pytest

from harness.errors import (
    ArchiveError,
    ArchiveLimitError,
    CorruptArchiveError,
    EmptyArchiveError,
    EncryptedArchiveError,
    NotAZipError,
    UnsafeEntryError,
)
from harness.intake import DEFAULT_LIMITS, ExtractionLimits, extract_zip

MiB = 1024**2

# Offsets of the fields a test may forge, in the local header and the central directory.
_LOCAL = {
    "flags": (6, "<H"),
    "method": (8, "<H"),
    "crc": (14, "<I"),
    "compress_size": (18, "<I"),
    "file_size": (22, "<I"),
}
_CENTRAL = {
    "flags": (8, "<H"),
    "method": (10, "<H"),
    "crc": (16, "<I"),
    "compress_size": (20, "<I"),
    "file_size": (24, "<I"),
}


def build(
    entries: Iterable[tuple[str | zipfile.ZipInfo, bytes]], compression: int = zipfile.ZIP_DEFLATED
) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


def forge(data: bytes, name: bytes, *, flags_or: int = 0, **fields: int) -> bytes:
    """Overwrite header fields of entry ``name`` in both its local and central header."""
    buf = bytearray(data)
    for signature, offsets, len_at, name_at in (
        (b"PK\x03\x04", _LOCAL, 26, 30),
        (b"PK\x01\x02", _CENTRAL, 28, 46),
    ):
        hits = 0
        start = 0
        while (i := buf.find(signature, start)) >= 0:
            start = i + 4
            (name_len,) = struct.unpack_from("<H", buf, i + len_at)
            if bytes(buf[i + name_at : i + name_at + name_len]) != name:
                continue
            hits += 1
            for field, value in fields.items():
                offset, fmt = offsets[field]
                struct.pack_into(fmt, buf, i + offset, value)
            if flags_or:
                offset, fmt = offsets["flags"]
                (old,) = struct.unpack_from(fmt, buf, i + offset)
                struct.pack_into(fmt, buf, i + offset, old | flags_or)
        assert hits == 1, f"{name!r} found {hits} times in {signature!r} headers"
    return bytes(buf)


def write(tmp_path: Path, data: bytes, name: str = "sub.zip") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def special(name: str, kind: int, data: bytes = b"") -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (kind | 0o777) << 16
    return info, data


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "out"


def assert_refused(
    zip_path: Path,
    dest: Path,
    error: type[ArchiveError],
    *fragments: str,
    limits: ExtractionLimits = DEFAULT_LIMITS,
) -> str:
    with pytest.raises(error) as caught:
        extract_zip(zip_path, dest, limits=limits)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message
    assert not dest.exists(), "a failed extraction must leave nothing behind"
    return message


# --- what is accepted ---------------------------------------------------------------


def test_extracts_files_and_folders(tmp_path: Path, dest: Path) -> None:
    data = build(
        [
            ("proj/", b""),
            ("proj/a.py", b"print(1)\n"),
            ("proj/sub/b.txt", b"hi"),
            ("top.md", b"# x"),
            ("empty/", b""),
        ]
    )
    result = extract_zip(write(tmp_path, data), dest)
    assert result.root == dest.resolve()
    assert result.files == ("proj/a.py", "proj/sub/b.txt", "top.md")
    assert result.ignored == ()
    assert result.bytes_written == len(b"print(1)\n") + 2 + 3
    assert (dest / "proj/a.py").read_bytes() == b"print(1)\n"
    assert (dest / "empty").is_dir()


def test_modes_are_fixed_whatever_the_umask(tmp_path: Path, dest: Path) -> None:
    info = zipfile.ZipInfo("a/run.sh")
    info.create_system = 3
    info.external_attr = (stat.S_IFREG | 0o4777) << 16  # setuid and world-writable
    zip_path = write(tmp_path, build([(info, b"#!/bin/sh\n")]))
    old = os.umask(0o077)
    try:
        extract_zip(zip_path, dest)
    finally:
        os.umask(old)
    assert stat.S_IMODE((dest / "a/run.sh").stat().st_mode) == 0o644
    assert stat.S_IMODE((dest / "a").stat().st_mode) == 0o755
    assert stat.S_IMODE(dest.stat().st_mode) == 0o755


@pytest.mark.parametrize(
    "method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]
)
def test_every_stdlib_compression_method(tmp_path: Path, dest: Path, method: int) -> None:
    payload = os.urandom(100_000) + bytes(300_000) + b"tail"
    result = extract_zip(write(tmp_path, build([("m.bin", payload)], method)), dest)
    assert (dest / "m.bin").read_bytes() == payload
    assert result.bytes_written == len(payload)


def test_backslashes_are_windows_separators(tmp_path: Path, dest: Path) -> None:
    data = build([("proj\\part1\\lstm.py", b"x"), ("proj\\README.md", b"y")])
    result = extract_zip(write(tmp_path, data), dest)
    assert result.files == ("proj/README.md", "proj/part1/lstm.py")
    assert (dest / "proj" / "part1" / "lstm.py").read_bytes() == b"x"


def test_os_junk_is_skipped_and_listed(tmp_path: Path, dest: Path) -> None:
    junk = [
        "__MACOSX/",
        "__MACOSX/proj/._lstm.py",
        "proj/.DS_Store",
        "proj/Thumbs.db",
        "proj/desktop.ini",
        "proj/__pycache__/lstm.cpython-311.pyc",
        "proj/old.pyc",
        "proj/.ipynb_checkpoints/nb-checkpoint.ipynb",
        "proj/._notes.txt",
        ".git/config",
        "proj/.idea/workspace.xml",
        "proj/.vscode/settings.json",
    ]
    data = build([("proj/lstm.py", b"code"), *((name, b"junk") for name in junk)])
    result = extract_zip(write(tmp_path, data), dest)
    assert result.files == ("proj/lstm.py",)
    assert set(result.ignored) == set(junk)
    assert result.bytes_written == 4
    assert sorted(p.name for p in dest.rglob("*")) == ["lstm.py", "proj"]


def test_small_honest_archive_passes_the_ratio_check(tmp_path: Path, dest: Path) -> None:
    # 2 MiB of zeros deflates to ~2 KiB: a ratio near 1000, but the 64 KiB floor
    # on the denominator lets such small archives through.
    zip_path = write(tmp_path, build([("zeros.npy", bytes(2 * MiB))]))
    assert zip_path.stat().st_size < 10_000
    assert extract_zip(zip_path, dest).bytes_written == 2 * MiB


def test_cp437_and_other_legacy_names_are_kept_as_decoded(tmp_path: Path, dest: Path) -> None:
    data = build([("cafX.py", b"1"), ("rYsumY.txt", b"2"), ("dir\\naXe.py", b"3")])
    # Without the UTF-8 flag, zipfile reads names as cp437: 0x82 is "é", while
    # latin-1 "é" (0xE9) comes out as "Θ" and Shift-JIS bytes as box characters.
    data = data.replace(b"cafX.py", b"caf\x82.py").replace(b"rYsumY.txt", b"r\xe9sum\xe9.txt")
    data = data.replace(b"dir\\naXe.py", "dir\\naテ.py".encode("shift_jis"))
    result = extract_zip(write(tmp_path, data), dest)
    assert set(result.files) == {"café.py", "rΘsumΘ.txt", "dir/naâe.py"}
    assert (dest / "café.py").read_bytes() == b"1"


def test_existing_empty_dest_is_used_and_left_empty_on_error(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    good = write(tmp_path, build([("a.py", b"1")]), "good.zip")
    assert extract_zip(good, dest).files == ("a.py",)

    other = tmp_path / "other"
    other.mkdir()
    bad = write(tmp_path, build([("a.py", b"1"), ("../evil.py", b"2")]), "bad.zip")
    with pytest.raises(UnsafeEntryError):
        extract_zip(bad, other)
    assert other.is_dir() and list(other.iterdir()) == []


def test_non_empty_dest_is_refused(tmp_path: Path, dest: Path) -> None:
    dest.mkdir()
    (dest / "x").write_text("x")
    with pytest.raises(FileExistsError, match="not empty"):
        extract_zip(write(tmp_path, build([("a.py", b"1")])), dest)
    assert (dest / "x").read_text() == "x"


# --- not a ZIP, damaged, encrypted, empty ---------------------------------------------


@pytest.mark.parametrize(
    ("content", "looks_like"),
    [
        (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" * 50, "PDF"),
        (b"Rar!\x1a\x07\x01\x00" + os.urandom(2000), "RAR"),
        (b"7z\xbc\xaf\x27\x1c" + os.urandom(500), "7-Zip"),
        (b"import torch\nprint('hello')\n", "text"),
    ],
)
def test_other_formats_renamed_zip(
    tmp_path: Path, dest: Path, content: bytes, looks_like: str
) -> None:
    zip_path = write(tmp_path, content, "12345_hw.zip")
    message = assert_refused(zip_path, dest, NotAZipError, "'12345_hw.zip'", looks_like)
    assert "not a ZIP" in message


def test_zero_byte_file_is_not_a_zip(tmp_path: Path, dest: Path) -> None:
    assert_refused(write(tmp_path, b""), dest, NotAZipError, "empty (0 bytes)")


def test_truncated_archive(tmp_path: Path, dest: Path) -> None:
    data = build([("a.py", os.urandom(50_000)), ("b.py", os.urandom(50_000))])
    for cut in (len(data) // 2, len(data) - 10):
        assert_refused(write(tmp_path, data[:cut]), dest, CorruptArchiveError, "cut short")


def test_damaged_data_is_reported_not_crashed(tmp_path: Path, dest: Path) -> None:
    payload = b"".join(b"line %d of the model\n" % i for i in range(20_000))
    data = bytearray(build([("model.py", payload)]))
    middle = len(data) // 3
    data[middle : middle + 64] = bytes(64)
    assert_refused(write(tmp_path, bytes(data)), dest, CorruptArchiveError, "'model.py'")


def test_crc_mismatch(tmp_path: Path, dest: Path) -> None:
    data = forge(build([("a.py", b"print('hello')\n")]), b"a.py", crc=0x12345678)
    assert_refused(write(tmp_path, data), dest, CorruptArchiveError, "'a.py'", "CRC-32")


def test_header_offset_pointing_nowhere(tmp_path: Path, dest: Path) -> None:
    data = bytearray(build([("a.py", b"1"), ("b.py", b"2")]))
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 42, 7)  # the local header offset
    assert_refused(write(tmp_path, bytes(data)), dest, CorruptArchiveError, "'a.py'")


def test_name_flagged_utf8_that_is_not(tmp_path: Path, dest: Path) -> None:
    data = build([("é.py", b"1")]).replace("é.py".encode(), b"\xff\xfe.py")
    assert_refused(write(tmp_path, data), dest, CorruptArchiveError, "table of contents")


@pytest.mark.parametrize("method", [9, 98])
def test_unsupported_compression_method(tmp_path: Path, dest: Path, method: int) -> None:
    data = forge(build([("a.py", b"1")], zipfile.ZIP_STORED), b"a.py", method=method)
    assert_refused(
        write(tmp_path, data), dest, CorruptArchiveError, "'a.py'", f"method {method}", "Deflate"
    )


def test_encrypted_entry(tmp_path: Path, dest: Path) -> None:
    data = build([("README.md", b"plain"), ("secret.py", b"\x8a" * 40)], zipfile.ZIP_STORED)
    data = forge(data, b"secret.py", flags_or=0x1)
    assert_refused(
        write(tmp_path, data),
        dest,
        EncryptedArchiveError,
        "the ZIP is password-protected",
        "submit it without a password",
        "'secret.py'",
    )


def test_aes_encrypted_entry(tmp_path: Path, dest: Path) -> None:
    data = forge(build([("a.py", b"1")], zipfile.ZIP_STORED), b"a.py", method=99)
    assert_refused(write(tmp_path, data), dest, EncryptedArchiveError, "password")


def test_encrypted_junk_does_not_matter(tmp_path: Path, dest: Path) -> None:
    data = build([("a.py", b"1"), ("__MACOSX/._a.py", b"x")], zipfile.ZIP_STORED)
    data = forge(data, b"__MACOSX/._a.py", flags_or=0x1)
    assert extract_zip(write(tmp_path, data), dest).files == ("a.py",)


def test_empty_zip(tmp_path: Path, dest: Path) -> None:
    assert_refused(write(tmp_path, build([])), dest, EmptyArchiveError, "holds no files")


@pytest.mark.parametrize(
    "names", [["proj/", "proj/sub/"], ["__MACOSX/._a.py", ".DS_Store", "x/__pycache__/a.pyc"]]
)
def test_only_folders_or_junk_is_empty(tmp_path: Path, dest: Path, names: list[str]) -> None:
    data = build((n, b"" if n.endswith("/") else b"junk") for n in names)
    assert_refused(write(tmp_path, data), dest, EmptyArchiveError, "no files")


# --- unsafe entries -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("../evil.py", "'..'"),
        ("proj/../../evil.py", "'..'"),
        ("..\\evil.py", "'..'"),
        ("proj\\..\\..\\evil.py", "'..'"),
        ("/tmp/evil.py", "absolute"),
        ("\\\\server\\share\\evil.py", "absolute"),
        ("C:\\Windows\\evil.py", "drive letter"),
        ("c:evil.py", "drive letter"),
        ("proj/\x1b[2Jevil.py", "control character"),
        ("tab\there.py", "control character"),
        ("proj/\x85next.py", "control character"),
    ],
)
def test_unsafe_names(tmp_path: Path, dest: Path, name: str, says: str) -> None:
    data = build([("proj/fine.py", b"ok"), (name, b"evil")])
    message = assert_refused(write(tmp_path, data), dest, UnsafeEntryError, says)
    assert repr(name) in message
    assert not (tmp_path / "evil.py").exists()


def test_nul_in_name(tmp_path: Path, dest: Path) -> None:
    # zipfile would silently cut the name at the NUL; the check must see the raw name.
    data = build([("evil.pyXtxt", b"x")]).replace(b"evil.pyXtxt", b"evil.py\x00txt")
    assert_refused(write(tmp_path, data), dest, UnsafeEntryError, "control character", "'\\x00'")


@pytest.mark.parametrize(
    ("kind", "what"),
    [
        (stat.S_IFLNK, "symbolic link"),
        (stat.S_IFCHR, "character device"),
        (stat.S_IFBLK, "block device"),
        (stat.S_IFIFO, "FIFO"),
        (stat.S_IFSOCK, "socket"),
    ],
)
def test_links_and_special_files(tmp_path: Path, dest: Path, kind: int, what: str) -> None:
    data = build([("proj/ok.py", b"1"), special("proj/lstm.py", kind, b"/etc/passwd")])
    assert_refused(write(tmp_path, data), dest, UnsafeEntryError, "'proj/lstm.py'", what)


def test_symlinked_folder_then_file_through_it(tmp_path: Path, dest: Path) -> None:
    data = build([special("proj", stat.S_IFLNK, b"/etc"), ("proj/passwd", b"pwned")])
    assert_refused(write(tmp_path, data), dest, UnsafeEntryError, "symbolic link")


def test_duplicate_names(tmp_path: Path, dest: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns "Duplicate name"
        data = build([("a.py", b"first"), ("a.py", b"second")])
    assert_refused(write(tmp_path, data), dest, UnsafeEntryError, "two files named 'a.py'")


def test_duplicate_after_normalising(tmp_path: Path, dest: Path) -> None:
    data = build([("proj/a.py", b"first"), ("proj\\a.py", b"second")])
    assert_refused(write(tmp_path, data), dest, UnsafeEntryError, "'proj/a.py'")


def test_file_and_folder_with_one_name(tmp_path: Path, dest: Path) -> None:
    data = build([("proj", b"a file"), ("proj/a.py", b"x")])
    assert_refused(write(tmp_path, data), dest, UnsafeEntryError, "both a file and a folder")


# --- limits ---------------------------------------------------------------------------


def test_too_many_entries(tmp_path: Path, dest: Path) -> None:
    data = build(((f"data/{i}.txt", b"") for i in range(6000)), zipfile.ZIP_STORED)
    assert_refused(write(tmp_path, data), dest, ArchiveLimitError, "6000 entries", "5000")


def test_entry_limit_is_inclusive(tmp_path: Path, dest: Path) -> None:
    data = build(((f"{i}.txt", b"") for i in range(10)), zipfile.ZIP_STORED)
    zip_path = write(tmp_path, data)
    assert len(extract_zip(zip_path, dest, limits=ExtractionLimits(max_entries=10)).files) == 10
    assert_refused(
        zip_path,
        tmp_path / "again",
        ArchiveLimitError,
        "10 entries",
        "limit of 9",
        limits=ExtractionLimits(max_entries=9),
    )


def test_honest_oversized_archive_fails_before_writing(tmp_path: Path, dest: Path) -> None:
    data = build([("a.bin", bytes(600_000)), ("b.bin", bytes(600_000))])
    limits = ExtractionLimits(max_total_bytes=1 * MiB)
    assert_refused(write(tmp_path, data), dest, ArchiveLimitError, "1.0 MiB", limits=limits)
    limits = ExtractionLimits(max_file_bytes=500_000)
    assert_refused(
        write(tmp_path, data), dest, ArchiveLimitError, "'a.bin'", "one file", limits=limits
    )


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_zip_bomb_with_lying_headers(tmp_path: Path, dest: Path, method: int) -> None:
    payload = bytes(16 * MiB)
    data = build([("README.md", b"innocent"), ("weights.bin", payload)], method)
    data = forge(data, b"weights.bin", file_size=1000)  # claims 1000 bytes
    zip_path = write(tmp_path, data)
    assert zip_path.stat().st_size < 200_000
    limits = ExtractionLimits(max_total_bytes=1 * MiB)
    assert_refused(
        zip_path,
        dest,
        ArchiveLimitError,
        "more than 1.0 MiB (limit)",
        "'weights.bin'",
        "zip bomb",
        limits=limits,
    )


def test_zip_bomb_with_lying_headers_per_file_limit(tmp_path: Path, dest: Path) -> None:
    data = forge(build([("w.bin", bytes(4 * MiB))]), b"w.bin", file_size=10)
    limits = ExtractionLimits(max_file_bytes=1 * MiB)
    assert_refused(
        write(tmp_path, data),
        dest,
        ArchiveLimitError,
        "'w.bin'",
        "limit for one file",
        limits=limits,
    )


def test_zip_bomb_stopped_by_ratio_under_default_limits(tmp_path: Path, dest: Path) -> None:
    data = forge(build([("w.bin", bytes(24 * MiB))]), b"w.bin", file_size=10)
    assert_refused(write(tmp_path, data), dest, ArchiveLimitError, "250 times its size", "zip bomb")


def test_ratio_limit_with_honest_headers(tmp_path: Path, dest: Path) -> None:
    data = build([("w.bin", bytes(3 * MiB))])
    assert_refused(
        write(tmp_path, data),
        dest,
        ArchiveLimitError,
        "10 times",
        limits=ExtractionLimits(max_ratio=10),
    )


def test_header_lying_within_limits_is_corrupt(tmp_path: Path, dest: Path) -> None:
    data = forge(build([("a.bin", bytes(100_000))]), b"a.bin", file_size=10)
    assert_refused(write(tmp_path, data), dest, CorruptArchiveError, "header says 10")


def test_compressed_size_lying_small_is_corrupt(tmp_path: Path, dest: Path) -> None:
    payload = os.urandom(50_000)
    data = forge(build([("a.bin", payload)]), b"a.bin", compress_size=100)
    assert_refused(write(tmp_path, data), dest, CorruptArchiveError, "'a.bin'")

"""Tests for harness.layout: every archive is built here, in tmp_path."""

from __future__ import annotations

import io
import os
import struct
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from harness.errors import ArchiveLimitError, SpecError, UnsafeEntryError
from harness.intake import DEFAULT_LIMITS, Extracted, ExtractionLimits, extract_zip
from harness.layout import Layout, describe_problems, locate, materialize

MiB = 1024**2
TEMPLATE = ("part1/lstm.py", "part2/gan.py")


def zip_bytes(entries: Iterable[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


def unpack(
    tmp_path: Path, entries: Iterable[tuple[str, bytes]], limits: ExtractionLimits = DEFAULT_LIMITS
) -> Extracted:
    zip_path = tmp_path / "submission.zip"
    zip_path.write_bytes(zip_bytes(entries))
    return extract_zip(zip_path, tmp_path / "x", limits=limits)


def find(
    tmp_path: Path,
    entries: Iterable[tuple[str, bytes]],
    required: Sequence[str] = TEMPLATE,
    optional: Sequence[str] = (),
    limits: ExtractionLimits = DEFAULT_LIMITS,
) -> tuple[Layout, Extracted]:
    extracted = unpack(tmp_path, entries, limits)
    return locate(extracted, required=required, optional=optional, limits=limits), extracted


def rel(layout: Layout, extracted: Extracted) -> dict[str, str]:
    return {t: p.relative_to(extracted.root).as_posix() for t, p in layout.files.items()}


def test_files_at_the_top(tmp_path: Path) -> None:
    layout, ex = find(
        tmp_path, [("part1/lstm.py", b"l"), ("part2/gan.py", b"g"), ("README.md", b"r")]
    )
    assert rel(layout, ex) == {"part1/lstm.py": "part1/lstm.py", "part2/gan.py": "part2/gan.py"}
    assert layout.root == ex.root
    assert layout.missing == () and layout.ambiguous == {} and layout.notes == ()
    assert describe_problems(layout) == []


def test_wrapping_folder(tmp_path: Path) -> None:
    layout, ex = find(
        tmp_path,
        [
            ("Smith-123/part1/lstm.py", b"l"),
            ("Smith-123/part2/gan.py", b"g"),
            ("__MACOSX/Smith-123/part1/._lstm.py", b"junk"),
        ],
    )
    assert layout.root == ex.root / "Smith-123"
    assert rel(layout, ex) == {
        "part1/lstm.py": "Smith-123/part1/lstm.py",
        "part2/gan.py": "Smith-123/part2/gan.py",
    }
    assert layout.notes == ("your files were inside the folder 'Smith-123/'",)


def test_several_nested_single_folders(tmp_path: Path) -> None:
    layout, ex = find(tmp_path, [("a/b/c/part1/lstm.py", b"l"), ("a/b/c/part2/gan.py", b"g")])
    assert layout.root == ex.root / "a/b/c"
    assert "'a/b/c/'" in layout.notes[0]


def test_flat_files_for_a_nested_template(tmp_path: Path) -> None:
    layout, ex = find(tmp_path, [("hw/lstm.py", b"l"), ("hw/gan.py", b"g"), ("hw/x.txt", b"")])
    assert rel(layout, ex) == {"part1/lstm.py": "hw/lstm.py", "part2/gan.py": "hw/gan.py"}
    assert layout.root == ex.root / "hw"
    assert "used 'hw/lstm.py' for 'part1/lstm.py'" in layout.notes


def test_full_template_path_beats_base_name(tmp_path: Path) -> None:
    layout, ex = find(
        tmp_path,
        [
            ("proj/lstm.py", b"old"),
            ("proj/src/part1/lstm.py", b"new"),
            ("proj/src/part2/gan.py", b"g"),
        ],
    )
    assert rel(layout, ex)["part1/lstm.py"] == "proj/src/part1/lstm.py"
    assert layout.root == ex.root / "proj/src"


def test_most_common_root_settles_a_tie(tmp_path: Path) -> None:
    layout, ex = find(
        tmp_path,
        [
            ("proj/lstm.py", b"new"),
            ("proj/gan.py", b"g"),
            ("proj/train.py", b"t"),
            ("backup/lstm.py", b"old"),
        ],
        required=["lstm.py", "gan.py", "train.py"],
    )
    assert layout.root == ex.root / "proj"
    assert rel(layout, ex)["lstm.py"] == "proj/lstm.py"
    assert layout.ambiguous == {}


def test_most_common_root_settles_a_base_name_tie(tmp_path: Path) -> None:
    layout, ex = find(
        tmp_path,
        [("proj/part2/gan.py", b"g"), ("proj/lstm.py", b"new"), ("scratch/lstm.py", b"old")],
    )
    assert layout.root == ex.root / "proj"
    assert rel(layout, ex)["part1/lstm.py"] == "proj/lstm.py"


def test_ambiguous(tmp_path: Path) -> None:
    layout, _ = find(tmp_path, [("a/lstm.py", b"one"), ("b/lstm.py", b"two")], required=["lstm.py"])
    assert layout.files == {}
    assert layout.ambiguous == {"lstm.py": ("a/lstm.py", "b/lstm.py")}
    assert layout.missing == ()
    (message,) = describe_problems(layout)
    assert message.startswith("'lstm.py' is ambiguous: found at a/lstm.py and b/lstm.py")


def test_two_complete_copies_are_ambiguous(tmp_path: Path) -> None:
    entries = [(f"{v}/part1/lstm.py", v.encode()) for v in ("v1", "v2")]
    entries += [(f"{v}/part2/gan.py", v.encode()) for v in ("v1", "v2")]
    layout, ex = find(tmp_path, entries)
    assert set(layout.ambiguous) == set(TEMPLATE)
    assert layout.root == ex.root


def test_identical_copies_are_not_ambiguous(tmp_path: Path) -> None:
    layout, ex = find(
        tmp_path, [("a/lstm.py", b"same"), ("b/lstm.py", b"same")], required=["lstm.py"]
    )
    assert rel(layout, ex) == {"lstm.py": "a/lstm.py"}
    assert any("identical content" in note for note in layout.notes)


def test_case_insensitive_fallback(tmp_path: Path) -> None:
    layout, ex = find(tmp_path, [("part1/LSTM.py", b"l"), ("part2/gan.py", b"g")])
    assert rel(layout, ex)["part1/lstm.py"] == "part1/LSTM.py"
    assert any("upper/lower case" in note for note in layout.notes)


def test_exact_case_preferred(tmp_path: Path) -> None:
    layout, ex = find(tmp_path, [("x/LSTM.py", b"L"), ("lstm.py", b"l"), ("part2/gan.py", b"g")])
    assert rel(layout, ex)["part1/lstm.py"] == "lstm.py"


def test_missing_file_message(tmp_path: Path) -> None:
    entries = [("lstm_final.py", b"l"), ("train.py", b"t"), ("part2/gan.py", b"g")]
    entries += [(f"data/{i:02d}.csv", b"") for i in range(20)]
    layout, _ = find(tmp_path, entries)
    assert layout.missing == ("part1/lstm.py",)
    assert "part1/lstm.py" not in layout.files
    (message,) = describe_problems(layout)
    assert message.startswith("required file 'part1/lstm.py' not found")
    assert "did you mean 'lstm_final.py'?" in message
    assert "your ZIP contains: lstm_final.py, data/00.csv" in message
    assert message.count(", ") == 14  # fifteen listed
    assert message.endswith("and 8 more")


def test_optional_files(tmp_path: Path) -> None:
    layout, ex = find(
        tmp_path,
        [("part1/lstm.py", b"l"), ("part2/gan.py", b"g"), ("notes.md", b"n")],
        optional=["notes.md", "report.pdf"],
    )
    assert rel(layout, ex)["notes.md"] == "notes.md"
    assert "report.pdf" not in layout.files
    assert layout.missing == ()


def test_nested_zip(tmp_path: Path) -> None:
    inner = zip_bytes([("hw3/part1/lstm.py", b"l"), ("hw3/part2/gan.py", b"g")])
    layout, ex = find(
        tmp_path,
        [
            ("Smith/code.zip", inner),
            ("Smith/README.txt", b"r"),
            ("__MACOSX/Smith/._code.zip", b"junk"),
        ],
    )
    assert layout.missing == ()
    assert layout.files["part1/lstm.py"].read_bytes() == b"l"
    assert layout.root.name == "hw3"
    assert layout.root.is_relative_to(ex.root / ".nested")
    assert "unpacked the nested ZIP 'Smith/code.zip'" in layout.notes
    assert "your files were inside the folder 'Smith/code.zip/hw3/'" in layout.notes
    assert "Smith/code.zip/hw3/part1/lstm.py" in layout.contents


def test_nested_zip_not_unpacked_when_not_needed(tmp_path: Path) -> None:
    inner = zip_bytes([("part1/lstm.py", b"zipped")])
    layout, ex = find(
        tmp_path, [("part1/lstm.py", b"l"), ("part2/gan.py", b"g"), ("old.zip", inner)]
    )
    assert layout.notes == ()
    assert not (ex.root / ".nested").exists()


def test_nested_zip_depth_limit(tmp_path: Path) -> None:
    innermost = zip_bytes([("part1/lstm.py", b"l"), ("part2/gan.py", b"g")])
    middle = zip_bytes([("inner.zip", innermost)])
    entries = [("outer.zip", middle)]
    layout, _ = find(tmp_path, entries, limits=ExtractionLimits(max_depth=1))
    assert layout.missing == TEMPLATE
    assert any("'outer.zip/inner.zip'" in n and "more than 1 deep" in n for n in layout.notes)

    (tmp_path / "again").mkdir()
    layout, _ = find(tmp_path / "again", entries)  # the default depth is 2
    assert layout.missing == ()
    assert layout.files["part2/gan.py"].read_bytes() == b"g"


def test_nested_zip_that_is_not_a_zip_is_noted(tmp_path: Path) -> None:
    layout, _ = find(tmp_path, [("lstm.py", b"l"), ("data.zip", b"%PDF-1.4 not really")])
    assert layout.missing == ("part2/gan.py",)
    assert any(n.startswith("could not unpack the nested ZIP 'data.zip'") for n in layout.notes)


def test_nested_zip_bomb(tmp_path: Path) -> None:
    bomb = zip_bytes([("weights.bin", bytes(8 * MiB))])
    limits = ExtractionLimits(max_total_bytes=1 * MiB)
    extracted = unpack(tmp_path, [("code.zip", bomb), ("README.md", b"x")], limits)
    with pytest.raises(ArchiveLimitError, match="nested ZIP 'code.zip'") as caught:
        locate(extracted, required=TEMPLATE, limits=limits)
    assert "MiB" in str(caught.value)
    assert not any((extracted.root / ".nested").rglob("*.bin"))


def test_nested_zip_bomb_with_lying_header(tmp_path: Path) -> None:
    bomb = bytearray(zip_bytes([("w.bin", bytes(8 * MiB))]))
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        struct.pack_into("<I", bomb, bomb.find(signature) + size_at, 100)
    limits = ExtractionLimits(max_total_bytes=1 * MiB)
    extracted = unpack(tmp_path, [("a/code.zip", bytes(bomb))], limits)
    with pytest.raises(ArchiveLimitError, match="zip bomb"):
        locate(extracted, required=TEMPLATE, limits=limits)


def test_nested_zip_shares_the_entry_budget(tmp_path: Path) -> None:
    inner = zip_bytes((f"{i}.txt", b"") for i in range(30))
    limits = ExtractionLimits(max_entries=20)
    extracted = unpack(tmp_path, [("code.zip", inner)], limits)
    with pytest.raises(ArchiveLimitError, match="30 entries"):
        locate(extracted, required=TEMPLATE, limits=limits)


def test_nested_zip_with_symlink(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo("lstm.py")
        info.create_system = 3
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    extracted = unpack(tmp_path, [("code.zip", buf.getvalue())])
    with pytest.raises(UnsafeEntryError, match="nested ZIP 'code.zip'.*symbolic link"):
        locate(extracted, required=TEMPLATE)


def test_student_folder_named_like_ours(tmp_path: Path) -> None:
    inner = zip_bytes([("part1/lstm.py", b"l"), ("part2/gan.py", b"g")])
    layout, ex = find(tmp_path, [(".nested/code.zip/notes.txt", b"mine"), ("code.zip", inner)])
    assert layout.missing == ()
    assert layout.unpacked_into == ex.root / ".nested-2"
    assert (ex.root / ".nested/code.zip/notes.txt").read_bytes() == b"mine"


def test_bad_template_paths(tmp_path: Path) -> None:
    extracted = unpack(tmp_path, [("a.py", b"")])
    for bad in ("../a.py", "/a.py", "a\\b.py", "./a.py", ""):
        with pytest.raises(SpecError):
            locate(extracted, required=[bad])
    with pytest.raises(TypeError):
        locate(extracted, required="a.py")


# --- materialize ----------------------------------------------------------------------


def test_materialize_builds_the_template_tree(tmp_path: Path) -> None:
    layout, ex = find(
        tmp_path,
        [
            ("Smith/lstm.py", b"l"),
            ("Smith/part2/gan.py", b"g"),
            ("Smith/utils/helpers.py", b"h"),
            ("other/x.py", b"x"),
        ],
    )
    os.symlink("/etc/passwd", ex.root / "Smith" / "link.py")  # not from the ZIP, but be safe
    dest = materialize(layout, tmp_path / "built")
    assert dest == tmp_path / "built"
    assert (dest / "part1/lstm.py").read_bytes() == b"l"
    assert (dest / "part2/gan.py").read_bytes() == b"g"
    assert (dest / "utils/helpers.py").read_bytes() == b"h"
    assert (dest / "lstm.py").exists()  # the student's tree is copied as it was
    assert not (dest / "link.py").exists() and not (dest / "link.py").is_symlink()
    assert not (dest / "x.py").exists()


def test_materialize_from_nested_zip_leaves_the_unpack_folder_out(tmp_path: Path) -> None:
    inner = zip_bytes([("part1/lstm.py", b"l")])
    layout, ex = find(tmp_path, [("code.zip", inner), ("part2/gan.py", b"g")])
    assert layout.root == ex.root and layout.missing == ()
    dest = materialize(layout, tmp_path / "built")
    assert (dest / "part1/lstm.py").read_bytes() == b"l"
    assert (dest / "part2/gan.py").read_bytes() == b"g"
    assert not (dest / ".nested").exists()
    assert (dest / "code.zip").exists()


def test_materialize_refuses_a_non_empty_dest(tmp_path: Path) -> None:
    layout, _ = find(tmp_path, [("part1/lstm.py", b"l"), ("part2/gan.py", b"g")])
    (tmp_path / "built").mkdir()
    (tmp_path / "built" / "x").write_text("x")
    with pytest.raises(FileExistsError):
        materialize(layout, tmp_path / "built")

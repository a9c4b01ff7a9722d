"""The books for Part 2. Given code: you do not need to change it.

    text = load_book()                        # Pride and Prejudice, one string
    text = load_book(path="my_book.txt")      # any UTF-8 text file instead

The course handed out Project Gutenberg text files. Here Jane Austen's six novels come
from the Debian package ``r-cran-janeaustenr``, which stores them as an R lazy-load
database (``data/Rdata.rdx`` + ``data/Rdata.rdb``); the PyPI package ``rdata`` reads
it without R. Get the files once with ``scripts/fetch_austen.sh`` from the course
repository (it runs ``apt-get download r-cran-janeaustenr`` and unpacks the package into
``data/janeaustenr/``), or install the Debian package, or pass any text file as ``path``.

A book is returned as its lines joined with "\\n", plus a final "\\n":
``prideprejudice`` has 13,030 lines and 684,768 characters.
"""

import os
import struct
import warnings
import zlib
from pathlib import Path

BOOKS = ("emma", "mansfieldpark", "northangerabbey", "persuasion", "prideprejudice",
         "sensesensibility")

# Where the package's data folder (holding Rdata.rdx and Rdata.rdb) may be.
_PACKAGE_DATA = Path("usr", "lib", "R", "site-library", "janeaustenr", "data")
SYSTEM_DIR = Path("/") / _PACKAGE_DATA           # after `apt-get install r-cran-janeaustenr`
FETCHED_DIR = Path("data", "janeaustenr") / _PACKAGE_DATA   # scripts/fetch_austen.sh


def find_janeaustenr():
    """The janeaustenr data folder: $JANEAUSTENR_DATA, then data/janeaustenr/... in this
    folder or any folder above it (the course repository's root), then the system's."""
    candidates = []
    if os.environ.get("JANEAUSTENR_DATA"):
        candidates.append(Path(os.environ["JANEAUSTENR_DATA"]))
    here = Path(__file__).resolve().parent
    candidates += [folder / FETCHED_DIR for folder in (here, *here.parents)]
    candidates.append(SYSTEM_DIR)
    for folder in candidates:
        if (folder / "Rdata.rdx").is_file() and (folder / "Rdata.rdb").is_file():
            return folder
    raise FileNotFoundError(
        "The janeaustenr books were not found. Run scripts/fetch_austen.sh from the course "
        "repository (as root; it puts them in data/janeaustenr/), or `apt-get install "
        "r-cran-janeaustenr`, or set JANEAUSTENR_DATA to the folder holding Rdata.rdx and "
        "Rdata.rdb, or pass the path of a text file: load_book(path='book.txt').")


def _read_r_lines(folder, name):
    """The character vector ``name`` of an R lazy-load database, as a list of str.

    Rdata.rdx (gzip-compressed serialized R) maps each variable to (offset, length) in
    Rdata.rdb; there each object is a 4-byte big-endian length followed by the
    compressed serialization (zlib, or bzip2/xz behind a one-byte type tag).
    """
    try:
        import rdata
    except ImportError as exc:
        raise ImportError("reading the janeaustenr books needs the package rdata: "
                          "pip install rdata (or pass a text file as path=...)") from exc
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # rdata warns that the bare objects have no header
        index = rdata.conversion.convert(
            rdata.parser.parse_data((folder / "Rdata.rdx").read_bytes()))
        variables = {str(k): v for k, v in index["variables"].items()}
        if name not in variables:
            raise KeyError(f"no book {name!r} in {folder}: choose one of {sorted(variables)}")
        offset, length = (int(v) for v in variables[name])
        with open(folder / "Rdata.rdb", "rb") as f:
            f.seek(offset)
            blob = f.read(length)
        (size,) = struct.unpack(">I", blob[:4])
        compression = index.get("compressed", [True])
        kind = int(compression[0]) if len(compression) else 1
        if kind in (0, 1):                  # TRUE / 1: zlib
            raw = zlib.decompress(blob[4:])
        elif kind == 2:                     # bzip2, after a type byte
            import bz2
            raw = bz2.decompress(blob[5:])
        else:                               # 3: xz, after a type byte
            import lzma
            raw = lzma.decompress(blob[5:])
        if len(raw) != size:
            raise ValueError(f"{name}: expected {size} bytes of R data, got {len(raw)}")
        lines = rdata.conversion.convert(rdata.parser.parse_data(raw))
    return [str(line) for line in lines]


def load_book(name="prideprejudice", path=None):
    """The text of a book, one string.

    path  a text file (UTF-8) to read instead; ``name`` is then ignored.
    name  one of BOOKS, read from the janeaustenr package's database.
    """
    if path is not None:
        return Path(path).read_text(encoding="utf-8")
    if name not in BOOKS:
        raise ValueError(f"unknown book {name!r}: choose one of {BOOKS}, or pass path=...")
    lines = _read_r_lines(find_janeaustenr(), name)
    return "\n".join(lines) + "\n"

"""Write textData.txt, the lab's training text: the first eight chapters of "Persuasion".

Source: Jane Austen, "Persuasion" (1818), public domain. The text is taken from the Debian
package r-cran-janeaustenr (1.0.0-1 in bookworm; upstream: Julia Silge's CRAN package
janeaustenr, MIT licence, which took the novels from Project Gutenberg). The package keeps
each novel as a character vector of lines in an R lazy-load database, data/Rdata.rdb with
its index data/Rdata.rdx; the PyPI package ``rdata`` reads both without R:

* the .rdx is gzip-compressed serialized R data; converted, it maps each object's name to
  (offset, length) in the .rdb;
* at that offset the .rdb holds a 4-byte length and then zlib-compressed serialized R data,
  which ``rdata`` turns into a numpy array of lines.

textData.txt is the title page and Chapters 1-8 (the lines before "Chapter 9"), joined
with newlines: 129,463 ASCII characters, 75 distinct (newline included). It is written,
byte-identical, to reference/char-rnn-lab/ and student_template/char-rnn-lab/; its SHA-256
is recorded below. Run, from anywhere:

    python reference/char-rnn-lab/make_textdata.py                 # fetches the .deb with apt-get
    python reference/char-rnn-lab/make_textdata.py --data-dir DIR  # DIR holds Rdata.rdb/.rdx

Needs ``rdata`` (pip install rdata) and, without --data-dir, apt-get and dpkg (Debian).
"""

import argparse
import hashlib
import subprocess
import sys
import tempfile
import warnings
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUTPUTS = [HERE / "textData.txt",
           HERE.parent.parent / "student_template" / "char-rnn-lab" / "textData.txt"]
PACKAGE = "r-cran-janeaustenr"
INSTALLED = Path("/usr/lib/R/site-library/janeaustenr/data")  # if the package is installed
NOVEL = "persuasion"
STOP_AT = "Chapter 9"      # the first line left out
SHA256 = "39e2a469d2fa0fb349d35ed08d4097a02edcb03dff162afd6a72cd46298759ad"  # of the output


def read_rdata_object(data_dir: Path, name: str) -> list[str]:
    """One object (a character vector) of an R lazy-load database, as a list of str."""
    import rdata  # imported here so that --help works without it

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rdata warns "Unknown file type: assumed RDS"
        index = rdata.conversion.convert(
            rdata.parser.parse_data((data_dir / "Rdata.rdx").read_bytes()))
        offset, length = (int(v) for v in index["variables"][name])
        with open(data_dir / "Rdata.rdb", "rb") as f:
            f.seek(offset)
            blob = f.read(length)
        lines = rdata.conversion.convert(rdata.parser.parse_data(zlib.decompress(blob[4:])))
    return [str(line) for line in lines]


def fetch_package(workdir: Path) -> Path:
    """apt-get download the package into workdir and unpack it; return its data folder."""
    subprocess.run(["apt-get", "download", PACKAGE], cwd=workdir, check=True)
    deb = next(workdir.glob(f"{PACKAGE}_*.deb"))
    subprocess.run(["dpkg", "-x", str(deb), str(workdir / "root")], check=True)
    return next((workdir / "root").rglob("janeaustenr/data"))


def make_text(lines: list[str]) -> str:
    end = lines.index(STOP_AT)
    return "\n".join(lines[:end]).rstrip("\n") + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path,
                        help="folder holding Rdata.rdb and Rdata.rdx (default: the installed "
                             f"package, else apt-get download {PACKAGE})")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir
        if data_dir is None:
            data_dir = INSTALLED if (INSTALLED / "Rdata.rdb").exists() else fetch_package(Path(tmp))
        text = make_text(read_rdata_object(data_dir, NOVEL))

    digest = hashlib.sha256(text.encode("ascii")).hexdigest()
    for out in OUTPUTS:
        out.write_text(text, encoding="ascii", newline="\n")
        print(f"wrote {out} ({len(text):,} characters, {len(set(text))} distinct)")
    if digest != SHA256:
        print(f"note: sha256 {digest} differs from the one recorded here ({SHA256})",
              file=sys.stderr)


if __name__ == "__main__":
    main()

"""How long code similarity takes for a class, and whether planted copies come out on top.

    .venv/bin/python benchmarks/similarity_class.py [--students 200] [--copies 10] [--keep DIR]

Synthesizes a palindrome-rnn-lstm class: each student hands in ``part1/lstm.py`` and
``part1/vanilla_rnn.py`` from one of three independently written correct solutions (the
reference and two examples that rewrite both cells), with a seeded choice of identifier
names and one of the audit's mutants (so no two are the same), plus the template's
``train.py`` and ``dataset.py`` (boilerplate).  ``--copies`` students hand in another
student's files with every identifier renamed and comments dropped.  Times
``harness.similarity.similarity`` (unpacking, fingerprints, every pair) and ``write``
(the pages and the CSV), and reports the rank of the lowest planted copy.  The step runs
in one process; the figures are from one run on a shared machine.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import similarity  # noqa: E402
from harness.audit.operators import mutants  # noqa: E402

EXAMPLES = ROOT / "tests" / "assignments" / "examples" / "palindrome-rnn-lstm"
BASES = (
    ROOT / "reference" / "palindrome-rnn-lstm",
    EXAMPLES / "CorrectStyle-1002",
    EXAMPLES / "ColumnState-1016",
)
OWN = ("part1/lstm.py", "part1/vanilla_rnn.py")
GIVEN = ("part1/train.py", "part1/dataset.py")
NAMES = {
    r"\bh\b": ["h", "hid", "state", "h_t"],
    r"\bc\b": ["c", "cell", "mem", "c_t"],
    r"\bx\b": ["x", "inp", "xs", "data"],
    r"\bnum_hidden\b": ["num_hidden", "n_hidden", "hidden"],
}


def renamed(text: str, rng: random.Random, *, strip: bool = False) -> str:
    if strip:
        text = re.sub(r'"""[\s\S]*?"""', '""""""', text)
        text = re.sub(r"#[^\n]*", "", text)
    for pattern, choices in NAMES.items():
        text = re.sub(pattern, rng.choice(choices), text)
    return text


def build(folder: Path, students: int, copies: int, seed: int) -> set[frozenset[str]]:
    rng = random.Random(seed)
    template = ROOT / "student_template" / "palindrome-rnn-lstm"
    given = {f: (template / f).read_text() for f in GIVEN if (template / f).is_file()}
    variants = []
    for base in BASES:
        files = {f: (base / f).read_text() for f in OWN}
        variants.append([files] + [{**files, m.file: m.source} for m in mutants(files)])
    handed: dict[str, dict[str, str]] = {}
    planted = set()
    for n in range(students):
        sid = f"s{n:03d}"
        if n >= students - copies:
            source = f"s{rng.randrange(students - copies):03d}"
            files = {f: renamed(t, rng, strip=True) for f, t in handed[source].items()}
            planted.add(frozenset((sid, source)))
        else:
            own = rng.choice(rng.choice(variants))
            files = {f: renamed(t, rng) for f, t in own.items()}
        handed[sid] = files
        with zipfile.ZipFile(folder / f"{sid}.zip", "w") as zf:
            for name, text in {**given, **files}.items():
                zf.writestr(name, text)
    return planted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, default=None, help="Keep the class and pages here.")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="similarity-bench-"))
    work = args.keep or tmp
    (work / "class").mkdir(parents=True, exist_ok=True)
    planted = build(work / "class", args.students, args.copies, args.seed)
    started = time.monotonic()
    report = similarity.similarity(
        submissions=work / "class", assignment="palindrome-rnn-lstm", accept_misnamed=True
    )
    compared = time.monotonic() - started
    started = time.monotonic()
    similarity.write(report, work / "out")
    written = time.monotonic() - started
    scores = [p.score for p in report.pairs if frozenset((p.a, p.b)) in planted]
    print(
        f"{len(report.codes)} students, {len(report.pairs)} pairs: compared in {compared:.1f} s, "
        f"pages and CSV in {written:.1f} s; {len(report.flagged)} pairs at or above "
        f"{report.threshold:.0%} (students built on the same solution share it by construction)"
    )
    print(f"planted copies: {len(scores)}, lowest score {min(scores, default=0):.3f}")
    if args.keep is None:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()

"""Code similarity over a class: the copies rank above every independent pair, the
template's code never counts, notebooks are compared by their code cells, and the pages
escape what students wrote."""

import csv
import json
import re
import zipfile
from pathlib import Path

from click.testing import CliRunner

from harness import grade, similarity

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "tests" / "assignments" / "examples" / "palindrome-rnn-lstm"
REFERENCE = ROOT / "reference" / "palindrome-rnn-lstm"
FILES = ("part1/lstm.py", "part1/vanilla_rnn.py")

#: Three correct solutions written independently (the reference and two examples that
#: rewrite both cells in their own style).
INDEPENDENT = {
    "ind-ref": REFERENCE,
    "ind-style": EXAMPLES / "CorrectStyle-1002",
    "ind-column": EXAMPLES / "ColumnState-1016",
}
RENAMES = {
    r"\bh\b": "hidden_state",
    r"\bc\b": "cell_state",
    r"\bx\b": "inputs",
    r"\bself\.W_": "self.weight_",
    r"\bself\.b_": "self.bias_",
    r"\bnum_hidden\b": "n_hid",
    r"\bbatch_size\b": "bs",
}


def sources(folder: Path) -> dict[str, str]:
    return {f: (folder / f).read_text() for f in FILES}


def renamed(files: dict[str, str]) -> dict[str, str]:
    """Every identifier a student would rename renamed, comments and docstrings dropped."""
    out = {}
    for name, text in files.items():
        text = re.sub(r'"""[\s\S]*?"""', '""""""', text)
        text = re.sub(r"#[^\n]*", "", text)
        for pattern, new in RENAMES.items():
            text = re.sub(pattern, new, text)
        out[name] = text
    return out


def reordered(files: dict[str, str]) -> dict[str, str]:
    """The two files exchanged (names and order), and each file's top-level blocks
    (imports, classes, functions) in reverse order."""
    out = {}
    for (name, _), (_, text) in zip(files.items(), reversed(files.items()), strict=True):
        blocks = re.split(r"\n(?=\S)", text)
        out[name] = "\n".join(reversed(blocks))
    return out


def write_zip(path: Path, files: dict[str, str]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)


def build_class(folder: Path) -> None:
    folder.mkdir()
    for sid, src in INDEPENDENT.items():
        write_zip(folder / f"{sid}.zip", sources(src))
    write_zip(folder / "copy-renamed.zip", renamed(sources(INDEPENDENT["ind-style"])))
    write_zip(folder / "copy-reordered.zip", reordered(sources(INDEPENDENT["ind-column"])))


def test_renamed_and_reordered_copies_rank_above_every_independent_pair(tmp_path):
    build_class(tmp_path / "class")
    report = similarity.similarity(
        submissions=tmp_path / "class", assignment="palindrome-rnn-lstm", accept_misnamed=True
    )
    assert len(report.codes) == 5 and len(report.pairs) == 10
    copies = {("copy-renamed", "ind-style"), ("copy-reordered", "ind-column")}
    ranked = [(p.a, p.b) for p in report.pairs]
    assert set(ranked[:2]) == copies, report.pairs[:4]
    independent = [p for p in report.pairs if p.a.startswith("ind") and p.b.startswith("ind")]
    assert max(p.score for p in independent) < min(p.score for p in report.pairs[:2])
    assert report.pairs[0].score > 0.8


OWN_A = """
def accuracy(predictions, targets):
    correct = 0
    for p, t in zip(predictions, targets):
        if p.argmax() == t:
            correct += 1
    return correct / max(1, len(targets))
"""
OWN_B = """
class Logger:
    def __init__(self, path):
        self.rows = []
        self.path = path

    def add(self, step, loss, acc):
        self.rows.append((step, float(loss), float(acc)))
        print(f"{step}: {loss:.3f} {acc:.2%}")
"""


def test_the_templates_code_does_not_count(tmp_path):
    """Two hand-ins that are the template plus code of their own: alike only through the
    template, so alike only when the template is not left out."""
    template = similarity.template_code(similarity.api.find_assignment("palindrome-rnn-lstm"))
    assert template.strip(), "the template has code"
    a = similarity.Code("a", template + OWN_A, ())
    b = similarity.Code("b", template + OWN_B, ())
    with_base = similarity.compare([a, b], boilerplate=template)
    without = similarity.compare([a, b])
    assert with_base[0].score < 0.3 and without[0].score > 0.9, (with_base, without)


def test_notebooks_are_compared_by_their_code_cells():
    nb = {
        "cells": [
            {"cell_type": "markdown", "source": ["# words"]},
            {"cell_type": "code", "source": ["x = 1\n", "y = 2"], "outputs": [{"text": "junk"}]},
            {"cell_type": "code", "source": "print(x + y)"},
        ]
    }
    assert similarity.notebook_code(json.dumps(nb)) == "x = 1\ny = 2\n\nprint(x + y)"
    assert similarity.notebook_code("not json") == ""


def test_segments_cut_the_text_at_the_matches():
    assert similarity.segments("abcdef", [(1, 3), (2, 4)]) == [
        ("a", False),
        ("bc", True),
        ("d", True),
        ("ef", False),
    ]


def test_the_command_writes_the_page_the_pairs_and_the_csv(tmp_path):
    build_class(tmp_path / "class")
    hostile = sources(INDEPENDENT["ind-ref"])
    hostile["part1/lstm.py"] += "\n# <script>alert(1)</script>\n"
    write_zip(tmp_path / "class" / "copy-hostile.zip", hostile)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        grade.similarity_cli,
        [
            str(tmp_path / "class"),
            "-a",
            "palindrome-rnn-lstm",
            "--out",
            str(out),
            "--accept-misnamed",
        ],
    )
    assert result.exit_code == 0, result.output
    page = (out / similarity.PAGE).read_text()
    assert "a reason to look, not a verdict" in page
    with (out / similarity.CSV_FILE).open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 15
    pair_pages = sorted((out / similarity.PAIRS_DIR).glob("*.html"))
    assert pair_pages, "the copies get side-by-side pages"
    hostile_page = (out / similarity.PAIRS_DIR / "copy-hostile--ind-ref.html").read_text()
    assert "<script>alert" not in hostile_page and "&lt;script&gt;" in hostile_page
    assert "<mark>" in hostile_page

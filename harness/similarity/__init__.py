"""Which submissions look copied: code similarity over a class, with copydetect.

``similarity(submissions=Path("subs"), assignment="char-rnn-lab", out=Path("results/x"))``
reads each student's code from their ZIP (unpacked with ``harness.intake``'s limits, on
the trusted side; nothing is run), compares every pair and writes into ``out``:

* ``similarity.html``: the pairs at or above ``threshold``, most similar first, with their
  scores; each links to
* ``similarity/<a>--<b>.html``: the two codes side by side, the matching regions marked;
* ``similarity.csv``: every pair with its two scores, for staff.

A student's code is every ``.py`` file of the hand-in and the code cells of every
notebook, one after another (each headed by its path), so renamed or moved files still
match.  The template's own code (``student_template/<name>/``) is boilerplate: its
fingerprints are left out of every comparison, so the code the hand-out gives does not
make every pair look alike.

Fingerprints are copydetect's (``CodeFingerprint``: Pygments tokens with identifiers,
strings and comments normalised, k-grams of ``noise`` tokens, winnowed so that any match
of ``guarantee`` tokens is found).  A pair's score is the larger of the two shares of
each code's fingerprinted tokens that the other holds (copydetect's ``similarity1`` and
``similarity2``), so a short hand-in copied into a longer one still scores high.

Nothing here changes a grade: similarity is a reason to look, never a verdict, and the
pages say so.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from itertools import combinations
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
from markupsafe import Markup

from .. import __version__, api
from ..checks.reference import template_root
from ..errors import ArchiveError
from ..intake import ExtractionLimits, extract_zip
from ..report import render
from ..spec import AssignmentSpec

#: copydetect's defaults: matches shorter than NOISE tokens are ignored, any match of
#: GUARANTEE tokens is found.
NOISE, GUARANTEE = 25, 30
THRESHOLD = 0.5  #: pairs at or above it are listed on the page
MAX_LISTED = 200  #: at most this many of them, the most similar, get a row and a page
MAX_FILE_BYTES = 512 * 1024  #: a longer file is left out (data, not code)
LIMITS = ExtractionLimits(max_total_bytes=64 * 1024**2, max_file_bytes=16 * 1024**2)
PAGE, CSV_FILE, PAIRS_DIR = "similarity.html", "similarity.csv", "similarity"
TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class Code:
    """One student's code as compared: the files joined, and where each begins."""

    student_id: str
    text: str
    files: tuple[str, ...]
    note: str = ""  #: why nothing could be read, when nothing could


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    score: float  #: max(share_a, share_b)
    share_a: float  #: share of a's fingerprinted code found in b
    share_b: float
    overlap: int  #: tokens in common
    slices_a: tuple[tuple[int, int], ...] = ()  #: character ranges of a's matching code
    slices_b: tuple[tuple[int, int], ...] = ()

    @property
    def page(self) -> str:
        return f"{PAIRS_DIR}/{_safe(self.a)}--{_safe(self.b)}.html"


@dataclass(frozen=True)
class SimilarityReport:
    spec: AssignmentSpec
    codes: tuple[Code, ...]
    pairs: tuple[Pair, ...]  #: every pair, most similar first
    threshold: float
    seconds: float

    @property
    def flagged(self) -> tuple[Pair, ...]:
        return tuple(p for p in self.pairs if p.score >= self.threshold)

    @property
    def listed(self) -> tuple[Pair, ...]:
        """The flagged pairs the page lists, each with its side-by-side page."""
        return self.flagged[:MAX_LISTED]


def _safe(student_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", student_id)[:80]


def notebook_code(raw: str) -> str:
    """The code cells of a notebook, in order (the rest is prose and outputs)."""
    try:
        cells = json.loads(raw).get("cells", [])
    except (ValueError, AttributeError):
        return ""
    code = []
    for cell in cells if isinstance(cells, list) else []:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            code.append("".join(source) if isinstance(source, list) else str(source))
    return "\n\n".join(code)


def read_code(folder: Path) -> tuple[str, tuple[str, ...]]:
    """The ``.py`` files and notebooks' code cells under ``folder``, joined, each headed
    by its path; and the paths."""
    parts, names = [], []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix not in (".py", ".ipynb"):
            continue
        rel = path.relative_to(folder).as_posix()
        if any(p.startswith(".") or p in ("__pycache__", "__MACOSX") for p in rel.split("/")):
            continue
        if path.stat().st_size > MAX_FILE_BYTES:
            continue
        raw = path.read_text(encoding="utf-8", errors="replace")
        text = notebook_code(raw) if path.suffix == ".ipynb" else raw
        parts.append(f"# ---- {rel}\n{text}\n")
        names.append(rel)
    return "".join(parts), tuple(names)


def student_code(zip_path: Path, student_id: str) -> Code:
    """A student's code from their ZIP, unpacked under the intake's rules into a
    temporary folder (nothing of it runs)."""
    with tempfile.TemporaryDirectory(prefix="similarity-") as tmp:
        try:
            extract_zip(zip_path, Path(tmp) / "x", limits=LIMITS)
        except (ArchiveError, OSError) as exc:
            return Code(student_id, "", (), f"not read: {exc}")
        text, files = read_code(Path(tmp) / "x")
    return Code(student_id, text, files, "" if files else "no .py or .ipynb file")


@dataclass(frozen=True)
class Fingerprint:
    """What ``copydetect.compare_files`` reads of a ``CodeFingerprint``, built the same
    way but with a hash that is the same in every process (copydetect hashes k-grams with
    Python's ``hash``, salted per process, so its winnowing, and the scores, move from one
    run to the next)."""

    raw_code: str
    filtered_code: str
    offsets: np.ndarray
    hashes: set[int]
    hash_idx: dict[int, list[int]]
    k: int
    token_coverage: int


def stable_kgram_hashes(text: str, k: int) -> np.ndarray:
    """A 63-bit BLAKE2 hash of every k-character window of ``text``."""
    data = text.encode("utf-32-le")  # four bytes a character: windows stay aligned
    return np.array(
        [
            int.from_bytes(hashlib.blake2b(data[4 * i : 4 * (i + k)], digest_size=8).digest()) >> 1
            for i in range(len(text) - k + 1)
        ],
        dtype=np.int64,
    )


def fingerprint(
    text: str, boilerplate: np.ndarray | None = None, *, every: bool = False
) -> Fingerprint:
    """copydetect's fingerprint of ``text`` (Pygments tokens normalised by its
    ``filter_code``, k-grams of ``NOISE`` tokens winnowed so any match of ``GUARANTEE``
    is kept), minus the ``boilerplate`` hashes; ``every`` keeps every k-gram, as
    copydetect does for boilerplate."""
    from copydetect.utils import filter_code, get_token_coverage, winnow

    filtered, offsets = filter_code(text, "code.py")
    hashes = stable_kgram_hashes(filtered, NOISE)
    window = 1 if every else GUARANTEE - NOISE + 1
    chosen, idx = np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    if len(hashes) >= window:
        chosen, idx = winnow(hashes, window_size=window, remove_duplicates=False)
        chosen, idx = np.asarray(chosen, dtype=np.int64), np.asarray(idx)
    if boilerplate is not None and len(boilerplate) and len(chosen):
        keep = ~np.isin(chosen, boilerplate)
        chosen, idx = chosen[keep], idx[keep]
    hash_idx: dict[int, list[int]] = {}
    for value, at in zip(chosen.tolist(), idx.tolist(), strict=True):
        hash_idx.setdefault(value, []).append(at)
    return Fingerprint(
        text,
        filtered,
        offsets,
        set(hash_idx),
        hash_idx,
        NOISE,
        get_token_coverage(hash_idx, NOISE, len(filtered)),
    )


def boilerplate_hashes(text: str) -> np.ndarray | None:
    """Every k-gram hash of the template's code, as copydetect's detector builds them."""
    if not text.strip():
        return None
    return np.unique(np.array(sorted(fingerprint(text, every=True).hashes), dtype=np.int64))


def _ranges(slices: Any) -> tuple[tuple[int, int], ...]:
    if len(slices) == 0 or np.size(slices) == 0:
        return ()
    return tuple((int(s), int(e)) for s, e in zip(slices[0], slices[1], strict=True))


def compare(codes: Sequence[Code], boilerplate: str = "") -> list[Pair]:
    """Every pair of ``codes`` with text, most similar first (ties by id)."""
    from copydetect import compare_files

    base = boilerplate_hashes(boilerplate)
    prints = {c.student_id: fingerprint(c.text, base) for c in codes if c.text.strip()}
    pairs = []
    for a, b in combinations(sorted(prints), 2):
        overlap, (share_a, share_b), (slices_a, slices_b) = compare_files(prints[a], prints[b])
        pairs.append(
            Pair(
                a,
                b,
                float(max(share_a, share_b)),
                float(share_a),
                float(share_b),
                int(overlap),
                _ranges(slices_a),
                _ranges(slices_b),
            )
        )
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    return pairs


def template_code(spec: AssignmentSpec) -> str:
    root = template_root(spec)
    return read_code(root)[0] if root.is_dir() else ""


def similarity(
    *,
    submissions: Path,
    assignment: str,
    threshold: float = THRESHOLD,
    accept_misnamed: bool = False,
) -> SimilarityReport:
    """Compare every pair of the class in ``submissions`` (see the module docstring)."""
    started = time.monotonic()
    spec = api.find_assignment(assignment)
    subs = api.discover(submissions, spec, accept_misnamed=accept_misnamed)
    codes = tuple(student_code(s.path, s.student_id) for s in subs)
    pairs = compare(codes, template_code(spec))
    return SimilarityReport(spec, codes, tuple(pairs), threshold, time.monotonic() - started)


# -- the pages --------------------------------------------------------------------------


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [jinja2.FileSystemLoader(TEMPLATES), jinja2.FileSystemLoader(render.TEMPLATES)]
        ),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=render._printable,
    )
    env.filters["pct"] = lambda x: f"{100 * x:.0f}%"
    return env


def segments(text: str, ranges: Sequence[tuple[int, int]]) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, matched) runs by the matching character ranges."""
    out, at = [], 0
    for start, end in sorted(ranges):
        start = max(start, at)
        if start > at:
            out.append((text[at:start], False))
        if end > start:
            out.append((text[start:end], True))
        at = max(at, end)
    if at < len(text):
        out.append((text[at:], False))
    return out


def _context(report: SimilarityReport, **extra: Any) -> dict[str, Any]:
    return {
        "spec": report.spec,
        "report": report,
        "css": Markup(render._asset("style.css")),
        "script": Markup(""),
        "script_sources": "'none'",
        "version": __version__,
        "generated": render.timestamp(),
        **extra,
    }


def write(report: SimilarityReport, out: Path) -> dict[str, Path]:
    """Write the class page, a page per flagged pair and the CSV of all pairs into ``out``."""
    out = Path(out)
    (out / PAIRS_DIR).mkdir(parents=True, exist_ok=True)
    env = _environment()
    written = {"page": out / PAGE, "csv": out / CSV_FILE}
    written["page"].write_text(
        env.get_template("similarity.html.j2").render(**_context(report)), encoding="utf-8"
    )
    by_id = {c.student_id: c for c in report.codes}
    for pair in report.listed:
        left = segments(by_id[pair.a].text, pair.slices_a)
        right = segments(by_id[pair.b].text, pair.slices_b)
        page = env.get_template("similarity_pair.html.j2").render(
            **_context(report, pair=pair, left=left, right=right)
        )
        (out / pair.page).write_text(page, encoding="utf-8")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["a", "b", "score", "share_a", "share_b", "tokens_in_common"])
    for p in report.pairs:
        writer.writerow(
            [p.a, p.b, f"{p.score:.4f}", f"{p.share_a:.4f}", f"{p.share_b:.4f}", p.overlap]
        )
    written["csv"].write_text(buffer.getvalue(), encoding="utf-8")
    return written

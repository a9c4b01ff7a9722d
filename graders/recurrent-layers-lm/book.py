"""The grader's copy of Pride and Prejudice (data/prideprejudice.txt): the passage a
student's Dataset reads, and the token windows the grader's own training and validation
use, numbered by the reference's rules."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

BOOK = Path(__file__).parent / "data" / "prideprejudice.txt"
#: Lines of the book in the passage the student's Dataset reads (BOOK_IN_SUBMISSION).
PASSAGE_LINES = 3000


def passage_text() -> str:
    """The first lines of the book between a Project Gutenberg header and footer, as the
    hand-out's data file has them (a student may cut the book at those markers)."""
    body = "\n".join(BOOK.read_text(encoding="utf-8").splitlines()[:PASSAGE_LINES])
    return (
        "The Project Gutenberg EBook of Pride and Prejudice, by Jane Austen\n\n"
        "This eBook is for the use of anyone anywhere at no cost and with\n"
        "almost no restrictions whatsoever.\n\n"
        "Title: Pride and Prejudice\n\nAuthor: Jane Austen\n\n"
        "*** START OF THIS PROJECT GUTENBERG EBOOK PRIDE AND PREJUDICE ***\n\n\n"
        f"{body}\n\n\n"
        "*** END OF THIS PROJECT GUTENBERG EBOOK PRIDE AND PREJUDICE ***\n"
    )


@dataclass(frozen=True)
class Corpus:
    """The whole book's token ids, as windows of ``lm_seq`` words (x, y = the next words)."""

    ntoken: int
    vocab: list[str]
    train: tuple[Any, Any]  #: (X, Y) tensors (n, T)
    val: tuple[Any, Any]
    unigram: float  #: the validation perplexity of predicting word frequencies alone


def windows(data: Any, T: int) -> tuple[Any, Any]:
    """Consecutive windows of T ids and their targets, one word on."""
    n = (len(data) - 1) // T
    ids = data[: n * T + 1]
    return ids[:-1].reshape(n, T), ids[1:].reshape(n, T)


def book_corpus(reference_lm: Any, settings: dict[str, Any]) -> Corpus:
    """The book by the reference's Dataset (train and validation parts), so that a faulty
    Dataset of the student's costs only the Dataset check."""
    T = settings["lm_seq"]
    train = reference_lm.Dataset(T, str(BOOK), train=True)
    val = reference_lm.Dataset(T, str(BOOK), train=False)
    counts = Counter(train.data.tolist())
    probs = np.array([counts.get(i, 0) + 1 for i in range(train.ntoken)], dtype=np.float64)
    probs /= probs.sum()
    vx, vy = windows(val.data, T)
    vy_eval = vy[: settings["lm_eval_windows"]].numpy()
    unigram = float(np.exp(-np.log(probs[vy_eval]).mean()))
    return Corpus(
        ntoken=train.ntoken,
        vocab=list(train.vocab),
        train=windows(train.data, T),
        val=(vx, vy),
        unigram=unigram,
    )

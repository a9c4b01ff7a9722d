"""Objects the plugin hands to checks: the submission's files and the evidence recorder."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest


class CheckFailed(AssertionError):
    """Raised by ``fail``: the message is shown to the student as it is."""


def fail(message: str) -> NoReturn:
    """Fail the current check with ``message`` (written for the student)."""
    __tracebackhide__ = True
    raise CheckFailed(message)


@dataclass(frozen=True)
class Submission:
    """The submission's files as the trusted side sees them: for reading, never running."""

    student_id: str
    root: Path  #: the materialised copy (template layout)
    files: Mapping[str, Path]  #: template path -> file, for those found
    missing: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def path(self, template_path: str) -> Path:
        """The file for ``template_path``; a check that needs a missing file fails clearly."""
        __tracebackhide__ = True
        if template_path not in self.files:
            fail(f"the required file {template_path!r} was not found in your submission")
        return self.files[template_path]

    def source(self, template_path: str) -> str:
        return self.path(template_path).read_text(encoding="utf-8", errors="replace")

    def has(self, template_path: str) -> bool:
        return template_path in self.files

    def python_files(self) -> list[Path]:
        return sorted(p for p in self.root.rglob("*.py") if p.is_file())


@dataclass
class Evidence:
    """Collects what a report should show for the current check (set per test)."""

    directory: Path
    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    current: str = ""
    #: what a TA should look at whatever the score (the submission is flagged ``needs_review``)
    reviews: list[str] = field(default_factory=list)

    def for_review(self, message: str) -> None:
        """Flag the submission for a TA: something no check can decide (e.g. code that may
        reach a forbidden API in a way static analysis cannot resolve)."""
        if message not in self.reviews:
            self.reviews.append(message[:5000])

    def _slug(self, name: str) -> str:
        base = re.sub(r"[^A-Za-z0-9]+", "-", f"{self.current}-{name}").strip("-").lower()
        return base[:120] or "evidence"

    def _add(self, entry: dict[str, Any]) -> None:
        self.items.setdefault(self.current, []).append(entry)

    def figure(self, fig: Any, *, name: str, title: str = "") -> Path:
        """Save a matplotlib figure (PNG) for the report."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{self._slug(name)}.png"
        fig.savefig(path, dpi=100, bbox_inches="tight")
        self._add({"kind": "figure", "name": name, "title": title, "path": path.name})
        return path

    def table(
        self, *, name: str, columns: list[str], rows: list[list[Any]], title: str = ""
    ) -> None:
        self._add(
            {
                "kind": "table",
                "name": name,
                "title": title,
                "columns": columns,
                "rows": json.loads(json.dumps(rows, default=str)),
            }
        )

    def text(self, *, name: str, text: str, title: str = "") -> None:
        self._add({"kind": "text", "name": name, "title": title, "text": text[:20000]})

    def series(
        self,
        *,
        name: str,
        figure: str,
        title: str,
        x: str,
        y: str,
        label: str,
        points: Any,
        reference: bool = False,
        ylim: tuple[float, float] | None = None,
    ) -> None:
        """One line of a plot the report draws. Lines recorded by any check under the same
        ``figure`` share its axes; ``reference`` lines are drawn as the reference's."""
        from ..report.plots import series

        value = series(
            figure=figure, title=title, x=x, y=y, label=label, points=points,
            reference=reference, ylim=ylim,
        )  # fmt: skip
        self.data(name=name, value=value)

    def images(
        self, images: Any, *, name: str, rows: int, cols: int, title: str = "", heading: str = ""
    ) -> Path:
        """A grid of ``rows x cols`` grey images, (N, H, W), (N, 1, H, W) or flat (N, H*W),
        with values in [-1, 1] or [0, 1], saved for the report under ``title`` (``heading``
        is drawn above the grid itself)."""
        from ..report.plots import image_grid

        grid = image_grid(images, rows=rows, cols=cols, title=heading)
        return self.figure(grid, name=name, title=title)

    def data(self, *, name: str, value: Any, title: str = "") -> None:
        self._add(
            {
                "kind": "data",
                "name": name,
                "title": title,
                "value": json.loads(json.dumps(value, default=str)),
            }
        )


def student_call(
    student: Any,
    fn: Any,
    *args: Any,
    during: str,
    want: str = "value",
    hint: str = "",
    **kwargs: Any,
) -> Any:
    """Call student code (by default bringing the result back as data). Its exception fails
    the check with the student's own message: the template's NotImplementedError says what
    to implement; anything else is shown with ``during`` and where it was raised, then
    ``hint``."""
    __tracebackhide__ = True
    from ..session import StudentError

    try:
        return student.call(fn, *args, want=want, during=during, **kwargs)
    except StudentError as exc:
        if exc.type == "NotImplementedError" and exc.message:
            fail(exc.message)
        fail(exc.summary() + (f"\n{hint}" if hint else ""))


def skip_unless(condition: bool, reason: str) -> None:
    """Stop the check early (it scores zero) when a prerequisite is missing."""
    __tracebackhide__ = True
    if not condition:
        pytest.skip(reason)

"""Figures for the reports, drawn with matplotlib (no pyplot state) as SVG bytes.

Graders record numbers, not pictures, wherever they can: a training table, or a
*series* (``series(...)`` below, stored with ``evidence.data``).  The report draws
them here, at build time, and caches each SVG under a hash of what it shows, so a
rebuild (``--reports-only``) redraws nothing that did not change.

Series from several checks that name the same ``figure`` are drawn on one set of
axes: checks that each add one point (say, a sequence length and an accuracy) of the
student's model and the reference's curve make one plot in the report.  Pictures that
are pictures (a generative model's samples) are saved by the grader with ``evidence.figure`` and
``image_grid``, and embedded as they are.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import multiprocessing
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from ..store import write_bytes_atomic

#: Bump when the drawing code changes, so cached figures are redrawn.
PLOT_VERSION = "3"
#: x columns a table may be plotted against (first column, case-insensitive).
X_COLUMNS = frozenset({"step", "steps", "epoch", "epochs", "iteration", "iter", "batch"})
DPI = 80
MAX_PANELS = 4
#: Figures to draw before a build uses more than one process (each costs a second to start).
PARALLEL_FIGURES = 60

STUDENT_COLOURS = ("#1f5fa8", "#c0392b", "#1e8449", "#8e44ad", "#b9770e")
REFERENCE_COLOUR = "#7f8c8d"


def series(
    *,
    figure: str,
    title: str,
    x: str,
    y: str,
    label: str,
    points: Iterable[Sequence[float]],
    reference: bool = False,
    ylim: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """One line of a plot the report draws; record it with ``evidence.data(value=...)``.

    ``figure`` names the plot: series from any check with the same ``figure`` share
    its axes (the same ``label`` twice is one line, its points merged).  ``reference``
    lines are drawn dashed and grey, the student's in colour.
    """
    value: dict[str, Any] = {
        "plot": "series",
        "figure": figure,
        "title": title,
        "x": x,
        "y": y,
        "label": label,
        "points": [[float(px), float(py)] for px, py in points],
        "reference": bool(reference),
    }
    if ylim is not None:
        value["ylim"] = [float(ylim[0]), float(ylim[1])]
    return value


def is_series(value: Any) -> bool:
    return isinstance(value, dict) and value.get("plot") == "series" and "figure" in value


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI)


# Curves are drawn on figures kept from one drawing to the next (one per layout): new
# axes and their ticks are most of what a small plot costs, and a class has hundreds.
_CANVASES: dict[tuple[str, int], tuple[Any, list[Any]]] = {}
_LOCK = threading.Lock()


def _canvas(kind: str, panels: int, width: float, height: float) -> tuple[Any, list[Any]]:
    """A kept figure with ``panels`` axes in a row, emptied of the last drawing's data."""
    key = (kind, panels)
    if key not in _CANVASES:
        fig = _figure(width, height)
        axes = list(fig.subplots(1, panels, squeeze=False)[0])
        for ax in axes:
            _style(ax)
        _CANVASES[key] = (fig, axes)
    fig, axes = _CANVASES[key]
    for ax in axes:
        for artist in [*ax.lines, *ax.patches, *ax.collections]:
            artist.remove()
        legend = ax.get_legend()
        if legend is not None:
            legend.remove()
        ax.set_prop_cycle(None)
        ax.set_autoscale_on(True)
    return fig, axes


def _fit(ax: Any, ylim: Sequence[float] | None = None) -> None:
    ax.relim()
    ax.autoscale_view()
    if ylim:
        ax.set_ylim(*ylim)


def _svg(fig: Any) -> bytes:
    """The figure as SVG with its text as text: twice as fast to write as a PNG, and sharp.

    The report embeds it as an image (a data URI), where no script or link in it could
    run; matplotlib escapes every label.
    """
    from matplotlib import rc_context

    buffer = io.BytesIO()
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "report"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _labels(ax: Any, *, xlabel: str, ylabel: str) -> None:
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)


def _style(ax: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    # Few ticks: matplotlib's tick objects are much of the time a small plot takes.
    ax.xaxis.set_major_locator(MaxNLocator(5, steps=[1, 2, 2.5, 5, 10]))
    ax.yaxis.set_major_locator(MaxNLocator(5, steps=[1, 2, 2.5, 5, 10]))
    ax.tick_params(labelsize=7)
    ax.grid(True, alpha=0.3, linewidth=0.5)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, str):
        try:
            number = float(value.rstrip("%")) / (100 if value.endswith("%") else 1)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def table_panels(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[list[int]] | None:
    """Which columns a table's curve plot shows, grouped per panel; None if it is no curve.

    A table is a curve when its first column is a step or epoch count, it has at least
    two rows, and some other column holds numbers in every row.  Columns whose name
    says "loss" share one panel; every other numeric column gets its own.
    """
    if len(columns) < 2 or len(rows) < 2 or str(columns[0]).strip().lower() not in X_COLUMNS:
        return None
    if any(len(r) != len(columns) or _number(r[0]) is None for r in rows):
        return None
    numeric = [i for i in range(1, len(columns)) if all(_number(r[i]) is not None for r in rows)]
    if not numeric:
        return None
    losses = [i for i in numeric if "loss" in str(columns[i]).lower()]
    panels = ([losses] if losses else []) + [[i] for i in numeric if i not in losses]
    return panels[:MAX_PANELS]


def draw_table_curves(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], panels: Sequence[Sequence[int]]
) -> bytes:
    """Each panel: its columns against the first column (step or epoch)."""
    with _LOCK:
        fig, axes = _canvas("curves", len(panels), min(3.2 * len(panels), 9.6), 2.4)
        return _draw_table_curves(fig, axes, columns, rows, panels)


def _draw_table_curves(
    fig: Any,
    axes: list[Any],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    panels: Sequence[Sequence[int]],
) -> bytes:
    xs = [_number(r[0]) for r in rows]
    for ax, panel in zip(axes, panels, strict=True):
        for n, i in enumerate(panel):
            ys = [_number(r[i]) for r in rows]
            ax.plot(
                xs,
                ys,
                marker="o" if len(rows) <= 30 else None,
                markersize=2.5,
                linewidth=1.2,
                color=STUDENT_COLOURS[n % len(STUDENT_COLOURS)],
                label=str(columns[i]),
            )
        name = str(columns[panel[0]]) if len(panel) == 1 else "loss"
        _labels(ax, xlabel=str(columns[0]), ylabel=name)
        if len(panel) > 1:
            ax.legend(fontsize=7, frameon=False)
        unit = "acc" in name.lower() or "confidence" in name.lower()
        _fit(ax, (-0.02, 1.02) if unit else None)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.2, top=0.95, wspace=0.35)
    return _svg(fig)


def merge_series(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Series grouped by figure, in first-seen order; one line per label, points merged."""
    figures: dict[str, dict[str, Any]] = {}
    for entry in entries:
        fig = figures.setdefault(
            str(entry["figure"]),
            {
                "figure": str(entry["figure"]),
                "title": str(entry.get("title", "")),
                "x": str(entry.get("x", "")),
                "y": str(entry.get("y", "")),
                "ylim": entry.get("ylim"),
                "lines": {},
            },
        )
        line = fig["lines"].setdefault(
            str(entry.get("label", "")),
            {"label": str(entry.get("label", "")), "reference": bool(entry.get("reference"))},
        )
        points = dict(line.get("points", []))
        for point in entry.get("points", []):
            px, py = _number(point[0]), _number(point[1])
            if px is not None and py is not None:
                points[px] = py
        line["points"] = sorted(points.items())
    return [
        {**fig, "lines": sorted(fig["lines"].values(), key=lambda line: line["reference"])}
        for fig in figures.values()
    ]


def draw_series(fig_spec: dict[str, Any]) -> bytes:
    """One plot of the merged lines of ``merge_series``: the student's in colour."""
    with _LOCK:
        fig, (ax,) = _canvas("series", 1, 5.0, 3.0)
        return _draw_series(fig, ax, fig_spec)


def _draw_series(fig: Any, ax: Any, fig_spec: dict[str, Any]) -> bytes:
    colour = 0
    for line in fig_spec["lines"]:
        xs = [p[0] for p in line["points"]]
        ys = [p[1] for p in line["points"]]
        if line["reference"]:
            style = {"color": REFERENCE_COLOUR, "linestyle": "--", "marker": "s", "markersize": 3}
        else:
            style = {
                "color": STUDENT_COLOURS[colour % len(STUDENT_COLOURS)],
                "marker": "o",
                "markersize": 6,
            }
            colour += 1
        ax.plot(xs, ys, linewidth=1.4, label=line["label"], **style)
    _labels(ax, xlabel=fig_spec["x"], ylabel=fig_spec["y"])
    _fit(ax, fig_spec.get("ylim"))
    ax.legend(fontsize=7, frameon=False)
    fig.subplots_adjust(left=0.13, right=0.97, bottom=0.15, top=0.96)
    return _svg(fig)


def draw_histogram(scores: Sequence[float], max_score: float) -> bytes:
    """How many submissions scored how much (automatic points)."""
    fig = _figure(5.6, 2.6)
    ax = fig.subplots()
    top = max(max_score, max(scores, default=0.0), 1.0)
    bins = min(20, max(5, int(math.ceil(top))))
    ax.hist(scores, bins=bins, range=(0, top), color=STUDENT_COLOURS[0], edgecolor="white")
    _style(ax)
    _labels(ax, xlabel=f"automatic score (of {max_score:g})", ylabel="submissions")
    ax.yaxis.get_major_locator().set_params(integer=True)
    fig.subplots_adjust(left=0.1, right=0.98, bottom=0.18, top=0.96)
    return _svg(fig)


def image_grid(images: Any, *, rows: int, cols: int, title: str = "") -> Any:
    """A matplotlib Figure of ``rows x cols`` grey images (for ``evidence.figure``).

    ``images``: an array (N, H, W) or (N, 1, H, W), or flat (N, H*W) for square images;
    values in [-1, 1] or [0, 1], shown as they are.  Used by graders, in the trusted
    process, for generated samples and interpolation strips.
    """
    import numpy as np

    data = np.asarray(images, dtype=np.float32)
    if data.ndim == 2:
        side = int(round(math.sqrt(data.shape[1])))
        data = data.reshape(-1, side, side)
    elif data.ndim == 4:
        data = data[:, 0]
    low = -1.0 if data.size and float(data.min()) < 0 else 0.0
    fig = _figure(0.7 * cols + 0.2, 0.7 * rows + (0.35 if title else 0.1))
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if k < len(data):
            ax.imshow(data[k], cmap="gray", vmin=low, vmax=1.0, interpolation="nearest")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.9 if title else 0.99)
    fig.subplots_adjust(wspace=0.05, hspace=0.05)
    return fig


def _draw(draw: Callable[[], bytes]) -> bytes:
    # The numbers come from a student (a loss of 1.7e308, say): a figure that cannot be
    # drawn becomes a note in its place, and every other figure and page still comes out.
    try:
        return draw()
    except Exception as exc:  # noqa: BLE001 - any failure of matplotlib on student data
        return failed_figure(f"{type(exc).__name__}: {exc}")


def failed_figure(reason: str) -> bytes:
    """A small SVG that says a figure could not be drawn, and why."""
    from xml.sax.saxutils import escape

    from ..text import printable

    text = escape(printable(reason)[:160])
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="520" height="40" role="img">'
        '<rect width="520" height="40" fill="#fdf2f2" stroke="#c0392b"/>'
        '<text x="10" y="24" font-family="sans-serif" font-size="12" fill="#7b241c">'
        f"This figure could not be drawn from the recorded values ({text})</text></svg>"
    ).encode()


class FigureCache:
    """SVG files under ``folder`` named by a hash of what they show.

    ``get(key, draw)`` returns the cached bytes or draws, stores and returns them;
    ``prune()`` removes the files no ``get`` asked for since the cache was opened.
    With ``defer`` a miss returns no bytes and keeps ``draw`` (a picklable callable,
    e.g. a ``functools.partial``) for ``draw_pending``, which draws them all, in
    parallel processes when there are many.
    """

    def __init__(self, folder: Path, *, defer: bool = False) -> None:
        self.folder = folder
        self.defer = defer
        self.used: set[str] = set()
        self.pending: dict[str, Callable[[], bytes]] = {}
        self.drawn = 0

    def get(self, key: Any, draw: Callable[[], bytes]) -> bytes:
        text = json.dumps([PLOT_VERSION, key], sort_keys=True, default=str)
        name = hashlib.sha256(text.encode()).hexdigest()[:24] + ".svg"
        self.used.add(name)
        path = self.folder / name
        try:
            return path.read_bytes()
        except OSError:
            pass
        if self.defer:
            self.pending[name] = draw
            return b""
        data = _draw(draw)
        self.drawn += 1
        write_bytes_atomic(path, data)
        return data

    def draw_pending(self, jobs: int = 1) -> None:
        """Draw what deferred ``get`` calls missed; ``jobs`` processes for many figures."""
        names, draws = list(self.pending), list(self.pending.values())
        self.pending.clear()
        if jobs > 1 and len(draws) >= PARALLEL_FIGURES:
            # Fresh interpreters ("spawn"): forking a process that runs threads is unsafe.
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(min(jobs, len(draws)), mp_context=context) as pool:
                images = list(pool.map(_draw, draws, chunksize=8))
        else:
            images = [_draw(draw) for draw in draws]
        for name, data in zip(names, images, strict=True):
            write_bytes_atomic(self.folder / name, data)
        self.drawn += len(images)

    def prune(self) -> None:
        if not self.folder.is_dir():
            return
        for path in self.folder.iterdir():
            if path.name not in self.used:
                path.unlink(missing_ok=True)

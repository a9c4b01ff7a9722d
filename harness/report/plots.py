"""Figures for the reports, drawn with matplotlib (no pyplot state) as SVG bytes.

Graders record numbers, not pictures, wherever they can: a training table, or a
*series* (``series(...)`` below, stored with ``evidence.data``).  The report draws
them here, at build time, and caches each SVG under a hash of what it shows, so a
rebuild (``--reports-only``) redraws nothing that did not change.

Series from several checks that name the same ``figure`` are drawn on one set of
axes: checks that each add one point (say, a sequence length and an accuracy) of the
student's model and the reference's curve make one plot in the report.

What a figure must not do, and how it is avoided: the student's line and the reference's
differ in colour, line and marker (each reference in a light tone of its student line's
hue, dashed, with hollow squares), with a legend; a line of one to three points has its
values written beside them, and student lines that share an x are nudged apart so that no
dot hides another; a value that was NaN or infinite (stored as null) is marked where it
occurred, with a red cross at the top of the axes and "not finite from step 37", and the
line is broken there rather than drawn through; counts (every value a whole number) are
drawn on a count axis from 0 with whole ticks, fractions on 0..1; step or epoch columns
are an x, never a curve; and every figure is cut to its labels (``bbox_inches="tight"``),
so no tick label is clipped.  Pictures that
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
PLOT_VERSION = "4"
#: x columns a table may be plotted against (first column, case-insensitive).
X_COLUMNS = frozenset({"step", "steps", "epoch", "epochs", "iteration", "iter", "batch"})
DPI = 80
MAX_PANELS = 4
#: Figures to draw before a build uses more than one process (each costs a second to start).
PARALLEL_FIGURES = 60

STUDENT_COLOURS = ("#1f5fa8", "#c0392b", "#1e8449", "#8e44ad", "#b9770e")
#: The same hues, light: a reference line beside its student line, told apart at a glance.
REFERENCE_COLOURS = ("#8fb3dc", "#e8a39b", "#91cfa4", "#c9a5d8", "#e8c48a")
REFERENCE_COLOUR = "#7f8c8d"
NON_FINITE_COLOUR = "#d62728"
#: Lines with at most this many points have their values written beside them.
LABELLED_POINTS = 3


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
        for artist in [*ax.lines, *ax.patches, *ax.collections, *ax.texts]:
            artist.remove()
        _style(ax)
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
    run; matplotlib escapes every label.  The figure is cut to what it draws, labels
    included, so no tick label or axis title is clipped at its edge.
    """
    from matplotlib import rc_context

    buffer = io.BytesIO()
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "report"}):
        fig.savefig(
            buffer, format="svg", metadata={"Date": None}, bbox_inches="tight", pad_inches=0.06
        )
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


def _missing(value: Any) -> bool:
    """A value that was a number but not a finite one: NaN or infinite (null once stored)."""
    if value is None:
        return True
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, str):
        return value.strip().lower().lstrip("+-") in ("nan", "inf", "infinity")
    return False


def table_panels(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[list[int]] | None:
    """Which columns a table's curve plot shows, grouped per panel; None if it is no curve.

    A table is a curve when its first column is a step or epoch count, it has at least
    two rows, and some other column holds numbers in every row (a NaN or infinite one,
    or its null, counts: it is marked where it occurred).  Columns whose name says "loss"
    share one panel; every other numeric column gets its own; another step or epoch
    column is a second x, not a curve.
    """
    if len(columns) < 2 or len(rows) < 2 or str(columns[0]).strip().lower() not in X_COLUMNS:
        return None
    if any(len(r) != len(columns) or _number(r[0]) is None for r in rows):
        return None
    numeric = [
        i
        for i in range(1, len(columns))
        if str(columns[i]).strip().lower() not in X_COLUMNS
        and all(_number(r[i]) is not None or _missing(r[i]) for r in rows)
        and any(_number(r[i]) is not None for r in rows)
    ]
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


#: Words in a column's name that make it a count.
COUNT_WORDS = ("count", "classes", "number", "steps", "# ")


def _axis_kind(name: str, values: Sequence[float]) -> str:
    """ "count" (a name that says so, or whole numbers above 1; not a loss), "fraction"
    (accuracy, confidence, or a share in [0, 1]) or "" (let the data decide)."""
    lowered = name.lower()
    if not values or "loss" in lowered:
        return ""
    if "acc" in lowered or "confidence" in lowered:
        return "fraction"
    whole = all(float(v).is_integer() for v in values)
    if whole and (any(word in lowered for word in COUNT_WORDS) or max(values) > 1):
        return "count"
    if all(0.0 <= v <= 1.0 for v in values):
        return "fraction"
    return ""


def _apply_axis(ax: Any, kind: str, values: Sequence[float]) -> None:
    from matplotlib.ticker import MaxNLocator

    if kind == "count":
        ax.yaxis.set_major_locator(MaxNLocator(5, integer=True, steps=[1, 2, 2.5, 5, 10]))
        top = max(max(values, default=0.0), 1.0)
        ax.set_ylim(-0.04 * top, top * 1.08)
    elif kind == "fraction":
        ax.set_ylim(-0.02, 1.05)


def _label_points(
    ax: Any,
    xs: Sequence[float],
    ys: Sequence[float],
    colour: str,
    side: int = 0,
    whole: bool = False,
) -> None:
    """Write each value beside its point (for lines of a few points); ``side`` -1 or 1
    puts them left or right of it, for lines nudged apart; ``whole``: counts, as integers."""
    low, high = ax.get_ylim()
    for x, y in zip(xs, ys, strict=True):
        near_top = high - y < 0.12 * (high - low)
        ax.annotate(
            f"{y:.0f}" if whole else f"{y:.3f}" if abs(y) <= 1 else f"{y:.3g}",
            (x, y),
            textcoords="offset points",
            xytext=(6 * side, -11 if near_top else 6),
            ha={-1: "right", 0: "center", 1: "left"}[side],
            fontsize=7,
            color=colour,
        )


def _mark_non_finite(ax: Any, xs: Sequence[float], what: str, x_name: str) -> None:
    """Where the value was not finite: a red cross at the top of the axes at the first such
    x, a red band over the x range of them all, and the first said in words."""
    if not xs:
        return
    transform = ax.get_xaxis_transform()  # x in data, y in axes fractions
    first, last = min(xs), max(xs)
    if last > first:
        ax.axvspan(first, last, color=NON_FINITE_COLOUR, alpha=0.08, linewidth=0)
    ax.plot(
        [first],
        [0.97],
        transform=transform,
        linestyle="none",
        marker="x",
        markersize=7,
        markeredgewidth=1.6,
        color=NON_FINITE_COLOUR,
        label=f"{what}: not finite",
        clip_on=False,
    )
    count = len(xs)
    ax.annotate(
        f"{what} not finite (NaN or inf) from {x_name} {first:g}"
        + (f" ({count} values)" if count > 1 else ""),
        (first, 0.97),
        xycoords=transform,
        textcoords="offset points",
        xytext=(5, -11),
        fontsize=7,
        color=NON_FINITE_COLOUR,
    )


def _broken(xs: Sequence[float], ys: Sequence[float | None]) -> tuple[list[float], list[float]]:
    """The points in x order with NaN where a value was not finite: matplotlib breaks the
    line there instead of drawing it through."""
    return list(xs), [math.nan if y is None else y for y in ys]


def _draw_table_curves(
    fig: Any,
    axes: list[Any],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    panels: Sequence[Sequence[int]],
) -> bytes:
    xs = [_number(r[0]) or 0.0 for r in rows]
    for ax, panel in zip(axes, panels, strict=True):
        shown: list[float] = []
        name = str(columns[panel[0]]) if len(panel) == 1 else "loss"
        for n, i in enumerate(panel):
            ys = [_number(r[i]) for r in rows]
            finite = [y for y in ys if y is not None]
            shown += finite
            colour = STUDENT_COLOURS[n % len(STUDENT_COLOURS)]
            line_x, line_y = _broken(xs, ys)
            ax.plot(
                line_x,
                line_y,
                marker="o" if len(rows) <= 30 else None,
                markersize=3 if len(rows) > LABELLED_POINTS else 5,
                linewidth=1.2,
                color=colour,
                label=str(columns[i]),
            )
            bad = [x for x, y in zip(xs, ys, strict=True) if y is None]
            _mark_non_finite(ax, bad, str(columns[i]), str(columns[0]))
        _labels(ax, xlabel=str(columns[0]), ylabel=name)
        _fit(ax)
        kind = _axis_kind(name, shown)
        _apply_axis(ax, kind, shown)
        if len(rows) <= LABELLED_POINTS:
            for n, i in enumerate(panel):
                pairs = [(x, _number(r[i])) for x, r in zip(xs, rows, strict=True)]
                _label_points(
                    ax,
                    [x for x, y in pairs if y is not None],
                    [y for _, y in pairs if y is not None],
                    STUDENT_COLOURS[n % len(STUDENT_COLOURS)],
                    whole=kind == "count",
                )
        if len(panel) > 1 or any(ax.get_legend_handles_labels()[1][1:]):
            ax.legend(fontsize=7, frameon=False)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.2, top=0.95, wspace=0.4)
    return _svg(fig)


def merge_series(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Series grouped by figure, in first-seen order; one line per label, points merged.
    A point whose value is NaN, infinite or null is kept apart (``non_finite``: its x)."""
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
        bad = set(line.get("non_finite", []))
        for point in entry.get("points", []):
            if not isinstance(point, list | tuple) or len(point) != 2:
                continue
            px, py = _number(point[0]), _number(point[1])
            if px is not None and py is not None:
                points[px] = py
                bad.discard(px)
            elif px is not None and _missing(point[1]):
                bad.add(px)
                points.pop(px, None)
        line["points"] = sorted(points.items())
        line["non_finite"] = sorted(bad)
    return [
        {**fig, "lines": sorted(fig["lines"].values(), key=lambda line: line["reference"])}
        for fig in figures.values()
    ]


def draw_series(fig_spec: dict[str, Any]) -> bytes:
    """One plot of the merged lines of ``merge_series``: the student's in colour."""
    with _LOCK:
        fig, (ax,) = _canvas("series", 1, 5.0, 3.0)
        return _draw_series(fig, ax, fig_spec)


def _kind(label: str) -> str:
    """What a line is of, without whose it is: "your GRU" and "reference GRU" -> "GRU"."""
    for prefix in ("your ", "reference ", "the reference's ", "student "):
        if label.lower().startswith(prefix):
            return label[len(prefix) :]
    return label


def _draw_series(fig: Any, ax: Any, fig_spec: dict[str, Any]) -> bytes:
    lines = fig_spec["lines"]
    hues: dict[str, int] = {}
    for line in lines:  # the student's lines first: each kind gets its hue there
        hues.setdefault(_kind(line["label"]), len(hues))
    students = [line for line in lines if not line["reference"]]
    every_x = [p[0] for line in lines for p in line["points"]]
    span = (max(every_x) - min(every_x)) if every_x else 1.0
    few = [line for line in students if len(line["points"]) <= LABELLED_POINTS]
    labelled: list[tuple[list[float], list[float], str, int]] = []
    for line in lines:
        hue = hues[_kind(line["label"])]
        xs = [p[0] for p in line["points"]]
        ys = [p[1] for p in line["points"]]
        if line["reference"]:
            colour = REFERENCE_COLOURS[hue % len(REFERENCE_COLOURS)]
            style = {
                "color": colour,
                "linestyle": "--",
                "marker": "s",
                "markersize": 4,
                "markerfacecolor": "white",
                "linewidth": 1.3,
            }
        else:
            colour = STUDENT_COLOURS[hue % len(STUDENT_COLOURS)]
            size = 6 if len(xs) <= 12 else 3 if len(xs) <= 60 else 0
            style = {"color": colour, "marker": "o", "markersize": size, "linewidth": 1.6}
            side = 0
            if line in few and len(few) > 1:
                # Student lines of a point or two at the same x: nudged apart, not hidden.
                k = few.index(line)
                offset = k - (len(few) - 1) / 2
                xs = [x + offset * 0.05 * (span or 1.0) for x in xs]
                side = -1 if offset < 0 else 1
            if line in few:
                labelled.append((xs, ys, colour, side))
        bad = list(line.get("non_finite", []))
        all_x = sorted(set(xs) | set(bad))
        by_x = dict(zip(xs, ys, strict=True))
        line_x, line_y = _broken(all_x, [by_x.get(x) for x in all_x])
        ax.plot(
            line_x, line_y, label=line["label"], zorder=3 if not line["reference"] else 2, **style
        )
        _mark_non_finite(ax, bad, line["label"], fig_spec["x"])
    _labels(ax, xlabel=fig_spec["x"], ylabel=fig_spec["y"])
    _fit(ax, fig_spec.get("ylim"))
    for xs, ys, colour, side in labelled:
        _label_points(ax, xs, ys, colour, side)
    ax.legend(fontsize=7, frameon=False, loc="best")
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

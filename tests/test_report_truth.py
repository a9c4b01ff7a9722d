"""Reports that are short and honest: each reason said once, and figures that tell the truth.

The figure tests draw with the report's own code and read back what matplotlib drew (the
artists' colours, markers, limits, texts); the last test opens a page with every figure
kind in a real Chromium and keeps a screenshot of each (in ``docs/figures/`` when run with
``REPORT_SCREENSHOTS=docs/figures``, where they were looked at before being committed).
"""

from __future__ import annotations

import base64
import math
import os
from pathlib import Path

import numpy as np
import pytest

from harness import report
from harness.assignments import find_assignment
from harness.report import plots, view
from harness.results import CheckResult, CheckStatus, Status, SubmissionResult

NOT_YET = (
    "NotImplementedError: LSTM.__init__ is not implemented yet: create the parameters "
    "W_gx, W_gh, b_g (see the class docstring in part1/lstm.py)"
)
WAYS = [
    "the arguments its signature names, inputs (B, T) as the DataLoader gives them",
    "the arguments its signature names, inputs (B, T, 1)",
    "the arguments its signature names, one-hot inputs (B, T, 10)",
    "the arguments its signature names, time-first inputs (T, B)",
    "the arguments its signature names, time-first inputs (T, B, 1)",
    "positional arguments, inputs (B, T)",
]
EVERY_WAY_FAILS = "could not run your model's forward in any of the accepted ways:\n" + "\n".join(
    f"  - {way}: {NOT_YET}" for way in WAYS
)


def _check(number, name, output, *, passed=False, evidence=(), points=1.0):
    return CheckResult(
        name=name,
        number=str(number),
        score=points if passed else 0.0,
        max_score=points,
        status=CheckStatus.PASSED if passed else CheckStatus.FAILED,
        output=output,
        tags=("rnn", "cell"),
        extra={"evidence": list(evidence)} if evidence else {},
    )


def _result(sid, checks, output=""):
    return SubmissionResult(
        student_id=sid,
        assignment="tiny-rnn",
        status=Status.GRADED,
        score=sum(c.score for c in checks),
        max_score=10,
        part_scores={"files": 0, "rnn": 0},
        checks=tuple(checks),
        output=output,
    )


# -- one reason per fault --------------------------------------------------------------------


def test_ways_that_all_fail_alike_are_said_once():
    text = view.collapse_repeats(EVERY_WAY_FAILS)
    lines = text.splitlines()
    assert lines[0] == "could not run your model's forward in any of the accepted ways:"
    assert lines[1] == f"  - all 6 ways tried: {NOT_YET}"
    assert lines[2].startswith("    (the arguments its signature names, inputs (B, T) as")
    assert len(lines) == 3 and text.count("NotImplementedError") == 1


def test_ways_that_fail_differently_are_grouped_by_reason():
    text = (
        "could not run your model's forward in any of the accepted ways:\n"
        + "\n".join(f"  - {way}: output of the wrong shape" for way in WAYS[:4])
        + "\n  - positional arguments, inputs (B, T): TypeError: forward() takes 2 arguments\n"
    )
    lines = view.collapse_repeats(text).splitlines()
    assert lines[1] == "  - 4 ways tried: output of the wrong shape"
    assert lines[3] == "  - positional arguments, inputs (B, T): TypeError: forward() takes 2 arguments"
    # A short list, or one where every reason differs, stays as it was.
    plain = "  - a: x\n  - b: y\n  - c: z"
    assert view.collapse_repeats(plain) == plain


def test_a_list_cut_short_by_the_messages_limit_is_counted_not_shown():
    cut = EVERY_WAY_FAILS + "\n  - the arguments its signa"
    lines = view.collapse_repeats(cut).splitlines()
    assert lines[1] == f"  - all 6 ways tried: {NOT_YET}"
    assert lines[-1].strip() == "(the message was cut short: more ways were tried)"


def test_a_failed_check_repeating_an_earlier_ones_reason_says_so_in_a_line(tmp_path):
    spec = find_assignment("tiny-rnn")
    checks = [
        _check(1, "LSTM builds", EVERY_WAY_FAILS),
        _check(2, "LSTM computes Eq. 4-10", EVERY_WAY_FAILS),
        _check(3, "Gradients match", EVERY_WAY_FAILS),
        _check(4, "train.py trains", "train() is not implemented yet"),
    ]
    result = _result("blank", checks)
    (tmp_path / "blank").mkdir()
    student = view.student_view(result, spec, tmp_path, plots.FigureCache(tmp_path / "c"))
    first, second, third, fourth = student.failed
    assert first.blocks and not first.same_as
    assert (second.same_as, third.same_as) == ("1", "1") and not second.blocks
    assert second.same_text.startswith(
        "could not run your model's forward in any of the accepted ways: - all 6 ways tried"
    )
    assert fourth.blocks and not fourth.same_as
    report.build(tmp_path, spec, [result])
    page = (tmp_path / "blank" / "report.html").read_text()
    assert page.count("NotImplementedError: LSTM.__init__") == 3  # check 1 and two reminders
    assert page.count("the same reason as check 1") == 2


def test_loaded_definitions_only_is_shown_once_as_a_count_and_a_folded_list(tmp_path):
    spec = find_assignment("tiny-rnn")
    note = (
        "Loaded definitions only; left unrun: line 14 'data = open('textData.txt').read()' "
        "(a call at module level (it may train or read files)); line 15 'chars = list(set(data))' "
        "(it uses 'data', which is left unrun); and 5 more."
    )
    result = _result("lab", [_check(1, "loads", "", passed=True)], output=note)
    (tmp_path / "lab").mkdir()
    report.build(tmp_path, spec, [result])
    page = (tmp_path / "lab" / "report.html").read_text()
    assert page.count("line 15 &#39;chars = list(set(data))&#39;") == 1
    assert "Loaded definitions only: 7 module-level statements left unrun" in page
    fallback = view.fallback_view(note)
    assert fallback.items[-1] == "and 5 more." and len(fallback.items) == 3


# -- figures ----------------------------------------------------------------------------------


def _accuracy(label, points, reference=False):
    return plots.series(
        figure="accuracy-by-length",
        title="Held-out accuracy against palindrome length",
        x="palindrome length T",
        y="held-out accuracy",
        label=label,
        points=points,
        reference=reference,
        ylim=(0.0, 1.03),
    )


REFERENCE_RNN = [(5, 1.0), (10, 1.0), (15, 1.0), (20, 0.103), (25, 0.112), (30, 0.095)]
REFERENCE_LSTM = [(5, 1.0), (10, 1.0), (15, 1.0), (20, 0.998), (25, 0.709), (30, 0.095)]


def _drawn_series(entries):
    (fig_spec,) = plots.merge_series(entries)
    svg = plots.draw_series(fig_spec)
    _, (ax,) = plots._CANVASES[("series", 1)]
    return svg, ax


def test_reference_curves_differ_from_each_other_and_from_the_students():
    svg, ax = _drawn_series(
        [
            _accuracy("your VanillaRNN", [(5, 1.0)]),
            _accuracy("your LSTM", [(5, 0.996), (10, 0.994)]),
            _accuracy("reference VanillaRNN", REFERENCE_RNN, reference=True),
            _accuracy("reference LSTM", REFERENCE_LSTM, reference=True),
        ]
    )
    lines = {line.get_label(): line for line in ax.lines}
    styles = {
        label: (line.get_color(), line.get_marker(), line.get_linestyle())
        for label, line in lines.items()
    }
    assert len(set(styles.values())) == 4, styles  # no two lines look alike
    for kind in ("VanillaRNN", "LSTM"):
        student, ref = styles[f"your {kind}"], styles[f"reference {kind}"]
        assert student[0] != ref[0] and student[1] != ref[1] and student[2] != ref[2]
    assert styles["reference VanillaRNN"][0] != styles["reference LSTM"][0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["your VanillaRNN", "your LSTM", "reference VanillaRNN", "reference LSTM"]
    assert b"<svg" in svg[:200]


def test_single_points_are_labelled_and_never_hidden_under_another():
    _, ax = _drawn_series(
        [_accuracy("your VanillaRNN", [(5, 1.0)]), _accuracy("your LSTM", [(5, 0.996), (10, 0.994)])]
    )
    lines = {line.get_label(): line for line in ax.lines}
    rnn_x = lines["your VanillaRNN"].get_xdata()[0]
    lstm_x = lines["your LSTM"].get_xdata()[0]
    assert rnn_x < 5 < lstm_x  # nudged apart, each side of x = 5
    labels = sorted(t.get_text() for t in ax.texts)
    assert labels == ["0.994", "0.996", "1.000"]


def test_a_nan_loss_breaks_the_line_and_is_marked_where_it_happened():
    loss = [(s, 6.0 * math.exp(-s / 40)) for s in range(37)] + [(37, float("nan")), (38, None)]
    loss += [(39, float("inf"))]
    entry = plots.series(
        figure="lm-loss", title="Loss", x="step", y="cross-entropy", label="your RNNModel",
        points=[(37, 1.0)],
    )  # fmt: skip
    entry["points"] = [[x, y] for x, y in loss]  # null as stored, NaN and inf as recorded
    (fig_spec,) = plots.merge_series([entry])
    assert fig_spec["lines"][0]["non_finite"] == [37.0, 38.0, 39.0]
    plots.draw_series(fig_spec)
    _, (ax,) = plots._CANVASES[("series", 1)]
    curve = next(line for line in ax.lines if line.get_label() == "your RNNModel")
    ys = list(curve.get_ydata())
    assert len(ys) == 40 and all(math.isnan(y) for y in ys[37:])  # a gap, not a line
    assert max(curve.get_xdata()[: 37]) == 36
    said = [t.get_text() for t in ax.texts]
    assert said == ["your RNNModel not finite (NaN or inf) from step 37 (3 values)"]
    assert any(line.get_marker() == "x" for line in ax.lines)


def test_table_curves_mark_non_finite_values_instead_of_dropping_the_column():
    rows = [[0, 2.3, 0.1], [50, 1.9, 0.4], [100, None, 0.5], [150, float("nan"), 0.5]]
    panels = plots.table_panels(["step", "loss", "held-out accuracy"], rows)
    assert panels == [[1], [2]]
    plots.draw_table_curves(["step", "loss", "held-out accuracy"], rows, panels)
    _, axes = plots._CANVASES[("curves", 2)]
    assert [t.get_text() for t in axes[0].texts] == [
        "loss not finite (NaN or inf) from step 100 (2 values)"
    ]


GAN_COLUMNS = [
    "step", "epoch", "judge mean confidence", "classes covered", "in [-1, 1]", "D loss", "G loss",
]  # fmt: skip
GAN_ROWS = [
    [78, 1, 0.12, 0, 0.9, 1.1, 0.8],
    [156, 2, 0.25, 0, 1.0, 1.0, 0.9],
    [234, 3, 0.31, 2, 1.0, 0.9, 1.2],
]


def test_counts_are_drawn_on_count_axes_and_an_epoch_column_is_no_curve():
    panels = plots.table_panels(GAN_COLUMNS, GAN_ROWS)
    assert panels == [[5, 6], [2], [3], [4]]  # no panel for "epoch"
    plots.draw_table_curves(GAN_COLUMNS, GAN_ROWS, panels)
    _, axes = plots._CANVASES[("curves", 4)]
    by_name = {ax.get_ylabel(): ax for ax in axes}
    classes = by_name["classes covered"]
    low, high = classes.get_ylim()
    assert low <= 0 < 2 <= high and low > -0.5
    assert all(float(t).is_integer() for t in classes.get_yticks() if low <= t <= high)
    assert by_name["judge mean confidence"].get_ylim() == (-0.02, 1.05)
    assert by_name["in [-1, 1]"].get_ylim() == (-0.02, 1.05)  # a share, not a count
    # Three rows: every value written beside its point.
    assert sorted(t.get_text() for t in classes.texts) == ["0", "0", "2"]


def test_figures_are_cut_to_their_labels():
    """Long tick labels (1e-05, 12345) and axis titles lie inside the SVG's own box."""
    rows = [[0, 12345.678, 1e-5], [1000, 23456.789, 2e-5]]
    panels = plots.table_panels(["step", "perplexity", "learning rate"], rows)
    svg = plots.draw_table_curves(["step", "perplexity", "learning rate"], rows, panels).decode()
    _, axes = plots._CANVASES[("curves", 2)]
    fig = axes[0].figure
    box = fig.get_tightbbox()  # inches, everything drawn: ticks, labels, titles
    width = float(svg.split('width="', 1)[1].split("pt", 1)[0])
    assert width == pytest.approx(box.width * 72 + 2 * 0.06 * 72, rel=0.02)


# -- every figure kind, in a real browser ---------------------------------------------------

FIGURE_KINDS = (
    "accuracy-by-length", "nan-loss", "training-curves", "gan-training", "gan-samples",
    "histogram",
)  # fmt: skip


@pytest.fixture(scope="module")
def browser():
    from chromium import Browser, find_chromium

    executable = find_chromium()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium must be installed under CI (scripts/setup.sh installs it)")
        pytest.skip("no Chromium here (apt-get install chromium)")
    with Browser(executable) as b:
        yield b


def _every_kind(tmp_path: Path) -> list[SubmissionResult]:
    evidence_dir = tmp_path / "figures" / "evidence"
    evidence_dir.mkdir(parents=True)
    rng = np.random.default_rng(0)
    grid = plots.image_grid(rng.uniform(-1, 1, (25, 784)), rows=5, cols=5, title="step 624 (end)")
    grid.savefig(evidence_dir / "samples-end.png", format="png")
    loss = [[s * 25, 7.0 * math.exp(-s / 9) + 4.5] for s in range(15)]
    loss += [[s * 25, None] for s in range(15, 20)]
    evidence = [
        {"kind": "data", "name": "a1", "value": _accuracy("your VanillaRNN", [(5, 1.0)])},
        {"kind": "data", "name": "a2", "value": _accuracy("your LSTM", [(5, 0.996), (10, 0.994)])},
        {"kind": "data", "name": "r1", "value": _accuracy("reference VanillaRNN", REFERENCE_RNN, True)},
        {"kind": "data", "name": "r2", "value": _accuracy("reference LSTM", REFERENCE_LSTM, True)},
        {"kind": "data", "name": "loss", "value": {**plots.series(
            figure="lm-training-loss", title="Training loss in the grader's loop (diverged)",
            x="step", y="cross-entropy", label="your RNNModel", points=[(0, 1.0)]),
            "points": loss}},
        {"kind": "table", "name": "training-5", "title": "Training on palindromes of length 5",
         "columns": ["step", "loss", "held-out accuracy"],
         "rows": [[s, round(2.3 * math.exp(-s / 120), 3), round(1 - 0.9 * math.exp(-s / 90), 3)]
                  for s in range(0, 401, 50)]},
        {"kind": "table", "name": "gan-training", "title": "The grader's GAN training of your networks",
         "columns": GAN_COLUMNS, "rows": GAN_ROWS},
        {"kind": "figure", "name": "samples-end", "path": "samples-end.png",
         "title": "Your generator's samples at the end of the grader's training"},
    ]  # fmt: skip
    checks = [_check(1, "Every figure kind", "the figures below", evidence=evidence)]
    scores = [_result(f"s{i}", [_check(1, "x", "", passed=i % 3 == 0)]) for i in range(12)]
    return [_result("figures", checks), *scores]


def _clip(page, selector: str, index: int, path: Path) -> None:
    box = page.evaluate(
        f"(() => {{ const r = document.querySelectorAll({selector!r})[{index}]"
        ".getBoundingClientRect(); return [r.x, r.y + window.scrollY, r.width, r.height]; })()"
    )
    x, y, width, height = box
    data = page.browser.send(
        "Page.captureScreenshot",
        {"format": "png", "captureBeyondViewport": True,
         "clip": {"x": x, "y": y, "width": width, "height": height, "scale": 1}},
        session=page.session,
    )["data"]  # fmt: skip
    path.write_bytes(base64.b64decode(data))


@pytest.mark.slow
def test_every_figure_kind_renders_in_chromium_and_is_kept(tmp_path, browser):
    spec = find_assignment("tiny-rnn")
    results = _every_kind(tmp_path)
    for r in results:
        (tmp_path / r.student_id).mkdir(exist_ok=True)
    report.build(tmp_path, spec, results)
    shots = Path(os.environ.get("REPORT_SCREENSHOTS", tmp_path / "shots"))
    shots.mkdir(parents=True, exist_ok=True)

    page = browser.open(tmp_path / "figures" / "report.html")
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    figures = page.evaluate("document.querySelectorAll('#figures img.plot').length")
    assert figures == 2  # accuracy by length, and the loss that became NaN
    _clip(page, "#figures img.plot", 0, shots / "accuracy-by-length.png")
    _clip(page, "#figures img.plot", 1, shots / "nan-loss.png")
    _clip(page, ".evidence.table img.plot", 0, shots / "training-curves.png")
    _clip(page, ".evidence.table img.plot", 1, shots / "gan-training.png")
    _clip(page, ".evidence.figure img.plot", 0, shots / "gan-samples.png")
    load = page.settle()
    assert load.exceptions == [] and load.errors == [], load

    index = browser.open(tmp_path / "index.html")
    _clip(index, "img", 0, shots / "histogram.png")
    for kind in FIGURE_KINDS:
        assert (shots / f"{kind}.png").stat().st_size > 2_000, kind


def test_the_kept_screenshots_are_in_docs():
    docs = Path(__file__).resolve().parent.parent / "docs" / "figures"
    assert sorted(p.stem for p in docs.glob("*.png")) == sorted(FIGURE_KINDS)


def test_an_id_in_any_script_links_to_its_report(tmp_path):
    spec = find_assignment("tiny-rnn")
    result = _result("Müller Jörg", [_check(1, "x", "", passed=True)])
    (tmp_path / "Müller Jörg").mkdir()
    report.build(tmp_path, spec, [result])
    index = (tmp_path / "index.html").read_text()
    assert 'href="M%C3%BCller%20J%C3%B6rg/report.html"' in index
    assert (tmp_path / "Müller Jörg" / "report.html").is_file()

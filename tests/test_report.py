"""Reports: per-student pages, the class summary, grades.csv, results.json for Gradescope.

Golden tests read the rendered pages' content (element by element, not whole-file
snapshots) for a passing, a failing, a not-graded and a hostile submission of the
tiny-rnn test assignment, graded for real.  A real headless Chromium opens the pages
and checks that they render without errors and without a single request.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import shutil
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from gradescope_schema import errors as schema_errors

from harness import api, exports, report
from harness.assignments import find_assignment
from harness.checks import describe_mismatch
from harness.checks.forbidden import describe, find_forbidden
from harness.errors import UsageError
from harness.grade import ExitCode, cli
from harness.report import plots, view
from harness.results import CheckResult, CheckStatus, Status, SubmissionResult
from harness.runconfig import RunSettings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "submissions" / "tiny-rnn"

# A submission that prints markup and raises exceptions whose messages are markup.
HOSTILE = """
import sys
import numpy as np
print("<script>document.title = 'pwned-stdout'</script><h1 id='student'>FAKE</h1></pre>")
print("<style>body { display: none }</style><img src=x onerror=\\"document.title='pwned'\\">",
      file=sys.stderr)


def rnn_step(x, h, wx, wh, b):
    raise ValueError("<img src=x onerror=\\"document.title='pwned-exception'\\"><b>bold</b>")


class RNNCell:
    def __init__(self, d, h):
        pass

    def forward(self, x, h):
        raise RuntimeError("</details><script>document.title='pwned-check'</script>")
"""


# -- a small HTML reader: the rendered content, element by element ------------------------


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    def pieces(self) -> list[str]:
        return [p for c in self.children for p in ([c] if isinstance(c, str) else c.pieces())]

    def words(self) -> str:
        """The text with runs of white space as one space, and a space between elements."""
        return " ".join(" ".join(self.pieces()).split())

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        found = []
        for c in self.children:
            if isinstance(c, Node):
                if (tag is None or c.tag == tag) and all(
                    attrs[k] in (c.attrs.get(k.rstrip("_")) or "").split() for k in attrs
                ):
                    found.append(c)
                found += c.find_all(tag, **attrs)
        return found

    def by_id(self, ident: str) -> Node:
        for node in self.find_all():
            if node.attrs.get("id") == ident:
                return node
        raise AssertionError(f"no element with id {ident!r}")

    def has_id(self, ident: str) -> bool:
        return any(node.attrs.get("id") == ident for node in self.find_all())


VOID = {"meta", "img", "br", "hr", "link", "input", "col", "source"}


class TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def parse(path: Path) -> Node:
    builder = TreeBuilder()
    builder.feed(path.read_text(encoding="utf-8"))
    return builder.root


def checks_of(page: Node) -> list[tuple[str, bool, str]]:
    """(state, open, summary text) of each check, in page order."""
    return [
        (
            "fail" if "fail" in d.attrs["class"].split() else "pass",
            "open" in d.attrs,
            d.find_all("summary")[0].words(),
        )
        for d in page.find_all("details", class_="check")
    ]


# -- a real class of the tiny-rnn assignment ---------------------------------------------


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """tiny-rnn graded for real: passing, failing, not graded (two kinds) and hostile."""
    base = tmp_path_factory.mktemp("class")
    subs = base / "subs"
    subs.mkdir()
    for name in ("correct_tiny.zip", "wrong-activation_tiny.zip", "missing-file_tiny.zip"):
        shutil.copy(EXAMPLES / name, subs / name)
    shutil.copy(EXAMPLES / "correct_tiny.zip", subs / "misnamed.zip")
    with zipfile.ZipFile(subs / "hostile_tiny.zip", "w") as z:
        z.writestr("rnn_step.py", HOSTILE)
    batch = api.grade(submissions=subs, assignment="tiny-rnn", out=base / "out", jobs=2)
    assert batch.report is not None and not batch.report_error
    return batch


@pytest.mark.sandbox
def test_every_submission_gets_a_report_and_the_class_an_index(graded):
    out = graded.out
    ids = sorted(r.student_id for r in graded.results)
    assert ids == ["correct", "hostile", "misnamed", "missing-file", "wrong-activation"]
    for sid in ids:
        assert (out / sid / "report.html").is_file(), sid
    assert graded.report.reports == len(ids) and graded.report.index == out / "index.html"


@pytest.mark.sandbox
def test_passing_report(graded):
    page = parse(graded.out / "correct" / "report.html")
    assert page.by_id("student").words() == "correct graded"
    assert page.by_id("total").words() == "10 of 10 automatic points"
    assert page.by_id("final").words().startswith("With the marked manual items: 10 of 12")
    parts = [row.words() for row in page.by_id("parts").find_all("tr")]
    assert parts == ["part automatic manual", "Files 1 / 1", "RNN step 9 / 9 – / 2"]
    states = checks_of(page)
    assert [s[:2] for s in states] == [("pass", False)] * 5  # passes collapsed
    assert states[0][2] == "passed 1. rnn_step.py imports files 1 / 1"
    assert not page.has_id("summary") and not page.has_id("no-checks")
    manual = page.by_id("manual").find_all("tr")[1].words()
    assert manual == "Explain why the RNN uses tanh rather than a sigmoid rnn not marked / 2"
    run = page.by_id("run").words()
    result = next(r for r in graded.results if r.student_id == "correct")
    assert f"sandbox {' '.join(result.sandbox.split())}" in run and result.sandbox
    assert "time per call 6 s; memory 512 MiB" in run
    assert "versions" in run and "numpy" in run and "time taken" in run


@pytest.mark.sandbox
def test_failing_report_puts_failures_first_and_shows_the_mismatch_table(graded):
    page = parse(graded.out / "wrong-activation" / "report.html")
    assert page.by_id("total").words() == "3 of 10 automatic points"
    states = checks_of(page)
    assert [s[:2] for s in states] == [("fail", True)] * 2 + [("pass", False)] * 3
    assert states[0][2] == "failed 3. rnn_step matches h' = tanh(x Wx + h Wh + b) cell 0 / 4"
    first = page.by_id("check-3")
    table = first.find_all("table", class_="mismatch")[0]
    head, *rows = [
        [c.words() for c in tr.find_all(None) if c.tag in ("td", "th")]
        for tr in table.find_all("tr")
    ]
    assert head == ["index", "expected", "got", "difference"]
    assert len(rows) == 5
    for index, expected, got, difference in rows:
        assert index.startswith("(") and float(difference) == pytest.approx(
            abs(float(got) - float(expected)), rel=1e-3
        )
    assert "differs from the expected values in 15 of 15 entries" in first.words()
    assert "Largest difference" in first.words()


@pytest.mark.sandbox
def test_not_graded_reports_say_why(graded):
    page = parse(graded.out / "missing-file" / "report.html")
    assert page.by_id("student").words() == "missing-file not graded"
    assert "required file 'rnn_step.py' not found" in page.by_id("summary").words()
    assert page.by_id("no-checks").words().startswith("No check ran on this submission")
    assert checks_of(page) == []
    misnamed = parse(graded.out / "misnamed" / "report.html")
    assert "does not follow the rule '12345678_tiny.zip'" in misnamed.by_id("summary").words()


@pytest.mark.sandbox
def test_hostile_output_is_shown_as_text_and_changes_nothing(graded):
    path = graded.out / "hostile" / "report.html"
    html = path.read_text()
    page = parse(path)
    # No markup from the submission: no script, no extra heading, image or style element.
    assert page.find_all("script") == []
    assert [h.words() for h in page.find_all("h1")] == ["hostile graded"]
    assert all(
        img.attrs.get("src", "").startswith(("data:image/png;", "data:image/svg+xml;"))
        for img in page.find_all("img")
    )
    assert len(page.find_all("style")) == 1
    assert "<img src=x" not in html and "<b>bold</b>" not in html
    # ... but the text itself is there, escaped, for the student to read.
    outputs = [pre.text for pre in page.find_all("pre", class_="output")]
    assert any("<script>document.title = 'pwned-stdout'</script>" in o for o in outputs)
    assert any("<style>body { display: none }</style>" in o for o in outputs)
    assert "&lt;script&gt;document.title = &#39;pwned-stdout&#39;&lt;/script&gt;" in html
    failed = [s for s in checks_of(page) if s[0] == "fail"]
    assert len(failed) == 4
    messages = " ".join(d.words() for d in page.find_all("details", class_="fail"))
    assert "<img src=x onerror=\"document.title='pwned-exception'\"><b>bold</b>" in messages
    assert "</details><script>document.title='pwned-check'</script>" in messages
    # The index too shows the id as text, linking to the report.
    index = parse(graded.out / "index.html")
    assert len(index.find_all("script")) == 1  # the table sorter, nothing else


@pytest.mark.sandbox
def test_class_summary(graded):
    page = parse(graded.out / "index.html")
    rows = page.by_id("submissions").find_all("tbody")[0].find_all("tr")
    table = {tr.find_all("td")[0].words(): [td.words() for td in tr.find_all("td")] for tr in rows}
    assert sorted(table) == ["correct", "hostile", "misnamed", "missing-file", "wrong-activation"]
    assert table["correct"][1:6] == ["graded", "1", "9", "10", "10"]
    assert table["wrong-activation"][1:5] == ["graded", "1", "2", "3"]
    assert table["missing-file"][1] == "not graded"
    links = {a.words(): a.attrs["href"] for a in page.by_id("submissions").find_all("a")}
    assert links["correct"] == "correct/report.html"
    assert all((graded.out / href).is_file() for href in links.values())
    not_graded = {
        tr.find_all("td")[0].words(): tr.find_all("td")[2].words()
        for tr in page.by_id("not-graded").find_all("tbody")[0].find_all("tr")
    }
    assert set(not_graded) == {"misnamed", "missing-file"}
    assert "required file 'rnn_step.py' not found" in not_graded["missing-file"]
    assert page.by_id("histogram").attrs["src"].startswith("data:image/svg+xml;base64,")
    rates = [tr.words() for tr in page.by_id("rates").find_all("tbody")[0].find_all("tr")]
    # graded: correct (all pass), wrong-activation (1, 2.1, 2.2 pass), hostile (1 passes)
    assert rates[0].startswith("1 rnn_step.py imports 3 / 3 100%")
    assert rates[3].startswith("3 rnn_step matches h' = tanh(x Wx + h Wh + b) 1 / 3 33%")
    failures = [tr.words() for tr in page.by_id("failures").find_all("tbody")[0].find_all("tr")]
    assert failures, "the commonest failures are listed"
    assert any(f.startswith("1 the next hidden state h' differs") for f in failures)
    assert page.by_id("counts").words().startswith("3 graded, 2 not graded")


# -- grades.csv, summary.csv, results.json ------------------------------------------------


@pytest.mark.sandbox
def test_grades_csv_is_an_import_file(graded):
    rows = list(csv.reader(io.StringIO((graded.out / "grades.csv").read_text())))
    # The total only, by default; blank while the manual item is unmarked; a misnamed
    # file's made-up id never reaches the import.
    assert rows[0] == ["id", "tiny-rnn total"]
    assert rows[1:] == [
        ["correct", ""],
        ["hostile", ""],
        ["missing-file", ""],
        ["wrong-activation", ""],
    ]
    summary = (graded.out / "summary.csv").read_text().splitlines()
    assert summary[0] == (
        "id,status,files,rnn,total,max,manual,final,final_max,reason,source,"
        "name,roster_match,submitted,late,late_penalty"
    )
    assert any(
        s.startswith("correct,graded,1,9,10,10,0,10,12,,correct_tiny.zip,,no roster,")
        for s in summary
    )


def _result(sid: str, status: Status, score: float, parts: dict, manual=()) -> SubmissionResult:
    return SubmissionResult(
        student_id=sid,
        assignment="tiny-rnn",
        status=status,
        score=score,
        max_score=10,
        part_scores=parts,
        manual=tuple(manual),
    )


def test_grades_csv_options_rename_the_id_column_and_rescale():
    spec = find_assignment("tiny-rnn")
    marked = [{"item": "explain", "part": "rnn", "points": 2, "score": 1.5, "comment": ""}]
    results = [
        _result("a1", Status.GRADED, 10, {"files": 1, "rnn": 9}, marked),
        _result("b2", Status.HARNESS_ERROR, 0, {"files": 0, "rnn": 0}),
        _result("c3", Status.TIMEOUT, 4, {"files": 1, "rnn": 3}),
    ]
    settings = RunSettings(id_column="SIS User ID", scale=100, grade_columns="parts").check()
    text, _ = exports.render("plain", exports.grade_table(spec, results, settings))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["SIS User ID", "tiny-rnn files", "tiny-rnn rnn"]
    # full marks 12 (10 automatic + 2 manual) -> 100; manual marks count in their part;
    # a part whose manual item is unmarked is blank, not 0
    assert rows[1] == ["a1", "8.33", "87.5"]
    assert rows[2] == ["b2", "", ""]  # our fault: nothing to import
    assert rows[3] == ["c3", "8.33", ""]
    with pytest.raises(UsageError, match="--scale must be positive"):
        RunSettings(scale=0).check()
    with pytest.raises(UsageError, match="--id-column must not be empty"):
        api.grade(submissions=None, assignment="tiny-rnn", out=Path("x"), id_column=" ")


@pytest.mark.sandbox
def test_results_json_stays_valid_gradescope_format(graded):
    """Every results.json follows the JSON Schema of Gradescope's documented format
    (tests/schemas/gradescope-results.schema.json) and parses as strict JSON."""
    for r in graded.results:
        text = (graded.out / r.student_id / "results.json").read_text()
        data = json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in JSON"))
        assert not schema_errors(data), (r.student_id, schema_errors(data))


# -- --reports-only -----------------------------------------------------------------------


@pytest.mark.sandbox
def test_reports_only_rebuilds_without_grading(graded, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(graded.out, out)
    before = {p: p.read_bytes() for p in out.glob("*/results.json")}
    for page in out.glob("*/report.html"):
        page.unlink()
    (out / "index.html").unlink()
    (out / "grades.csv").unlink()
    batch = api.grade(submissions=None, assignment="tiny-rnn", out=out, reports_only=True)
    assert batch.graded_now == () and len(batch.skipped) == 5
    assert batch.report is not None and batch.report.reports == 5
    assert batch.report.figures_drawn == 0  # the histogram came from the cache
    assert len(list(out.glob("*/report.html"))) == 5 and (out / "index.html").is_file()
    assert {p: p.read_bytes() for p in out.glob("*/results.json")} == before
    assert (out / "grades.csv").read_text().startswith("id,tiny-rnn total")

    result = CliRunner().invoke(
        cli,
        [
            "--reports-only",
            "-a",
            "tiny-rnn",
            "-o",
            str(out),
            "--id-column",
            "Username",
            "--scale",
            "100",
        ],
    )
    assert result.exit_code == ExitCode.OK, result.output
    assert "rebuilt 5 reports" in " ".join(result.output.split())
    assert (out / "grades.csv").read_text().splitlines()[0] == "Username,tiny-rnn total"
    assert "--id-column" not in " ".join(result.output.split())  # given, not reused


def test_reports_only_needs_stored_results(tmp_path):
    with pytest.raises(UsageError, match="no results folder"):
        api.grade(submissions=None, assignment="tiny-rnn", out=tmp_path / "none", reports_only=True)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="no results of tiny-rnn"):
        api.grade(
            submissions=None, assignment="tiny-rnn", out=tmp_path / "empty", reports_only=True
        )
    with pytest.raises(UsageError, match="leave out --reports-only"):
        api.grade(
            submissions=None,
            assignment="tiny-rnn",
            out=tmp_path / "empty",
            reports_only=True,
            manual_scores=tmp_path / "marks.csv",
        )
    result = CliRunner().invoke(
        cli, ["--reports-only", "-a", "tiny-rnn", "-o", str(tmp_path / "none")]
    )
    assert result.exit_code == ExitCode.USAGE_ERROR


# -- message blocks, evidence and figures -------------------------------------------------


def test_mismatch_messages_become_tables():
    expected = np.arange(6.0).reshape(2, 3)
    got = expected.copy()
    got[1, 2] += 0.5
    got[0, 0] -= 2.0
    message = describe_mismatch(expected, got, what="the hidden state h")
    blocks = view.blocks("Your forward pass is wrong.\n" + message)
    assert [b.kind for b in blocks] == ["text", "mismatch"]
    assert blocks[0].text == "Your forward pass is wrong."
    table = blocks[1]
    assert table.summary[0].startswith("the hidden state h differs from the expected values in 2")
    assert table.summary[1].startswith("Largest difference 2 at index (0, 0)")
    assert [(r.index, r.expected, r.got, r.difference) for r in table.rows[:2]] == [
        ("(0, 0)", "0", "-2", "2"),
        ("(1, 2)", "5", "5.5", "0.5"),
    ]
    shape = view.blocks(describe_mismatch(np.zeros((3, 5)), np.zeros((5, 3)), what="h"))
    assert [(b.kind, b.expected, b.got, b.hint) for b in shape] == [
        ("shape", "(3, 5)", "(5, 3)", "it looks transposed")
    ]


def test_forbidden_uses_show_file_line_and_code():
    source = "import torch\n\n\nclass M(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.l = torch.nn.LSTM(3, 4)\n        self.x = 1\n"
    uses = find_forbidden({"part1/lstm.py": source}, forbidden=["torch.nn.LSTM"], use_torch=False)
    text = "the hand-out forbids it; found:\n" + describe(uses)
    blocks = view.blocks(text)
    assert [b.kind for b in blocks] == ["text", "forbidden"]
    use = blocks[1]
    assert (use.file, use.line) == ("part1/lstm.py", 7)
    assert "torch.nn.LSTM" in use.what
    assert [c.number for c in use.code] == [5, 6, 7, 8]
    assert [c.marked for c in use.code] == [False, False, True, False]
    assert use.code[2].code == "        self.l = torch.nn.LSTM(3, 4)"


def test_captured_output_is_truncated_with_a_note():
    text = "".join(f"line {i}\n" for i in range(20_000))
    shown = view.captured("stdout", text)
    assert shown.truncated and len(shown.text) <= view.OUTPUT_LIMIT + 10
    assert shown.text.startswith("line 0\n") and shown.text.endswith("line 19999\n")
    assert f"{len(text):,} characters" in shown.note and "10,000 in all" in shown.note
    assert not view.captured("stdout", "short").truncated


def _check(name, number, passed, output="", evidence=()):
    return CheckResult(
        name=name,
        number=number,
        score=1.0 if passed else 0.0,
        max_score=1.0,
        status=CheckStatus.PASSED if passed else CheckStatus.FAILED,
        output=output,
        tags=("rnn", "training"),
        extra={"evidence": list(evidence)} if evidence else {},
    )


def _figure_png(path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1, 1))
    fig.subplots().plot([0, 1], [1, 0])
    fig.savefig(path, format="png")


def test_evidence_is_embedded_and_curves_are_drawn(tmp_path):
    spec = find_assignment("tiny-rnn")
    evidence = tmp_path / "s1" / "evidence"
    evidence.mkdir(parents=True)
    _figure_png(evidence / "grid.png")
    (tmp_path / "secret.png").write_bytes((evidence / "grid.png").read_bytes())
    curve = {
        "kind": "table",
        "name": "training-5",
        "title": "Training on palindromes of length 5",
        "columns": ["step", "loss", "held-out accuracy"],
        "rows": [[0, 2.3, 0.1], [50, 1.2, 0.6], [100, 0.2, 1.0]],
    }

    def point(label, points, reference=False):
        value = plots.series(
            figure="acc",
            title="Accuracy against length",
            x="T",
            y="accuracy",
            label=label,
            points=points,
            reference=reference,
        )
        return {"kind": "data", "name": label, "value": value}

    result = _result("s1", Status.GRADED, 1, {"files": 1, "rnn": 0}).replace(
        checks=(
            _check(
                "trains at 5",
                "1",
                True,
                evidence=[
                    curve,
                    point("yours", [(5, 1.0)]),
                    point("reference", [(5, 1.0), (10, 0.9)], reference=True),
                    {"kind": "figure", "name": "grid", "title": "Samples", "path": "grid.png"},
                    {
                        "kind": "figure",
                        "name": "escape",
                        "title": "Escape",
                        "path": "../../secret.png",
                    },
                    {
                        "kind": "data",
                        "name": "script",
                        "title": "Your train.py",
                        "value": {"exit_code": 0, "first_losses": [2.3, 2.2]},
                    },
                ],
            ),
            _check(
                "trains at 10",
                "2",
                False,
                output="too slow",
                evidence=[
                    point("yours", [(10, 0.5)]),
                    point("reference", [(5, 1.0), (10, 0.9)], reference=True),
                    {"kind": "text", "name": "note", "title": "", "text": "too slow"},
                ],
            ),
        )
    )
    cache = plots.FigureCache(tmp_path / ".cache")
    page_view = view.student_view(result, spec, tmp_path, cache)
    (fig,) = page_view.figures  # both checks' series on one plot
    assert fig.title == "Accuracy against length" and fig.lines == ("yours", "reference")
    assert fig.image.startswith("data:image/svg+xml;base64,")
    (passed,) = page_view.passed
    kinds = [(e.kind, e.title) for e in passed.evidence]
    assert kinds == [
        ("table", "Training on palindromes of length 5"),
        ("figure", "Samples"),
        ("missing", "Escape"),  # a path out of the evidence folder is never read
        ("data", "Your train.py"),
    ]
    assert passed.evidence[0].image.startswith("data:image/svg+xml;base64,")  # the curve
    assert passed.evidence[1].image.startswith("data:image/png;base64,")  # the grader's PNG
    assert passed.evidence[3].pairs == (("exit_code", "0"), ("first_losses", "2.3, 2.2"))
    (failed,) = page_view.failed
    assert failed.evidence == ()  # the text repeats the message: shown once
    assert cache.drawn == 2  # the curve and the merged series
    again = plots.FigureCache(tmp_path / ".cache")
    view.student_view(result, spec, tmp_path, again)
    assert again.drawn == 0

    html = report.student_page(result, spec, tmp_path, again, generated="now")
    page_path = tmp_path / "page.html"
    page_path.write_text(html)
    page = parse(page_path)
    assert len(page.by_id("figures").find_all("img")) == 1
    images = [img.attrs["src"] for img in page.find_all("img")]
    assert [src.split(";")[0] for src in images] == [
        "data:image/svg+xml",  # the merged series
        "data:image/svg+xml",  # the training curve
        "data:image/png",  # the grader's figure
    ]


def test_class_summary_lists_every_submission_not_graded_to_the_end(tmp_path):
    spec = find_assignment("tiny-rnn")
    timed_out = _result("t1", Status.TIMEOUT, 4, {"files": 1, "rnn": 3}).replace(
        output="Grading stopped at the time limit of 25 s; checks that did not run score zero."
    )
    broken = _result("b2", Status.NOT_GRADED, 0, {}).replace(
        output="'b2_tiny.zip' is not a ZIP archive", reason="not_a_zip"
    )
    ours = _result("h3", Status.HARNESS_ERROR, 0, {}).replace(reason="worker_failed")
    fine = _result("g4", Status.GRADED, 10, {"files": 1, "rnn": 9})
    html = report.index_page(
        [timed_out, broken, ours, fine],
        spec,
        plots.FigureCache(tmp_path / "cache"),
        reports={"t1", "g4"},
        generated="now",
    )
    (tmp_path / "index.html").write_text(html)
    page = parse(tmp_path / "index.html")
    rows = [tr.words() for tr in page.by_id("not-graded").find_all("tbody")[0].find_all("tr")]
    assert rows == [
        "b2 not graded 'b2_tiny.zip' is not a ZIP archive",
        "h3 harness error worker_failed",
        "t1 timed out Grading stopped at the time limit of 25 s; checks that did not run score zero.",
    ]
    links = [a.attrs["href"] for a in page.by_id("not-graded").find_all("a")]
    assert links == ["t1/report.html"]  # only where a report was written
    assert page.by_id("counts").words().startswith("1 graded, 1 timed out, 1 not graded, 1 harness")


def test_class_summary_links_the_similarity_and_audit_pages_beside_it(tmp_path):
    spec = find_assignment("tiny-rnn")
    fine = _result("g4", Status.GRADED, 10, {"files": 1, "rnn": 9})
    out = tmp_path / "out"
    out.mkdir()
    report.build(out, spec, [fine], generated="now")
    assert not parse(out / "index.html").has_id("beside")  # neither page is there yet
    for name, _ in report.BESIDE:
        (out / name).write_text("<!doctype html>")
    report.build(out, spec, [fine], generated="now")
    links = [a.attrs["href"] for a in parse(out / "index.html").by_id("beside").find_all("a")]
    assert links == ["similarity.html", "audit.html"]


def test_manual_marks_show_once_merged(tmp_path):
    spec = find_assignment("tiny-rnn")
    marked = {
        "item": "explain",
        "title": "Explain why the RNN uses tanh rather than a sigmoid",
        "part": "rnn",
        "points": 2,
        "score": 1.5,
        "comment": "<b>zero-centred</b>, but no word on saturation",
    }
    result = _result("m1", Status.GRADED, 10, {"files": 1, "rnn": 9}, [marked])
    (tmp_path / "m1").mkdir()
    report.write_student(tmp_path, spec, result, generated="now")
    page = parse(tmp_path / "m1" / "report.html")
    row = page.by_id("manual").find_all("tr")[1].words()
    assert row == (
        "Explain why the RNN uses tanh rather than a sigmoid rnn 1.5 / 2 "
        "<b>zero-centred</b>, but no word on saturation"
    )
    assert page.by_id("final").words() == "With the marked manual items: 11.5 of 12"
    parts = [tr.words() for tr in page.by_id("parts").find_all("tr")]
    assert parts[2] == "RNN step 9 / 9 1.5 / 2"


def test_table_curves_need_a_step_column_and_numbers():
    assert plots.table_panels(["step", "loss", "accuracy"], [[0, 1, 0.1], [1, 0.5, 0.5]]) == [
        [1],
        [2],
    ]
    assert plots.table_panels(
        ["epoch", "confidence", "classes", "D loss", "G loss"],
        [[8, 0.1, 2, 1, 1], [10, 0.2, 3, 1, 2]],
    ) == [[3, 4], [1], [2]]
    assert plots.table_panels(["name", "value"], [["a", 1], ["b", 2]]) is None
    assert plots.table_panels(["step", "note"], [[0, "x"], [1, "y"]]) is None
    assert plots.table_panels(["step", "loss"], [[0, 1]]) is None


def test_image_grid_draws_gan_samples():
    fig = plots.image_grid(np.random.default_rng(0).uniform(-1, 1, (25, 784)), rows=5, cols=5)
    assert len(fig.axes) == 25
    assert fig.axes[0].images[0].get_array().shape == (28, 28)


# -- a real browser -------------------------------------------------------------------------


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


def _no_requests_but_itself(load):
    others = [u for u in load.requests if u != load.url and not u.startswith("data:")]
    assert others == [], f"the page asked for {others}"


@pytest.mark.sandbox
@pytest.mark.slow
def test_pages_render_in_chromium_without_errors_or_requests(graded, browser, tmp_path):
    shots = Path(os.environ.get("REPORT_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    for sid in ("wrong-activation", "hostile", "missing-file"):
        page = browser.open(graded.out / sid / "report.html")
        assert page.evaluate("document.title") == f"{sid}: Tiny RNN step (harness self-test)"
        assert page.evaluate("document.querySelectorAll('script').length") == 0
        assert page.evaluate("document.querySelector('h1').textContent.trim()").startswith(sid)
        # Images decoded; failed checks open, passed ones closed.
        assert page.evaluate(
            "Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"
        )
        assert page.evaluate(
            "Array.from(document.querySelectorAll('details.check')).every("
            "d => d.open === (d.classList.contains('fail') && !d.classList.contains('same')))"
        )
        assert page.evaluate("document.body.offsetHeight") > 300
        page.screenshot(shots / f"report-{sid}.png")
        load = page.settle()
        assert load.exceptions == [] and load.errors == [], (sid, load)
        _no_requests_but_itself(load)

    index = browser.open(graded.out / "index.html")
    first = "document.querySelector('#submissions tbody tr td').textContent.trim()"
    assert index.evaluate(first) == "correct"
    # Sorting by total: ascending puts a zero first, descending the full marks.
    header = "Array.from(document.querySelectorAll('#submissions th')).find(th => th.textContent.startsWith('total'))"
    index.evaluate(f"{header}.click()")
    assert index.evaluate(first) in ("misnamed", "missing-file")
    index.evaluate(f"{header}.click()")
    assert index.evaluate(first) == "correct"
    assert index.evaluate(f"{header}.getAttribute('aria-sort')") == "descending"
    index.screenshot(shots / "index.png")
    load = index.settle()
    assert load.exceptions == [] and load.errors == [], load
    _no_requests_but_itself(load)
    assert (shots / "index.png").stat().st_size > 10_000


def test_one_students_numbers_never_stop_the_reports(tmp_path):
    """A loss of 1.7e308 (finite) cannot be drawn: its figure becomes a note on that page,
    a page that cannot be built at all becomes a plain one, and the class page comes out."""
    spec = find_assignment("tiny-rnn")
    huge = plots.series(
        figure="loss", title="Loss", x="step", y="loss", label="yours",
        points=[(0, 1.7e308), (1, -1.7e308), (2, 1.7e308)],
    )  # fmt: skip
    bad_curve = {
        "kind": "table", "name": "training", "title": "Training",
        "columns": ["step", "loss"], "rows": [[0, 1.7e308], [1, -1.7e308], [2, 1e308]],
    }  # fmt: skip
    results = []
    for sid, evidence in (
        ("huge", [{"kind": "data", "name": "loss", "value": huge}, bad_curve]),
        ("broken", [{"kind": "table", "name": "t", "columns": 5, "rows": "x"}]),
        ("fine", []),
    ):
        (tmp_path / sid).mkdir()
        results.append(
            _result(sid, Status.GRADED, 1, {"files": 1, "rnn": 0}).replace(
                checks=(_check("trains", "1", False, output="diverged", evidence=evidence),)
            )
        )
    built = report.build(tmp_path, spec, results)
    assert built.reports == 3 and built.index.is_file()
    pages = {sid: (tmp_path / sid / "report.html").read_text() for sid in ("huge", "broken")}
    drawn = [
        base64.b64decode(image)
        for image in re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", pages["huge"])
    ]
    assert drawn and all(b"could not be drawn" in svg for svg in drawn)
    assert "could not be built" in pages["broken"] and "1 / 10" in pages["broken"]
    index = built.index.read_text()
    assert all(f"{sid}/report.html" in index for sid in ("huge", "broken", "fine"))


def test_a_figure_that_cannot_be_drawn_says_so_in_its_place():
    def explode() -> bytes:
        raise ValueError("Axis limits cannot be NaN or Inf \x1b[31m")

    svg = plots._draw(explode).decode()
    assert svg.startswith("<svg") and "could not be drawn" in svg and "\x1b" not in svg

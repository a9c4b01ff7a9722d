"""``grade.py audit``: the mutation operators on small sources and on every reference, the
sample, the equivalent-mutant file, and end to end on the self-test assignment (whole, and
with its value checks blunted so that mutants survive)."""

import csv
import json
import shutil
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import require

from harness import grade
from harness.audit import operators as ops
from harness.audit import runner
from harness.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "assignments"


def changed(operator: str, source: str) -> list[tuple[str, str]]:
    """(fault, the changed line(s)) of each mutant ``operator`` makes of ``source``."""
    source = textwrap.dedent(source)
    found = ops.mutants({"m.py": source}, {operator: ops.OPERATORS[operator]})
    out = []
    for m in found:
        before, after = source.splitlines(), m.source.splitlines()
        assert len(before) == len(after), "a mutant keeps every line where it was"
        lines = [a.strip() for b, a in zip(before, after, strict=True) if a != b]
        out.append((m.fault, " / ".join(lines)))
    return out


TORCH_CELL = """\
import torch

class Cell(torch.nn.Module):
    def forward(self, x, h, c):
        for t in range(x.shape[0]):
            i, f, g, o = (x[t] @ self.W.T + h @ self.U.T + self.b).chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        return h, (h, c)
"""


def test_sigmoid_and_tanh_are_exchanged_in_torch_and_written_out_in_numpy():
    got = [line for _, line in changed("sigmoid-tanh", TORCH_CELL)]
    assert "c = torch.tanh(f) * c + torch.sigmoid(i) * torch.tanh(g)" in got
    assert "h = torch.sigmoid(o) * torch.sigmoid(c)" in got
    numpy = changed("sigmoid-tanh", "import numpy as np\ny = np.tanh(x @ W + b)\n")
    assert numpy == [("sigmoid where tanh belongs", "y = 1 / (1 + np.exp(-(x @ W + b)))")]


def test_gates_are_swapped_in_the_split_and_in_the_update():
    got = dict(changed("swap-gates", TORCH_CELL))
    assert got["gates i and f exchanged in the split"].startswith("f, i, g, o = (x[t]")
    assert got["gates f and i exchanged in c"] == (
        "c = torch.sigmoid(i) * c + torch.sigmoid(f) * torch.tanh(g)"
    )


def test_weights_are_transposed_and_untransposed_and_biases_dropped():
    got = [line for _, line in changed("transpose-weight", TORCH_CELL)]
    assert any("x[t] @ self.W + h" in g for g in got)
    numpy = [line for _, line in changed("transpose-weight", "h = np.dot(Wxh, x) + b\n")]
    assert numpy == ["h = np.dot(Wxh.T, x) + b"]
    bias = changed("drop-bias", "h = np.tanh(x @ W + bh)\nlin = nn.Linear(3, 4, bias=True)\n")
    assert [line for _, line in bias] == [
        "h = np.tanh((x @ W))",
        "lin = nn.Linear(3, 4, bias=False)",
    ]


def test_state_faults_cell_not_carried_h_for_c_detached_and_not_detached():
    carried = [line for _, line in changed("no-cell-carry", TORCH_CELL)]
    assert carried == ["pass"]
    h_for_c = [line for _, line in changed("h-for-c", TORCH_CELL)]
    assert "c = torch.sigmoid(f) * h + torch.sigmoid(i) * torch.tanh(g)" in h_for_c
    assert "return h, (h, h)" in h_for_c
    detached = [line for _, line in changed("detach-hidden", TORCH_CELL)]
    assert detached == ["h = (torch.sigmoid(o) * torch.tanh(c)).detach()"]
    script = "import torch\nfor step in data:\n    hprev = out[0].detach()\n"
    assert changed("keep-graph", script) == [("state carried without .detach()", "hprev = out[0]")]


def test_time_softmax_loss_and_generator_faults():
    assert [line for _, line in changed("off-by-one-time", "h = np.dot(Whh, hs[t-1])\n")] == [
        "h = np.dot(Whh, hs[t])"
    ]
    assert [line for _, line in changed("off-by-one-time", TORCH_CELL)] == [
        "for t in range(x.shape[0] - 1):"
    ]
    twice = [line for _, line in changed("softmax-twice", "p = F.softmax(y, 1)\n")]
    assert twice == ["p = F.softmax(F.softmax(y, 1), 1)"]
    logits = [line for _, line in changed("softmax-twice", TORCH_CELL)]
    assert logits == ["return torch.softmax(h, dim=-1), (h, c)"]
    loss = [line for _, line in changed("loss-reduction", "crit = nn.CrossEntropyLoss()\n")]
    assert loss == ["crit = nn.CrossEntropyLoss(reduction='sum')"]
    gen = "import torch\nclass Generator:\n    def forward(self, z):\n        return torch.tanh(self.net(z))\n"
    assert [line for _, line in changed("generator-no-output", gen)] == ["return self.net(z)"]


def test_a_numpy_backward_loses_one_term_at_a_time():
    source = """\
    import numpy as np
    def backward(dy, dhnext):
        dh = np.dot(Why.T, dy) + dhnext
        dWhy += np.dot(dy, h.T)
        return dh
    """
    assert [line for _, line in changed("backward-term-missing", source)] == [
        "dh = np.dot(Why.T, dy)",
        "pass",
    ]


def test_the_general_operators_change_one_operator_inside_functions_only():
    source = "a = b + c\ndef f(x, y):\n    if x < y:\n        return (x) * (y - 1)\n"
    arith = [line for _, line in changed("arithmetic", source)]
    assert arith == ["return (x) / (y - 1)", "return (x) * (y + 1)"]
    assert [line for _, line in changed("comparison", source)] == ["if x <= y:"]


@pytest.mark.parametrize(
    "root",
    [
        TINY / "graders" / "tiny-rnn",
        *sorted(p for p in (ROOT / "graders").iterdir() if (p / "assignment.toml").is_file()),
    ],
    ids=lambda p: p.name,
)
def test_every_reference_mutates_into_unique_parsable_mutants_on_the_same_lines(root):
    from harness.checks.reference import reference_root

    spec = load_spec(root)
    ref = reference_root(spec)
    files = {n: (ref / n).read_text() for n in spec.required if (ref / n).is_file()}
    found = ops.mutants(files)
    assert found, f"no mutant of {spec.name}'s reference"
    assert len({m.id for m in found}) == len(found)
    assert len({(m.file, m.source) for m in found}) == len(found)
    for m in found:
        compile(m.source, m.file, "exec")
        assert m.source.count("\n") == m.original.count("\n"), m.id
    assert ops.mutants(files) == found, "the same reference gives the same mutants"


def test_the_student_scope_mutates_only_what_the_student_writes():
    """char-rnn-lab hands out Karpathy's script whole but line 41 of task 2: its sample()
    and backward pass are given code, left alone in the student scope."""
    spec = load_spec(ROOT / "graders" / "char-rnn-lab")
    from harness.checks.reference import reference_root

    ref = reference_root(spec)
    files = {n: (ref / n).read_text() for n in spec.required}
    lines = runner.scope_lines(spec, files)
    assert lines["task2_min_char_rnn.py"] == {41}
    assert {102, 103} <= lines["task3_min_char_lstm.py"]
    scoped = ops.mutants(files, lines=lines)
    assert {m.line for m in scoped if m.file == "task2_min_char_rnn.py"} == {41}
    assert len(scoped) < len(ops.mutants(files))
    assert ops.student_lines("a\nb\nc\n", "a\nB\nc\nd\n") == {2, 4}


def test_a_sample_takes_each_operator_once_then_a_seeded_draw():
    source = (TINY / "reference" / "tiny-rnn" / "rnn_step.py").read_text()
    found = ops.mutants({"rnn_step.py": source})
    picked = runner.sample_of(found, 4, seed=1)
    assert len(picked) == 4
    assert {m.operator for m in picked} == {m.operator for m in found}
    assert runner.sample_of(found, 4, seed=1) == picked
    assert runner.sample_of(found, 100) == found


def test_the_equivalent_file_maps_ids_to_reasons(tmp_path):
    path = tmp_path / "eq.toml"
    path.write_text('[equivalent."arithmetic:a.py:3:1"]\nwhy = "x - 0 is x"\n')
    assert runner.read_equivalent(path) == {"arithmetic:a.py:3:1": "x - 0 is x"}
    assert runner.read_equivalent(tmp_path / "none.toml") == {}


def test_omitted_files_leave_the_baseline_and_are_never_mutated():
    root = ROOT / "reference" / "recurrent-layers-lm"
    every = runner.reference_files(root)
    kept = runner.reference_files(root, ["language_model.py", "LanguageModelling.ipynb"])
    assert set(every) - set(kept) == {"language_model.py", "LanguageModelling.ipynb"}
    assert "blg561/blg561/layer/recurrent_layers.py" in kept
    assert not any("__pycache__" in name for name in every)


def test_a_mutant_counts_for_the_part_that_names_its_class():
    spec = load_spec(ROOT / "graders" / "recurrent-layers-lm")
    path = "blg561/blg561/layer/recurrent_layers.py"
    source = (ROOT / "reference" / "recurrent-layers-lm" / path).read_text()
    found = ops.mutants({path: source}, {"drop-bias": ops.OPERATORS["drop-bias"]})
    parts = {
        runner.enclosing_class(source, m.line): runner._part_of_mutant(spec, m, "?") for m in found
    }
    assert parts == {"RNNLayer": "rnn_layer", "LSTMLayer": "lstm_layer", "GRULayer": "gru_layer"}
    assert runner.enclosing_class(source, 1) == ""


def run(*args):
    result = CliRunner().invoke(grade.audit_cli, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.mark.sandbox
def test_the_self_test_grader_kills_every_mutant(tmp_path):
    require("bwrap")
    out = tmp_path / "out"
    code, text = run(
        "-a", TINY / "graders" / "tiny-rnn", "--out", out, "--sandbox", "bwrap", "-j", "1"
    )
    assert code == grade.AuditExitCode.OK, text
    assert "mutation score 100%" in text
    data = json.loads((out / "audit.json").read_text())
    assert data["score"] == 1.0 and data["left_out"] == []
    with (out / "audit-matrix.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {r["outcome"] for r in rows} == {"killed"}
    assert all(r["test_rnn.py::test_matches_reference"] == "killed" for r in rows)
    assert "every non-equivalent mutant was killed" in (out / "audit.html").read_text()


@pytest.mark.sandbox
def test_a_blunt_grader_lets_mutants_survive_and_the_page_shows_their_diffs(tmp_path):
    """tiny-rnn with its value checks' tolerance at 1e9: only the shape check is left, so
    every mutant that keeps the shape survives; one is marked equivalent by hand."""
    require("bwrap")
    tree = tmp_path / "tree"
    for kind in ("graders", "reference", "student_template"):
        shutil.copytree(TINY / kind / "tiny-rnn", tree / kind / "tiny-rnn")
    tests = tree / "graders" / "tiny-rnn" / "test_rnn.py"
    tests.write_text(tests.read_text().replace("atol=1e-8", "atol=1e9"))
    eq = tmp_path / "eq.toml"
    eq.write_text(
        '[equivalent."drop-bias:rnn_step.py:8:1"]\nwhy = "judged so for the test"\n'
        '[equivalent."arithmetic:rnn_step.py:99:1"]\nwhy = "no such mutant"\n'
    )
    out = tmp_path / "out"
    code, text = run(
        "-a",
        tree / "graders" / "tiny-rnn",
        "--out",
        out,
        "--sandbox",
        "bwrap",
        "-j",
        "1",
        "--equivalent",
        eq,
    )
    assert code == grade.AuditExitCode.SURVIVORS, text
    data = json.loads((out / "audit.json").read_text())
    outcomes = {r["mutant"]: r["outcome"] for r in data["mutants"]}
    assert outcomes["drop-bias:rnn_step.py:8:1"] == "equivalent"
    assert outcomes["transpose-weight:rnn_step.py:8:1"] == "killed"  # (N, D) @ (H, D): wrong shape
    assert outcomes["sigmoid-tanh:rnn_step.py:8:1"] == "survived"
    assert data["stale_equivalent"] == ["arithmetic:rnn_step.py:99:1"]
    page = (out / "audit.html").read_text()
    assert "+    return 1 / (1 + np.exp(-(x @ Wx + h @ Wh + b)))" in page.replace("&#43;", "+")
    assert "sigmoid-tanh:rnn_step.py:8:1" in page
    # judged equivalent afterwards: --stored re-reads the results, grading nothing
    with eq.open("a") as f:
        f.write('[equivalent."sigmoid-tanh:rnn_step.py:8:1"]\nwhy = "judged so too"\n')
    code, text = run(
        "-a", tree / "graders" / "tiny-rnn", "--out", out, "--equivalent", eq, "--stored"
    )
    assert code == grade.AuditExitCode.SURVIVORS, text
    data = json.loads((out / "audit.json").read_text())
    assert {r["mutant"]: r["outcome"] for r in data["mutants"]}["sigmoid-tanh:rnn_step.py:8:1"] == (
        "equivalent"
    )
    scores = (out / "audit.md").read_text()  # for benchmarks/results/audit-NAME.md
    assert scores.startswith("## Score: ") and "judged equivalent" in scores
    assert "| sigmoid-tanh:rnn_step.py:8:1 | sigmoid where tanh belongs | equivalent |  |" in scores


def test_an_unknown_mutant_id_is_a_usage_error(tmp_path):
    code, text = run(
        "-a", TINY / "graders" / "tiny-rnn", "--out", tmp_path, "--mutant", "x:y.py:1:1"
    )
    assert code == grade.AuditExitCode.USAGE_ERROR and "no such mutant: x:y.py:1:1" in text


def test_list_shows_the_mutants_without_grading(tmp_path):
    code, text = run("-a", TINY / "graders" / "tiny-rnn", "--list")
    assert code == 0 and "drop-bias:rnn_step.py:8:1" in text


#: The assignments whose full audit (benchmarks/results/audit-NAME.md) kills every
#: non-equivalent mutant, and the files left out of every hand-in (with the part whose
#: checks then leave the matrix); CI grades a fixed sample of each.
AUDITED = {
    "char-rnn-lab": ((), ""),
    "recurrent-layers-lm": (
        ("language_model.py", "LanguageModelling.ipynb"),
        "test_language_model",
    ),
}


@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.parametrize("name", sorted(AUDITED))
def test_a_fixed_sample_of_the_mutants_is_killed(tmp_path, name):
    require("bwrap")
    omit, omitted_checks = AUDITED[name]
    options = [option for file in omit for option in ("--omit", file)]
    code, text = run(
        "-a", name, "--out", tmp_path, "--sandbox", "bwrap", "-j", "2", "--sample", "3", *options
    )
    assert code == grade.AuditExitCode.OK, text
    data = json.loads((tmp_path / "audit.json").read_text())
    assert len(data["mutants"]) == 3 and data["omitted"] == list(omit)
    assert all(omitted_checks and omitted_checks in key for key in data["left_out"])


@pytest.mark.parametrize("command", ["audit", "similarity"])
def test_grade_py_dispatches_its_commands(monkeypatch, capsys, command):
    monkeypatch.setattr("sys.argv", ["grade.py", command, "--help"])
    with pytest.raises(SystemExit) as stop:
        grade.main()
    assert stop.value.code == 0
    assert f"grade.py {command}" in capsys.readouterr().out

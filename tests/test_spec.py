import re
import textwrap

import pytest

from harness.api import discover
from harness.errors import NamingError, SpecError
from harness.spec import load_spec

BASE = """
[assignment]
name = "demo"
[submission]
filename = '^(?P<id>[0-9]+)_demo\\.zip$'
filename_example = "123_demo.zip"
required = ["a.py"]
[parts.p]
points = 3
[checks."test_a.py::test_x"]
points = 3
part = "p"
kind = "cell"
"""


def write(tmp_path, text, name="demo"):
    d = tmp_path / f"tree{len(list(tmp_path.iterdir()))}" / name
    d.mkdir(parents=True)
    (d / "assignment.toml").write_text(textwrap.dedent(text))
    return d


def test_a_valid_spec_loads(tmp_path):
    spec = load_spec(write(tmp_path, BASE))
    assert spec.max_score == 3
    assert spec.checks[0].tags == ("p", "cell")
    assert spec.naming.student_id("123_demo.zip") == "123"


def test_misnamed_files_are_explained(tmp_path):
    spec = load_spec(write(tmp_path, BASE))
    with pytest.raises(NamingError, match="does not follow the rule '123_demo.zip'"):
        spec.naming.student_id("demo.zip")


def test_where_the_hand_out_sets_no_rule_no_zip_is_refused_for_its_name(tmp_path):
    relaxed = BASE.replace('required = ["a.py"]', 'filename_enforced = false\nrequired = ["a.py"]')
    spec = load_spec(write(tmp_path, relaxed))
    folder = tmp_path / "zips"
    folder.mkdir()
    for name in ("123_demo.zip", "my homework.zip"):
        (folder / name).write_bytes(b"")
    found = {s.path.name: (s.student_id, s.naming_error) for s in discover(folder, spec)}
    assert found == {"123_demo.zip": ("123", ""), "my homework.zip": ("my homework", "")}
    strict = load_spec(write(tmp_path, BASE))
    assert (
        "does not follow"
        in {s.path.name: s for s in discover(folder, strict)}["my homework.zip"].naming_error
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("points = 3\npart", "points = 2\npart"), "declares 3 points but its checks"),
        (('kind = "cell"', 'kind = "magic"'), "kind 'magic' is not one of"),
        (('part = "p"', 'part = "q"'), "part 'q' is not declared"),
        (("(?P<id>[0-9]+)", "([0-9]+)"), "needs a group"),
        (('name = "demo"', 'name = "other"'), "must match the folder name"),
        (('required = ["a.py"]', 'filename_enforced = "no"\nrequired = ["a.py"]'), "true or false"),
        (('required = ["a.py"]', 'required = ["a.py"]\nreport_suffixes = ["pdf"]'), "suffixes"),
    ],
)
def test_invalid_specs_name_the_fault(tmp_path, change, message):
    old, new = change
    with pytest.raises(SpecError, match=message):
        load_spec(write(tmp_path, BASE.replace(old, new, 1)))


def test_limits_parse_sizes_and_durations(tmp_path):
    spec = load_spec(write(tmp_path, BASE + '[limits]\ntimeout = "2m"\nmemory = "1G"\n'))
    assert spec.limits.timeout == 120
    assert spec.limits.memory == 1024**3
    with pytest.raises(SpecError, match="memory"):
        load_spec(write(tmp_path, BASE + '[limits]\nmemory = "lots"\n'))


def test_builtin_specs_are_valid():
    from harness.assignments import list_assignments

    for _name, folder in list_assignments():
        load_spec(folder)


# -- the schema: every fault at once, by file, line and key --------------------------------


def test_an_unknown_table_is_refused_with_its_line_and_the_closest_name(tmp_path):
    text = BASE + '[limit]\nmemory = "2G"\n'
    with pytest.raises(SpecError) as caught:
        load_spec(write(tmp_path, text))
    message = str(caught.value)
    line = text.splitlines().index("[limit]") + 1
    assert f"line {line}, [limit]: unknown table [limit]: did you mean [limits]?" in message
    assert "assignment.toml" in message


def test_unknown_keys_wrong_types_and_limits_are_listed_together(tmp_path):
    text = (
        BASE.replace("points = 3\npart", "pionts = 3\npart")
        + '[limits]\ntimeout = "nan"\nprocesses = "many"\n'
    )
    with pytest.raises(SpecError) as caught:
        load_spec(write(tmp_path, text))
    message = str(caught.value)
    assert message.startswith("4 problems in ")
    assert "unknown key 'pionts': did you mean 'points'?" in message
    assert "missing required key 'points'" in message
    assert "[limits] timeout: duration must be a finite number" in message
    assert "[limits] processes:" in message and "'many'" in message
    lines = [int(n) for n in re.findall(r"line (\d+)", message)]
    assert lines == sorted(lines) and len(lines) == 4


@pytest.mark.parametrize(
    ("limits", "said"),
    [
        ('memory = "1K"', "[limits] memory: 1 KiB is below the least allowed, 512 MiB"),
        ("memory = 0", "[limits] memory: 0 bytes is below the least allowed"),
        ('timeout = "inf"', "[limits] timeout: duration must be a finite number"),
        ("timeout = 0", "[limits] timeout: duration must be a finite number of seconds above 0"),
        ("processes = 1", "[limits] processes: 1 is below the least allowed, 8"),
        ('output = "100T"', "[limits] output: 100 TiB is above the most allowed, 64 MiB"),
    ],
)
def test_limits_outside_their_range_are_refused(tmp_path, limits, said):
    with pytest.raises(SpecError, match=re.escape(said)):
        load_spec(write(tmp_path, BASE + "[limits]\n" + limits + "\n"))


def test_a_checks_part_typo_names_the_declared_parts(tmp_path):
    with pytest.raises(SpecError) as caught:
        load_spec(write(tmp_path, BASE.replace('part = "p"', 'part = "pp"')))
    message = str(caught.value)
    assert "part 'pp' is not declared under [parts]: did you mean 'p'?" in message
    assert "declares 3 points" not in message  # a consequence, not a second fault


def test_the_late_table_and_free_form_settings_are_accepted(tmp_path):
    text = BASE + (
        '[late]\ndeadline = 2026-05-08T23:59:00\npolicy = "10%/day"\n'
        '[settings]\nanything = { goes = [1, 2] }\n'
    )
    spec = load_spec(write(tmp_path, text))
    assert spec.settings == {"anything": {"goes": [1, 2]}}
    with pytest.raises(SpecError, match="unknown key 'polcy': did you mean 'policy'"):
        load_spec(write(tmp_path, BASE + '[late]\npolcy = "zero"\n'))


def test_locate_finds_tables_keys_and_quoted_keys():
    from harness.spec import locate

    text = '[a]\nx = 1\n\n[checks."t.py::test_y"]\npoints = 2\n[b.c]\nd.e = 3\n'
    assert locate(text, ["a"]) == 1
    assert locate(text, ["a", "x"]) == 2
    assert locate(text, ["checks", "t.py::test_y"]) == 4
    assert locate(text, ["checks", "t.py::test_y", "points"]) == 5
    assert locate(text, ["b", "c", "d", "e"]) == 7
    assert locate(text, ["nowhere"]) is None


def test_check_tests_refuses_keys_without_tests_and_tests_without_keys(tmp_path):
    from harness.spec import check_tests

    spec = load_spec(write(tmp_path, BASE))
    check_tests(spec, ["test_a.py::test_x"])
    with pytest.raises(SpecError) as caught:
        check_tests(spec, ["test_a.py::test_xx", "test_a.py::test_z"])
    message = str(caught.value)
    assert "[checks.\"test_a.py::test_x\"]: names no test of the grader; did you mean " \
        "'test_a.py::test_xx'?" in message
    assert "'test_a.py::test_z' has no [checks] entry" in message


# -- names ---------------------------------------------------------------------------------

PALINDROME = r"^(?P<surname>[^\W\d_](?:[^\W\d_]|['’. -])*)-(?P<id>[0-9]+)\.zip$"


@pytest.mark.parametrize(
    ("filename", "surname", "student"),
    [
        ("Müller-1234567.zip", "Müller", "1234567"),
        ("Mu\u0308ller-1234567.zip", "Müller", "1234567"),  # macOS's decomposed form
        ("García-7654321.zip", "García", "7654321"),
        ("Garcia-Lopez-1111111.zip", "Garcia-Lopez", "1111111"),
        ("O'Brien-2222222.zip", "O'Brien", "2222222"),
        ("O’Brien-2222222.zip", "O’Brien", "2222222"),
        ("van der Berg-3333333.zip", "van der Berg", "3333333"),
        ("Łukasiewicz-4444444.zip", "Łukasiewicz", "4444444"),
        ("Иванов-5555555.zip", "Иванов", "5555555"),
        ("張-6666666.zip", "張", "6666666"),
    ],
)
def test_the_palindrome_rule_takes_real_surnames(filename, surname, student):
    from harness.spec import NamingRule

    rule = NamingRule(PALINDROME, "Surname-MatriculationNumber.zip")
    assert rule.student_id(filename) == student
    match = re.match(rule.pattern, __import__("unicodedata").normalize("NFC", filename))
    assert match and match["surname"] == surname


def test_the_builtin_palindrome_rule_is_the_one_tested_here():
    from harness.assignments import find_assignment

    assert find_assignment("palindrome-rnn-lstm").naming.pattern == PALINDROME


def test_a_misnamed_zip_is_explained_by_its_example_not_its_regex(tmp_path):
    from harness.spec import NamingRule

    rule = NamingRule(PALINDROME, "Surname-MatriculationNumber.zip")
    with pytest.raises(NamingError) as caught:
        rule.student_id("palindrome_solution.zip")
    message = str(caught.value)
    assert message == (
        "file name 'palindrome_solution.zip' does not follow the rule "
        "'Surname-MatriculationNumber.zip'"
    )
    assert "\\x27" not in message and "(?P<" not in message


@pytest.mark.parametrize(
    ("filename", "fallback"),
    [
        ("Müller Jörg.zip", "Müller Jörg"),
        ("Mu\u0308ller_Jo\u0308rg.zip", "Müller_Jörg"),
        ("García-López (1).zip", "García-López _1"),
        ("../../etc/passwd.zip", "etc_passwd"),
        ("a/b\\c:d*e.zip", "a_b_c_d_e"),
        ("...zip", "unnamed"),
    ],
)
def test_ids_of_misnamed_zips_keep_their_letters(filename, fallback):
    from harness.spec import NamingRule, safe_id

    got = NamingRule().fallback_id(filename)
    assert got == fallback
    assert safe_id(got) or got == "unnamed"


def test_the_schemas_check_kinds_are_the_documented_ones():
    from typing import get_args

    from harness.spec import CHECK_KINDS, _CheckTable

    assert set(get_args(_CheckTable.model_fields["kind"].annotation)) == CHECK_KINDS

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
    assert found == {"123_demo.zip": ("123", ""), "my homework.zip": ("my_homework", "")}
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

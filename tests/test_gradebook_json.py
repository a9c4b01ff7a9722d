"""Strict JSON: every results.json parses in a strict parser (no NaN, no Infinity), says
which numbers were not finite, has unique test names and follows Gradescope's format."""

from __future__ import annotations

import json
import math
import os
import stat

import pytest
from gradescope_schema import errors

from harness.results import CheckResult, CheckStatus, Status, SubmissionResult
from harness.store import finite, write_json_strict, write_text_atomic


def strict_loads(text: str):
    """Parse as Node's JSON.parse would: NaN, Infinity and -Infinity are errors."""

    def refuse(name: str):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def _check(name: str, part: str, number: str, **kw) -> CheckResult:
    return CheckResult(
        name=name,
        score=kw.pop("score", 1.0),
        max_score=2.0,
        status=kw.pop("status", CheckStatus.PASSED),
        tags=(part, "gradient"),
        number=number,
        **kw,
    )


def diverged() -> SubmissionResult:
    """A student whose loss diverged, graded with ``--timeout inf``."""
    return SubmissionResult(
        student_id="4242",
        assignment="palindrome-rnn-lstm",
        status=Status.GRADED,
        score=3.0,
        max_score=10.0,
        checks=(
            _check("Gradients match back-propagation through time", "rnn", "5"),
            _check(
                "Gradients match back-propagation through time",
                "lstm",
                "12",
                score=float("nan"),
                status=CheckStatus.FAILED,
                output="the loss became NaN",
                extra={"evidence": [{"kind": "data", "value": [1.5, float("nan"), float("inf")]}]},
            ),
        ),
        limits={"timeout": float("inf"), "memory": 512},
        leaderboard=({"name": "perplexity", "value": float("nan"), "order": "asc"},),
    )


def test_non_finite_numbers_become_null_and_are_named():
    data = diverged().to_json()
    text = json.dumps(data, allow_nan=False)  # raises if anything non-finite is left
    parsed = strict_loads(text)
    lstm = parsed["tests"][1]
    assert lstm["extra_data"]["evidence"][0]["value"] == [1.5, None, None]
    assert lstm["score"] == 0
    assert "the loss became NaN\n[note: 3 number(s) were not finite" in lstm["output"]
    assert "extra_data.evidence[0].value[1]: NaN" in lstm["output"]
    assert "score: NaN (written as 0)" in lstm["output"]
    harness = parsed["extra_data"]["harness"]
    assert harness["limits"] == {"timeout": None, "memory": 512}
    assert "extra_data.harness.limits.timeout: inf" in harness["non_finite"]
    assert "leaderboard" not in parsed  # an entry without a finite value is left out
    assert not errors(parsed)


def test_strict_results_round_trip_unchanged():
    data = diverged().to_json()
    again = SubmissionResult.from_json(strict_loads(json.dumps(data))).to_json()
    assert again == data


def test_test_names_are_unique_within_a_file():
    names = [t["name"] for t in diverged().to_json()["tests"]]
    assert names == [
        "Gradients match back-propagation through time [rnn]",
        "Gradients match back-propagation through time [lstm]",
    ]
    same_part = SubmissionResult(
        student_id="1",
        assignment="a",
        status=Status.GRADED,
        score=0,
        max_score=1,
        checks=(_check("x", "p", "1"), _check("x", "p", "2"), _check("x", "p", "")),
    )
    names = [t["name"] for t in same_part.to_json()["tests"]]
    assert len(set(names)) == 3 and names[:2] == ["x [p] [1]", "x [p] [2]"]


def test_leaderboard_entry_is_written_in_gradescopes_shape():
    result = SubmissionResult(
        student_id="1",
        assignment="recurrent-layers-lm",
        status=Status.GRADED,
        score=13,
        max_score=13,
        leaderboard=({"name": "validation perplexity", "value": 97.0, "order": "asc"},),
    )
    data = result.to_json()
    assert data["leaderboard"] == [{"name": "validation perplexity", "value": 97.0, "order": "asc"}]
    assert not errors(data)


def test_schema_catches_what_gradescope_refuses():
    bad = {
        "score": float("nan"),
        "tests": [
            {"name": "a", "status": "ok"},
            {"name": "a", "status": "passed", "visibility": "secret"},
        ],
        "colour": "red",
    }
    found = "\n".join(errors(bad))
    assert "$.score: nan is not of type 'number'" in found
    assert "$.tests[0].status: 'ok' is not one of" in found
    assert "$.tests[1].visibility: 'secret' is not one of" in found
    assert "$.tests: names repeat: ['a']" in found
    assert "('colour' was unexpected)" in found
    board = {"score": 1, "tests": [], "leaderboard": [{"name": "ppl", "value": 9, "order": "up"}]}
    assert errors(board) == ["$.leaderboard[0].order: 'up' is not one of ['asc', 'desc']"]


def test_the_schema_is_valid_json_schema_and_jsonschema_checks_it():
    """The schema file is a valid 2020-12 schema (jsonschema's own meta-schema check), and
    the validator is jsonschema's, extended only by x-uniqueNames and finite numbers."""
    from gradescope_schema import SCHEMA, GradescopeValidator
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(SCHEMA)
    assert GradescopeValidator.META_SCHEMA == Draft202012Validator.META_SCHEMA
    assert errors({"score": 1.0, "tests": [{"name": "a", "status": "passed"}]}) == []
    assert errors({"tests": []}) == ["$: 'score' is a required property"]


def test_finite_reports_paths():
    cleaned, paths = finite({"a": [1.0, -math.inf], "b": {"c": math.nan}})
    assert cleaned == {"a": [1.0, None], "b": {"c": None}}
    assert paths == ["a[1]: -inf", "b.c: NaN"]


def test_written_files_are_readable_by_the_group_and_others(tmp_path):
    old = os.umask(0o022)
    try:
        write_json_strict(tmp_path / "results.json", diverged().to_json())
        write_text_atomic(tmp_path / "grades.csv", "id\n")
    finally:
        os.umask(old)
    for name in ("results.json", "grades.csv"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == 0o644, oct(mode)
    strict_loads((tmp_path / "results.json").read_text())


def test_umask_is_respected(tmp_path):
    old = os.umask(0o077)
    try:
        write_text_atomic(tmp_path / "private.csv", "id\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "private.csv").stat().st_mode) == 0o600


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_execution_time_and_scores_are_always_numbers(value):
    result = SubmissionResult(
        student_id="1",
        assignment="a",
        status=Status.GRADED,
        score=value,
        max_score=1,
        execution_time=value,
    )
    data = strict_loads(json.dumps(result.to_json(), allow_nan=False))
    assert data["score"] == 0 and data["execution_time"] == 0
    assert not errors(data)


def test_a_check_records_a_leaderboard_entry_through_the_public_api(tmp_path):
    """``evidence.leaderboard`` (harness.checks) reaches results.json's ``leaderboard``:
    the language model's checks record each model's validation perplexity this way."""
    from harness.checks import Evidence
    from harness.results import leaderboard_entries

    evidence = Evidence(directory=tmp_path)
    evidence.current = "test_language_model.py::test_rnn_perplexity"
    evidence.leaderboard(name="RNNModel validation perplexity", value=151.27, order="asc")
    evidence.current = "test_language_model.py::test_gated_perplexity"
    evidence.leaderboard(name="GatedModel validation perplexity", value=float("nan"))
    with pytest.raises(ValueError, match="order"):
        evidence.leaderboard(name="x", value=1.0, order="up")
    result = SubmissionResult(
        student_id="1",
        assignment="recurrent-layers-lm",
        status=Status.GRADED,
        score=13,
        max_score=13,
        leaderboard=leaderboard_entries(evidence.items),
    )
    data = strict_loads(json.dumps(result.to_json(), allow_nan=False))
    # the diverged model's NaN is left out of the board (and named in the notes)
    assert data["leaderboard"] == [
        {"name": "RNNModel validation perplexity", "value": 151.27, "order": "asc"}
    ]
    assert not errors(data)

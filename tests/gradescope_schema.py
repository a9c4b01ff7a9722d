"""Validate data against tests/schemas/gradescope-results.schema.json with ``jsonschema``.

The schema is JSON Schema 2020-12 (Gradescope's documented results format) plus one
keyword of ours, ``x-uniqueNames``: the ``name`` of every entry of that array differs
(Gradescope shows tests by name; two with one name merge). A "number" is a finite one:
strict JSON has no NaN or Infinity, so a Python float that is not finite is refused.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators

SCHEMA = json.loads(
    (Path(__file__).parent / "schemas" / "gradescope-results.schema.json").read_text()
)


def _finite_number(_checker: Any, value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (not isinstance(value, float) or math.isfinite(value))
    )


def _unique_names(
    _validator: Any, on: bool, instance: Any, _schema: Any
) -> Iterator[ValidationError]:
    if not on or not isinstance(instance, list):
        return
    names = [e.get("name") for e in instance if isinstance(e, dict)]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        yield ValidationError(f"names repeat: {repeated}")


GradescopeValidator = validators.extend(
    Draft202012Validator,
    validators={"x-uniqueNames": _unique_names},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("number", _finite_number),
)
GradescopeValidator.check_schema(SCHEMA)


def _where(error: ValidationError) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)


def errors(data: Any, schema: dict[str, Any] = SCHEMA) -> list[str]:
    """Every way ``data`` breaks ``schema``, as ``path: what`` (jsonschema's messages)."""
    found = GradescopeValidator(schema).iter_errors(data)
    return sorted(f"{_where(e)}: {e.message}" for e in found)

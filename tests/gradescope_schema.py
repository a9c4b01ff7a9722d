"""Validate data against tests/schemas/gradescope-results.schema.json.

The schema uses a small part of JSON Schema (type, enum, required, properties,
additionalProperties, items, minLength) and one keyword of ours, ``x-uniqueNames``:
the ``name`` of every entry of that array differs.  ``errors`` checks exactly those.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

SCHEMA = json.loads(
    (Path(__file__).parent / "schemas" / "gradescope-results.schema.json").read_text()
)
_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "number": (int, float),
    "boolean": bool,
    "null": type(None),
}


def _is(value: Any, kind: str) -> bool:
    if kind == "number" and isinstance(value, bool):
        return False
    if kind == "number" and isinstance(value, float) and not math.isfinite(value):
        return False
    return isinstance(value, _TYPES[kind])


def errors(data: Any, schema: dict[str, Any] = SCHEMA, where: str = "$") -> list[str]:
    """Every way ``data`` breaks ``schema``, as ``path: what``."""
    found: list[str] = []
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_is(data, k) for k in kinds):
            return [f"{where}: {data!r:.60} is not {' or '.join(kinds)}"]
    if "enum" in schema and data not in schema["enum"]:
        found.append(f"{where}: {data!r:.60} is not one of {schema['enum']}")
    if isinstance(data, str) and len(data) < schema.get("minLength", 0):
        found.append(f"{where}: shorter than {schema['minLength']}")
    if isinstance(data, dict):
        for key in schema.get("required", ()):
            if key not in data:
                found.append(f"{where}: {key!r} is required")
        props = schema.get("properties", {})
        for key, value in data.items():
            if key in props:
                found += errors(value, props[key], f"{where}.{key}")
            elif schema.get("additionalProperties") is False:
                found.append(f"{where}: {key!r} is not a field of the format")
    if isinstance(data, list):
        for i, item in enumerate(data):
            found += errors(item, schema.get("items", {}), f"{where}[{i}]")
        if schema.get("x-uniqueNames"):
            names = [e.get("name") for e in data if isinstance(e, dict)]
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                found.append(f"{where}: names repeat: {repeated}")
    return found

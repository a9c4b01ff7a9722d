"""A course's defaults for ``grade.py``, so that a course does not retype them.

``grade.py --config course.toml`` (or ``rnn-grade.toml`` in the current folder, found by
itself) gives defaults to options left off the command line; an option given there wins::

    # rnn-grade.toml
    out = "/srv/cs324/a3/results"
    sandbox = "bwrap"
    jobs = 4
    timeout = "10m"
    memory = "3G"
    roster = "/srv/cs324/roster.csv"

Unknown keys are refused with the closest known one, like ``assignment.toml``'s.
"""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr, ValidationError

from .errors import UsageError

#: The file ``grade.py`` reads from the current folder when ``--config`` is not given.
DEFAULT_FILE = "rnn-grade.toml"


class CourseConfig(BaseModel):
    """The options a course may set once (``grade.py``'s long names, ``-`` or ``_``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    assignment: StrictStr | None = None
    out: StrictStr | None = None
    sandbox: Literal["auto", "docker", "bwrap", "local"] | None = None
    jobs: StrictInt | None = None
    timeout: StrictStr | StrictInt | float | None = None
    memory: StrictStr | StrictInt | None = None
    roster: StrictStr | None = None
    export: list[StrictStr] | None = None
    id_column: StrictStr | None = None
    scale: float | None = None
    deadline: StrictStr | None = None
    late_policy: StrictStr | None = None
    executor: Literal["local", "slurm"] | None = None


def load(path: Path) -> dict[str, Any]:
    """The defaults in ``path`` as click's ``default_map`` (option name -> value)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"--config {path}: cannot read it ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"--config {path}: not valid TOML: {exc}") from None
    raw = {str(k).replace("-", "_"): v for k, v in raw.items()}
    try:
        config = CourseConfig.model_validate(raw)
    except ValidationError as exc:
        known = list(CourseConfig.model_fields)
        lines = []
        for error in exc.errors():
            key = ".".join(str(p) for p in error["loc"])
            if error["type"] == "extra_forbidden":
                close = difflib.get_close_matches(key, known, n=1)
                hint = f": did you mean {close[0]!r}?" if close else ""
                lines.append(f"unknown key {key!r}{hint} (known: {', '.join(known)})")
            else:
                lines.append(f"{key}: {error['msg']} (got {error.get('input')!r})")
        raise UsageError(f"--config {path}: " + "; ".join(lines)) from None
    values = config.model_dump(exclude_none=True)
    if "export" in values:
        values["export"] = tuple(values["export"])
    for key in ("timeout", "memory"):
        if key in values:
            values[key] = str(values[key])
    return values

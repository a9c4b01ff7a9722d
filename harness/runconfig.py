"""Run settings: the options that shape a run's outputs, remembered in ``OUT/run.json``.

``--scale``, ``--id-column``, ``--roster``, ``--deadline``, ``--late-policy``,
``--export``, ``--grade-columns``, ``--lms-column`` and ``--duplicates`` decide what
``grades*.csv``, ``summary.csv`` and the pages say.  A run stores the ones in force;
a later run into the same folder (a regrade, ``--manual``, ``--reports-only``) uses them
for every option it does not give, and says so.  ``--forget-settings`` starts afresh.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from .errors import UsageError
from .store import read_json, write_json_strict

SETTINGS_FILE = "run.json"
EXPORTS = ("plain", "moodle", "canvas", "blackboard", "gradescope-csv")
GRADE_COLUMNS = ("total", "parts", "items")


@dataclass(frozen=True)
class RunSettings:
    scale: float | None = None  #: full marks in the gradebook files; None: points
    id_column: str = "id"  #: header of grades.csv's id column
    roster: str | None = None  #: the roster file (absolute path)
    deadline: str | None = None  #: ISO 8601
    late_policy: str | None = None  #: see harness.lateness
    exports: tuple[str, ...] = ("plain",)
    grade_columns: str = "total"
    lms_column: str | None = None  #: the course system's column for this assignment
    duplicates: str = "newest"

    def check(self) -> RunSettings:
        """Raise ``UsageError`` for a value no run could use."""
        if not self.id_column.strip():
            raise UsageError("--id-column must not be empty")
        if self.scale is not None and not self.scale > 0:
            raise UsageError(f"--scale must be positive (got {self.scale:g})")
        unknown = [e for e in self.exports if e not in EXPORTS + ("all",)]
        if unknown or not self.exports:
            raise UsageError(
                f"--export must be one of {', '.join(EXPORTS)} or all (got {', '.join(unknown)})"
            )
        if self.grade_columns not in GRADE_COLUMNS:
            raise UsageError(
                f"--grade-columns must be one of {', '.join(GRADE_COLUMNS)} "
                f"(got {self.grade_columns!r})"
            )
        return replace(self, id_column=self.id_column.strip(), exports=self.export_list())

    def export_list(self) -> tuple[str, ...]:
        if "all" in self.exports:
            return EXPORTS
        return tuple(dict.fromkeys(self.exports))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["exports"] = list(self.exports)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunSettings:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "exports" in values:
            values["exports"] = tuple(values["exports"])
        return cls(**values)


def load(out: Path) -> RunSettings | None:
    data = read_json(out / SETTINGS_FILE)
    if not isinstance(data, dict):
        return None
    try:
        return RunSettings.from_json(data)
    except (TypeError, ValueError):
        return None


def save(out: Path, settings: RunSettings) -> None:
    write_json_strict(out / SETTINGS_FILE, settings.to_json())


def resolve(
    out: Path, given: Mapping[str, Any], *, forget: bool = False
) -> tuple[RunSettings, list[str]]:
    """The settings of this run: those ``given`` (None: not given), else the stored ones,
    else the defaults; and a line for each stored setting reused."""
    stored = None if forget else load(out)
    base = stored or RunSettings()
    values: dict[str, Any] = {}
    reused: list[str] = []
    for f in fields(RunSettings):
        value = given.get(f.name)
        if value is not None and value != ():
            values[f.name] = tuple(value) if f.name == "exports" else value
            continue
        kept = getattr(base, f.name)
        values[f.name] = kept
        if stored is not None and kept != getattr(RunSettings(), f.name):
            option = "--" + f.name.replace("_", "-").replace("exports", "export")
            shown = ",".join(kept) if isinstance(kept, tuple) else kept
            reused.append(f"{option} {shown}")
    settings = RunSettings(**values)
    if settings.roster:
        settings = replace(settings, roster=str(Path(settings.roster).resolve()))
    return settings.check(), reused

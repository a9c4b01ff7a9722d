"""The class list: every ZIP found, whose it is, which one counts, and who sent nothing.

``survey(folder, spec, roster=..., duplicates=...)`` looks at every ``*.zip`` in the
submissions folder (and in the per-student folders of a Moodle download), undoes the
renaming a course system's download did (``harness.downloads``), applies the naming
rule, and with a roster finds each file's student (``Roster.match``).  Then:

* two or more files for one student: the newest counts (by the time a Blackboard name
  holds, else the file's modification time, which a Moodle or Canvas download keeps);
  the others are listed as superseded.  ``duplicates="all"`` grades them too, under
  ``<id>~2``..., and still only the newest reaches a gradebook;
* a file that matches no roster entry is graded under the id its name gives and listed
  as unmatched, with the closest roster entries; it never reaches a gradebook import;
* every roster student without a file is listed as missing.

Nothing is dropped silently: the list is written to ``OUT/classlist.json`` and shown by
the summary, the class page and ``summary.csv``.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from . import downloads
from .errors import NamingError, UsageError
from .roster import Roster
from .spec import AssignmentSpec, safe_id
from .store import read_json, write_json_strict

CLASSLIST_FILE = "classlist.json"
DUPLICATES = ("newest", "all")


@dataclass(frozen=True)
class Entry:
    """One ZIP in the submissions folder."""

    file: str  #: its path relative to the submissions folder
    student_id: str  #: the id it is graded under (the roster's key when matched)
    naming_error: str = ""  #: why its name breaks the rule (it is then not graded)
    submitted: str = ""  #: ISO time of the submission
    submitted_from: str = ""  #: where that time comes from
    lms: str = ""  #: the course system whose download renamed it
    lms_late: bool = False  #: the course system marked it late (Canvas)
    matched: str = ""  #: how the roster entry was found; "" unmatched; "no roster"
    candidates: tuple[str, ...] = ()  #: closest roster entries of an unmatched file
    superseded_by: str = ""  #: the newer file that counts instead
    name: str = ""  #: the student's name (roster)

    @property
    def counts(self) -> bool:
        """Whether this file's result is the student's grade."""
        return not self.superseded_by and self.matched != ""


@dataclass(frozen=True)
class ClassList:
    entries: tuple[Entry, ...]
    missing: tuple[tuple[str, str], ...] = ()  #: (key, name) of students with no file
    roster: str = ""  #: the roster's path
    roster_system: str = ""
    duplicates: str = "newest"
    folder: str = ""

    def to_grade(self) -> list[Entry]:
        """The files to grade: all but the superseded ones, unless duplicates="all"."""
        if self.duplicates == "all":
            return list(self.entries)
        return [e for e in self.entries if not e.superseded_by]

    @property
    def unmatched(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.matched == "")

    @property
    def superseded(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.superseded_by)

    def counting(self) -> dict[str, Entry]:
        """Student id -> the entry whose result is the grade."""
        return {e.student_id: e for e in self.entries if e.counts}

    def by_id(self) -> dict[str, Entry]:
        """Student id -> its entry (the one that counts, where an id has several)."""
        found = {e.student_id: e for e in self.entries if e.superseded_by}
        found.update({e.student_id: e for e in self.entries if not e.superseded_by})
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "roster": self.roster,
            "roster_system": self.roster_system,
            "duplicates": self.duplicates,
            "entries": [asdict(e) for e in self.entries],
            "missing": [list(m) for m in self.missing],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClassList:
        entries = []
        for e in data.get("entries", ()):
            e = dict(e)
            e["candidates"] = tuple(e.get("candidates", ()))
            entries.append(Entry(**e))
        return cls(
            entries=tuple(entries),
            missing=tuple((str(k), str(n)) for k, n in data.get("missing", ())),
            roster=str(data.get("roster", "")),
            roster_system=str(data.get("roster_system", "")),
            duplicates=str(data.get("duplicates", "newest")),
            folder=str(data.get("folder", "")),
        )

    def write(self, out: Path) -> None:
        write_json_strict(out / CLASSLIST_FILE, self.to_json())


def load(out: Path) -> ClassList | None:
    data = read_json(out / CLASSLIST_FILE)
    if not isinstance(data, dict):
        return None
    try:
        return ClassList.from_json(data)
    except (TypeError, ValueError):
        return None


def _files(folder: Path) -> list[tuple[Path, str]]:
    """Every ZIP in ``folder``, and in the per-student folders of a Moodle download, with
    the Moodle folder's name ("" for a file at the top)."""
    found = []
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() == ".zip":
            found.append((path, ""))
        elif path.is_dir() and downloads.is_moodle_folder(path.name):
            found += [
                (p, path.name)
                for p in sorted(path.iterdir())
                if p.is_file() and p.suffix.lower() == ".zip"
            ]
    return found


def _time(path: Path, download: downloads.Download) -> tuple[str, str]:
    if download.submitted is not None:
        when = download.submitted.astimezone()
        return when.isoformat(timespec="seconds"), f"the {download.system} download's file name"
    stamp = datetime.datetime.fromtimestamp(path.stat().st_mtime).astimezone()
    return stamp.isoformat(timespec="seconds"), "the file's modification time"


def _safe(student_id: str, fallback: str) -> str:
    return student_id if safe_id(student_id) else fallback


def survey(
    folder: Path,
    spec: AssignmentSpec,
    *,
    accept_misnamed: bool = False,
    roster: Roster | None = None,
    duplicates: str = "newest",
) -> ClassList:
    """The class list of ``folder`` (see the module)."""
    if not folder.is_dir():
        raise UsageError(f"submissions folder {str(folder)!r} does not exist")
    if duplicates not in DUPLICATES:
        raise UsageError(
            f"--duplicates must be one of {', '.join(DUPLICATES)} (got {duplicates!r})"
        )
    named: list[Entry] = []
    misnamed: list[Entry] = []
    for path, moodle_folder in _files(folder):
        download = downloads.parse(path.name, moodle_folder)
        rel = path.relative_to(folder).as_posix()
        submitted, source = _time(path, download)
        sid, error = "", ""
        for name in download.alternatives():
            try:
                sid = spec.naming.student_id(name)
                error = ""
                break
            except NamingError as exc:
                error = error or str(exc)
        if not sid:
            sid = spec.naming.fallback_id(download.original)
            # Where the hand-out sets no naming rule, no ZIP is refused for its name.
            if accept_misnamed or not spec.naming.enforced:
                error = ""
        entry = Entry(
            file=rel,
            student_id=_safe(sid, spec.naming.fallback_id(download.original)),
            naming_error=error,
            submitted=submitted,
            submitted_from=source,
            lms=download.system,
            lms_late=download.late,
            matched="no roster",
        )
        if roster is not None:
            words = " ".join([download.name, moodle_folder, path.name])
            found = roster.match(words, student_id=sid if not error else "", hints=download.hints)
            if found.student is not None:
                entry = replace(
                    entry,
                    student_id=_safe(found.student.key, entry.student_id),
                    matched=found.how,
                    name=found.student.display,
                )
            else:
                entry = replace(
                    entry,
                    matched="",
                    candidates=tuple(f"{s.key} ({s.display})" for s in found.candidates),
                )
        (misnamed if entry.naming_error and entry.matched in ("", "no roster") else named).append(
            entry
        )
    entries = _resolve_duplicates(named + misnamed, duplicates)
    missing: tuple[tuple[str, str], ...] = ()
    if roster is not None:
        present = {e.student_id for e in entries if e.matched}
        missing = tuple((s.key, s.display) for s in roster.students if s.key not in present)
    return ClassList(
        entries=tuple(sorted(entries, key=lambda e: e.file)),
        missing=missing,
        roster=str(roster.path) if roster else "",
        roster_system=roster.system if roster else "",
        duplicates=duplicates,
        folder=str(folder),
    )


def _resolve_duplicates(entries: Sequence[Entry], duplicates: str) -> list[Entry]:
    """The newest file of each id keeps the id; the others are superseded by it (and,
    with duplicates="all", graded under ``<id>~2``...).  Well-named files claim an id
    before misnamed ones: a misnamed file never takes a real id."""
    groups: dict[str, list[Entry]] = {}
    for e in entries:
        groups.setdefault(e.student_id, []).append(e)
    resolved: list[Entry] = []
    taken = set(groups)
    for sid, group in groups.items():
        ranked = sorted(group, key=lambda e: (bool(e.naming_error), _neg_time(e), e.file))
        winner = ranked[0]
        resolved.append(winner)
        for n, other in enumerate(ranked[1:], start=2):
            new_id = f"{sid}~{n}"
            while new_id in taken:
                n += 1
                new_id = f"{sid}~{n}"
            taken.add(new_id)
            resolved.append(
                replace(
                    other,
                    superseded_by=winner.file,
                    student_id=new_id if duplicates == "all" else sid,
                )
            )
    return resolved


def _neg_time(entry: Entry) -> float:
    try:
        return -datetime.datetime.fromisoformat(entry.submitted).timestamp()
    except ValueError:
        return 0.0

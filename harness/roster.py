"""Rosters: the class list, read from the file a course system exports, as it comes.

``read_roster(path)`` reads, and tells apart by their headers:

* **Moodle**: the gradebook's "Export to plain text file" (``First name``, ``Last name``
  or ``Surname``, ``ID number``, ``Institution``, ``Department``, ``Email address``, then a
  column per grade item such as ``Assignment: Assignment 3 (Real)``);
* **Canvas**: the gradebook's "Export entire gradebook" (``Student``, ``ID``,
  ``SIS User ID``, ``SIS Login ID``, ``Section``, a column per assignment such as
  ``Assignment 3 (1234)``, a ``Points Possible`` row below the header);
* **Blackboard**: the Grade Center's "Work Offline > Download", comma-delimited or the
  tab-delimited UTF-16 ``.xls`` (``Last Name``, ``First Name``, ``Username``,
  ``Student ID``, grade columns such as ``Assignment 3 [Total Pts: 40 Score] |123456``);
* **Gradescope**: its roster export (``Name`` or ``First Name``/``Last Name``, ``SID``,
  ``Email``);
* **plain**: any CSV with an ``id`` column, optionally ``name`` and ``email``.

Each student gets a ``key``, the id the course system matches grades on and the name of
the student's results folder: Moodle's ID number (else the email), Canvas's SIS User ID
(else SIS Login ID, else its ID), Blackboard's Student ID (else the username),
Gradescope's SID (else the email).  ``match`` finds the student a submission belongs to:
by any of the student's ids, then by other columns the file name holds (a login, an
email, a surname that only one student has); a file that matches nobody gets the closest
entries instead.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError

SYSTEMS = ("moodle", "canvas", "blackboard", "gradescope", "plain")

#: Canvas's computed columns: read-only, never grade items of ours.
CANVAS_READ_ONLY = re.compile(
    r"^(Current|Final|Unposted Current|Unposted Final) (Points|Score|Grade)$|"
    r"^Override (Score|Grade)$|.*\((Current|Final) (Points|Score)\)$|^Root Account$|"
    r"^Integration ID$"
)
_BLACKBOARD_COLUMN = re.compile(
    r"^(?P<name>.*?)\s*(\[Total Pts: (?P<points>[\d.]+)[^\]]*\])?\s*\|(?P<id>\d+)$"
)
_CANVAS_COLUMN = re.compile(r"^(?P<name>.*?)\s*\((?P<id>\d+)\)$")
_TOKEN = re.compile(r"[^0-9a-z@.+]+")  # "_" and "-" part Surname-12345678.zip
#: Canvas's "Test Student" of Student View: in every export, never a real student.
CANVAS_TEST_STUDENT = {"student, test", "test student"}


@dataclass(frozen=True)
class GradeColumn:
    """A grade column the course system already has (from the roster's header)."""

    header: str  #: exactly as exported: what an import must repeat to update this column
    name: str  #: the column's name without its id or points
    column_id: str = ""  #: Canvas's assignment id, Blackboard's Grade Center column id
    points: float | None = None  #: points possible, where the export says


@dataclass(frozen=True)
class Student:
    key: str  #: the id grades are matched on (see the module)
    first: str = ""
    last: str = ""
    name: str = ""  #: as the course system writes it ("Last, First" for Canvas)
    email: str = ""
    login: str = ""  #: username / SIS login
    section: str = ""
    ids: tuple[str, ...] = ()  #: every identifier of the student, the key included
    row: dict[str, str] = field(default_factory=dict)  #: the roster's row as read

    @property
    def display(self) -> str:
        full = f"{self.first} {self.last}".strip()
        return full or self.name or self.key

    def identifiers(self) -> set[str]:
        found = {i.strip().lower() for i in (self.key, self.email, self.login, *self.ids)}
        if "@" in self.email:
            found.add(self.email.split("@", 1)[0].lower())
        return {i for i in found if i}


@dataclass(frozen=True)
class Match:
    """Who a submission is from, and how that was found."""

    student: Student | None
    how: str  #: "id", "login", "email", "surname", "" when unmatched
    candidates: tuple[Student, ...] = ()  #: the closest entries, for an unmatched file


@dataclass(frozen=True)
class Roster:
    system: str
    path: Path
    students: tuple[Student, ...]
    columns: tuple[GradeColumn, ...] = ()  #: the grade columns the export holds
    key_column: str = ""  #: the roster column the keys come from

    def by_key(self) -> dict[str, Student]:
        return {s.key: s for s in self.students}

    def find_column(self, *names: str) -> GradeColumn | None:
        """The grade column named like one of ``names`` (case and spacing ignored)."""
        wanted = {_fold(n) for n in names if n}
        for column in self.columns:
            if _fold(column.name) in wanted or _fold(column.header) in wanted:
                return column
            bare = re.sub(r"^[^:]+:\s*", "", column.name)  # Moodle's "Assignment: X"
            bare = re.sub(r"\s*\((Real|Percentage|Letter)\)$", "", bare)
            if _fold(bare) in wanted:
                return column
        return None

    def match(self, file_name: str, *, student_id: str = "", hints: Sequence[str] = ()) -> Match:
        """The student ``file_name`` belongs to: the id its naming rule gave, then the
        ``hints`` a course system's download adds (login, user id), then the words of the
        name itself; unmatched, the three closest entries."""
        index: dict[str, list[Student]] = {}
        for s in self.students:
            for ident in s.identifiers():
                index.setdefault(ident, []).append(s)
        for how, values in (("id", [student_id]), ("login", list(hints))):
            for value in values:
                found = index.get(value.strip().lower(), []) if value else []
                if len(found) == 1:
                    return Match(found[0], how)
        words = [w for w in _TOKEN.split(file_name.lower()) if w and w not in ("zip", ".zip")]
        found_in_name = {s.key: s for w in words for s in index.get(w, [])}
        if len(found_in_name) == 1:
            return Match(next(iter(found_in_name.values())), "name")
        surnames: dict[str, list[Student]] = {}
        for s in self.students:
            if s.last:
                surnames.setdefault(_fold(s.last), []).append(s)
        by_surname = {s.key: s for w in words for s in surnames.get(w, [])}
        if len(by_surname) == 1 and not found_in_name:
            return Match(next(iter(by_surname.values())), "surname")
        ambiguous = tuple(found_in_name.values()) or tuple(by_surname.values())
        return Match(None, "", ambiguous[:5] or self.closest([student_id, *hints, *words]))

    def closest(self, words: Iterable[str], n: int = 3) -> tuple[Student, ...]:
        """The ``n`` students whose ids or names look most like ``words``."""
        scored: dict[str, float] = {}
        for s in self.students:
            names = s.identifiers() | {_fold(s.last), _fold(s.first), _fold(s.display)}
            best = 0.0
            for w in words:
                w = w.strip().lower()
                if not w:
                    continue
                for name in names:
                    if name:
                        best = max(best, difflib.SequenceMatcher(None, w, name).ratio())
            scored[s.key] = best
        ranked = sorted(self.students, key=lambda s: (-scored[s.key], s.key))
        return tuple(s for s in ranked[:n] if scored[s.key] > 0.4)


def _fold(text: str) -> str:
    return " ".join(text.lower().split())


# -- reading -----------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")  # Blackboard's tab-delimited .xls download
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")  # a spreadsheet's "CSV (Windows)"


def read_table(path: Path, *, what: str = "--roster") -> list[list[str]]:
    """The rows of a CSV, tab- or semicolon-separated file, as a spreadsheet saved it."""
    try:
        text = _decode(path.read_bytes())
    except OSError as exc:
        raise UsageError(f"{what}: cannot read {str(path)!r}: {exc.strerror}") from None
    first = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first.count)
    if not first.count(delimiter):
        delimiter = ","
    rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if any(row)]
    if not rows:
        raise UsageError(f"{what}: {path.name} is empty")
    return [[cell.strip() for cell in row] for row in rows]


def detect(header: Sequence[str]) -> str:
    """Which course system wrote a file with this header (see the module)."""
    names = {_fold(h) for h in header}
    if {"student", "id"} <= names and ({"sis user id"} & names or {"sis login id"} & names):
        return "canvas"
    if {"username", "last name", "first name"} <= names:
        return "blackboard"
    if "email address" in names and ({"first name"} & names) and ("id number" in names):
        return "moodle"
    if "sid" in names and "email" in names:
        return "gradescope"
    if "id" in names:
        return "plain"
    raise UsageError(
        "--roster: the header names no known course system's export: a Moodle gradebook "
        "export (First name, Last name, ID number, Email address), a Canvas gradebook export "
        "(Student, ID, SIS User ID, SIS Login ID, Section), a Blackboard Grade Center "
        "download (Last Name, First Name, Username), a Gradescope roster (Name, SID, Email) "
        f"or a CSV with an id column; found: {', '.join(header[:8])}"
    )


def read_roster(path: Path) -> Roster:
    """The roster in ``path``; a ``UsageError`` says what is wrong with the file."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"--roster: no file {str(path)!r}")
    rows = read_table(path)
    header, body = rows[0], rows[1:]
    system = detect(header)
    reader = {
        "moodle": _moodle,
        "canvas": _canvas,
        "blackboard": _blackboard,
        "gradescope": _gradescope,
        "plain": _plain,
    }[system]
    students, columns, key_column = reader(header, body)
    if not students:
        raise UsageError(f"--roster: {path.name} ({system}) lists no students")
    seen: dict[str, Student] = {}
    for s in students:
        if not s.key:
            raise UsageError(
                f"--roster: {path.name}: {s.display!r} has no {key_column} (every student "
                "needs the id grades are matched on)"
            )
        if s.key in seen:
            raise UsageError(f"--roster: {path.name}: {key_column} {s.key!r} appears twice")
        seen[s.key] = s
    return Roster(system, path, tuple(students), tuple(columns), key_column)


def _cells(header: Sequence[str], row: Sequence[str]) -> dict[str, str]:
    return {h: (row[i] if i < len(row) else "") for i, h in enumerate(header)}


def _get(row: dict[str, str], *names: str) -> str:
    folded = {_fold(k): v for k, v in row.items()}
    return next((folded[_fold(n)] for n in names if folded.get(_fold(n))), "")


Parsed = tuple[list[Student], list[GradeColumn], str]


def _moodle(header: Sequence[str], body: Sequence[Sequence[str]]) -> Parsed:
    identity = {
        "first name",
        "last name",
        "surname",
        "id number",
        "institution",
        "department",
        "email address",
        "username",
        "last downloaded from this course",
    }
    columns = [
        GradeColumn(header=h, name=h)
        for h in header
        if _fold(h) not in identity
        and not h.startswith("Feedback:")
        and _fold(h) not in ("course total", "course total (real)")
    ]
    rows = [_cells(header, r) for r in body]
    use_email = any(not _get(r, "ID number") for r in rows)
    students = [
        Student(
            key=_get(r, "Email address") if use_email else _get(r, "ID number"),
            first=_get(r, "First name"),
            last=_get(r, "Last name", "Surname"),
            email=_get(r, "Email address"),
            login=_get(r, "Username"),
            ids=tuple(v for v in (_get(r, "ID number"),) if v),
            row=r,
        )
        for r in rows
    ]
    return students, columns, "Email address" if use_email else "ID number"


def _canvas(header: Sequence[str], body: Sequence[Sequence[str]]) -> Parsed:
    identity = {
        "student",
        "id",
        "sis user id",
        "sis login id",
        "section",
        "integration id",
        "root account",
    }
    points: dict[str, float] = {}
    students = []
    for raw in body:
        r = _cells(header, raw)
        name = r.get(header[0], "")
        if _fold(name) == "points possible":
            for h, v in r.items():
                with contextlib.suppress(ValueError):
                    points[h] = float(v)
            continue
        if _fold(name) in CANVAS_TEST_STUDENT or _fold(name).startswith("manual posting"):
            continue
        last, _, first = name.partition(",")
        key = _get(r, "SIS User ID") or _get(r, "SIS Login ID") or _get(r, "ID")
        students.append(
            Student(
                key=key,
                first=first.strip(),
                last=last.strip() if first else "",
                name=name,
                login=_get(r, "SIS Login ID"),
                section=_get(r, "Section"),
                ids=tuple(v for v in (_get(r, "ID"), _get(r, "SIS User ID")) if v),
                row=r,
            )
        )
    columns = []
    for h in header:
        if _fold(h) in identity or CANVAS_READ_ONLY.match(h):
            continue
        m = _CANVAS_COLUMN.match(h)
        columns.append(
            GradeColumn(
                header=h,
                name=m["name"] if m else h,
                column_id=m["id"] if m else "",
                points=points.get(h),
            )
        )
    key_column = "SIS User ID" if all(_get(s.row, "SIS User ID") for s in students) else "ID"
    return students, columns, key_column


def _blackboard(header: Sequence[str], body: Sequence[Sequence[str]]) -> Parsed:
    columns = []
    for h in header:
        m = _BLACKBOARD_COLUMN.match(h)
        if m:
            columns.append(
                GradeColumn(
                    header=h,
                    name=m["name"],
                    column_id=m["id"],
                    points=float(m["points"]) if m["points"] else None,
                )
            )
    rows = [_cells(header, r) for r in body]
    use_id = all(_get(r, "Student ID") for r in rows)
    students = [
        Student(
            key=_get(r, "Student ID") if use_id else _get(r, "Username"),
            first=_get(r, "First Name"),
            last=_get(r, "Last Name"),
            login=_get(r, "Username"),
            email=_get(r, "Email"),
            ids=tuple(v for v in (_get(r, "Student ID"),) if v),
            row=r,
        )
        for r in rows
    ]
    return students, columns, "Student ID" if use_id else "Username"


def _gradescope(header: Sequence[str], body: Sequence[Sequence[str]]) -> Parsed:
    rows = [_cells(header, r) for r in body]
    use_sid = all(_get(r, "SID") for r in rows)
    students = []
    for r in rows:
        first, last = _get(r, "First Name"), _get(r, "Last Name")
        name = _get(r, "Name", "Full Name")
        if name and not (first or last):
            first, _, last = name.rpartition(" ")
        students.append(
            Student(
                key=_get(r, "SID") if use_sid else _get(r, "Email"),
                first=first,
                last=last,
                name=name,
                email=_get(r, "Email"),
                ids=tuple(v for v in (_get(r, "SID"),) if v),
                section=_get(r, "Sections", "Section"),
                row=r,
            )
        )
    return students, [], "SID" if use_sid else "Email"


def _plain(header: Sequence[str], body: Sequence[Sequence[str]]) -> Parsed:
    students = []
    for raw in body:
        r = _cells(header, raw)
        first, last = _get(r, "first name", "first"), _get(r, "last name", "last", "surname")
        name = _get(r, "name")
        if name and not (first or last):
            first, _, last = name.rpartition(" ")
        students.append(
            Student(
                key=_get(r, "id"),
                first=first,
                last=last,
                name=name,
                email=_get(r, "email"),
                login=_get(r, "login", "username"),
                section=_get(r, "section"),
                row=r,
            )
        )
    return students, [], "id"

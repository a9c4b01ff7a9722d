"""What a course system's "download all submissions" adds to a student's file name.

Each system renames the files it bundles; the student's own file name is kept inside::

    Moodle      Ada Lovelace_1234567_assignsubmission_file_12345678_tiny.zip
                (or a folder "Ada Lovelace_1234567_assignsubmission_file_" holding the file)
    Canvas      lovelaceada_12345_67890_12345678_tiny.zip     (user id, then attachment id)
                lovelaceada_LATE_12345_67890_12345678_tiny-1.zip   (late; a resubmission)
    Blackboard  Assignment 3_alovelace_attempt_2026-05-08-23-10-44_12345678_tiny.zip

``parse(name)`` gives back the student's file name (so the assignment's naming rule
applies to it), what the system says about the student (a login, a user id, the name,
words to match a roster with), the submission time where the name holds it (Blackboard),
and Canvas's late mark.  A name no system wrote comes back as it is.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

_MOODLE = re.compile(
    r"^(?P<name>.+?)_(?P<uid>\d+)_assignsubmission_(?:file|onlinetext)_(?P<file>.*)$"
)
_CANVAS = re.compile(
    r"^(?P<login>[a-z0-9]+)(?P<late>_LATE)?_(?P<uid>\d+)_(?P<attachment>\d+)_(?P<file>.+)$"
)
_BLACKBOARD = re.compile(
    r"^(?P<assignment>.+?)_(?P<login>[^_\s]+)_attempt_"
    r"(?P<time>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})(?:_(?P<file>.+))?$"
)
#: Canvas numbers a file that replaces an earlier one: name-1.zip, name-2.zip.
_RESUBMITTED = re.compile(r"^(?P<stem>.+)-\d+(?P<suffix>\.[A-Za-z0-9]+)$")


@dataclass(frozen=True)
class Download:
    original: str  #: the student's own file name
    system: str = ""  #: "moodle", "canvas", "blackboard", "" for a name no system wrote
    hints: tuple[str, ...] = ()  #: login, user id: matched against a roster's ids
    name: str = ""  #: the student's name as the system wrote it
    submitted: datetime.datetime | None = None  #: the time the name holds (Blackboard)
    late: bool = False  #: the system marked the submission late (Canvas)

    def alternatives(self) -> tuple[str, ...]:
        """The original name, and without a resubmission number Canvas added."""
        m = _RESUBMITTED.match(self.original)
        return (self.original, m["stem"] + m["suffix"]) if m and self.system else (self.original,)


def parse(name: str, folder: str = "") -> Download:
    """What ``name`` says (``folder``: the Moodle folder the file was found in, if any)."""
    if folder:
        m = _MOODLE.match(folder)
        if m:
            return Download(name, "moodle", hints=(m["uid"],), name=m["name"])
    m = _MOODLE.match(name)
    if m and m["file"]:
        return Download(m["file"], "moodle", hints=(m["uid"],), name=m["name"])
    m = _BLACKBOARD.match(name)
    if m and m["file"]:
        when = datetime.datetime.strptime(m["time"], "%Y-%m-%d-%H-%M-%S")
        return Download(m["file"], "blackboard", hints=(m["login"],), submitted=when)
    m = _CANVAS.match(name)
    if m:
        return Download(m["file"], "canvas", hints=(m["login"], m["uid"]), late=bool(m["late"]))
    return Download(name)


def is_moodle_folder(name: str) -> bool:
    return bool(_MOODLE.match(name))

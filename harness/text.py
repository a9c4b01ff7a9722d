"""Student text made safe to show: no control characters, no escape sequences.

Messages, file names and exceptions from a submission reach the TA's terminal, the
grader's log, the HTML reports and the CSV files. In a terminal an escape sequence can
retitle the window, move the cursor over earlier lines or print a link; rich would read
``[bold]`` as markup. Every place that shows student text passes it through here (HTML is
escaped by jinja2's autoescape as well).
"""

from __future__ import annotations

import re

#: C0 and C1 control characters, DEL included, except tab and newline.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: An ANSI escape sequence (CSI, OSC and the two-character ones), removed whole.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: window titles, links
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
    r"|\x1b[@-_]"
)


def printable(text: str) -> str:
    """``text`` without escape sequences and control characters (tab and newline kept)."""
    return _CONTROLS.sub("\N{REPLACEMENT CHARACTER}", _ESCAPES.sub("", text))


def printable_bytes(data: bytes) -> bytes:
    """The same for a log file's bytes (decoded leniently, encoded as UTF-8)."""
    return printable(data.decode("utf-8", errors="replace")).encode("utf-8")

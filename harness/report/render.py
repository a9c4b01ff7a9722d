"""Render the views of ``view.py`` into self-contained HTML files with jinja2.

The environment escapes every value (``autoescape=True``); only the project's own
stylesheet and script are marked safe.  Each page carries a Content-Security-Policy
that allows no source but inline styles, data-URI images and, on the class summary,
the one script whose hash it lists: a report opened from a mail or a disk never
fetches anything, and even a value that escaped escaping could not run.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from .. import __version__
from ..text import printable

TEMPLATES = Path(__file__).resolve().parent / "templates"


def points(value: Any) -> str:
    """Points as a TA writes them: 2, 0.25, 1.333."""
    try:
        return f"{round(float(value), 3):g}"
    except (TypeError, ValueError):
        return str(value)


def _printable(value: Any) -> Any:
    # Markup is the project's own (inlined styles, figures); only plain strings are data.
    if isinstance(value, str) and not isinstance(value, Markup):
        return printable(value)
    return value


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # Student text keeps no escape sequences or control characters on any page.
        finalize=_printable,
    )
    env.filters["pts"] = points
    return env


@cache
def _asset(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def script_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def timestamp() -> str:
    return datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z").strip()


def render(template: str, *, generated: str, script: bool = False, **context: Any) -> str:
    """The page ``template`` with ``context``; ``script`` embeds the table sorter."""
    code = _asset("sort.js") if script else ""
    return (
        environment()
        .get_template(template)
        .render(
            css=Markup(_asset("style.css")),
            script=Markup(code),
            script_sources=script_hash(code) if script else "'none'",
            version=__version__,
            generated=generated,
            **context,
        )
    )

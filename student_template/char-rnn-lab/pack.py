# Written by `python -m harness.pack --write-templates` from harness/pack.py and
# graders/char-rnn-lab/assignment.toml: do not edit; edit those and run it again.
"""Pack a student's assignment folder into a ZIP named the way the harness expects.

Students run it from their copy of the template, where a copy of this script sits with the
assignment's rule built in (it needs nothing but Python 3.8+)::

    python pack.py --id 12345678 --surname Müller          # in student_template/NAME/
    python -m harness.pack --assignment NAME --id 12345678 --surname Doe FOLDER
    python harness/pack.py --assignment NAME --id 12345678 [FOLDER] [--out DIR] [--force]

It checks that the assignment's required files are in FOLDER, zips FOLDER's files
(leaving out caches, virtual environments, links and files over 20 MB, with a
warning for each), refuses to overwrite an existing ZIP without ``--force`` and
prints the path and the list of files.

The name, the required files and the report's file types come from the assignment's
spec, ``graders/<assignment>/assignment.toml`` (``[submission] filename``,
``filename_example``, ``required``, ``report_suffixes``): this tool knows no assignment
of its own. The rule is a regular expression with named groups, e.g.
``^(?P<surname>[^-]+)-(?P<id>[0-9]+)\\.zip$``; the name is made by putting the student's
values into the groups of ``filename_example`` (or, where the example is prose such as
``Surname-Number.zip``, into the pattern's groups, the rest of it being literal text).
Where Python is older than 3.11 (no ``tomllib``), a small reader of the ``[submission]``
table's strings, lists and booleans stands in.

Names are Unicode: a surname may hold letters of any script, spaces, hyphens, apostrophes
and dots (``Müller``, ``García-López``, ``O'Brien``), NFC-normalised as the harness reads
them.  A name that breaks the rule is explained by the rule's example, never its regex.

``python -m harness.pack --write-templates`` writes ``student_template/<name>/pack.py``
for every assignment: this file with the assignment's ``[submission]`` table built in
(``EMBEDDED``), so that a student who has only the template can pack it; a test checks
that the copies are current.

Exit codes: 0 packed, 1 not packed (a missing file, an existing ZIP, ...), 2 bad usage.
"""

from __future__ import annotations

import argparse
import enum
import os
import re
import sys
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 20 * 1024**2
SKIP_DIRS = frozenset(
    {
        "__pycache__",
        ".ipynb_checkpoints",
        ".git",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".venv",
        "venv",
        ".idea",
        ".vscode",
    }
)
SKIP_FILES = frozenset({".DS_Store", "Thumbs.db"})
SKIP_SUFFIXES = (".pyc", ".pyo")

REPO_ROOT = Path(__file__).resolve().parent.parent
GRADERS_DIR = REPO_ROOT / "graders"
TEMPLATES_DIR = REPO_ROOT / "student_template"

#: In a template's copy of this script: the assignment and its ``[submission]`` table.
EMBEDDED: dict[str, Any] | None = {'name': 'char-rnn-lab', 'submission': {'filename': '^(?P<id>u?[0-9A-Za-z-]+)_lab5\\.zip$', 'filename_example': 'u1234567_lab5.zip', 'filename_enforced': False, 'required': ['task2_min_char_rnn.py', 'task3_min_char_lstm.py']}}


class ExitCode(enum.IntEnum):
    OK = 0
    NOT_PACKED = 1
    USAGE = 2


class PackError(Exception):
    """The folder cannot be packed as asked: the message says why and what to do."""


class PackUsageError(PackError):
    """Bad options: an unknown assignment, a missing --surname, a folder that is not there."""


@dataclass(frozen=True)
class Rule:
    """How one assignment's ZIP is named and what it must hold."""

    template: str  # e.g. "{surname}-{id}.zip"
    required: tuple[str, ...]  # paths relative to the folder (found deeper too, with a note)
    report: tuple[str, ...] = ()  # suffixes of the written report asked for (a warning if none)
    pattern: str | None = None  # the harness's regex, from the spec
    source: str = ""  # the spec file the rule comes from
    example: str = ""  # a name that follows the rule, or its prose ("Surname-Number.zip")


@dataclass(frozen=True)
class PackResult:
    path: Path  # the ZIP written
    files: tuple[str, ...]  # archive names, sorted
    skipped: tuple[tuple[str, str], ...]  # (relative path, why)
    warnings: tuple[str, ...]


# --------------------------------------------------------------------------- the rule


def _template_from_example(pattern: str, example: str) -> str | None:
    """Turn an example name into a template by replacing each named group's match."""
    match = re.match(pattern, example)
    if not match:
        return None
    spans = sorted(
        (match.span(name), name) for name in match.re.groupindex if match.group(name) is not None
    )
    template, last = "", 0
    for (start, end), name in spans:
        if start < last:
            return None  # nested groups: give up
        template += example[last:start].replace("{", "{{").replace("}", "}}") + "{" + name + "}"
        last = end
    return template + example[last:].replace("{", "{{").replace("}", "}}")


def _template_from_pattern(pattern: str) -> str | None:
    """``^(?P<surname>[A-Za-z]+)-(?P<id>[0-9]+)\\.zip$`` -> ``{surname}-{id}.zip``: each
    named group becomes a field; None unless everything else is literal text."""
    body = pattern[1:] if pattern.startswith("^") else pattern
    if body.endswith("$") and not body.endswith("\\$"):
        body = body[:-1]
    template, i = "", 0
    while i < len(body):
        char = body[i]
        if body.startswith("(?P<", i):
            end = _group_end(body, i)
            if end is None:
                return None
            template += "{" + body[i + 4 : body.index(">", i)] + "}"
            i = end + 1
        elif char == "\\" and i + 1 < len(body) and not body[i + 1].isalnum():
            template += body[i + 1].replace("{", "{{").replace("}", "}}")
            i += 2
        elif char.isalnum() or char in "_- ":
            template += char
            i += 1
        else:
            return None
    return template


def _group_end(text: str, start: int) -> int | None:
    """Where the group opened at ``start`` closes (escapes and [classes] skipped)."""
    depth, i, in_class = 0, start, False
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def _read_submission_table(spec: Path) -> dict[str, Any]:
    """The ``[submission]`` table of a spec file."""
    text = spec.read_text(encoding="utf-8")
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        return _submission_table_without_tomllib(text, spec)
    try:
        table = tomllib.loads(text).get("submission", {})
    except tomllib.TOMLDecodeError as exc:
        raise PackError(f"{spec} is not valid TOML: {exc}") from None
    return table if isinstance(table, dict) else {}


_TABLE_HEADER = re.compile(r"^\s*\[\s*([^\]]*?)\s*\]\s*(?:#.*)?$")
_TOKEN = re.compile(
    r"""\s+|\#[^\n]*
    |(?P<basic>"(?:[^"\\\n]|\\.)*")
    |(?P<literal>'[^'\n]*')
    |(?P<word>[A-Za-z0-9_.+-]+)
    |(?P<punct>[\[\],=])""",
    re.VERBOSE,
)
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}


def _submission_table_without_tomllib(text: str, spec: Path) -> dict[str, Any]:
    """The ``[submission]`` table, read without tomllib: keys set to strings, booleans,
    integers and (nested, multi-line) lists of them, which is all a spec puts there."""
    body, inside = [], False
    for line in text.splitlines():
        header = _TABLE_HEADER.match(line)
        if header and not line.lstrip().startswith("[["):
            inside = header.group(1) == "submission"
        elif inside:
            body.append(line)
    text = "\n".join(body)
    cannot = PackError(f"{spec}: this Python cannot read its [submission] table; use 3.11+")
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or text.startswith(('"""', "'''"), position):
            raise cannot
        position = match.end()
        if match.lastgroup is not None:
            tokens.append((match.lastgroup, match.group(match.lastgroup)))

    def value(at: int) -> tuple[Any, int]:
        kind, token = tokens[at]
        if kind == "basic":
            return _unescape(token[1:-1]), at + 1
        if kind == "literal":
            return token[1:-1], at + 1
        if token in ("true", "false"):
            return token == "true", at + 1
        if re.fullmatch(r"[+-]?[0-9_]+", token):
            return int(token.replace("_", "")), at + 1
        if token != "[":
            raise ValueError(token)
        items: list[Any] = []
        at += 1
        while tokens[at][1] != "]":
            item, at = value(at)
            items.append(item)
            if tokens[at][1] == ",":
                at += 1
        return items, at + 1

    table: dict[str, Any] = {}
    at = 0
    try:
        while at < len(tokens):
            key, equals = tokens[at][1], tokens[at + 1][1]
            if equals != "=":
                raise ValueError(equals)
            table[key.strip("\"'")], at = value(at + 2)
    except (IndexError, ValueError):
        raise cannot from None
    return table


def _unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        escape = match.group(1)
        if escape[0] in "uU":
            return chr(int(escape[1:], 16))
        return _ESCAPES[escape]

    return re.sub(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|[btnfr\"\\])", one, text)


def known_assignments(graders_dir: Path | None = None) -> list[str]:
    """The assignments with a spec file in the graders folder."""
    folder = graders_dir or GRADERS_DIR
    if not folder.is_dir():
        return []
    return sorted(p.parent.name for p in folder.glob("*/assignment.toml"))


def load_rule(assignment: str | None, graders_dir: Path | None = None) -> Rule:
    """The naming rule, required files and report types of ``assignment``, from its spec
    (or from the table built into a template's copy of this script)."""
    if EMBEDDED is not None and graders_dir is None and assignment in (None, EMBEDDED["name"]):
        return rule_from_table(EMBEDDED["submission"], f"{EMBEDDED['name']}'s rule")
    if assignment is None:
        known = ", ".join(known_assignments(graders_dir)) or "none"
        raise PackUsageError(f"give --assignment (one of: {known})")
    spec = (graders_dir or GRADERS_DIR) / assignment / "assignment.toml"
    if not spec.is_file():
        known = ", ".join(known_assignments(graders_dir)) or "none"
        raise PackUsageError(f"unknown assignment {assignment!r} (known: {known})")
    return rule_from_table(_read_submission_table(spec), str(spec))


def rule_from_table(sub: dict[str, Any], source: str) -> Rule:
    """A ``Rule`` from a spec's ``[submission]`` table."""
    pattern = sub.get("filename")
    example = sub.get("filename_example")
    template = None
    if isinstance(pattern, str) and isinstance(example, str):
        template = _template_from_example(pattern, example)
    if template is None and isinstance(pattern, str):
        template = _template_from_pattern(pattern)
    if template is None:
        raise PackError(
            f"{source}: [submission] needs a filename pattern whose named groups are the only "
            "parts that vary, or a filename_example that matches it, to know how to name the ZIP"
        )
    required = sub.get("required", [])
    report = sub.get("report_suffixes", [])
    return Rule(
        template=template,
        required=tuple(str(r) for r in required) if isinstance(required, list) else (),
        report=tuple(str(r) for r in report) if isinstance(report, list) else (),
        pattern=pattern,
        source=source,
        example=example if isinstance(example, str) else template,
    )


#: A value of the name: letters of any script and digits; inside, also spaces, hyphens,
#: apostrophes (' and ’) and dots (Müller, García-López, O'Brien, van der Berg, St. John).
_VALUE = re.compile(r"^[^\W_](?:[\w '’.-]*[^\W_])?$")
#: What a group of the rule takes, in words, for the patterns the specs use.
_GROUP_WORDS = {"[0-9]+": "digits only", r"\d+": "digits only"}


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _group_words(pattern: str, name: str) -> str:
    """Words for a group: "digits only" for ``(?P<id>[0-9]+)``, else ""."""
    start = pattern.find(f"(?P<{name}>")
    if start < 0:
        return ""
    end = _group_end(pattern, start)
    body = pattern[start + len(name) + 5 : end] if end is not None else ""
    return _GROUP_WORDS.get(body, "")


def zip_name(rule: Rule, *, student_id: str, surname: str | None = None) -> str:
    """The ZIP's file name for this student, checked against the rule's pattern."""
    fields = re.findall(r"(?<!\{)\{(\w+)\}", rule.template)
    values: dict[str, str] = {}
    shape = f"{rule.example!r}" if rule.example else f"{rule.template!r}"
    for name in fields:
        value: str | None
        if name == "id":
            value, option = student_id, "--id"
        elif "name" in name:  # surname, lastname, name, family_name, ...
            value, option = surname, "--surname"
        else:
            raise PackError(
                f"the naming rule {rule.template!r} ({rule.source}) has a field "
                f"{{{name}}} that this tool cannot fill"
            )
        if not value:
            raise PackUsageError(f"the ZIP must be named like {shape}: give {option}")
        value = _nfc(value.strip())
        if not _VALUE.match(value):
            raise PackUsageError(
                f"{option} {value!r} must be letters (of any script) and digits, with inner "
                "spaces, hyphens, apostrophes or dots only (no slashes or other signs)"
            )
        values[name] = value
    name = rule.template.format(**values)
    if rule.pattern and not re.match(rule.pattern, name):
        wants = [
            f"{option} {words}"
            for field, option in (("id", "--id"), ("surname", "--surname"))
            for words in [_group_words(rule.pattern, field)]
            if words and field in fields
        ]
        hint = f" ({'; '.join(wants)})" if wants else ""
        raise PackUsageError(
            f"{name!r} does not match the assignment's naming rule: the ZIP must be named "
            f"like {shape}; check --id and --surname{hint}"
        )
    return name


# --------------------------------------------------------------------------- the files


def collect(
    folder: Path, *, exclude: Path | None = None
) -> tuple[list[str], list[tuple[str, str]]]:
    """The files to pack (relative POSIX paths, sorted) and those left out, with why."""
    files: list[str] = []
    skipped: list[tuple[str, str]] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        for d in sorted(dirnames):
            rel = (here / d).relative_to(folder).as_posix()
            if d in SKIP_DIRS or d.endswith(".egg-info"):
                dirnames.remove(d)
            elif (here / d).is_symlink():
                dirnames.remove(d)
                skipped.append((rel + "/", "a link (the harness rejects links)"))
        for f in sorted(filenames):
            path = here / f
            rel = path.relative_to(folder).as_posix()
            if f in SKIP_FILES or f.endswith(SKIP_SUFFIXES):
                continue
            if exclude is not None and path.resolve() == exclude.resolve():
                continue  # the ZIP being written
            if EMBEDDED is not None and path.resolve() == Path(__file__).resolve():
                continue  # this script, in the template: not part of the hand-in
            if path.is_symlink():
                skipped.append((rel, "a link (the harness rejects links)"))
            elif not path.is_file():
                skipped.append((rel, "not a regular file"))
            elif path.stat().st_size > MAX_FILE_BYTES:
                size = path.stat().st_size / 1024**2
                skipped.append(
                    (
                        rel,
                        f"{size:.0f} MB, over the {MAX_FILE_BYTES // 1024**2} MB "
                        "limit: the graders bring their own data",
                    )
                )
            else:
                files.append(rel)
    return sorted(files), skipped


def find_required(files: list[str], required: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Required paths that are missing, and notes for those found only deeper."""
    missing, notes = [], []
    for req in required:
        if req in files:
            continue
        deeper = [f for f in files if f.endswith("/" + req)]
        if deeper:
            notes.append(f"{req} found as {deeper[0]}")
        else:
            missing.append(req)
    return missing, notes


def pack(
    folder: str | Path,
    *,
    assignment: str | None,
    student_id: str,
    surname: str | None = None,
    out_dir: str | Path | None = None,
    force: bool = False,
    allow_missing: bool = False,
    graders_dir: Path | None = None,
) -> PackResult:
    """Write FOLDER's files into a correctly named ZIP in ``out_dir`` (default: the cwd)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PackUsageError(f"{folder} is not a folder")
    rule = load_rule(assignment, graders_dir)
    name = zip_name(rule, student_id=student_id, surname=surname)
    target = Path(out_dir if out_dir is not None else Path.cwd()) / name
    if target.exists() and not force:
        raise PackError(f"{target} already exists: add --force to overwrite it")

    files, skipped = collect(folder, exclude=target)
    if rule.pattern:  # an earlier ZIP of this tool's, left in the folder
        earlier = [f for f in files if re.match(rule.pattern, _nfc(f.rsplit("/", 1)[-1]))]
        files = [f for f in files if f not in earlier]
        skipped += [(f, "an earlier ZIP named by the rule") for f in earlier]
    if not files:
        raise PackError(f"{folder} holds no files to pack")
    warnings = [f"left out {rel}: {why}" for rel, why in skipped]
    missing, notes = find_required(files, rule.required)
    warnings += notes
    if missing:
        message = (
            f"{folder} lacks the required file(s) {', '.join(missing)} for "
            f"{assignment or 'this assignment'} (paths relative to the folder you pack)"
        )
        if not allow_missing:
            raise PackError(
                message + "; pack the folder that holds them, or add --allow-missing to pack anyway"
            )
        warnings.append(message)
    if rule.report and not any(f.lower().endswith(rule.report) for f in files):
        warnings.append(
            f"no report ({' or '.join(rule.report)}) in {folder}: the hand-out "
            "asks for one inside the ZIP"
        )

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for rel in files:
            archive.write(folder / rel, arcname=rel)
    os.replace(partial, target)
    return PackResult(
        path=target, files=tuple(files), skipped=tuple(skipped), warnings=tuple(warnings)
    )


# --------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    embedded = EMBEDDED is not None
    parser = argparse.ArgumentParser(
        prog="python pack.py" if embedded else "python -m harness.pack",
        description="Pack an assignment folder into a ZIP named as the graders expect"
        + (
            f" ({EMBEDDED['name']}: {EMBEDDED['submission'].get('filename_example', '')})"
            if EMBEDDED is not None
            else ""
        )
        + ".",
    )
    parser.add_argument(
        "folder", nargs="?", default=".", help="the folder to pack (default: the current folder)"
    )
    parser.add_argument(
        "--assignment",
        required=not embedded,
        default=EMBEDDED["name"] if EMBEDDED is not None else None,
        help=f"the assignment: {', '.join(known_assignments()) or 'a folder of graders/'}"
        if not embedded
        else f"the assignment (default: {EMBEDDED['name'] if EMBEDDED else ''})",
    )
    parser.add_argument(
        "--id", dest="student_id", required=True, help="your student (matriculation) number"
    )
    parser.add_argument("--surname", help="your surname, where the ZIP's name holds it")
    parser.add_argument("--out", dest="out_dir", help="where to write the ZIP (default: here)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing ZIP")
    parser.add_argument(
        "--allow-missing", action="store_true", help="pack even if a required file is missing"
    )
    parser.add_argument("--graders", type=Path, default=None, help=argparse.SUPPRESS)
    return parser


def template_copy(assignment: str, graders_dir: Path | None = None) -> str:
    """This script with ``assignment``'s ``[submission]`` table built in (``EMBEDDED``)."""
    spec = (graders_dir or GRADERS_DIR) / assignment / "assignment.toml"
    table = _read_submission_table(spec)
    source = Path(__file__).read_text(encoding="utf-8")
    marker = "EMBEDDED: dict[str, Any] | None = None\n"
    if marker not in source:
        raise PackError("this script is a template's copy: run harness/pack.py instead")
    embedded = {"name": assignment, "submission": table}
    header = (
        "# Written by `python -m harness.pack --write-templates` from harness/pack.py and\n"
        f"# graders/{assignment}/assignment.toml: do not edit; edit those and run it again.\n"
    )
    return header + source.replace(marker, f"EMBEDDED: dict[str, Any] | None = {embedded!r}\n")


def write_templates(templates: Path | None = None) -> list[Path]:
    """``student_template/<name>/pack.py`` for every assignment with a template folder."""
    written = []
    for assignment in known_assignments():
        folder = (templates or TEMPLATES_DIR) / assignment
        if folder.is_dir():
            (folder / "pack.py").write_text(template_copy(assignment), encoding="utf-8")
            written.append(folder / "pack.py")
    return written


def main(argv: list[str] | None = None) -> int:
    if (sys.argv[1:] if argv is None else argv) == ["--write-templates"]:
        for path in write_templates():
            print(f"wrote {path}")
        return ExitCode.OK
    args = build_parser().parse_args(argv)
    try:
        result = pack(
            args.folder,
            assignment=args.assignment,
            student_id=args.student_id,
            surname=args.surname,
            out_dir=args.out_dir,
            force=args.force,
            allow_missing=args.allow_missing,
            graders_dir=args.graders,
        )
    except PackUsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except PackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.NOT_PACKED
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"wrote {result.path} with {len(result.files)} file(s):")
    for rel in result.files:
        print(f"  {rel}")
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())

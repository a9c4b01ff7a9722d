"""Find the files an assignment requires wherever the student put them.

Students rarely reproduce the template's layout exactly. Their files may sit at the
top of the ZIP, inside a folder named after them (or several nested folders), next
to old copies, or inside a ZIP inside the ZIP. ``locate`` maps each template path
(such as ``part1/model.py``) to the file that best plays its role:

1. the file at the template position under the *root*: the folder holding the most
   required files at their template-relative positions;
2. otherwise a file whose path ends with the full template path (``*/part1/model.py``);
3. otherwise a file with the same base name anywhere;
4. otherwise a file whose base name differs only in upper/lower case (with a note).

Among several equally good candidates the one under the root wins; if that does
not settle it, copies with identical content are interchangeable, and anything else
is reported as ambiguous rather than guessed. ZIPs inside the ZIP are unpacked
(with ``extract_zip``, sharing the outer ZIP's limits) only when required files are
missing without them.

``materialize`` then builds the tree the checks expect, and ``describe_problems``
words what is missing or ambiguous for the student.
"""

from __future__ import annotations

import difflib
import filecmp
import os
import shutil
import stat
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from .errors import ArchiveError, ArchiveLimitError, LayoutError, SpecError, UnsafeEntryError
from .intake import DEFAULT_LIMITS, Extracted, ExtractionLimits, extract_zip

#: Folder, inside the extracted root, that nested ZIPs are unpacked into (a suffix
#: such as ``-2`` is added if the student's own files already use the name).
NESTED_DIR = ".nested"
_LIST_AT_MOST = 15


@dataclass(frozen=True)
class Layout:
    """Where the template's files are in one extracted submission."""

    root: Path  #: the folder that plays the role of the template's top folder
    files: Mapping[str, Path]  #: template path -> the file found (absolute)
    missing: tuple[str, ...]  #: required template paths not found
    #: template path -> the candidates (as the student sees them) when none is best
    ambiguous: Mapping[str, tuple[str, ...]]
    notes: tuple[str, ...]  #: plain-English notes for the report
    #: every file considered, as the student sees it; a file inside a nested ZIP
    #: shows as ``code.zip/part1/model.py``
    contents: tuple[str, ...] = ()
    #: the folder nested ZIPs were unpacked into, which ``materialize`` leaves out
    unpacked_into: Path | None = None


@dataclass(frozen=True)
class _Match:
    root: str  # "" or a folder key ending in "/"
    chosen: dict[str, tuple[str, str]]  # template -> (file key, how it matched)
    missing: tuple[str, ...]
    ambiguous: dict[str, tuple[str, ...]]  # template -> file keys
    copies: dict[str, tuple[str, ...]]  # template -> identical candidates, one chosen


def locate(
    extracted: Extracted,
    *,
    required: Sequence[str],
    optional: Sequence[str] = (),
    limits: ExtractionLimits = DEFAULT_LIMITS,
) -> Layout:
    """Find ``required`` and ``optional`` template paths in ``extracted``.

    Never raises for missing or ambiguous files: they are listed in the result, and
    ``describe_problems`` words them. Raises ``ArchiveLimitError`` or
    ``UnsafeEntryError`` when a nested ZIP breaks the limits shared with the outer one.
    """
    required = _template_paths(required, "required")
    optional = tuple(t for t in _template_paths(optional, "optional") if t not in required)
    base = extracted.root
    # Keys are paths relative to base; pool maps them to what the student would
    # recognise, which differs only for files from nested ZIPs.
    pool: dict[str, str] = {f: f for f in extracted.files}
    zips: dict[str, str] = {}  # folder key of an unpacked nested ZIP -> the ZIP's name
    notes: list[str] = []
    match = _match(base, pool, required, optional)
    unpacked_into = None
    if match.missing and limits.max_depth > 0:
        unpacked_into, match = _unpack_nested(
            extracted, pool, zips, notes, match, required, optional, limits
        )

    if match.root:
        if match.root.rstrip("/") in zips:
            notes.append(f"your files were inside the nested ZIP {zips[match.root.rstrip('/')]!r}")
        else:
            notes.append(f"your files were inside the folder {_show(match.root, zips)!r}")
    for template, (key, how) in match.chosen.items():
        if template in match.copies:
            copies = [pool[k] for k in match.copies[template]]
            notes.append(
                f"{template!r} was found at {_join(copies)} with identical content; "
                f"used {pool[key]!r}"
            )
        elif key == match.root + template:
            continue
        elif how == "case":
            notes.append(
                f"used {pool[key]!r} for {template!r} (the names differ in upper/lower case)"
            )
        else:
            notes.append(f"used {pool[key]!r} for {template!r}")

    return Layout(
        root=base / match.root if match.root else base,
        files={t: base / key for t, (key, _) in match.chosen.items()},
        missing=match.missing,
        ambiguous={t: tuple(pool[k] for k in keys) for t, keys in match.ambiguous.items()},
        notes=tuple(notes),
        contents=tuple(sorted(pool.values())),
        unpacked_into=unpacked_into,
    )


def _template_paths(paths: Sequence[str], what: str) -> tuple[str, ...]:
    if isinstance(paths, str):
        raise TypeError(f"{what} must be a sequence of paths, not the string {paths!r}")
    for path in paths:
        pure = PurePosixPath(path)
        if (
            not path
            or "\\" in path
            or pure.is_absolute()
            or ".." in pure.parts
            or (pure.as_posix() != path)
        ):
            raise SpecError(
                f"{what} file {path!r} must be a relative POSIX path such as 'part1/model.py'"
            )
    return tuple(dict.fromkeys(paths))


def _base(key: str) -> str:
    return key.rsplit("/", 1)[-1]


def _parent(key: str) -> str:
    return key.rsplit("/", 1)[0] + "/" if "/" in key else ""


def _common_dir(folders: Iterable[str]) -> str:
    split = [f.rstrip("/").split("/") if f else [] for f in folders]
    if not split:
        return ""
    common: list[str] = []
    for parts in zip(*split, strict=False):
        if any(p != parts[0] for p in parts):
            break
        common.append(parts[0])
    return "/".join(common) + "/" if common else ""


def _show(key: str, zips: Mapping[str, str]) -> str:
    for folder, shown in zips.items():
        if key.startswith(folder + "/"):
            return shown + "/" + key[len(folder) + 1 :]
    return key


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _match(
    base: Path, pool: Mapping[str, str], required: Sequence[str], optional: Sequence[str]
) -> _Match:
    by_name: dict[str, list[str]] = defaultdict(list)
    by_folded: dict[str, list[str]] = defaultdict(list)
    for key in sorted(pool):
        by_name[_base(key)].append(key)
        by_folded[_base(key).casefold()].append(key)

    def at_position(template: str) -> list[str]:
        return [k for k in by_name[_base(template)] if k == template or k.endswith("/" + template)]

    # Each folder scores the required (then optional) templates it holds in place.
    scores: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for group_index, group in enumerate((required, optional)):
        for template in group:
            for folder in {k[: len(k) - len(template)] for k in at_position(template)}:
                scores[folder][group_index] += 1
    tied: list[str] = []
    if scores:
        best = max(scores.values())
        tied = sorted(f for f, s in scores.items() if s == best)
    # A tie (two complete copies of the project, say) is not broken by guessing.
    root = tied[0] if len(tied) == 1 else None
    claimed = {root + t for t in (*required, *optional) if root is not None and root + t in pool}

    chosen: dict[str, tuple[str, str]] = {}
    missing: list[str] = []
    ambiguous: dict[str, tuple[str, ...]] = {}
    copies: dict[str, tuple[str, ...]] = {}
    for template in (*required, *optional):
        if root is not None and root + template in pool:
            chosen[template] = (root + template, "exact")
            continue
        name = _base(template)
        tiers = (
            ("path", at_position(template)),
            ("name", by_name[name]),
            ("case", by_folded[name.casefold()]),
        )
        how, candidates = next(
            ((h, [k for k in c if k not in claimed]) for h, c in tiers if set(c) - claimed),
            ("", []),
        )
        if not candidates:
            if template in required:
                missing.append(template)
            continue
        if len(candidates) > 1 and root is not None:
            under_root = [k for k in candidates if k.startswith(root)]
            candidates = under_root or candidates
        if len(candidates) == 1:
            chosen[template] = (candidates[0], how)
        elif _identical([base / k for k in candidates]):
            chosen[template] = (min(candidates, key=lambda k: (k.count("/"), k)), how)
            copies[template] = tuple(candidates)
        else:
            ambiguous[template] = tuple(candidates)

    if root is None:
        if tied:
            root = _common_dir(tied)
        elif chosen:
            root = _common_dir(_parent(key) for key, _ in chosen.values())
        else:
            root = _common_dir(_parent(key) for key in pool)
    return _Match(
        root=root, chosen=chosen, missing=tuple(missing), ambiguous=ambiguous, copies=copies
    )


def _identical(paths: Sequence[Path]) -> bool:
    first = paths[0]
    return all(filecmp.cmp(first, other, shallow=False) for other in paths[1:])


def _unpack_nested(
    extracted: Extracted,
    pool: dict[str, str],
    zips: dict[str, str],
    notes: list[str],
    match: _Match,
    required: Sequence[str],
    optional: Sequence[str],
    limits: ExtractionLimits,
) -> tuple[Path | None, _Match]:
    """Unpack ZIPs in the ZIP, level by level, until nothing required is missing."""
    base = extracted.root
    template_names = {_base(t) for t in (*required, *optional)}

    def nested_zips(keys: Iterable[str]) -> list[str]:
        return sorted(
            k for k in keys if k.lower().endswith(".zip") and _base(k) not in template_names
        )

    # The limits are for the whole submission, so each nested ZIP gets what is left.
    bytes_left = limits.max_total_bytes - extracted.bytes_written
    entries_left = limits.max_entries - len(extracted.files) - len(extracted.ignored)
    folder: Path | None = None
    frontier = nested_zips(pool)
    depth = 1
    while frontier and match.missing:
        if depth > limits.max_depth:
            shown = [repr(pool[k]) for k in frontier]
            notes.append(
                f"did not unpack {_join(shown)}: ZIPs nested more than {limits.max_depth} "
                "deep are not unpacked"
            )
            break
        next_frontier: list[str] = []
        for key in frontier:
            shown_zip = pool[key]
            if folder is None:
                folder = _fresh(base, NESTED_DIR)
                folder.mkdir(mode=0o755)
            dest = _fresh(folder, _base(key))
            budget = replace(
                limits, max_total_bytes=max(bytes_left, 0), max_entries=max(entries_left, 0)
            )
            try:
                sub = extract_zip(base / key, dest, limits=budget)
            except (ArchiveLimitError, UnsafeEntryError) as exc:
                raise type(exc)(
                    f"in the nested ZIP {shown_zip!r} (which shares the limits of the ZIP "
                    f"holding it): {exc}"
                ) from None
            except ArchiveError as exc:
                notes.append(f"could not unpack the nested ZIP {shown_zip!r}: {exc}")
                continue
            bytes_left -= sub.bytes_written
            entries_left -= len(sub.files) + len(sub.ignored)
            prefix = dest.relative_to(base).as_posix()
            zips[prefix] = shown_zip
            notes.append(f"unpacked the nested ZIP {shown_zip!r}")
            new_keys = [f"{prefix}/{f}" for f in sub.files]
            for key_in_zip, f in zip(new_keys, sub.files, strict=True):
                pool[key_in_zip] = f"{shown_zip}/{f}"
            next_frontier += nested_zips(new_keys)
        match = _match(base, pool, required, optional)
        frontier = next_frontier
        depth += 1
    return folder, match


def _fresh(parent: Path, name: str) -> Path:
    candidate = parent / name
    suffix = 2
    while candidate.exists() or candidate.is_symlink():
        candidate = parent / f"{name}-{suffix}"
        suffix += 1
    return candidate


def materialize(layout: Layout, dest: Path) -> Path:
    """Build the template's tree in ``dest`` (which must not exist or be empty).

    Copies ``layout.root``'s tree, then puts each found file that is not already at
    ``dest/<template path>`` there. Symbolic links are neither followed nor copied.
    """
    dest = Path(dest)
    if dest.exists() or dest.is_symlink():
        if dest.is_symlink() or not dest.is_dir() or any(dest.iterdir()):
            raise FileExistsError(f"cannot build the submission in {dest}: not an empty folder")
    else:
        dest.mkdir(parents=True, mode=0o755)
    _copy_tree(layout.root, dest, skip=layout.unpacked_into)
    for template, source in layout.files.items():
        if source.is_relative_to(layout.root) and (
            source.relative_to(layout.root).as_posix() == template
        ):
            continue
        if not stat.S_ISREG(os.lstat(source).st_mode):
            raise LayoutError(f"{source} (found for {template!r}) is not a regular file")
        target = dest / template
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.exists():
            raise LayoutError(
                f"cannot put {template!r} in place: the submission has a folder of that name"
            )
        shutil.copyfile(source, target, follow_symlinks=False)
        os.chmod(target, 0o644)
    return dest


def _copy_tree(source: Path, dest: Path, *, skip: Path | None) -> None:
    with os.scandir(source) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        path = Path(entry.path)
        if path == skip or entry.is_symlink():
            continue
        if entry.is_dir(follow_symlinks=False):
            os.mkdir(dest / entry.name, 0o755)
            _copy_tree(path, dest / entry.name, skip=skip)
        elif entry.is_file(follow_symlinks=False):
            shutil.copyfile(path, dest / entry.name, follow_symlinks=False)
            os.chmod(dest / entry.name, 0o644)


def describe_problems(layout: Layout) -> list[str]:
    """One message per missing or ambiguous file, worded for the student."""
    messages = [_missing_message(t, layout.contents) for t in layout.missing]
    messages += [
        f"{template!r} is ambiguous: found at {_join(candidates)}; keep only the copy "
        "you want graded"
        for template, candidates in layout.ambiguous.items()
    ]
    return messages


def _missing_message(template: str, contents: Sequence[str]) -> str:
    message = f"required file {template!r} not found"
    if not contents:
        return message + "; your ZIP contains no files"
    similar = [p for p in contents if _looks_like(_base(template), _base(p))][:3]
    if similar:
        message += f" (did you mean {' or '.join(repr(p) for p in similar)}?)"
    listed = similar + [p for p in contents if p not in similar]
    message += "; your ZIP contains: " + ", ".join(listed[:_LIST_AT_MOST])
    if len(listed) > _LIST_AT_MOST:
        message += f" and {len(listed) - _LIST_AT_MOST} more"
    return message


def _looks_like(wanted: str, name: str) -> bool:
    """Whether ``name`` could be the student's version of ``wanted`` (model_final.py)."""
    # Stems only: the shared ".py" would make any two Python files look alike.
    wanted_stem, wanted_ext = os.path.splitext(wanted.casefold())
    stem, ext = os.path.splitext(name.casefold())
    if ext != wanted_ext or not stem:
        return False
    shorter, longer = sorted((wanted_stem, stem), key=len)
    if len(shorter) >= 3 and shorter in longer:
        return True
    return difflib.SequenceMatcher(None, wanted_stem, stem).ratio() >= 0.6

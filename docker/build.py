"""Build the grading image and tag it with a hash of its inputs.

    .venv/bin/python docker/build.py [--base IMAGE] [--force]

The tag is ``rnn-grader:<hash of docker/Dockerfile and docker/requirements.txt>``
(``harness.sandbox.docker.image_tag``): the Docker backend only runs an image whose
tag matches the files in this checkout, so an image built from older inputs is never
used.  If that tag exists already, nothing is done.

Steps, each of which works without an image registry:

1. the base image: ``--base`` if given (e.g. ``python:3.11-slim``, pulled if missing);
   otherwise ``python:3.11-slim`` if it is here or can be pulled; otherwise a Debian
   bookworm made with ``debootstrap`` from the mirror apt uses and ``docker import``-ed
   as ``rnn-grader-base:bookworm`` (needs root and debootstrap; about 40 s);
2. the wheels of ``requirements.txt``, downloaded on the host with pip (whatever index
   pip is configured for) into ``~/.cache/rnn-grader/wheels``, each checked against the
   file's hashes (taken from ``requirements.lock``), as the image's pip checks them again;
3. ``docker build`` with host networking, installing those wheels offline from a
   local HTTP server that lives only as long as the build.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import os
import re
import shutil
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from harness.sandbox.docker import (  # noqa: E402
    IMAGE_INPUTS,
    INPUTS_LABEL,
    connect,
    image_digest,
    image_tag,
)

DEFAULT_BASE = "python:3.11-slim"
DEBOOTSTRAP_BASE = "rnn-grader-base:bookworm"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rnn-grader"


def say(text: str) -> None:
    print(f"build: {text}", flush=True)


def debian_mirror() -> str:
    """The Debian mirror apt already uses (DEBIAN_MIRROR overrides it)."""
    if os.environ.get("DEBIAN_MIRROR"):
        return os.environ["DEBIAN_MIRROR"]
    texts = [p.read_text() for p in Path("/etc/apt").glob("sources.list.d/*.sources")]
    for text in texts:
        for uri in re.findall(r"^URIs:\s*(\S+)", text, flags=re.M):
            if not uri.rstrip("/").endswith("-security"):
                return uri
    listing = Path("/etc/apt/sources.list")
    if listing.exists():
        for uri in re.findall(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)", listing.read_text(), flags=re.M):
            if "security" not in uri:
                return uri
    return "http://deb.debian.org/debian"


def debootstrap_base(client: object) -> str:
    """A Debian bookworm with Python 3.11, imported as DEBOOTSTRAP_BASE."""
    from docker.errors import ImageNotFound

    with contextlib.suppress(ImageNotFound):
        client.images.get(DEBOOTSTRAP_BASE)  # type: ignore[attr-defined]
        say(f"base {DEBOOTSTRAP_BASE} is here already")
        return DEBOOTSTRAP_BASE
    if os.geteuid() != 0 or not shutil.which("debootstrap"):
        sys.exit(
            "build: no base image: python:3.11-slim cannot be pulled, and making one with "
            "debootstrap needs root and `apt-get install debootstrap`; or pass --base IMAGE"
        )
    mirror = debian_mirror()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="rnn-grader-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        say(f"debootstrap bookworm from {mirror} (about 40 s)")
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=python3,python3-venv",
                "bookworm",
                str(rootfs),
                mirror,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        # The host's name server and the package cache have no place in the image.
        for leftover in ("etc/resolv.conf", "etc/hostname"):
            (rootfs / leftover).unlink(missing_ok=True)
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for f in (rootfs / cache).glob("*"):
                if f.is_file():
                    f.unlink()
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        client.api.import_image(  # type: ignore[attr-defined]
            src=tar.stdout,
            repository=DEBOOTSTRAP_BASE.split(":")[0],
            tag=DEBOOTSTRAP_BASE.split(":")[1],
            changes=['CMD ["/bin/sh"]'],
        )
        if tar.wait() != 0:
            sys.exit("build: tar of the debootstrap tree failed")
    say(f"imported {DEBOOTSTRAP_BASE} in {time.monotonic() - started:.0f} s")
    return DEBOOTSTRAP_BASE


def choose_base(client: object, wanted: str | None) -> str:
    from docker.errors import APIError, ImageNotFound

    name = wanted or DEFAULT_BASE
    with contextlib.suppress(ImageNotFound):
        client.images.get(name)  # type: ignore[attr-defined]
        return name
    try:
        say(f"pulling {name}")
        client.images.pull(name)  # type: ignore[attr-defined]
        return name
    except APIError as exc:
        if wanted:
            sys.exit(f"build: cannot pull --base {wanted}: {exc.explanation or exc}")
        say(f"cannot pull {name} (no registry?): making a Debian base with debootstrap")
    return debootstrap_base(client)


def download_wheels() -> Path:
    wheels = CACHE / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    say(f"downloading the wheels of requirements.txt into {wheels} (pip, on the host)")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "-r",
            str(HERE / "requirements.txt"),
            "-d",
            str(wheels),
        ],
        check=True,
    )
    return wheels


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """An HTTP server on the loopback for ``folder``, for the length of the block."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/"
        finally:
            server.shutdown()


def build(client: object, base: str, wheels: Path, tag: str) -> None:
    with tempfile.TemporaryDirectory(prefix="rnn-grader-context-") as tmp:
        for name in IMAGE_INPUTS:
            shutil.copy(HERE / name, Path(tmp) / name)
        with serve(wheels) as url:
            say(f"docker build {tag} FROM {base}")
            stream = client.api.build(  # type: ignore[attr-defined]
                path=tmp,
                tag=tag,
                rm=True,
                forcerm=True,
                network_mode="host",
                decode=True,
                buildargs={"BASE": base, "WHEELS": url},
                labels={INPUTS_LABEL: image_digest(), "rnn-grader.base": base},
            )
            for chunk in stream:
                if "error" in chunk:
                    sys.exit(f"build: docker build failed: {chunk['error'].strip()}")
                text = chunk.get("stream", "")
                if text.strip():
                    print("  " + text.rstrip(), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", help=f"base image (default {DEFAULT_BASE}, else debootstrap)")
    parser.add_argument("--force", action="store_true", help="build even if the tag exists")
    args = parser.parse_args()
    from docker.errors import ImageNotFound

    client = connect()
    tag = image_tag()
    if not args.force:
        with contextlib.suppress(ImageNotFound):
            client.images.get(tag)
            say(f"{tag} is up to date")
            return 0
    started = time.monotonic()
    base = choose_base(client, args.base)
    wheels = download_wheels()
    build(client, base, wheels, tag)
    size = client.images.get(tag).attrs["Size"] / 1e9
    say(f"built {tag} ({size:.1f} GB) in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

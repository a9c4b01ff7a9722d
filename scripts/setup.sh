#!/usr/bin/env bash
# Installs what is missing, and nothing else: Debian packages the sandbox needs
# (when run as root), and the project's virtual environment from requirements.lock (every
# package pinned and hashed; `make lock` rewrites it from pyproject.toml).
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "setup: please install these system packages: ${missing[*]}" >&2
        return 0
    fi
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# bubblewrap: the sandbox; chromium: the report tests open the pages in a headless browser.
apt_install bubblewrap chromium

# The stamp names the lock and pyproject.toml it installed: a change to either reinstalls.
stamp=".venv/.installed-$(cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    if [ ! -x .venv/bin/python ]; then
        echo "setup: creating .venv with $("$PYTHON" --version)"
        "$PYTHON" -m venv .venv
    fi
    echo "setup: installing requirements.lock into .venv (torch takes a minute)"
    pip=(.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps)
    "${pip[@]}" --require-hashes -r requirements.lock
    # The project itself, editable, without resolving: its dependencies are the lock's, and so
    # is the setuptools that builds it (setuptools' notice that this is editable, muted).
    PYTHONWARNINGS="ignore:Editable installation" "${pip[@]}" --no-build-isolation -e .
    rm -f .venv/.installed-*
    touch "$stamp"
fi

# Pride and Prejudice for the language-model assignment (the Debian package's files only).
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    bash scripts/fetch_austen.sh >/dev/null || echo "setup: could not fetch the Austen novels" >&2
fi

#!/usr/bin/env bash
# `make lock`: re-resolves requirements.lock from pyproject.toml with pip-tools (pinned in the
# dev extra), derives docker/requirements.txt from it, prints the pins that moved and installs
# the result into .venv.
#
#   bash scripts/lock.sh [PACKAGE ...]   # the PACKAGEs move to the newest versions allowed
#
# Every other pin stays where it is for as long as pyproject.toml allows it.
set -euo pipefail
cd "$(dirname "$0")/.."
LOCK=requirements.lock

# name==version, one a line, sorted (the lock's hashes and comments left out).
pins() { sed -n 's/^\([A-Za-z0-9][A-Za-z0-9._-]*==[^ ]*\).*/\1/p' "$1" | sort; }

bash scripts/setup.sh  # pip-compile comes from the lock, into .venv
old=$(mktemp)
trap 'rm -f "$old"' EXIT
pins "$LOCK" >"$old"
upgrade=()
for name in "$@"; do upgrade+=("--upgrade-package=$name"); done

echo "lock: resolving pyproject.toml into $LOCK${*:+ (upgrading $*)}"
CUSTOM_COMPILE_COMMAND="make lock" .venv/bin/pip-compile --quiet --generate-hashes \
    --extra=dev --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links \
    "${upgrade[@]}" --output-file="$LOCK" pyproject.toml
.venv/bin/python docker/lock.py

if pins "$LOCK" | diff -q "$old" - >/dev/null; then
    echo "lock: no pin moved"
else
    echo "lock: pins that moved (- before, + now):"
    pins "$LOCK" | diff --unchanged-line-format= --old-line-format='  - %L' \
        --new-line-format='  + %L' "$old" - || true
fi
bash scripts/setup.sh  # .venv follows the new lock

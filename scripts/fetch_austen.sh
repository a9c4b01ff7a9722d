#!/usr/bin/env bash
# Puts Jane Austen's novels (the Debian package r-cran-janeaustenr, an R lazy-load
# database) into data/janeaustenr/ at the repository root, for the recurrent-layers-lm
# assignment's data.py (read there with the PyPI package rdata; no R needed).
# Safe to run again: does nothing when the files are there. Needs root for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

DEST=data/janeaustenr
DATA_DIR=$DEST/usr/lib/R/site-library/janeaustenr/data

if [ -f "$DATA_DIR/Rdata.rdb" ] && [ -f "$DATA_DIR/Rdata.rdx" ]; then
    echo "fetch_austen: already there: $DATA_DIR"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "fetch_austen: must run as root (it calls apt-get), or do by hand:" >&2
    echo "  apt-get download r-cran-janeaustenr && dpkg -x r-cran-janeaustenr_*.deb $DEST" >&2
    exit 1
fi
for tool in apt-get dpkg; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "fetch_austen: $tool not found: this script needs a Debian-based system" >&2
        exit 1
    fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"   # apt-get download writes as the _apt user where it can
download() { (cd "$work" && apt-get download -qq r-cran-janeaustenr 2>/dev/null); }
if ! download; then
    echo "fetch_austen: apt-get update (the package lists are missing or old)"
    apt-get update -qq
    if ! download; then
        echo "fetch_austen: apt-get download r-cran-janeaustenr failed; is a Debian" \
             "mirror reachable?" >&2
        exit 1
    fi
fi
deb=$(ls "$work"/r-cran-janeaustenr_*.deb)
rm -rf "$DEST.partial"
mkdir -p "$DEST.partial"
dpkg -x "$deb" "$DEST.partial"
if [ ! -f "$DEST.partial/usr/lib/R/site-library/janeaustenr/data/Rdata.rdb" ]; then
    echo "fetch_austen: $(basename "$deb") holds no data/Rdata.rdb" >&2
    exit 1
fi
echo '*' > "$DEST.partial/.gitignore"   # keep the unpacked package out of git
rm -rf "$DEST"
mv "$DEST.partial" "$DEST"
echo "fetch_austen: unpacked $(basename "$deb") into $DEST"

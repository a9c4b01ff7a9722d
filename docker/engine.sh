#!/usr/bin/env bash
# Make a Docker engine answer on this machine, for the Docker backend and its tests:
# install Debian's docker.io (and debootstrap, which docker/build.py uses when no registry
# is reachable) if missing, and start dockerd in the background if none runs.
# Exits non-zero, saying why, if the engine cannot be started. Safe to run again.
set -euo pipefail

answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && answers; then
    echo "engine: a Docker engine answers already"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "engine: no Docker engine answers, and starting one needs root" >&2
    exit 1
fi

missing=()
for pkg in docker.io debootstrap; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "engine: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

log=/var/log/rnn-grader-dockerd.log
if ! pgrep -x dockerd >/dev/null; then
    echo "engine: starting dockerd (log: $log)"
    setsid nohup dockerd --storage-driver overlay2 >"$log" 2>&1 </dev/null &
fi
for _ in $(seq 60); do
    if answers; then
        echo "engine: dockerd answers ($(docker version --format '{{.Server.Version}}'))"
        exit 0
    fi
    sleep 1
done
echo "engine: dockerd did not answer within 60 s; the end of $log:" >&2
tail -n 20 "$log" >&2 || true
exit 1

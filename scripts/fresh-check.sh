#!/usr/bin/env bash
# What a new user gets: clone the committed main into a temporary folder and run the
# README's two commands exactly as written there, then print their times and results.
#
#   bash scripts/fresh-check.sh            # both commands
#   bash scripts/fresh-check.sh --keep     # keep the clone (its path is printed)
#
# It tests the commit, not the working tree: commit first.  Installed system packages
# and the machine's pip caches are reused, as on any machine set up once before.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
keep=0
[ "${1:-}" = "--keep" ] && keep=1

clone=$(mktemp -d /tmp/fresh-check.XXXXXX)
git clone -q "$here" "$clone/repo"
cd "$clone/repo"
echo "fresh-check: $(git log -1 --format='%h %s') in $clone/repo"

# The two commands, as the README writes them in its first code block.
examples_cmd="make examples"
test_cmd="make test"
grep -q "^$examples_cmd" README.md || { echo "fresh-check: README no longer says '$examples_cmd'" >&2; exit 2; }
grep -q "^$test_cmd" README.md || { echo "fresh-check: README no longer says '$test_cmd'" >&2; exit 2; }

results=()
status=0
for cmd in "$examples_cmd" "$test_cmd"; do
    began=$SECONDS
    log="$clone/$(echo "$cmd" | tr ' ' '-').log"
    bash -c "$cmd" >"$log" 2>&1
    rc=$?
    took=$((SECONDS - began))
    last=$(grep -E "passed|failed|error" "$log" | tail -n 1)
    results+=("$(printf '%-14s exit %-3s %5d s  %s' "$cmd" "$rc" "$took" "$last")")
    [ "$rc" -eq 0 ] || { status=1; tail -n 40 "$log"; }
done

echo
echo "fresh-check results (logs in $clone):"
printf '  %s\n' "${results[@]}"
if [ "$keep" -eq 0 ] && [ "$status" -eq 0 ]; then
    rm -rf "$clone"
fi
exit "$status"

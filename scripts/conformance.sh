#!/usr/bin/env bash
# Run the MCP conformance suite's server scenarios against replicas-mcp over
# streamable HTTP, on the emulator, for each protocol revision we support.
#
#   scripts/conformance.sh            # both revisions
#   scripts/conformance.sh 2026-07-28 # one revision
#
# Installs Node 22 and the suite under .tools/ (git-ignored) on first use.
# Fails on any scenario that fails and is not in
# conformance/expected-failures-<rev>.yml, and on any listed scenario that now
# passes. Per-check results go to .tools/conformance-results/<rev>/.
# The binary under test is $REPLICAS_MCP, else replicas-mcp on PATH, else .venv's.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

SUITE_VERSION=0.2.0-alpha.12
REVISIONS=("$@")
[ ${#REVISIONS[@]} -gt 0 ] || REVISIONS=(2025-11-25 2026-07-28)

install_node22
npm_install conformance "@modelcontextprotocol/conformance@$SUITE_VERSION"
CONF="$TOOLS/conformance/node_modules/.bin/conformance"

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    stop_http_server
    rm -rf "$WORK"
}
trap cleanup EXIT

start_http_server "$WORK/server.log"
echo "server: $SERVER_URL (pid $SERVER_PID)"

status=0
summary=()
for rev in "${REVISIONS[@]}"; do
    expected="conformance/expected-failures-$rev.yml"
    if [ ! -f "$expected" ]; then
        echo "no $expected" >&2
        exit 2
    fi
    out="$TOOLS/conformance-results/$rev"
    rm -rf "$out"
    echo
    echo "=== conformance $rev ==="
    rc=0
    "$CONF" server --url "$SERVER_URL" --suite all --spec-version "$rev" \
        --expected-failures "$expected" -o "$out" >"$WORK/$rev.log" 2>&1 || rc=$?
    # Judge each scenario from its checks.json as the suite does: any FAILURE
    # or WARNING check fails it.
    outcomes="$(python3 - "$out" 2>"$WORK/$rev.bad" <<'PY'
import json, pathlib, re, sys
for d in sorted(pathlib.Path(sys.argv[1]).glob("server-*")):
    name = re.sub(r"^server-|-\d{4}-\d\d-\d\dT.*$", "", d.name)
    checks = json.loads((d / "checks.json").read_text())
    bad = [c for c in checks if c.get("status") in ("FAILURE", "WARNING")]
    print(("fail " if bad else "pass ") + name)
    for c in bad:
        print(f"{name} {c['status']} {c['id']}: {(c.get('errorMessage') or '')[:200]}", file=sys.stderr)
PY
)"
    listed="$(sed -n 's/^[[:space:]]*-[[:space:]]*\([A-Za-z0-9_.-]*\).*/\1/p' "$expected" | sort -u)"
    passed="$(sed -n 's/^pass //p' <<<"$outcomes" | sort -u)"
    failed="$(sed -n 's/^fail //p' <<<"$outcomes" | sort -u)"
    n_passed=$(grep -c . <<<"$passed" || true)
    n_expected=$(comm -12 <(printf '%s\n' "$failed") <(printf '%s\n' "$listed") | grep -c . || true)
    unexpected="$(comm -23 <(printf '%s\n' "$failed") <(printf '%s\n' "$listed") | grep . || true)"
    stale="$(comm -12 <(printf '%s\n' "$passed") <(printf '%s\n' "$listed") | grep . || true)"
    n_unexpected=$(grep -c . <<<"$unexpected" || true)
    n_stale=$(grep -c . <<<"$stale" || true)
    line="$rev: $n_passed passed, $n_unexpected failed, $n_expected expected-failed"
    [ "$n_stale" -eq 0 ] || line="$line, $n_stale listed but passing"
    summary+=("$line")
    for name in $unexpected; do
        echo "UNEXPECTED FAILURE ($rev): $name"
        grep "^$name " "$WORK/$rev.bad" | cut -d' ' -f2- | sed 's/^/    /' || true
    done
    [ -z "$stale" ] || printf 'LISTED BUT NOW PASSING (%s), remove from %s: %s\n' "$rev" "$expected" $stale
    if [ "$n_passed" -eq 0 ] && [ -z "$failed" ]; then
        echo "the suite ran no scenario; its output:" >&2
        cat "$WORK/$rev.log" >&2
        status=1
    fi
    if [ "$rc" -ne 0 ] || [ -n "$unexpected" ] || [ -n "$stale" ]; then
        status=1
    fi
done

stop_http_server
if grep -q 'Traceback' "$WORK/server.log"; then
    echo
    echo "server log has tracebacks (first lines):"
    grep -B1 -A0 'Error:' "$WORK/server.log" | grep -v '^--$' | sort | uniq -c | sort -rn | head -n 10
fi

echo
echo "=== conformance summary (scenarios) ==="
printf '%s\n' "${summary[@]}"
if [ "$status" -eq 0 ]; then
    echo "conformance: OK"
else
    echo "conformance: FAILED"
fi
exit "$status"

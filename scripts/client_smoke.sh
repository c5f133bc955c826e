#!/usr/bin/env bash
# Smoke-test replicas-mcp with two real MCP clients, against the emulator:
#   * the MCP Inspector CLI over stdio (`serve --emulator`): tools/list and a
#     read-only tools/call (list_repositories);
#   * the TypeScript SDK client over streamable HTTP
#     (`serve --transport http --emulator --port 0`): the same two calls,
#     through scripts/ts_client_smoke.mjs.
# Installs Node 22 and both clients under .tools/ (git-ignored) on first use.
# The binary under test is $REPLICAS_MCP, else replicas-mcp on PATH, else .venv's.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

INSPECTOR_VERSION=2.12.0
TS_SDK_VERSION=1.32.2

install_node22
npm_install inspector "@modelcontextprotocol/inspector@$INSPECTOR_VERSION"
npm_install ts-sdk "@modelcontextprotocol/sdk@$TS_SDK_VERSION"
INSPECT="$TOOLS/inspector/node_modules/.bin/mcp-inspector"
export MCP_CATALOG_PATH="$TOOLS/inspector-catalog" # keep it out of $HOME
BIN="$(find_replicas_mcp)"

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    stop_http_server
    rm -rf "$WORK"
}
trap cleanup EXIT

results=()
failures=0
record() { # record NAME OK|FAIL [detail]
    results+=("$2  $1${3:+: $3}")
    [ "$2" = OK ] || failures=$((failures + 1))
}

# --- Inspector CLI over stdio -------------------------------------------------
echo "=== inspector $INSPECTOR_VERSION over stdio ==="
if "$INSPECT" --cli "$BIN" serve --emulator --method tools/list \
    >"$WORK/tools.json" 2>"$WORK/tools.err"; then
    n="$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); n=[t["name"] for t in d["tools"]]; assert "list_repositories" in n, n; print(len(n))' "$WORK/tools.json" 2>&1)" &&
        record "inspector stdio tools/list" OK "$n tools" ||
        record "inspector stdio tools/list" FAIL "$n"
else
    record "inspector stdio tools/list" FAIL "exit $?: $(head -c 300 "$WORK/tools.json" "$WORK/tools.err")"
fi
if "$INSPECT" --cli "$BIN" serve --emulator --method tools/call --tool-name list_repositories \
    >"$WORK/call.json" 2>"$WORK/call.err"; then
    first="$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert not d.get("isError"), d
assert d.get("structuredContent"), "no structuredContent"
print(next(c["text"] for c in d["content"] if c["type"] == "text").splitlines()[0][:100])
' "$WORK/call.json" 2>&1)" &&
        record "inspector stdio tools/call list_repositories" OK "$first" ||
        record "inspector stdio tools/call list_repositories" FAIL "$first"
else
    record "inspector stdio tools/call list_repositories" FAIL "exit $?: $(head -c 300 "$WORK/call.json" "$WORK/call.err")"
fi

# --- TypeScript SDK client over streamable HTTP ---------------------------------
echo "=== TypeScript SDK $TS_SDK_VERSION over streamable HTTP ==="
if start_http_server "$WORK/server.log"; then
    echo "server: $SERVER_URL"
    if node scripts/ts_client_smoke.mjs "$TOOLS/ts-sdk" "$SERVER_URL" 2>&1 | tee "$WORK/ts.out"; then
        record "ts-sdk http tools/list + tools/call list_repositories" OK
    else
        record "ts-sdk http tools/list + tools/call list_repositories" FAIL "$(tail -n 3 "$WORK/ts.out")"
    fi
    stop_http_server
else
    record "ts-sdk http" FAIL "server did not start"
fi

echo
echo "=== client smoke summary ==="
printf '%s\n' "${results[@]}"
total=${#results[@]}
echo "client smoke: $((total - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]

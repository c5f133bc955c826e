"""Start-up, latency, memory and HTTP throughput of the server, as ratios.

Every figure is a ratio against a reference measured in the same sitting: a
bare SDK `MCPServer` with one `echo` tool (`bench/ref_echo_server.py`). The
emulator runs in this process (in a background thread) and both servers are
spawned fresh, as a host would start them.

- P1: spawn -> `tools/list` answered, ours / reference (target <= 1.10x).
- P2: `get_replica` round trip over stdio / (echo round trip + a direct httpx2
  GET of the request `get_replica` makes, `/v1/replica/{id}?include=environment`,
  with the same key) (target <= 1.15x).
- P2 floor (for the record, no target): `get_replica` round trip of ours /
  that of `bench/ref_get_server.py`, a bare SDK server whose tool makes the
  same upstream GET with `httpx2.AsyncClient`: what our own code adds.
- P4: peak RSS (VmHWM) of our server over the first 1,000 `get_replica` calls
  (target <= 80 MiB) and VmRSS growth from call 1,000 to call 10,000
  (target <= 5 MiB).
- P5: streamable HTTP, 50 concurrent clients each with its own session and
  connection: calls/s of ours (`get_replica`) / calls/s of the reference (echo
  call, then the same upstream GET done by the client) (target >= 0.8x, and
  no errors). The load is bounded by a call count and a deadline.

The stdio driver is the stdlib harness `../shared/bench/mcp_bench.py` (raw
JSON-RPC, no SDK on the client side), loaded from beside the repository; the
HTTP load uses httpx2. Only loopback is used.

    python bench/run.py [--runs 5] [--calls 300] [--p4-calls 10000]
                        [--p5-runs 3] [--p5-clients 50] [--p5-calls 2000]
"""

import argparse
import asyncio
import compileall
import importlib.util
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx2

import replicas_mcp
from replicas_mcp.emulator import EmulatorConfig, EmulatorServer

KEY = "sk_replicas_bench"
HERE = Path(__file__).resolve().parent
HARNESS = HERE.parent.parent / "shared" / "bench" / "mcp_bench.py"
REFERENCE = HERE / "ref_echo_server.py"
FLOOR = HERE / "ref_get_server.py"
ACCEPT = "application/json, text/event-stream"
MIB = 1024.0


def load_harness(path: Path) -> ModuleType:
    """Import the stdlib stdio harness, or exit saying where it was expected."""
    if not path.is_file():
        sys.exit(
            f"bench/run.py needs the stdio harness mcp_bench.py, expected at {path} "
            "(../shared/bench/ beside the repository). Pass --harness PATH."
        )
    spec = importlib.util.spec_from_file_location("mcp_bench", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mcp_bench"] = module
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------- commands


def our_command(*extra: str) -> list[str]:
    """`replicas-mcp serve` from this interpreter's environment."""
    script = Path(sys.executable).with_name("replicas-mcp")
    if not script.exists():
        found = shutil.which("replicas-mcp")
        script = Path(found) if found else script
    base = [str(script)] if script.exists() else [sys.executable, "-m", "replicas_mcp"]
    return [*base, "serve", *extra]


def ref_command(*extra: str) -> list[str]:
    return [sys.executable, str(REFERENCE), *extra]


def floor_command() -> list[str]:
    return [sys.executable, str(FLOOR)]


def server_env(base_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPLICAS_")}
    env.update(REPLICAS_API_KEY=KEY, REPLICAS_BASE_URL=base_url)
    return env


def upstream_path(replica_id: str) -> str:
    """The request `get_replica` makes: the environment report shows failed setup."""
    return f"/v1/replica/{replica_id}?include=environment"


def call_params(tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"name": tool, "arguments": arguments}


# ----------------------------------------------------------------- emulator


def seed_replica(base_url: str) -> str:
    """Create one replica and wait until its first turn is over."""
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx2.Client(base_url=base_url, headers=headers, timeout=10) as http:
        repos = http.get("/v1/replica/repositories").raise_for_status().json()
        repo_id = repos["repositories"][0]["id"]
        created = (
            http.post(
                "/v1/replica",
                json={
                    "name": "bench",
                    "message": "Fix the login error",
                    "repository_ids": [repo_id],
                },
            )
            .raise_for_status()
            .json()
        )
        replica_id = created.get("id") or created["replica"]["id"]
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            body = http.get(f"/v1/replica/{replica_id}").raise_for_status().json()
            replica = body.get("replica", body)
            if replica.get("status") not in ("booting", "preparing", "setting_up"):
                break
            time.sleep(0.05)
        time.sleep(0.3)  # let the emulated agent finish its turn
        return replica_id


# ----------------------------------------------------------------- stdio


class Stdio:
    """One spawned stdio server, driven by the harness's raw JSON-RPC client."""

    def __init__(self, h: ModuleType, cmd: list[str], env: dict[str, str]) -> None:
        self.h = h
        self.server = h.StdioServer(cmd, env=env, timeout=60.0)
        self.pid: int = self.server.proc.pid

    def start(self) -> float:
        """Handshake and list tools; return spawn -> tools/list answered, in ms."""
        s = self.server
        s.request("initialize", self.h.init_params(self.h.PROTOCOL))
        s.send("notifications/initialized", notify=True)
        s.request("tools/list")
        return (self.h.now() - s.t_spawn) * 1e3

    def call(self, params: dict[str, Any]) -> dict[str, Any]:
        answer = self.server.request("tools/call", params)
        if answer.get("result", {}).get("isError"):
            raise RuntimeError(f"tool error: {json.dumps(answer)[:400]}")
        return answer

    def timed_calls(self, params: dict[str, Any], n: int) -> list[float]:
        """Round trips of n sequential calls, in ms (isError is checked once)."""
        self.call(params)
        out = []
        for _ in range(n):
            t = time.perf_counter()
            self.server.request("tools/call", params)
            out.append((time.perf_counter() - t) * 1e3)
        return out

    def status_kib(self, field: str) -> int:
        return self.h.vm_kb(self.pid, field)

    def close(self) -> None:
        self.server.close()


def timed_gets(http: httpx2.Client, path: str, n: int) -> list[float]:
    http.get(path).raise_for_status()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        http.get(path)
        out.append((time.perf_counter() - t) * 1e3)
    return out


def stdio_rounds(
    h: ModuleType,
    base_url: str,
    replica_id: str,
    runs: int,
    calls: int,
    log: Callable[[str], None],
) -> tuple[list[dict[str, float]], list[str]]:
    """P1 and P2: fresh servers per run, reference and ours alternating."""
    env = server_env(base_url)
    ours_call = call_params("get_replica", {"replica_id": replica_id})
    echo_call = call_params("echo", {"message": "ping"})
    path = upstream_path(replica_id)
    results, failures = [], []
    with httpx2.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {KEY}"}, timeout=30
    ) as http:
        for i in range(runs):
            try:
                row: dict[str, float] = {}
                order = [
                    ("ref", ref_command()),
                    ("floor", floor_command()),
                    ("ours", our_command()),
                ]
                if i % 2:
                    order.reverse()
                for name, cmd in order:
                    server = Stdio(h, cmd, env)
                    try:
                        row[f"{name}_list_ms"] = server.start()
                        params = echo_call if name == "ref" else ours_call
                        row[f"{name}_rtt_ms"] = statistics.median(
                            server.timed_calls(params, calls)
                        )
                    finally:
                        server.close()
                row["get_ms"] = statistics.median(timed_gets(http, path, calls))
                row["p1"] = row["ours_list_ms"] / row["ref_list_ms"]
                row["p2"] = row["ours_rtt_ms"] / (row["ref_rtt_ms"] + row["get_ms"])
                row["p2_floor"] = row["ours_rtt_ms"] / row["floor_rtt_ms"]
                results.append(row)
                log(
                    f"  run {i + 1}: tools/list ours {row['ours_list_ms']:.0f} ms, "
                    f"ref {row['ref_list_ms']:.0f} ms; round trip ours "
                    f"{row['ours_rtt_ms']:.2f} ms, echo {row['ref_rtt_ms']:.2f} ms + "
                    f"GET {row['get_ms']:.2f} ms, floor {row['floor_rtt_ms']:.2f} ms"
                )
            except (h.BenchError, OSError, RuntimeError) as e:
                failures.append(f"P1/P2 run {i + 1}: {e}")
                log(f"  run {i + 1}: FAILED: {e}")
    return results, failures


def memory_run(
    h: ModuleType,
    base_url: str,
    replica_id: str,
    total: int,
    log: Callable[[str], None],
) -> dict[str, float]:
    """P4: VmHWM after 1,000 calls, VmRSS growth from call 1,000 to `total`."""
    params = call_params("get_replica", {"replica_id": replica_id})
    server = Stdio(h, our_command(), server_env(base_url))
    try:
        server.start()
        server.call(params)
        first = min(1000, total)
        for _ in range(first - 1):
            server.server.request("tools/call", params)
        hwm_1k = server.status_kib("VmHWM")
        rss_1k = server.status_kib("VmRSS")
        t = time.perf_counter()
        for _ in range(total - first):
            server.server.request("tools/call", params)
        row = {
            "hwm_1k_mib": hwm_1k / MIB,
            "rss_1k_mib": rss_1k / MIB,
            "rss_end_mib": server.status_kib("VmRSS") / MIB,
            "hwm_end_mib": server.status_kib("VmHWM") / MIB,
        }
        row["growth_mib"] = row["rss_end_mib"] - row["rss_1k_mib"]
        log(
            f"  peak RSS after {first} calls {row['hwm_1k_mib']:.1f} MiB; RSS "
            f"{row['rss_1k_mib']:.1f} -> {row['rss_end_mib']:.1f} MiB by call {total} "
            f"({(time.perf_counter() - t):.0f} s for the last {total - first})"
        )
        return row
    finally:
        server.close()


# ----------------------------------------------------------------- HTTP


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_endpoint(
    proc: subprocess.Popen[bytes], pattern: str | None, url: str | None
) -> str:
    """Our server prints its endpoint on stderr; the reference only listens."""
    deadline = time.monotonic() + 30
    if pattern is not None:
        assert proc.stderr is not None
        seen = []
        while time.monotonic() < deadline:
            line = proc.stderr.readline().decode(errors="replace")
            if not line:
                break
            seen.append(line)
            m = re.search(pattern, line)
            if m:
                threading.Thread(target=proc.stderr.read, daemon=True).start()
                return m.group(1)
        raise RuntimeError("our server printed no endpoint: " + "".join(seen)[-500:])
    assert url is not None
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"reference exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return url
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("reference never listened")


def rpc_result(response: httpx2.Response) -> dict[str, Any]:
    """The JSON-RPC message of a JSON or SSE answer."""
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
    text = response.text
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        for line in text.splitlines():
            if line.startswith("data:") and '"id"' in line:
                return json.loads(line[5:])
        raise RuntimeError(f"no JSON-RPC answer in SSE body: {text[:200]}")
    return json.loads(text)


class HttpSession:
    def __init__(self, url: str, limits: httpx2.Limits) -> None:
        self.url = url
        self.http = httpx2.AsyncClient(timeout=30, limits=limits)
        self.headers = {"Accept": ACCEPT, "Content-Type": "application/json"}
        self.next_id = 0

    async def rpc(
        self, method: str, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        self.next_id += 1
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            body["params"] = params
        r = await self.http.post(self.url, json=body, headers=self.headers)
        msg = rpc_result(r)
        if "error" in msg or msg.get("result", {}).get("isError"):
            raise RuntimeError(json.dumps(msg)[:300])
        if method == "initialize":
            if sid := r.headers.get("mcp-session-id"):
                self.headers["mcp-session-id"] = sid
            self.headers["mcp-protocol-version"] = msg["result"]["protocolVersion"]
            note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
            await self.http.post(self.url, json=note, headers=self.headers)
        return msg

    async def aclose(self) -> None:
        if "mcp-session-id" in self.headers:
            try:
                await self.http.delete(self.url, headers=self.headers)
            except httpx2.HTTPError:
                pass
        await self.http.aclose()


async def http_load(
    url: str,
    params: dict[str, Any],
    upstream: tuple[str, str] | None,
    clients: int,
    total: int,
    seconds: float,
) -> tuple[float, int, int]:
    """`clients` sessions, each one call in flight; return (calls/s, done, errors)."""
    one = httpx2.Limits(max_connections=1, max_keepalive_connections=1)
    sessions = [HttpSession(url, one) for _ in range(clients)]
    gets = (
        [
            httpx2.AsyncClient(
                base_url=upstream[0],
                timeout=30,
                limits=one,
                headers={"Authorization": f"Bearer {KEY}"},
            )
            for _ in range(clients)
        ]
        if upstream
        else []
    )
    try:
        await asyncio.gather(
            *(
                s.rpc(
                    "initialize",
                    {
                        "protocolVersion": "2025-11-25",
                        "capabilities": {},
                        "clientInfo": {"name": "bench", "version": "1"},
                    },
                )
                for s in sessions
            )
        )
        for s in sessions:  # warm each connection once, unmeasured
            await s.rpc("tools/call", params)
        done = errors = 0
        left = total
        deadline = time.perf_counter() + seconds

        async def worker(i: int) -> None:
            nonlocal done, errors, left
            while left > 0 and time.perf_counter() < deadline:
                left -= 1
                try:
                    await sessions[i].rpc("tools/call", params)
                    if upstream:
                        (await gets[i].get(upstream[1])).raise_for_status()
                    done += 1
                except (httpx2.HTTPError, RuntimeError, ValueError):
                    errors += 1

        t = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(clients)))
        return done / (time.perf_counter() - t), done, errors
    finally:
        await asyncio.gather(
            *(s.aclose() for s in sessions), *(g.aclose() for g in gets)
        )


def http_round(
    base_url: str, replica_id: str, name: str, clients: int, total: int, seconds: float
) -> tuple[float, int, int]:
    env = server_env(base_url)
    if name == "ours":
        cmd = our_command("--transport", "http", "--port", "0")
        pattern, url = r"MCP endpoint: (http://\S+)", None
        params = call_params("get_replica", {"replica_id": replica_id})
        upstream = None
    else:
        port = free_port()
        cmd = ref_command("http", str(port))
        pattern, url = None, f"http://127.0.0.1:{port}/mcp"
        params = call_params("echo", {"message": "ping"})
        upstream = (base_url, upstream_path(replica_id))
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE if pattern else subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        endpoint = wait_for_endpoint(proc, pattern, url)
        if not re.match(r"http://(127\.\d+\.\d+\.\d+|localhost|\[::1\])[:/]", endpoint):
            raise RuntimeError(f"not a loopback endpoint: {endpoint}")
        return asyncio.run(
            http_load(endpoint, params, upstream, clients, total, seconds)
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


# ----------------------------------------------------------------- report


def spread(xs: list[float], fmt: str = "{:.2f}") -> str:
    if not xs:
        return "n/a"
    mid, low, high = (fmt.format(x) for x in (statistics.median(xs), min(xs), max(xs)))
    return f"{mid} ({low}-{high})"


def compile_package() -> None:
    """Bring the package's bytecode up to date, as installing it would have.

    In an editable checkout, edited modules are otherwise compiled at every
    start (and not cached at all under PYTHONDONTWRITEBYTECODE), which would
    be measured as start-up time that no installed server spends.
    """
    compileall.compile_dir(Path(replicas_mcp.__file__).parent, quiet=1)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5, help="fresh server pairs for P1/P2")
    p.add_argument("--calls", type=int, default=300, help="sequential calls per P2 run")
    p.add_argument("--p4-runs", type=int, default=1, help="P4 server processes")
    p.add_argument(
        "--p4-calls", type=int, default=10_000, help="calls in a P4 run (>= 1,000)"
    )
    p.add_argument("--p5-runs", type=int, default=3, help="server pairs for P5")
    p.add_argument("--p5-clients", type=int, default=50)
    p.add_argument(
        "--p5-calls", type=int, default=2_000, help="calls per P5 server run"
    )
    p.add_argument(
        "--p5-seconds", type=float, default=20.0, help="deadline per P5 server run"
    )
    p.add_argument("--skip", default="", help="comma-separated: p1p2,p4,p5")
    p.add_argument("--harness", type=Path, default=HARNESS)
    p.add_argument("--json", type=Path, help="write every run's figures here")
    args = p.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    h = load_harness(args.harness)
    compile_package()

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    config = EmulatorConfig(
        api_keys={KEY: "acme"}, boot_delay=0.05, turn_step_delay=0.02
    )
    raw: dict[str, Any] = {}
    failures: list[str] = []
    started = time.perf_counter()
    with EmulatorServer(config).run_in_thread() as emulator:
        base_url = emulator.base_url
        replica_id = seed_replica(base_url)
        log(f"emulator {base_url}, replica {replica_id}")
        if "p1p2" not in skip:
            log(f"P1/P2: {args.runs} runs, {args.calls} sequential calls each")
            raw["p1p2"], fails = stdio_rounds(
                h, base_url, replica_id, args.runs, args.calls, log
            )
            failures += fails
        if "p4" not in skip:
            log(f"P4: {args.p4_runs} run(s) of {args.p4_calls} get_replica calls")
            raw["p4"] = []
            for i in range(args.p4_runs):
                try:
                    raw["p4"].append(
                        memory_run(h, base_url, replica_id, args.p4_calls, log)
                    )
                except (h.BenchError, OSError, RuntimeError) as e:
                    failures.append(f"P4 run {i + 1}: {e}")
                    log(f"  FAILED: {e}")
        if "p5" not in skip:
            log(
                f"P5: {args.p5_runs} runs, {args.p5_clients} clients, "
                f"<= {args.p5_calls} calls or {args.p5_seconds:.0f} s per server"
            )
            raw["p5"] = []
            for i in range(args.p5_runs):
                row: dict[str, float] = {}
                order = ["ref", "ours"] if i % 2 == 0 else ["ours", "ref"]
                try:
                    for name in order:
                        rate, done, errors = http_round(
                            base_url,
                            replica_id,
                            name,
                            args.p5_clients,
                            args.p5_calls,
                            args.p5_seconds,
                        )
                        row[f"{name}_rps"], row[f"{name}_done"] = rate, done
                        row[f"{name}_errors"] = errors
                    row["p5"] = row["ours_rps"] / row["ref_rps"]
                    raw["p5"].append(row)
                    log(
                        f"  run {i + 1}: ours {row['ours_rps']:.0f} calls/s "
                        f"({row['ours_errors']:.0f} errors), "
                        f"ref {row['ref_rps']:.0f} calls/s "
                        f"({row['ref_errors']:.0f} errors)"
                    )
                except (OSError, RuntimeError, httpx2.HTTPError) as e:
                    failures.append(f"P5 run {i + 1}: {e}")
                    log(f"  run {i + 1}: FAILED: {e}")

    rows: list[tuple[str, str, str, bool | None]] = []
    p12 = raw.get("p1p2", [])
    if p12:
        col = lambda k: [r[k] for r in p12]  # noqa: E731
        p1, p2 = col("p1"), col("p2")
        rows.append(
            (
                "P1 spawn -> tools/list, ours / ref",
                f"{spread(p1)}x  [ours {spread(col('ours_list_ms'), '{:.0f}')} ms, "
                f"ref {spread(col('ref_list_ms'), '{:.0f}')} ms]",
                "<= 1.10x",
                statistics.median(p1) <= 1.10,
            )
        )
        rows.append(
            (
                "P2 get_replica / (echo + GET), stdio",
                f"{spread(p2)}x  [ours {spread(col('ours_rtt_ms'))} ms, echo "
                f"{spread(col('ref_rtt_ms'))} + GET {spread(col('get_ms'))} ms]",
                "<= 1.15x",
                statistics.median(p2) <= 1.15,
            )
        )
        rows.append(
            (
                "P2 floor: get_replica / bare SDK tool with the same GET",
                f"{spread(col('p2_floor'))}x  [floor {spread(col('floor_rtt_ms'))} ms]",
                "(none)",
                None,
            )
        )
    p4 = raw.get("p4", [])
    if p4:
        hwm = [r["hwm_1k_mib"] for r in p4]
        growth = [r["growth_mib"] for r in p4]
        rows.append(
            (
                "P4 peak RSS over 1,000 calls",
                f"{spread(hwm, '{:.1f}')} MiB",
                "<= 80 MiB",
                max(hwm) <= 80,
            )
        )
        rows.append(
            (
                f"P4 RSS growth, call 1,000 -> {args.p4_calls:,}",
                f"{spread(growth, '{:.1f}')} MiB",
                "<= 5 MiB",
                max(growth) <= 5,
            )
        )
    p5 = raw.get("p5", [])
    if p5:
        col5 = lambda k: [r[k] for r in p5]  # noqa: E731
        errors = int(sum(col5("ours_errors")))
        rows.append(
            (
                "P5 HTTP calls/s, 50 clients, ours / ref",
                f"{spread(col5('p5'))}x  [ours {spread(col5('ours_rps'), '{:.0f}')}/s, "
                f"ref {spread(col5('ref_rps'), '{:.0f}')}/s]",
                ">= 0.8x",
                statistics.median(col5("p5")) >= 0.8,
            )
        )
        rows.append(
            (
                "P5 errors (ours; ref)",
                f"{errors}; {int(sum(col5('ref_errors')))}",
                "0",
                errors == 0,
            )
        )

    print(f"\nmedian (min-max); total {time.perf_counter() - started:.0f} s\n")
    print("| figure | measured | target | met |\n|---|---|---|---|")
    for name, value, target, ok in rows:
        met = "-" if ok is None else "yes" if ok else "NO"
        print(f"| {name} | {value} | {target} | {met} |")
    for f in failures:
        print(f"failed: {f}")
    if args.json:
        args.json.write_text(json.dumps({"runs": raw, "failures": failures}, indent=1))
    met = all(ok is not False for *_, ok in rows)
    return 0 if rows and met and not failures else 1


if __name__ == "__main__":
    sys.exit(main())

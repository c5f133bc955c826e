"""Soak the stdio MCP server with 1,000 tool calls against a faulty emulator.

The emulator runs in this process with seeded random faults on about 10 % of
requests (errors in the API's envelope, 429 with Retry-After, HTML proxy
pages, broken JSON, reset connections, replies lost after the write
committed, slow answers). The server runs as `python -m replicas_mcp serve`
over stdio, as a host starts it, and the calls go through the SDK's `Client`
from a few concurrent workers: reads (list_replicas, get_replica,
get_history, get_diff, get_hooks, list_chats) and writes (create_replica with
unique names, send_message with unique texts). Afterwards the emulator's own
state is the judge:

- every call answered (a result; error results count as answers);
- no crash: the server process stays up, no JSON-RPC error, no bare
  "Error executing tool X" (an unexpected exception in a tool);
- no replica created twice for one create_replica call;
- no lost message: a send reported as sent/queued, or failed ambiguously,
  must reach history (or the queue) exactly once; a send reported as failed
  must not reach it twice.

A failure is definite, not ambiguous, when it is a 4xx or its text says the
write did not happen: the message "was not sent", the replica "was not
created" (what the server says once it has looked and found nothing). Creates
and sends that failed definitely but happened all the same are reported.

It also reports the server's peak RSS (VmHWM of the child process), the
faults injected by kind and the share of HTTP requests that failed, the wall
time, error results grouped by cause, and a few examples of lost messages.
Exits 1 when a target is missed. Only loopback is used. The fault draws are
seeded, but concurrent workers interleave differently from run to run; use
`--concurrency 1` for runs that repeat closely.

    python bench/soak.py [--calls 1000] [--concurrency 8] [--seed 1]
                         [--fault-rate 0.1] [--deadline 120]
"""

import argparse
import os
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Any, TextIO

import anyio
from mcp import Client, MCPError, StdioServerParameters, stdio_client
from mcp.types import CallToolResult, TextContent

from replicas_mcp.emulator import EmulatorConfig, EmulatorServer, EmulatorState

KEY = "sk_replicas_soak"
ORGANIZATION = "acme"

# How each fault kind shares the fault rate. `lose` only means something for
# writes, so it comes on top, for POSTs alone.
FAULT_MIX = (
    ("*:status=429:retry_after=1", 0.15),
    ("*:status=500", 0.10),
    ("*:status=502", 0.10),
    ("*:status=503", 0.15),
    ("*:html=502", 0.10),
    ("*:malformed", 0.15),
    ("*:drop", 0.25),
)
WRITE_FAULTS = (
    ("POST /**:lose", 0.25),
    ("POST /**:lose=502", 0.10),
)
SLOW_SHARE = 0.3
SLOW_SECONDS = 0.3
STREAM_CUT = "GET /v1/replica/*/events:cut=3:rate=0.3"

# Tool → weight in the mix; about a third of the calls write.
WORKLOAD = {
    "list_replicas": 8,
    "get_replica": 14,
    "get_history": 12,
    "get_diff": 10,
    "get_hooks": 10,
    "list_chats": 12,
    "create_replica": 12,
    "send_message": 22,
}

SEED_REPLICAS = 3
CALL_TIMEOUT = 30.0
SETTLE_TIMEOUT = 15.0

SENT_STATUSES = frozenset({"sent", "queued", "waking"})
BARE_CRASH = re.compile(r"^(Error executing tool \S+(: )?)+$")
HTTP_STATUS = re.compile(r"\bHTTP (\d{3})\b")
# "was not sent", "has not been delivered", "wasn't queued", "nothing was sent".
NOT_SENT = re.compile(
    r"\bnot (?:been )?(?:sent|delivered|queued)\b"
    r"|\bwas(?:n't| never) (?:sent|delivered|queued)\b"
    r"|\bnothing was sent\b",
    re.IGNORECASE,
)
# "replica 'x' was not created", "has not been created", "wasn't created".
NOT_CREATED = re.compile(
    r"\bnot (?:been )?created\b|\bwas(?:n't| never) created\b",
    re.IGNORECASE,
)
MESSAGE_TOKEN = re.compile(r"soak-msg-\d{4}")


@dataclass
class Outcome:
    """How one tool call ended, as the MCP client saw it."""

    kind: str
    """ok, error (an is_error result), crash, jsonrpc, transport, unanswered."""
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict[str, Any])


@dataclass
class Run:
    """Everything the workers learnt, for the checks at the end."""

    seed: int
    repository_id: str
    replica_ids: list[str]
    outcomes: Counter[str] = field(default_factory=Counter[str])
    errors: Counter[str] = field(default_factory=Counter[str])
    crash_texts: list[str] = field(default_factory=list[str])
    creates: dict[str, Outcome] = field(default_factory=dict[str, Outcome])
    sends: dict[str, Outcome] = field(default_factory=dict[str, Outcome])
    issued: int = 0
    done: int = 0
    requests: int = 0
    """HTTP requests the emulator got while the faults were on."""


# The emulator and its faults


def fault_rules(rate: float) -> list[str]:
    """The seeded fault rules whose union fails about `rate` of requests."""
    rules = [f"*:latency={SLOW_SECONDS}:rate={rate * SLOW_SHARE:.4f}"]
    rules += [f"{spec}:rate={rate * share:.4f}" for spec, share in WRITE_FAULTS]
    rules += [f"{spec}:rate={rate * share:.4f}" for spec, share in FAULT_MIX]
    rules.append(STREAM_CUT)
    return rules


def emulator_config(seed: int) -> EmulatorConfig:
    """Quick boots and turns, so a thousand calls see many finished turns."""
    return EmulatorConfig(
        api_keys={KEY: ORGANIZATION},
        boot_delay=0.05,
        wake_delay=0.05,
        turn_step_delay=0.01,
        fault_seed=seed,
    )


async def settle(state: EmulatorState) -> bool:
    """Wait until no replica boots or works; False if that took too long."""
    with anyio.move_on_after(SETTLE_TIMEOUT):
        while any(
            not replica.ready or replica.busy()
            for replica in state.replicas(ORGANIZATION)
        ):
            await anyio.sleep(0.05)
        return True
    return False


# The server process


def server_pid() -> int | None:
    """The pid of our `replicas_mcp` child process, from /proc."""
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        # The command name may hold spaces; the parent pid follows its ')'.
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == me and b"replicas_mcp" in cmdline:
            return int(entry.name)
    return None


def alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def peak_rss_kib(pid: int) -> int | None:
    """The process's peak resident set size (VmHWM), in KiB."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) if match else None


# Calls


def result_text(result: CallToolResult) -> str:
    """The text blocks of a tool result, joined."""
    return "\n".join(b.text for b in result.content if isinstance(b, TextContent))


async def call(client: Client, tool: str, arguments: dict[str, Any]) -> Outcome:
    """Call one tool and classify how it ended; never raises."""
    try:
        with anyio.fail_after(CALL_TIMEOUT):
            result = await client.call_tool(tool, arguments)
    except TimeoutError:
        return Outcome("unanswered", f"no answer in {CALL_TIMEOUT:g} s")
    except MCPError as exc:
        return Outcome("jsonrpc", str(exc))
    # A dead server shows up as a broken stream, whatever its type.
    except Exception as exc:
        return Outcome("transport", repr(exc))

    text = result_text(result)
    if not result.is_error:
        return Outcome("ok", text, result.structured_content or {})
    if BARE_CRASH.match(text.strip()):
        return Outcome("crash", text)
    return Outcome("error", text)


def plan(calls: int, seed: int) -> Iterator[tuple[int, str]]:
    """The tools to call, in order, drawn from the weighted mix."""
    rng = Random(seed)
    tools = list(WORKLOAD)
    weights = list(WORKLOAD.values())
    for index in range(calls):
        yield index, rng.choices(tools, weights)[0]


def arguments_for(run: Run, index: int, tool: str, rng: Random) -> dict[str, Any]:
    """Arguments for one call; writes get a name or text no other call uses."""
    if tool == "list_replicas":
        return {"page": rng.choice((1, 1, 2)), "limit": 20}
    if tool == "create_replica":
        return {
            "name": f"soak-{index:04d}",
            "message": f"Add a test for the session TTL (soak-new-{index:04d})",
            "repository_ids": [run.repository_id],
        }

    arguments: dict[str, Any] = {"replica_id": rng.choice(run.replica_ids)}
    if tool == "send_message":
        arguments["message"] = f"Document the cache settings [soak-msg-{index:04d}]"
    elif tool == "get_history":
        arguments["limit"] = 10
    elif tool == "get_diff":
        arguments["mode"] = rng.choice(("stat", "files", "patch"))
    return arguments


async def one_call(client: Client, run: Run, index: int, tool: str) -> None:
    """Make one call of the plan and file its outcome."""
    rng = Random(f"{run.seed}:{index}")
    arguments = arguments_for(run, index, tool, rng)
    outcome = await call(client, tool, arguments)

    run.outcomes[outcome.kind] += 1
    if outcome.kind == "error":
        run.errors[cause(outcome.text)] += 1
    if outcome.kind in ("crash", "jsonrpc", "transport"):
        run.crash_texts.append(f"{tool}: {outcome.text[:200]}")

    if tool == "create_replica":
        run.creates[arguments["name"]] = outcome
        replica_id = outcome.data.get("id")
        if isinstance(replica_id, str):
            run.replica_ids.append(replica_id)
    elif tool == "send_message":
        run.sends[f"soak-msg-{index:04d}"] = outcome


def cause(text: str) -> str:
    """A short grouping key for an error result's text."""
    status = HTTP_STATUS.search(text)
    if status:
        return f"HTTP {status.group(1)}"
    first = text.removeprefix("Error executing tool ").split(":", 1)[-1].strip()
    return re.sub(r"[0-9a-f-]{36}", "<id>", first)[:70]


async def drive(
    client: Client, run: Run, calls: int, concurrency: int, deadline: float
) -> None:
    """Run the plan with `concurrency` workers until done or past the deadline."""
    todo = plan(calls, run.seed)

    async def worker() -> None:
        # One shared iterator: tasks only switch at awaits, so no lock.
        for index, tool in todo:
            if time.monotonic() > deadline:
                return
            run.issued += 1
            await one_call(client, run, index, tool)
            run.done += 1
            if run.done % 250 == 0:
                print(f"  {run.done} calls done", file=sys.stderr, flush=True)

    async with anyio.create_task_group() as group:
        for _ in range(concurrency):
            group.start_soon(worker)


async def prepare(client: Client, seed: int) -> Run:
    """Find a repository and start a few replicas, before any fault is on."""
    listing = await client.call_tool("list_repositories", {})
    assert listing.structured_content is not None, result_text(listing)
    repository_id = str(listing.structured_content["repositories"][0]["id"])

    run = Run(seed=seed, repository_id=repository_id, replica_ids=[])
    for number in range(SEED_REPLICAS):
        created = await client.call_tool(
            "create_replica",
            {
                "name": f"soak-seed-{number}",
                "message": "Make the session TTL 24 hours",
                "repository_ids": [repository_id],
            },
        )
        assert created.structured_content is not None, result_text(created)
        run.replica_ids.append(str(created.structured_content["id"]))
    return run


# Checks


def user_texts(state: EmulatorState) -> Counter[str]:
    """Count each soak message token in prompts that reached an engine.

    A prompt is in history once its turn started; one still waiting is in
    its chat's queue. Both count as delivered.
    """
    found: Counter[str] = Counter()
    for replica in state.replicas(ORGANIZATION):
        texts: list[str] = []
        for record in replica.history:
            if record.event["type"] == "claude-user":
                content = record.event["payload"]["message"]["content"]
                texts += [b["text"] for b in content if b.get("type") == "text"]
        for chat in replica.chats.values():
            texts += [message.text for message in chat.queue]
        for text in texts:
            found.update(MESSAGE_TOKEN.findall(text))
    return found


def definite_failure(outcome: Outcome, not_done: re.Pattern[str]) -> bool:
    """A failed write that says for sure it did not happen (4xx or `not_done`)."""
    status = HTTP_STATUS.search(outcome.text)
    if status and 400 <= int(status.group(1)) < 500:
        return True
    return bool(not_done.search(outcome.text))


@dataclass
class MessageCheck:
    """What became of the send_message calls."""

    lost_after_success: int = 0
    lost_after_ambiguous: int = 0
    delivered_twice: int = 0
    misreported_failures: int = 0
    examples: list[str] = field(default_factory=list[str])

    @property
    def lost(self) -> int:
        """Every send that missed its target, whichever way."""
        return (
            self.lost_after_success + self.lost_after_ambiguous + self.delivered_twice
        )


def check_messages(run: Run, delivered: Counter[str]) -> MessageCheck:
    """Compare each send's report with what reached the replicas."""
    check = MessageCheck()
    for token, outcome in run.sends.items():
        count = delivered[token]
        reported_sent = outcome.kind == "ok" and (
            outcome.data.get("status") in SENT_STATUSES
        )
        if count >= 2:
            check.delivered_twice += 1
        elif count == 0 and reported_sent:
            check.lost_after_success += 1
        elif count == 0 and not definite_failure(outcome, NOT_SENT):
            check.lost_after_ambiguous += 1
        elif count == 1 and not reported_sent and definite_failure(outcome, NOT_SENT):
            check.misreported_failures += 1
        else:
            continue
        report = outcome.text.replace("\n", " ")[:300]
        check.examples.append(f"{token} delivered {count}x; reported: {report}")
    return check


@dataclass
class ReplicaCheck:
    """What became of the create_replica calls."""

    duplicates: int = 0
    """Replicas beyond the first for one name: one create made two."""
    phantoms: int = 0
    """Creates reported done whose replica does not exist."""
    orphans: int = 0
    """Creates that failed ambiguously whose replica exists (allowed)."""
    misreported: int = 0
    """Creates that failed definitely whose replica exists all the same."""


def check_replicas(run: Run, state: EmulatorState) -> ReplicaCheck:
    """Compare each create's report with the replicas that exist."""
    names = Counter(replica.name for replica in state.replicas(ORGANIZATION))
    check = ReplicaCheck()
    for name, outcome in run.creates.items():
        count = names[name]
        check.duplicates += max(count - 1, 0)
        if outcome.kind == "ok" and count == 0:
            check.phantoms += 1
        elif outcome.kind != "ok" and count > 0:
            if definite_failure(outcome, NOT_CREATED):
                check.misreported += 1
            else:
                check.orphans += 1
    return check


# Report


def verdict(good: bool) -> str:
    """How a target line ends."""
    return "ok" if good else "MISSED"


def report(
    run: Run,
    args: argparse.Namespace,
    emulator: EmulatorServer,
    peak_kib: int | None,
    server_died: bool,
    settled: bool,
    wall: float,
    server_log: str,
) -> bool:
    """Print the results; True when every target is met."""
    state = emulator.state
    answered = sum(run.outcomes[k] for k in ("ok", "error", "crash"))
    crashes = sum(run.outcomes[k] for k in ("crash", "jsonrpc", "transport"))
    crashes += int(server_died)
    replicas = check_replicas(run, state)
    messages = check_messages(run, user_texts(state))
    faults = emulator.faults.counts()
    all_answered = answered == args.calls

    print(
        f"soak: {args.calls} calls, {args.concurrency} workers, seed {args.seed}, "
        f"fault rate {args.fault_rate:g}"
    )
    print(
        f"calls answered      {answered}/{args.calls} (results {run.outcomes['ok']}, "
        f"error results {run.outcomes['error']}, not issued "
        f"{args.calls - run.issued})  {verdict(all_answered)}"
    )
    print(
        f"crashes             {crashes} (bare tool errors {run.outcomes['crash']}, "
        f"JSON-RPC errors {run.outcomes['jsonrpc']}, broken transport "
        f"{run.outcomes['transport']}, server died {server_died})  "
        f"{verdict(crashes == 0)}"
    )
    print(
        f"duplicate replicas  {replicas.duplicates} (of {len(run.creates)} creates; "
        f"reported created but absent: {replicas.phantoms}; failed ambiguously "
        f"but created: {replicas.orphans}; reported not created but created: "
        f"{replicas.misreported})  {verdict(replicas.duplicates == 0)}"
    )
    print(
        f"lost messages       {messages.lost} (of {len(run.sends)} sends: "
        f"{messages.lost_after_success} after success, "
        f"{messages.lost_after_ambiguous} after an ambiguous failure, "
        f"{messages.delivered_twice} delivered twice; reported failed but "
        f"delivered once: {messages.misreported_failures})  "
        f"{verdict(messages.lost == 0)}"
    )
    peak = f"{peak_kib / 1024:.1f} MiB" if peak_kib is not None else "unknown"
    print(f"peak RSS (server)   {peak}")
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(faults.items()))
    failing = sum(n for kind, n in faults.items() if kind != "latency")
    share = failing / run.requests if run.requests else 0.0
    print(
        f"faults injected     {sum(faults.values())} ({kinds}); {failing} of "
        f"{run.requests} HTTP requests failed ({share:.1%})"
    )
    print(f"wall time           {wall:.1f} s (turns settled: {settled})")
    print(f"server tracebacks   {server_log.count('Traceback')}")

    if run.errors:
        print("error results by cause:")
        for reason, count in run.errors.most_common(8):
            print(f"  {count:4d}  {reason}")
    for text in run.crash_texts[:5]:
        print(f"crash: {text}")
    for example in messages.examples[:5]:
        print(f"message: {example}")

    return (
        all_answered
        and crashes == 0
        and replicas.duplicates == 0
        and messages.lost == 0
    )


# Main


async def soak(args: argparse.Namespace, server_log: TextIO) -> bool:
    """Start both sides, drive the calls, check the state, report."""
    started = time.monotonic()
    async with EmulatorServer(emulator_config(args.seed)) as emulator:
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "replicas_mcp", "serve"],
            env={"REPLICAS_API_KEY": KEY, "REPLICAS_BASE_URL": emulator.base_url},
        )
        async with Client(stdio_client(params, errlog=server_log)) as client:
            pid = server_pid()
            run = await prepare(client, args.seed)

            rules = [emulator.faults.inject(r) for r in fault_rules(args.fault_rate)]
            deadline = started + args.deadline
            await drive(client, run, args.calls, args.concurrency, deadline)
            # The first rule matches every request and never stops one.
            run.requests = emulator.faults.matched(rules[0])
            emulator.faults.clear()

            settled = await settle(emulator.state)
            server_died = pid is None or not alive(pid)
            peak_kib = None if pid is None else peak_rss_kib(pid)

        wall = time.monotonic() - started
        server_log.seek(0)
        return report(
            run,
            args,
            emulator,
            peak_kib,
            server_died,
            settled,
            wall,
            server_log.read(),
        )


def main() -> None:
    """Parse the options, run the soak, exit 1 if a target was missed."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument(
        "--deadline",
        type=float,
        default=120.0,
        help="seconds after which no new call starts (default 120)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryFile("w+") as server_log:
        passed = anyio.run(soak, args, server_log)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()

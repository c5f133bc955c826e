"""Claude-shaped chat transcripts for the large replicas, built without turns.

Every turn has exactly `TURN_EVENTS` events, rendered by the same
`ClaudeRenderer` as live turns: the prompt, a thought, a Read, an Edit and a
Bash call (each a `tool_use` plus its `tool_result`), a closing text and the
result message. A transcript's last turn can carry one monster: a closing text
of `LONG_TEXT_CHARS` or a Bash result of `LONG_RESULT_CHARS`.
"""

import functools
from datetime import datetime, timedelta
from typing import Literal

from .agent import Said, Step, Thought, ToolUse, TurnScript
from .clock import format_timestamp
from .records import Chat, HistoryRecord
from .transcripts import ClaudeRenderer, RawEvent

Monster = Literal["text", "tool_result"]

TURN_EVENTS = 10
LONG_TEXT_CHARS = 50_000
LONG_RESULT_CHARS = 200 * 1024
MODEL = "sonnet"

_EVENT_SPACING = timedelta(seconds=3)
_ROW_CHARS = 100
"""Width of every line of the monsters (newline included), so sizes are exact."""

_FILES = (
    "web/src/features/billing/components/BillingTable.tsx",
    "web/src/features/billing/api.ts",
    "web/src/features/checkout/hooks/useCheckoutRow.ts",
    "web/src/features/reports/components/ReportsSummary.tsx",
    "api/app/invoices/service.py",
    "api/app/invoices/schemas.py",
    "api/app/payments/router.py",
    "api/tests/invoices/test_service.py",
)
_CHECKS = {"web": "npx vitest run --reporter=dot", "api": "pytest -q -x"}
_ASKS = (
    "Move {name} in {path} to the v2 invoices API and keep the old totals.",
    "The {name} change broke rounding; fix {path} so cents are never lost.",
    "Rename {name} in {path} to match the v2 field names.",
    "Add a test for {name} in {path} covering refunds and credit notes.",
    "Why does {name} in {path} still call the legacy endpoint? Fix it.",
)
_NAMES = ("invoiceTotal", "lineItems", "taxRate", "dueDate", "creditNote", "currency")


def _prompt(turn: int) -> tuple[str, str, str]:
    """Return (prompt, path under /workspace, repository short name) of a turn."""
    path = _FILES[turn % len(_FILES)]
    name = _NAMES[(turn // len(_FILES)) % len(_NAMES)]
    ask = _ASKS[turn % len(_ASKS)].format(name=name, path=path)
    return f"{ask} (step {turn + 1})", path, path.split("/", 1)[0]


def _source(path: str, turn: int) -> str:
    """Return a short, plausible excerpt of the file the agent reads."""
    if path.endswith(".py"):
        return (
            "def compute_total(invoice: Invoice) -> int:\n"
            "    subtotal = sum(item.amount for item in invoice.line_items)\n"
            f"    tax = round(subtotal * invoice.tax_rate / {100 + turn})\n"
            "    return subtotal + tax\n"
        )
    return (
        "export function invoiceTotal(invoice: Invoice): number {\n"
        "  const subtotal = invoice.lineItems.reduce((s, i) => s + i.amount, 0);\n"
        f"  return subtotal + Math.round(subtotal * invoice.taxRate / {100 + turn});\n"
        "}\n"
    )


def padded_rows(lines: list[str], total_chars: int) -> str:
    """Lay `lines` out as fixed-width rows, repeating them, to exactly `total_chars`.

    `total_chars` must be a multiple of the row width; lines are cut to fit.
    """
    if total_chars % _ROW_CHARS:
        raise ValueError(f"total_chars must be a multiple of {_ROW_CHARS}")

    width = _ROW_CHARS - 1
    rows = total_chars // _ROW_CHARS
    cells = [line[:width].ljust(width) + "\n" for line in lines]
    return "".join(cells[k % len(cells)] for k in range(rows))


@functools.cache
def long_review() -> str:
    """Return the `LONG_TEXT_CHARS` closing text: a per-file review as a table."""
    header = [
        "Migration review: every file the v2 invoices change touched.",
        "| File | Added | Removed | Note |",
        "|---|---|---|---|",
    ]
    rows = [
        f"| {_FILES[k % len(_FILES)]} | {3 + k % 40} | {k % 17} | "
        f"{_NAMES[k % len(_NAMES)]} now reads the v2 field (row {k}) |"
        for k in range(LONG_TEXT_CHARS // _ROW_CHARS - len(header))
    ]
    return padded_rows(header + rows, LONG_TEXT_CHARS)


@functools.cache
def long_test_log() -> str:
    """Return the `LONG_RESULT_CHARS` Bash output: a verbose test run."""
    lines = [
        f" PASS {_FILES[k % 4].split('/', 1)[1]} > case {k} keeps totals {k % 90 + 3}ms"
        for k in range(LONG_RESULT_CHARS // _ROW_CHARS)
    ]
    return padded_rows(lines, LONG_RESULT_CHARS)


def _turn(chat_tag: str, turn: int, monster: Monster | None) -> tuple[str, TurnScript]:
    """Return the prompt and the steps of one turn, with its monster if any."""
    prompt, path, repo = _prompt(turn)
    full = f"/workspace/{path}"
    old = _source(path, turn)
    new = old.replace("Math.round(", "roundCents(").replace(" round(", " round_even(")
    check = _CHECKS[repo]
    check_output = long_test_log() if monster == "tool_result" else "12 passed\n"
    summary = f"Updated `{path}`; `{check}` passes."
    closing = long_review() if monster == "text" else summary
    # Tool call ids are unique across the workspace, as Claude's are.
    call = f"toolu_{chat_tag}{turn:05d}"
    steps: tuple[Step, ...] = (
        Thought(f"The request is about {path}. Read it, then change the rounding."),
        ToolUse(f"{call}r", "read", path=full, output=old),
        ToolUse(f"{call}e", "edit", full, old=old, new=new, output="Done"),
        ToolUse(f"{call}b", "shell", command=check, output=check_output),
        Said(closing),
    )
    return prompt, TurnScript(steps, summary)


def _raw_turn(
    renderer: ClaudeRenderer, chat_tag: str, turn: int, monster: Monster | None
) -> list[RawEvent]:
    prompt, script = _turn(chat_tag, turn, monster)
    events = renderer.user(prompt, [])
    for step in script.steps:
        events += renderer.step(step)
    events += renderer.finish(script, duration_ms=20_000 + turn % 7 * 1_000)
    return events


def chat_history(
    chat: Chat,
    turns: int,
    start: datetime,
    *,
    monster: Monster | None = None,
) -> list[HistoryRecord]:
    """Return `turns` turns of `chat`, one event every few seconds from `start`.

    The chat's `thread_id` is the Claude session id of every event.
    """
    renderer = ClaudeRenderer(chat.thread_id or "", MODEL)
    chat_tag = chat.id.replace("-", "")[:12]
    raw: list[RawEvent] = []
    for turn in range(turns):
        last = turn == turns - 1
        raw += _raw_turn(renderer, chat_tag, turn, monster if last else None)

    return [
        HistoryRecord(
            chat.id,
            {
                "timestamp": format_timestamp(start + index * _EVENT_SPACING),
                "type": event_type,
                "payload": payload,
            },
        )
        for index, (event_type, payload) in enumerate(raw)
    ]


def last_prompt(turns: int) -> str:
    """Return the prompt of the last of `turns` turns (the chat's last message)."""
    return _prompt(turns - 1)[0]


def history_span(events: int) -> timedelta:
    """Return how long `events` events take, start to last."""
    return max(events - 1, 0) * _EVENT_SPACING

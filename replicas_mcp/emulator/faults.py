"""Fault rules: which requests fail, on which calls, and how.

A rule matches requests by method and path glob, counts the requests it
matches, and fires on some of them (`after`, `times`, `every`, or a seeded
`rate`). `FaultInjector` holds the rules of one emulator and logs every fault
it hands out; `fault_middleware.py` carries the faults out on the wire. The
spec syntax (`POST /v1/replica:status=503:times=2`) is documented in
FIDELITY.md, "Fault injection".
"""

import math
import random
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

FaultKind = Literal["latency", "status", "html", "malformed", "drop", "cut", "lose"]

FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")

DEFAULT_HTML_STATUS = 502

# Kinds that never carry a status, and the one kind that must.
_NO_STATUS: frozenset[str] = frozenset({"latency", "malformed", "drop", "cut"})


class FaultSpecError(ValueError):
    """A fault spec that cannot be read; the message names the bad part."""

    def __init__(self, spec: str, problem: str) -> None:
        super().__init__(f"bad fault {spec!r}: {problem}")
        self.spec = spec
        self.problem = problem


@dataclass(frozen=True)
class FaultRule:
    """One fault: the requests it matches, the calls it fires on, what it does.

    `method` and `path` select requests (`*` for any; in paths `*` is one
    segment, `**` any run of segments, `{id}` one segment). Of the matching
    requests the rule skips the first `after`, then fires on every `every`-th,
    with probability `rate` if set, at most `times` times.
    """

    kind: FaultKind
    method: str = "*"
    path: str = "*"
    status: int | None = None
    """`status`: required. `html`: defaults to 502. `lose`: answer this instead
    of dropping the connection."""
    retry_after: int | None = None
    """Seconds for a `Retry-After` header; kind `status` only."""
    latency: float = 0.0
    """Seconds to wait before anything else happens; any kind."""
    events: int = 0
    """`cut`: how many server-sent events reach the client before the cut."""
    after: int = 0
    times: int | None = None
    every: int = 1
    rate: float | None = None
    seed: int | None = None
    """Seed of this rule's `rate` draws; by default the injector's seed."""

    def __post_init__(self) -> None:
        """Normalise the method and reject combinations that cannot work."""
        object.__setattr__(self, "method", self.method.upper())
        if self.kind == "html" and self.status is None:
            object.__setattr__(self, "status", DEFAULT_HTML_STATUS)

        problem = _rule_problem(self)
        if problem is not None:
            raise ValueError(problem)

    @property
    def spec(self) -> str:
        """The rule in spec syntax; `parse_fault(rule.spec) == rule`."""
        options = [_action(self)] if self.kind != "latency" else []
        settings = {
            "latency": _number(self.latency) if self.latency else None,
            "retry_after": self.retry_after,
            "after": self.after or None,
            "times": self.times,
            "every": self.every if self.every != 1 else None,
            "rate": _number(self.rate) if self.rate is not None else None,
            "seed": self.seed,
        }
        options += [f"{k}={v}" for k, v in settings.items() if v is not None]
        return ":".join([_target(self.method, self.path), *options])

    def __str__(self) -> str:
        return self.spec


def _rule_problem(rule: FaultRule) -> str | None:
    """Say what is wrong with a rule, in the spec's own words, or None."""
    checks = (_kind_problem, _target_problem, _status_problem, _counting_problem)
    for check in checks:
        problem = check(rule)
        if problem is not None:
            return problem
    return None


def _kind_problem(rule: FaultRule) -> str | None:
    if rule.kind not in FAULT_KINDS:
        return f"kind must be one of {', '.join(FAULT_KINDS)}, got {rule.kind!r}"
    if not math.isfinite(rule.latency) or rule.latency < 0:
        return f"latency={_number(rule.latency)}: must be 0 or more seconds"
    if rule.kind == "latency" and rule.latency == 0:
        return (
            "no fault kind: add status=CODE, html, malformed, drop, cut=N, lose "
            "or latency=SECONDS"
        )
    if rule.events < 0:
        return f"cut={rule.events}: must be 0 or more events"
    if rule.events and rule.kind != "cut":
        return f"events={rule.events} applies only to cut"
    return None


def _target_problem(rule: FaultRule) -> str | None:
    if rule.method != "*" and rule.method not in HTTP_METHODS:
        return f"{rule.method!r} is not an HTTP method ({', '.join(HTTP_METHODS)})"
    if rule.path != "*" and not rule.path.startswith("/"):
        return f"path {rule.path!r} must start with '/' (or be '*')"
    return None


def _status_problem(rule: FaultRule) -> str | None:
    status = rule.status
    if rule.kind == "status" and status is None:
        return "kind status needs status=CODE"
    if status is not None and rule.kind in _NO_STATUS:
        return f"status={status} does not apply to {rule.kind}"
    if status is not None and not 400 <= status <= 599:
        # Named as the spec wrote it: status=, html= or lose=.
        return f"{rule.kind}={status}: not an error status (400-599)"
    if rule.retry_after is not None and rule.kind != "status":
        return "retry_after applies only to status=CODE"
    if rule.retry_after is not None and rule.retry_after < 0:
        return f"retry_after={rule.retry_after}: must be 0 or more seconds"
    return None


def _counting_problem(rule: FaultRule) -> str | None:
    if rule.after < 0:
        return f"after={rule.after}: must be 0 or more"
    if rule.times is not None and rule.times < 1:
        return f"times={rule.times}: must be 1 or more"
    if rule.every < 1:
        return f"every={rule.every}: must be 1 or more"
    if rule.rate is not None and not 0 <= rule.rate <= 1:
        return f"rate={rule.rate}: must be a probability from 0 to 1"
    if rule.seed is not None and rule.rate is None:
        return "seed applies only with rate=P"
    return None


def _number(value: float) -> str:
    return f"{value:g}"


def _target(method: str, path: str) -> str:
    if method == "*":
        return path
    return f"{method} {path}"


def _action(rule: FaultRule) -> str:
    if rule.kind == "status":
        return f"status={rule.status}"
    if rule.kind == "html":
        return "html" if rule.status == DEFAULT_HTML_STATUS else f"html={rule.status}"
    if rule.kind == "cut":
        return f"cut={rule.events}"
    if rule.kind == "lose" and rule.status is not None:
        return f"lose={rule.status}"
    return rule.kind


# Parsing


def _whole(name: str, value: str) -> int:
    if not value:
        raise ValueError(f"{name} needs a value, as in {name}=N")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name}={value}: not a whole number") from None


def _optional_whole(name: str, value: str) -> int | None:
    return _whole(name, value) if value else None


def _real(name: str, value: str) -> float:
    if not value:
        raise ValueError(f"{name} needs a value, as in {name}=0.5")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name}={value}: not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{name}={value}: not a finite number")
    return number


def _no_value(name: str, value: str) -> None:
    if value:
        raise ValueError(f"{name} takes no value, got {name}={value}")


# Options that say what happens: the kind, and the field its value fills.
_ACTIONS: dict[str, tuple[FaultKind, str | None, Callable[[str, str], Any]]] = {
    "status": ("status", "status", _whole),
    "html": ("html", "status", _optional_whole),
    "malformed": ("malformed", None, _no_value),
    "drop": ("drop", None, _no_value),
    "cut": ("cut", "events", _whole),
    "lose": ("lose", "status", _optional_whole),
}

# Options that shape a rule of any kind.
_SETTINGS: dict[str, Callable[[str, str], Any]] = {
    "latency": _real,
    "retry_after": _whole,
    "after": _whole,
    "times": _whole,
    "every": _whole,
    "rate": _real,
    "seed": _whole,
}


def parse_fault(spec: str) -> FaultRule:
    """Read a spec such as `POST /v1/replica:status=503:times=2` into a rule.

    Raises `FaultSpecError`, whose message names the part that is wrong.
    """
    target, *options = spec.strip().split(":")
    try:
        method, path = _parse_target(target.strip())
        kind, values = _parse_options(options)
        return FaultRule(kind=kind, method=method, path=path, **values)
    except ValueError as exc:
        raise FaultSpecError(spec, str(exc)) from None


def _parse_target(target: str) -> tuple[str, str]:
    words = target.split()
    if not words:
        raise ValueError(
            "no target; start with a path such as /v1/replica, "
            "'GET /v1/replica/*' or '*'"
        )
    if len(words) > 2:
        raise ValueError(f"target {target!r} has too many words; use 'METHOD /path'")

    if len(words) == 2:
        return words[0], words[1]
    if words[0] == "*" or words[0].startswith("/"):
        return "*", words[0]
    if words[0].upper() in HTTP_METHODS:
        return words[0], "*"
    raise ValueError(
        f"target {target!r} is not a path (starting with '/'), '*' or an HTTP method"
    )


def _parse_options(options: list[str]) -> tuple[FaultKind, dict[str, Any]]:
    kind: FaultKind = "latency"
    action: str | None = None
    values: dict[str, Any] = {}
    for option in options:
        name, _, value = (part.strip() for part in option.partition("="))
        if not name:
            raise ValueError("empty option (two ':' in a row or a trailing ':')")

        if name in _ACTIONS:
            if action is not None:
                raise ValueError(
                    f"{action} and {name} both say what happens; a rule has one "
                    "kind, so give a second fault for the other"
                )
            action = name
            kind, target, read = _ACTIONS[name]
            parsed = read(name, value)
            if target is not None and parsed is not None:
                values[target] = parsed
        elif name in _SETTINGS:
            if name in values:
                raise ValueError(f"{name} is given twice")
            values[name] = _SETTINGS[name](name, value)
        else:
            known = ", ".join([*_ACTIONS, *_SETTINGS])
            raise ValueError(f"unknown option {option.strip()!r}; known: {known}")

    return kind, values


# Matching


def path_pattern(glob: str) -> re.Pattern[str]:
    """Compile a path glob: `*` one segment, `**` anything, `{name}` a segment."""
    if glob in ("*", "**"):
        return re.compile(".*", re.DOTALL)

    parts: list[str] = []
    for token in re.split(r"(\*\*|\*|\?|\{[^/{}]*\})", glob):
        if token == "**":
            parts.append(".*")
        elif token == "*":
            parts.append("[^/]*")
        elif token == "?":
            parts.append("[^/]")
        elif token.startswith("{") and token.endswith("}"):
            parts.append("[^/]+")
        else:
            parts.append(re.escape(token))
    return re.compile("".join(parts), re.DOTALL)


def as_rule(rule: FaultRule | str) -> FaultRule:
    """Accept a rule or its spec."""
    return rule if isinstance(rule, FaultRule) else parse_fault(rule)


@dataclass(frozen=True)
class InjectedFault:
    """One fault the emulator handed out, as tests and reports read it."""

    kind: FaultKind
    method: str
    path: str
    rule: str
    """The spec of the rule that fired."""
    call: int
    """Which of the rule's matching requests this was, from 1."""


@dataclass(frozen=True)
class FaultDecision:
    """What to do with one request: wait `latency`, then carry out `rule`.

    `rule` None means: serve the request as usual after the wait.
    """

    latency: float
    rule: FaultRule | None


@dataclass
class _Armed:
    """A rule in use: its compiled path, its counters and its random source."""

    rule: FaultRule
    random: random.Random
    pattern: re.Pattern[str] = field(init=False)
    matched: int = 0
    fired: int = 0

    def __post_init__(self) -> None:
        self.pattern = path_pattern(self.rule.path)

    def matches(self, method: str, path: str) -> bool:
        rule = self.rule
        if rule.method != "*" and rule.method != method.upper():
            return False
        return self.pattern.fullmatch(path) is not None

    def fires(self) -> bool:
        """Count one matching request and tell whether the rule fires on it."""
        rule = self.rule
        self.matched += 1
        since = self.matched - rule.after
        if since < 1 or since % rule.every:
            return False
        if rule.times is not None and self.fired >= rule.times:
            return False
        # Drawn only for eligible calls, so the sequence depends on them alone.
        if rule.rate is not None and self.random.random() >= rule.rate:
            return False

        self.fired += 1
        return True


class FaultInjector:
    """The fault rules of one emulator, their counters, and what they injected.

    Rules are checked in order. Each rule counts the requests it matches that
    reach it. A rule of kind `latency` adds its wait and lets the request go
    on to later rules; the first rule of another kind that fires decides the
    request, and later rules do not see it. Every method takes one lock, so
    tests may change rules from any thread while the server runs.
    """

    def __init__(self, rules: Iterable[FaultRule | str] = (), *, seed: int = 0) -> None:
        self.seed = seed
        self._lock = threading.Lock()
        self._armed: list[_Armed] = []
        self._log: list[InjectedFault] = []
        self._added = 0
        for rule in rules:
            self.inject(rule)

    @property
    def enabled(self) -> bool:
        """Whether any rule is set; without one requests pass untouched."""
        return bool(self._armed)

    @property
    def rules(self) -> tuple[FaultRule, ...]:
        """The rules in the order they are checked."""
        with self._lock:
            return tuple(armed.rule for armed in self._armed)

    @property
    def injected(self) -> tuple[InjectedFault, ...]:
        """Every fault handed out so far, oldest first."""
        with self._lock:
            return tuple(self._log)

    def counts(self) -> dict[str, int]:
        """How many faults of each kind were handed out, by kind."""
        totals: dict[str, int] = {}
        for fault in self.injected:
            totals[fault.kind] = totals.get(fault.kind, 0) + 1
        return totals

    def inject(self, rule: FaultRule | str) -> FaultRule:
        """Add a rule (or a spec) after the others and return it.

        Its `rate` draws use its own `seed`, or the injector's seed and the
        number of rules added before it, so runs repeat exactly.
        """
        parsed = as_rule(rule)
        with self._lock:
            seed = (
                parsed.seed if parsed.seed is not None else f"{self.seed}:{self._added}"
            )
            self._added += 1
            self._armed.append(_Armed(parsed, random.Random(str(seed))))
        return parsed

    def matched(self, rule: FaultRule) -> int:
        """How many requests the first rule equal to `rule` counted so far.

        A rule counts the requests it matches that reach it (see the class).
        """
        with self._lock:
            for armed in self._armed:
                if armed.rule == rule:
                    return armed.matched
        raise ValueError(f"no fault rule {rule.spec!r} is set")

    def remove(self, rule: FaultRule) -> None:
        """Remove the first rule equal to `rule`; ValueError if there is none."""
        with self._lock:
            for index, armed in enumerate(self._armed):
                if armed.rule == rule:
                    del self._armed[index]
                    return
        raise ValueError(f"no fault rule {rule.spec!r} is set")

    def clear(self) -> None:
        """Remove every rule; the log of injected faults stays."""
        with self._lock:
            self._armed.clear()

    def clear_log(self) -> None:
        """Forget the faults injected so far."""
        with self._lock:
            self._log.clear()

    def decide(self, method: str, path: str) -> FaultDecision | None:
        """Count a request against the rules and say what to do with it.

        None means no rule fired: serve the request as usual.
        """
        with self._lock:
            latency = 0.0
            for armed in self._armed:
                if not armed.matches(method, path) or not armed.fires():
                    continue

                rule = armed.rule
                fault = InjectedFault(rule.kind, method, path, rule.spec, armed.matched)
                self._log.append(fault)
                latency += rule.latency
                if rule.kind != "latency":
                    return FaultDecision(latency, rule)

        return FaultDecision(latency, None) if latency else None

"""Fault rules without a socket: spec parsing, matching, counting, the CLI."""

import logging
from typing import Any

import httpx2
import pytest

import replicas_mcp.emulator as emulator_package
from replicas_mcp import cli
from replicas_mcp.emulator import (
    EmulatorConfig,
    EmulatorServer,
    FaultInjector,
    FaultRule,
    FaultSpecError,
    parse_fault,
)
from replicas_mcp.emulator.faults import path_pattern

from ._support import fast_config


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            "POST /v1/replica:status=503:times=2",
            {"kind": "status", "method": "POST", "path": "/v1/replica", "times": 2},
        ),
        (
            "GET /v1/replica/*:latency=2.5",
            {"kind": "latency", "method": "GET", "latency": 2.5},
        ),
        (
            "*:rate=0.1:status=500",
            {"kind": "status", "method": "*", "path": "*", "rate": 0.1},
        ),
        (
            "post /v1/replica/{id}/messages:lose",
            {"kind": "lose", "method": "POST", "status": None},
        ),
        ("/v1/replica/**:html", {"kind": "html", "method": "*", "status": 502}),
        ("GET:drop", {"kind": "drop", "method": "GET", "path": "*"}),
        (
            " GET /v1/replica/*/events : cut=3 : after=1 ",
            {"kind": "cut", "events": 3, "after": 1, "path": "/v1/replica/*/events"},
        ),
        (
            "GET /v1/replica:status=429:retry_after=2:every=2",
            {"status": 429, "retry_after": 2, "every": 2},
        ),
        (
            "*:malformed:rate=0.25:seed=9:latency=0.1",
            {"kind": "malformed", "rate": 0.25, "seed": 9, "latency": 0.1},
        ),
        ("POST /v1/replica:lose=502", {"kind": "lose", "status": 502}),
    ],
)
def test_good_specs_become_rules(spec: str, expected: dict[str, Any]) -> None:
    """Each spec sets the fields it names; its canonical form reads back."""
    rule = parse_fault(spec)

    assert {name: getattr(rule, name) for name in expected} == expected
    assert parse_fault(rule.spec) == rule
    assert str(rule) == rule.spec


def test_canonical_spec_is_compact() -> None:
    """Defaults are left out and the method is upper-cased."""
    rule = parse_fault("post /v1/replica : times=2 : status=503 : every=1")

    assert rule.spec == "POST /v1/replica:status=503:times=2"


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("", "no target"),
        (":drop", "no target"),
        ("v1/replica:drop", "'v1/replica' is not a path"),
        ("GET /v1/replica extra:drop", "too many words"),
        ("FETCH /v1/replica:drop", "'FETCH' is not an HTTP method"),
        ("GET v1/replica:drop", "path 'v1/replica' must start with '/'"),
        ("GET /v1/replica", "no fault kind"),
        ("GET /v1/replica:status", "status needs a value"),
        ("GET /v1/replica:status=abc", "status=abc: not a whole number"),
        ("GET /v1/replica:status=200", "status=200: not an error status"),
        ("GET /v1/replica:html=302", "html=302: not an error status"),
        ("GET /v1/replica:lose=99", "lose=99: not an error status"),
        ("GET /v1/replica:status=503:drop", "status and drop both say what happens"),
        ("GET /v1/replica:malformed:status=500", "malformed and status both"),
        ("GET /v1/replica:drop=1", "drop takes no value, got drop=1"),
        ("GET /v1/replica:cut", "cut needs a value"),
        ("GET /v1/replica:cut=-1", "cut=-1: must be 0 or more"),
        ("GET /v1/replica:drop:times=0", "times=0: must be 1 or more"),
        ("GET /v1/replica:drop:every=0", "every=0: must be 1 or more"),
        ("GET /v1/replica:drop:after=-2", "after=-2: must be 0 or more"),
        ("GET /v1/replica:drop:rate=1.5", "rate=1.5: must be a probability"),
        ("GET /v1/replica:drop:rate=often", "rate=often: not a number"),
        ("GET /v1/replica:drop:rate=nan", "rate=nan: not a finite number"),
        ("GET /v1/replica:drop:seed=3", "seed applies only with rate"),
        ("GET /v1/replica:drop:retry_after=1", "retry_after applies only to"),
        ("GET /v1/replica:status=429:retry_after=-1", "retry_after=-1"),
        ("GET /v1/replica:latency=-1", "latency=-1"),
        ("GET /v1/replica:latency=fast", "latency=fast: not a number"),
        ("GET /v1/replica:drop:times=1:times=2", "times is given twice"),
        ("GET /v1/replica:drop:colour=red", "unknown option 'colour=red'"),
        ("GET /v1/replica:drop:", "empty option"),
        ("GET /v1/replica::drop", "empty option"),
        ("GET /v1/replica:drop:status=502", "drop and status both"),
    ],
)
def test_bad_specs_name_the_bad_part(spec: str, problem: str) -> None:
    """Every error quotes the spec and says what is wrong with which part."""
    with pytest.raises(FaultSpecError) as caught:
        parse_fault(spec)

    assert str(caught.value).startswith(f"bad fault {spec!r}: ")
    assert problem in caught.value.problem
    assert isinstance(caught.value, ValueError)


def test_rules_built_in_python_are_checked_too() -> None:
    """FaultRule validates itself, in the spec's words."""
    with pytest.raises(ValueError, match="kind status needs status=CODE"):
        FaultRule(kind="status")
    with pytest.raises(ValueError, match="status=503 does not apply to drop"):
        FaultRule(kind="drop", status=503)

    rule = FaultRule(kind="cut", method="get", path="/v1/replica/*/events", events=2)
    assert rule.spec == "GET /v1/replica/*/events:cut=2"


@pytest.mark.parametrize(
    ("glob", "path", "matches"),
    [
        ("/v1/replica/*", "/v1/replica/abc", True),
        ("/v1/replica/*", "/v1/replica/abc/history", False),
        ("/v1/replica/*", "/v1/replica", False),
        ("/v1/replica/{id}/messages", "/v1/replica/abc/messages", True),
        ("/v1/replica/{id}/messages", "/v1/replica//messages", False),
        ("/v1/replica/**", "/v1/replica/abc/chats/def", True),
        ("/v1/replica/*/events", "/v1/replica/abc/events", True),
        ("/v1/replica?", "/v1/replicas", True),
        ("*", "/anything/at/all", True),
        ("/v1/replica", "/v1/replicas", False),
        ("/v1/replica.json", "/v1/replicaXjson", False),
    ],
)
def test_path_globs(glob: str, path: str, matches: bool) -> None:
    """`*` and `{name}` stay in one segment, `**` crosses them."""
    assert (path_pattern(glob).fullmatch(path) is not None) is matches


def fired(injector: FaultInjector, calls: int) -> list[int]:
    """Offer `calls` list requests and return the 1-based calls that failed."""
    decisions = [injector.decide("GET", "/v1/replica") for _ in range(calls)]
    return [n for n, d in enumerate(decisions, 1) if d is not None]


def test_rate_draws_repeat_for_the_same_seed() -> None:
    """The injector's seed, or a rule's own, fixes which calls fail."""
    spec = "GET /v1/replica:status=500:rate=0.5"

    same = [fired(FaultInjector([spec], seed=3), 50) for _ in range(2)]
    other = fired(FaultInjector([spec], seed=4), 50)
    own = [fired(FaultInjector([f"{spec}:seed=8"], seed=s), 50) for s in (1, 2)]

    assert same[0] == same[1]
    assert same[0] != other
    assert own[0] == own[1]
    assert 10 < len(same[0]) < 40


def test_after_every_and_times_combine() -> None:
    """Skip two, then every second match, three times in all."""
    injector = FaultInjector(["GET /v1/replica:drop:after=2:every=2:times=3"])

    assert fired(injector, 12) == [4, 6, 8]
    assert injector.matched(injector.rules[0]) == 12


def test_matched_counts_what_reaches_a_rule() -> None:
    """A rule behind one that fired does not count that request."""
    injector = FaultInjector(["*:latency=0.1", "GET:drop:times=1", "GET:status=500"])
    slow, drop, error = injector.rules

    fired(injector, 3)
    injector.decide("POST", "/v1/replica")

    assert [injector.matched(r) for r in (slow, drop, error)] == [4, 3, 2]


def test_remove_clear_and_the_log() -> None:
    """Rules come and go; the log stays until cleared on its own."""
    injector = FaultInjector()
    rule = injector.inject("GET /v1/replica:status=503")
    injector.inject(FaultRule(kind="latency", latency=0.5))

    decision = injector.decide("GET", "/v1/replica")
    injector.remove(rule)
    after_remove = injector.decide("GET", "/v1/replica")
    injector.clear()

    assert decision is not None and decision.rule == rule
    assert after_remove is not None and after_remove.rule is None
    assert after_remove.latency == 0.5
    assert injector.rules == ()
    assert not injector.enabled
    assert injector.counts() == {"status": 1, "latency": 1}
    with pytest.raises(ValueError, match="no fault rule"):
        injector.remove(rule)

    injector.clear_log()
    assert injector.injected == ()


def test_config_checks_its_faults_early() -> None:
    """A bad spec in EmulatorConfig fails at construction, naming itself."""
    with pytest.raises(FaultSpecError, match="status=abc"):
        EmulatorConfig(faults=("GET /v1/replica:status=abc",))
    with pytest.raises(ValueError, match="tuple of rules or specs"):
        EmulatorConfig(faults="GET:drop")  # type: ignore[arg-type]


def test_rules_can_change_from_another_thread() -> None:
    """With run_in_thread, sync code injects and clears while it serves."""
    with EmulatorServer(fast_config()).run_in_thread() as server:
        headers = {"Authorization": f"Bearer {server.api_key}"}
        url = f"{server.base_url}/v1/replica"
        server.faults.inject("GET /v1/replica:status=503")
        failed = httpx2.get(url, headers=headers).status_code
        server.faults.clear()
        served = httpx2.get(url, headers=headers).status_code

    assert (failed, served) == (503, 200)
    assert len(server.faults.injected) == 1


# The command line


def test_cli_passes_faults_and_seed_to_the_emulator(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each --fault becomes a rule of the served config, in order."""
    served: list[EmulatorConfig] = []

    def fake_serve(config: EmulatorConfig, **options: Any) -> None:
        served.append(config)
        options["on_ready"]("http://127.0.0.1:8765")

    monkeypatch.setattr(emulator_package, "serve", fake_serve)
    cli.main(
        [
            "emulator",
            "--fault",
            "POST /v1/replica:status=503:times=2",
            "--fault",
            "*:rate=0.1:status=500",
            "--fault-seed",
            "7",
        ]
    )

    [config] = served
    assert [str(rule) for rule in config.faults] == [
        "POST /v1/replica:status=503:times=2",
        "*:status=500:rate=0.1",
    ]
    assert config.fault_seed == 7
    assert (
        "injecting fault POST /v1/replica:status=503:times=2" in capsys.readouterr().out
    )


def test_cli_rejects_a_bad_spec_naming_the_bad_part(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A bad --fault exits 2 before serving, saying what is wrong."""
    monkeypatch.setattr(emulator_package, "serve", pytest.fail)

    with caplog.at_level(logging.ERROR), pytest.raises(SystemExit) as exited:
        cli.main(["emulator", "--fault", "GET /v1/replica:status=abc"])

    assert exited.value.code == 2
    assert (
        "--fault: bad fault 'GET /v1/replica:status=abc': status=abc: not a whole "
        "number" in caplog.text
    )


def test_emulator_help_documents_the_spec_syntax(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`replicas-mcp emulator --help` shows the kinds, matchers and examples."""
    with pytest.raises(SystemExit) as exited:
        cli.main(["emulator", "--help"])

    out = capsys.readouterr().out
    assert exited.value.code == 0
    for part in ("--fault SPEC", "status=CODE", "cut=N", "lose[=CODE]", "rate=P"):
        assert part in out
    assert "POST /v1/replica:status=503:times=2" in out

"""Start-up pauses the garbage collector and serving resumes it."""

import gc
from collections.abc import Iterator

import pytest

from replicas_mcp.startup import pause_collector, resume_collector


@pytest.fixture
def collector() -> Iterator[None]:
    """Leave the collector as the test process had it."""
    yield
    gc.unfreeze()
    gc.enable()


def test_resuming_after_a_pause_collects_again_and_freezes_start_up(
    collector: None,
) -> None:
    pause_collector()
    assert not gc.isenabled()

    resume_collector()

    assert gc.isenabled()
    assert gc.get_freeze_count() > 0


def test_resuming_without_a_pause_changes_nothing(collector: None) -> None:
    gc.unfreeze()

    resume_collector()

    assert gc.isenabled()
    assert gc.get_freeze_count() == 0

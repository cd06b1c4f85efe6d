"""The trigger-message throttle spends the window's budget in blocks but never allows more than the rate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from messaging import throttling
from messaging.throttling import _Leases


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The blocks asked of the shared counter (the cache: Redis in CI, local memory otherwise)."""
    blocks: list[int] = []
    real = throttling.count_hits

    def spy(key: str, hits: int, timeout: int) -> int:
        blocks.append(hits)
        return real(key, hits, timeout)

    monkeypatch.setattr(throttling, "count_hits", spy)
    return blocks


@pytest.mark.parametrize("limit", [1, 3, 25, 100])
def test_one_process_allows_exactly_the_rate(limit: int, counted: list[int]) -> None:
    leases = _Leases()
    answers = [leases.take("throttle:t:1.2.3.4:a", 7, 60, limit) for _ in range(limit + 30)]
    assert answers == [True] * limit + [False] * 30
    assert max(counted) <= throttling.LEASE_MAX
    # A busy address costs a round trip per block, and none at all once its budget is spent.
    assert len(counted) < limit // 4 + 6


def test_processes_sharing_the_counter_never_allow_more_than_the_rate(counted: list[int]) -> None:
    processes = [_Leases() for _ in range(4)]
    allowed = sum(processes[i % 4].take("throttle:t:5.6.7.8:b", 7, 60, 50) for i in range(400))
    assert 50 - 4 * throttling.LEASE_MAX <= allowed <= 50
    assert not any(p.take("throttle:t:5.6.7.8:b", 7, 60, 50) for p in processes)


def test_addresses_and_windows_have_budgets_of_their_own() -> None:
    leases = _Leases()
    assert [leases.take("throttle:t:1.1.1.1:w1", 1, 60, 2) for _ in range(3)] == [True, True, False]
    assert leases.take("throttle:t:2.2.2.2:w1", 1, 60, 2)
    assert leases.take("throttle:t:1.1.1.1:w2", 2, 60, 2)  # the next window


def test_the_view_counts_again_in_the_next_window(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from rest_framework.test import APIClient

    monkeypatch.setattr(throttling.TriggerMessageMissThrottle, "rate", "2/minute")
    start = datetime(2026, 5, 1, 12, 0, 5, tzinfo=UTC)

    def status() -> int:
        return APIClient().post("/api/trigger-message", {"event_id": "x", "message": "m"}, format="json").status_code

    with time_machine.travel(start, tick=False) as clock:
        assert [status(), status(), status()] == [400, 400, 429]
        clock.move_to(start + timedelta(seconds=60))
        assert status() == 400


def test_following_many_addresses_forgets_ended_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttling, "MAX_TRACKED", 10)
    leases = _Leases()
    with time_machine.travel(datetime(2026, 5, 1, 12, 0, 5, tzinfo=UTC), tick=False) as clock:
        window = int(datetime(2026, 5, 1, 12, 0, 5, tzinfo=UTC).timestamp() // 60)
        for i in range(10):
            leases.take(f"throttle:t:10.0.0.{i}:old", window, 60, 5)
        clock.shift(120)
        assert leases.take("throttle:t:10.0.1.1:new", window + 2, 60, 5)
    assert len(leases._leases) == 1

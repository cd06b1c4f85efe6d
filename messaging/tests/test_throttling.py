"""The trigger-message miss budget: exactly the rate per address and window, shared by all processes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from messaging import throttling


def miss(address: str = "203.0.113.5") -> int:
    """A post for an unknown event (a guess), as the view counts it."""
    return APIClient(REMOTE_ADDR=address).post(
        "/api/trigger-message", {"event_id": str(uuid.uuid4()), "message": "m"}, format="json"
    ).status_code


@pytest.mark.parametrize("limit", [1, 3, 25])
def test_an_address_gets_exactly_the_rate(db: None, monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    monkeypatch.setattr(throttling.TriggerMessageMissThrottle, "rate", f"{limit}/minute")
    with time_machine.travel(datetime(2026, 5, 1, 12, 0, 5, tzinfo=UTC), tick=False):
        assert [miss() for _ in range(limit + 5)] == [400] * limit + [429] * 5


def test_addresses_have_budgets_of_their_own(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttling.TriggerMessageMissThrottle, "rate", "2/minute")
    assert [miss("198.51.100.1") for _ in range(3)] == [400, 400, 429]
    assert miss("198.51.100.2") == 400


def test_the_view_counts_again_in_the_next_window(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttling.TriggerMessageMissThrottle, "rate", "2/minute")
    start = datetime(2026, 5, 1, 12, 0, 5, tzinfo=UTC)

    def status() -> int:
        return APIClient().post("/api/trigger-message", {"event_id": "x", "message": "m"}, format="json").status_code

    with time_machine.travel(start, tick=False) as clock:
        assert [status(), status(), status()] == [400, 400, 429]
        clock.move_to(start + timedelta(seconds=60))
        assert status() == 400


def test_a_refused_guess_says_when_to_try_again(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttling.TriggerMessageMissThrottle, "rate", "1/minute")
    miss()
    answer = APIClient(REMOTE_ADDR="203.0.113.5").post(
        "/api/trigger-message", {"event_id": str(uuid.uuid4()), "message": "m"}, format="json")
    assert answer.status_code == 429
    assert 0 < int(answer["Retry-After"]) <= 60

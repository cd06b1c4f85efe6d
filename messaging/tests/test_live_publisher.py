"""Announcements leave from one background thread per process, batched, in order, and never raise."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from messaging import live


class FakeRedis:
    """Records each pipeline's publishes; the first `failures` pipelines fail like a Redis outage."""

    def __init__(self, failures: int = 0) -> None:
        self.batches: list[list[tuple[str, str]]] = []
        self.failures = failures
        self.lock = threading.Lock()

    def pipeline(self, transaction: bool = True) -> Any:
        fake = self

        class Pipe:
            def __init__(self) -> None:
                self.items: list[tuple[str, str]] = []

            def publish(self, channel: str, payload: str) -> None:
                self.items.append((channel, payload))

            def execute(self) -> None:
                with fake.lock:
                    if fake.failures:
                        fake.failures -= 1
                        raise ConnectionError("Redis is down")
                    fake.batches.append(self.items)

        return Pipe()


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeRedis:
    redis = FakeRedis()
    monkeypatch.setattr(live, "_redis", lambda: redis)
    return redis


def test_announcements_arrive_in_order_in_few_round_trips(fake: FakeRedis) -> None:
    publisher = live._Publisher()
    for i in range(200):
        publisher.put("oneclick:log:1:deal:42", f"payload {i}")
    publisher.flush()
    sent = [payload for batch in fake.batches for _, payload in batch]
    assert sent == [f"payload {i}" for i in range(200)]
    assert len(fake.batches) < 20


def test_a_redis_outage_loses_announcements_but_not_the_publisher(fake: FakeRedis) -> None:
    fake.failures = 1
    publisher = live._Publisher()
    publisher.put("c", "lost")
    publisher.flush()
    publisher.put("c", "delivered")
    publisher.flush()
    assert [payload for batch in fake.batches for _, payload in batch] == ["delivered"]


def test_a_forked_process_starts_its_own_thread(fake: FakeRedis, monkeypatch: pytest.MonkeyPatch) -> None:
    publisher = live._Publisher()
    publisher.put("c", "parent")
    publisher.flush()
    first = publisher._thread
    monkeypatch.setattr(live.os, "getpid", lambda: -1)  # what a forked child sees: another pid
    publisher.put("c", "child")
    publisher.flush()
    assert publisher._thread is not first and publisher._thread.is_alive()
    assert [payload for batch in fake.batches for _, payload in batch] == ["parent", "child"]

"""The per-address budget of misses on /api/trigger-message, so event ids cannot be guessed by brute force.

Only misses count (an event_id that is unknown, expired or of a button with messaging off): Make and
Zapier post for thousands of customers from a handful of addresses, and their valid posts are bound
by each click's quota of 10 alone, while a guesser of 122-bit uuid4s misses every time.

A fixed-window counter per client address in the shared cache (Redis in production). Each process takes
the window's budget from the counter in blocks (1, 2, 4 ... up to LEASE_MAX requests at a time) and spends
it locally, so a busy automation costs one cache round trip per block rather than per request, and an
address whose budget is spent is refused without asking the cache again until the window ends.

A block is only granted from budget the counter still has, so all processes together never allow more
than the rate; a block a process does not use up before the window ends is budget lost, never extra.
DRF's SimpleRateThrottle instead stores and rewrites the timestamp of every request in the window.

While the cache is unreachable, each process counts on its own (a budget per process, said in the log)
rather than failing the request.
"""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle
from rest_framework.views import APIView

from oneclick.faults import cache_breaker

LEASE_MAX = 16
MAX_TRACKED = 10_000  # addresses followed per process before ended windows are forgotten


class TriggerMessageMissThrottle(BaseThrottle):
    """Asked once per miss (the view's business), not as a DRF throttle before every request."""

    scope = "trigger_message_miss"
    rate: str | None = None  # defaults to REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["trigger_message_miss"]

    def allow_request(self, request: Request, view: APIView) -> bool:
        limit, period = _parse_rate(self.rate or api_settings.DEFAULT_THROTTLE_RATES[self.scope])
        now = time.time()
        window = int(now // period)
        self.wait_seconds = (window + 1) * period - now
        key = f"throttle:{self.scope}:{self.get_ident(request)}:{limit}-{period}:{window}"
        return _leases.take(key, window, period, limit)

    def wait(self) -> float:
        return self.wait_seconds


@functools.lru_cache(maxsize=16)
def _parse_rate(rate: str) -> tuple[int, int]:
    return SimpleRateThrottle.parse_rate(None, rate)


@dataclass
class _Lease:
    window: int
    period: int
    tokens: int = 0
    next_block: int = 1
    spent: bool = False  # the counter says the window's budget is gone


class _Leases:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._leases: dict[str, _Lease] = {}

    def take(self, key: str, window: int, period: int, limit: int) -> bool:
        with self._lock:
            lease = self._leases.get(key)
            if lease is not None:
                if lease.tokens:
                    lease.tokens -= 1
                    return True
                if lease.spent:
                    return False
            block = lease.next_block if lease else 1
        # The round trip happens outside the lock; two threads that both run dry both take a block.
        total = count_hits(key, block, timeout=period + 1)
        granted = max(0, min(block, limit - (total - block)))
        with self._lock:
            lease = self._leases.get(key)
            if lease is None:
                if len(self._leases) >= MAX_TRACKED:
                    self._forget_ended()
                lease = self._leases[key] = _Lease(window, period)
            lease.next_block = min(block * 2, LEASE_MAX)
            if not granted:
                lease.spent = True
                return False
            lease.tokens += granted - 1
            return True

    def _forget_ended(self) -> None:
        now = time.time()
        self._leases = {key: lease for key, lease in self._leases.items() if lease.window >= now // lease.period}
        if len(self._leases) >= MAX_TRACKED:  # all current: dropping leases only loses budget, never adds
            self._leases.clear()

    def clear(self) -> None:
        with self._lock:
            self._leases.clear()


_leases = _Leases()


def forget_leases() -> None:
    """Drop this process's blocks and fallback counts (tests clear the cache between cases)."""
    _leases.clear()
    with _local_lock:
        _local_counts.clear()


_redis_clients: dict[tuple[str, ...], Any] = {}


_local_counts: dict[str, int] = {}
_local_lock = threading.Lock()


def count_hits(key: str, hits: int, timeout: int) -> int:
    """Add `hits` to a counter that expires with its window and return the new total: in the shared
    cache, or in this process while the cache is unreachable."""
    return cache_breaker.run(lambda: _count_shared(key, hits, timeout), lambda: _count_local(key, hits))


def _count_local(key: str, hits: int) -> int:
    with _local_lock:
        if len(_local_counts) >= MAX_TRACKED:
            _local_counts.clear()  # windows are part of the keys: old ones only take room
        total = _local_counts[key] = _local_counts.get(key, 0) + hits
    return total


def _count_shared(key: str, hits: int, timeout: int) -> int:
    backend = getattr(cache, "_cache", None)
    if hasattr(backend, "get_client"):  # django.core.cache.backends.redis.RedisCache
        full_key = cache.make_and_validate_key(key)
        # One client (and connection pool) per process and server list: Django keeps a cache object, with
        # its own pool, per thread and per async context, which would open connections again and again.
        servers = tuple(backend._servers)
        client = _redis_clients.get(servers)
        if client is None:
            client = _redis_clients[servers] = backend.get_client(full_key, write=True)
        total = int(client.incrby(full_key, hits))
        if total == hits:
            # The window's first block sets the expiry. Should this process die in between, the key only
            # lingers: the window is part of its name, so it is never counted again.
            client.expire(full_key, timeout)
        return total
    try:
        return cache.incr(key, hits)
    except ValueError:  # the window's first block
        return hits if cache.add(key, hits, timeout=timeout) else cache.incr(key, hits)

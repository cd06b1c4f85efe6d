"""Per-address budgets: a fixed-window counter in the shared cache that keeps working while it is down.

Each request that counts is one atomic increment of its address's counter for the current window (in
Redis: SET NX EX and INCR in one MULTI/EXEC round trip), so concurrent requests, from any process, can
never be granted more than the rate: the n-th increment answers n, and only the first `num_requests`
are let through. DRF's SimpleRateThrottle read the history, appended and wrote it back, so requests
arriving together overwrote each other's counts (900 concurrent misses, none refused).

Should the cache fail, the breaker (core.faults) opens and each process counts on its own in local
memory until it closes: a budget per process, said once in the log, rather than a 500.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, BaseCache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import SimpleRateThrottle

from core.faults import cache_breaker

_local_budgets = LocMemCache("oneclick-throttle-fallback", {"MAX_ENTRIES": 10_000})


def count(cache: BaseCache, key: str, ttl: int) -> int:
    """Add one to the counter `key` (made with an expiry of `ttl` seconds); the count after it."""
    if isinstance(cache, RedisCache):
        full_key = cache.make_and_validate_key(key)
        pipe = cache._cache.get_client(full_key, write=True).pipeline(transaction=True)
        pipe.set(full_key, 0, ex=ttl, nx=True)  # made, with its expiry, by the window's first request
        pipe.incr(full_key)
        return int(pipe.execute()[1])
    # Other caches (the local fallback; tests without Redis): add-then-increment, which LocMemCache does
    # under its lock. A counter that expired in between starts again at one.
    cache.add(key, 0, timeout=ttl)
    try:
        return cache.incr(key)
    except ValueError:
        cache.add(key, 1, timeout=ttl)
        return 1


def shared_count(key: str, ttl: int) -> int:
    """The count in the shared cache (Redis in production), which every process adds to."""
    return count(caches[DEFAULT_CACHE_ALIAS], key, ttl)


def local_count(key: str, ttl: int) -> int:
    """This process's own count, while the shared cache is down."""
    return count(_local_budgets, key, ttl)


class AddressThrottle(SimpleRateThrottle):
    """Requests per client address for `scope` (settings: DEFAULT_THROTTLE_RATES[scope]), in fixed windows
    of the rate's period (10/minute: at most 10 from one address in each clock minute)."""

    rate: str | None = None  # None: the scope's rate from settings (tests set one)

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request: Any, view: Any) -> bool:
        if self.rate is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends = (window + 1) * self.duration
        key = f"{self.get_cache_key(request, view)}:{window}"
        ttl = int(self.duration) + 1
        used = cache_breaker.run(lambda: shared_count(key, ttl), lambda: local_count(key, ttl))
        return used <= self.num_requests

    def wait(self) -> float:
        """Seconds until the address's next window (Retry-After)."""
        return max(1.0, self.window_ends - self.now)


def forget_local_budgets() -> None:
    """Tests: no budget or open breaker carries over from one case to the next."""
    _local_budgets.clear()
    cache_breaker.reset()

"""Per-address budgets (DRF's SimpleRateThrottle) that keep working while the shared cache is down.

The budget lives in the shared cache (Redis in production), so every process counts against one
total. Should the cache fail, the breaker (core.faults) opens and each process counts on its own
in local memory until it closes: a budget per process, said once in the log, rather than a 500.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.locmem import LocMemCache
from rest_framework.throttling import SimpleRateThrottle

from core.faults import cache_breaker

_local_budgets = LocMemCache("oneclick-throttle-fallback", {"MAX_ENTRIES": 10_000})


class AddressThrottle(SimpleRateThrottle):
    """Requests per client address for `scope` (settings: DEFAULT_THROTTLE_RATES[scope])."""

    rate: str | None = None  # None: the scope's rate from settings (tests set one)

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request: Any, view: Any) -> bool:
        allow = super().allow_request

        def locally() -> bool:
            self.cache = _local_budgets
            return allow(request, view)

        return cache_breaker.run(lambda: allow(request, view), locally)


def forget_local_budgets() -> None:
    """Tests: no budget or open breaker carries over from one case to the next."""
    _local_budgets.clear()
    cache_breaker.reset()

"""Each company's share of a delivery worker's slots, so one company's flood cannot hold them all.

A delivery process keeps at most DELIVERY_COMPANY_CAP of a company's deliveries in flight. A click over
the cap is parked here, in memory, and its task ends at once: it holds no slot (a greenlet or thread)
and costs nothing while it waits. When one of the company's deliveries ends, the worker that ran it
takes the company's next parked click. A parked click whose window closes meanwhile is failed with its
message when its turn comes (deliveries.delivery), or by the stalled-delivery sweep if this process dies.

The cap is per process: with several delivery processes a company gets up to cap × processes, which
is still a share; counting across processes would cost a shared counter on every delivery.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque

from django.conf import settings


class Shares:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[int, int] = defaultdict(int)
        self._parked: dict[int, deque[str]] = defaultdict(deque)

    def enter(self, company_id: int, event_id: str) -> bool:
        """True: deliver it now; False: parked until one of the company's deliveries ends."""
        with self._lock:
            if self._running[company_id] < settings.DELIVERY_COMPANY_CAP:
                self._running[company_id] += 1
                return True
            self._parked[company_id].append(event_id)
            return False

    def leave(self, company_id: int) -> str | None:
        """A delivery ended: the company's next parked click, which takes over its slot, or None."""
        with self._lock:
            parked = self._parked[company_id]
            if parked:
                return parked.popleft()
            self._running[company_id] -= 1
            if not self._running[company_id]:
                del self._running[company_id], self._parked[company_id]
            return None

    def in_flight(self, company_id: int) -> int:
        with self._lock:
            return self._running.get(company_id, 0)

    def waiting(self, company_id: int) -> int:
        with self._lock:
            return len(self._parked.get(company_id, ()))


shares = Shares()

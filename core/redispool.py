"""One Redis connection pool per process and address, shared by every thread.

Django's Redis cache makes a client, and with it a connection pool, per thread (caches are per thread),
so a web process with ten worker threads came to hold ten Redis connections for the throttles alone,
and the live publisher one more. With this pool class (the cache's OPTIONS["pool_class"]) they share one
pool: a connection is opened only for work done at the same moment, which is rare for a few Redis
commands a minute. bench/live_fanout.py counts a web process's connections (docs/decisions.md).
"""

from __future__ import annotations

import os
import threading
from typing import Any, ClassVar

import redis


class SharedConnectionPool(redis.ConnectionPool):
    _shared: ClassVar[dict[tuple[int, str], SharedConnectionPool]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> SharedConnectionPool:
        """The process's pool for this address (made with the first caller's options)."""
        key = (os.getpid(), url)  # a forked child makes its own: sockets must not cross a fork
        with cls._lock:
            pool = cls._shared.get(key)
            if pool is None:
                pool = cls._shared[key] = super().from_url(url, **kwargs)
            return pool

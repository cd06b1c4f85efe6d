"""Which failures mean a service is down, and breakers that remember it for a few seconds.

Every way a request can meet a failing service ends in core.errors, which answers it: a fast 503 with a
sentence (JSON, or a styled page), never a 500. This module only says what such a failure is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import redis
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerError

logger = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_AFTER_SECONDS = 5
DATABASE_DOWN = "The database is unavailable right now; please try again in a few seconds."
BROKER_DOWN = "The message queue (Redis) is unavailable right now; please try again in a few seconds."


def unavailable_sentence(exc: BaseException | None) -> str | None:
    """The sentence for an exception that means a service is down or stalled, else None."""
    for _ in range(10):  # the exception and what it wraps (a chain, never long)
        if exc is None:
            return None
        # OperationalError / InterfaceError: no connection (refused, killed by a restart, pool timeout).
        # Other DatabaseErrors (an integrity error, a bad query) are bugs, and stay 500s.
        if isinstance(exc, OperationalError | InterfaceError) or type(exc).__name__ == "PoolTimeout":
            return DATABASE_DOWN
        if isinstance(exc, redis.RedisError | BrokerError):
            return BROKER_DOWN
        exc = exc.__cause__ or exc.__context__
    return None



class Breaker:
    """Remembers for a few seconds that a service failed, so the next callers take their fallback at once
    instead of each waiting out a socket timeout on a server that is down or paused."""

    def __init__(self, what: str, fallback: str, cooldown: float = 5.0) -> None:
        self.what = what
        self.fallback = fallback  # what callers do meanwhile, for the log line
        self.cooldown = cooldown
        self._until = 0.0

    def run(self, primary: Callable[[], T], fallback: Callable[[], T]) -> T:
        """`primary()`, or `fallback()` while the service failed within the cooldown or fails now."""
        if not self.is_open():
            try:
                return primary()
            except (redis.RedisError, OSError) as exc:
                self.trip(exc)
        return fallback()

    def reset(self) -> None:
        self._until = 0.0

    def is_open(self) -> bool:
        return time.monotonic() < self._until

    def trip(self, exc: BaseException) -> None:
        if not self.is_open():  # one log line per cooldown, not one per request
            logger.warning("%s is unavailable (%s); %s for the next %g s.", self.what, exc.__class__.__name__,
                           self.fallback, self.cooldown)
        self._until = time.monotonic() + self.cooldown


# The shared cache (Redis in production) behind the sign-in and trigger-message budgets.
cache_breaker = Breaker("The shared cache (Redis)", "sign-in and trigger-message budgets count in each process")

"""What users get while PostgreSQL or Redis is down: a fast 503 with a sentence, never a 500.

Every way a request can meet a failing service ends here: an exception from a view (the middleware),
from DRF's views (oneclick.api's exception handler), or from another middleware (handler500). JSON
paths get `{"detail": "<sentence>"}` with 503 and Retry-After; pages get a styled error page with the
same sentence, rendered without the request's context so that it needs neither service itself.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import TypeVar

import redis
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from kombu.exceptions import OperationalError as BrokerError

from oneclick.framing import framed_by

logger = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_AFTER_SECONDS = 5
DATABASE_DOWN = "The database is unavailable right now; please try again in a few seconds."
BROKER_DOWN = "The message queue (Redis) is unavailable right now; please try again in a few seconds."
SERVER_ERROR = "Something went wrong on our side; the error was logged. Please try again."
# Paths that speak JSON (every page elsewhere is HTML).
JSON_PREFIXES = ("/api/", "/healthz", "/pipedrive/session/", "/embed/session/", "/pipedrive/uninstall/")


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


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(JSON_PREFIXES)


def error_response(request: HttpRequest, sentence: str, status: int) -> HttpResponse:
    if wants_json(request):
        response: HttpResponse = JsonResponse({"detail": sentence}, status=status)
    else:
        response = HttpResponse(render_to_string("error.html", {"sentence": sentence, "status": status}),
                                status=status)
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    if request.path.startswith("/pipedrive/panel/"):
        # Shown inside Pipedrive's frame, so the reader sees the sentence rather than a refused frame.
        # (The signed embed's origins are the company's, which a failing database cannot tell.)
        response = framed_by(response, settings.EMBED_FRAME_ANCESTORS)
    return response


def unavailable(request: HttpRequest, exc: BaseException) -> HttpResponse | None:
    sentence = unavailable_sentence(exc)
    if sentence is None:
        return None
    logger.warning("Answered 503 to %s %s: %s", request.method, request.path, exc.__class__.__name__)
    return error_response(request, sentence, 503)


class ServiceUnavailableMiddleware:
    """Turns a view's service failure into a 503 (listed first, so it sees every view's exception)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return unavailable(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a failing middleware (the session saved on a dead database) still gets its 503, and
    anything else a sentence, as JSON under /api/ or as a styled page."""
    exc = sys.exc_info()[1]
    response = unavailable(request, exc) if exc is not None else None
    return response or error_response(request, SERVER_ERROR, 500)


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

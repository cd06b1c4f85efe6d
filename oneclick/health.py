"""GET /healthz: is each service this process needs answering? For load balancers and operators.

Both checks run at once in threads of their own, each bounded, so a stalled server (one that accepts
connections and never answers) still gets its 503 within 3 s instead of hanging the probe.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from core.faults import RETRY_AFTER_SECONDS

logger = logging.getLogger(__name__)

CHECK_SECONDS = 2.5
DATABASE_DOWN = "The database is unavailable."
BROKER_DOWN = "The message broker (Redis) is unavailable."
_checks = ThreadPoolExecutor(max_workers=4, thread_name_prefix="healthz")


def _database() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()  # this thread's connection goes back to the pool


def _broker() -> None:
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        if not folder.is_dir():
            raise OSError(f"{folder} is missing")
        return
    timeout = settings.REDIS_SOCKET_TIMEOUT
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout,
                                  **settings.REDIS_KEEPALIVE)
    try:
        client.ping()
    finally:
        client.close()


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": (_database, DATABASE_DOWN), "broker": (_broker, BROKER_DOWN)}
    futures = {name: _checks.submit(check) for name, (check, _) in checks.items()}
    wait(futures.values(), timeout=CHECK_SECONDS)
    body: dict[str, str] = {}
    for name, future in futures.items():
        sentence = checks[name][1]
        if not future.done():
            body[name] = f"{sentence[:-1]}: it did not answer within {CHECK_SECONDS:g} s."
        elif future.exception() is not None:
            logger.warning("Health check: %s failed: %r", name, future.exception())
            body[name] = sentence
        else:
            body[name] = "ok"
    healthy = all(value == "ok" for value in body.values())
    response = JsonResponse(body, status=200 if healthy else 503)
    if not healthy:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response

"""Live updates: a new message is announced on Redis pub/sub so open pages can show it at once.

A record's channel (per company and record) carries each new message with its button and clicker, and
read-state changes; a company's channel carries Clear all messages. Every web process listens through
one connection (messaging.hub), and each open stream (messaging.stream) forwards only what its user may
see, with the same rule as the log API. Without Redis (the embedded local mode) pages fall back to polling.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import threading
import time
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from buttons.models import Button
    from messaging.models import Message

logger = logging.getLogger(__name__)
_client = None


def redis_url() -> str | None:
    url = settings.CELERY_BROKER_URL
    return url if url.startswith(("redis://", "rediss://")) else None


def channel_name(company_id: int, resource: str, object_id: str) -> str:
    return f"oneclick:log:{company_id}:{resource}:{object_id}"


def company_channel(company_id: int) -> str:
    """What concerns every record of a company's button at once (a Clear all messages)."""
    return f"oneclick:company:{company_id}"


def _redis():
    """The publisher's client: on the process's shared pool for the broker's Redis (the cache's too when
    they are the same server), so publishing adds no connection of its own."""
    global _client
    if _client is None:
        import redis

        from core.redispool import SharedConnectionPool

        options = {"socket_connect_timeout": 1, "socket_timeout": 1, "client_name": "oneclick-shared",
                   **settings.REDIS_KEEPALIVE}
        _client = redis.Redis(connection_pool=SharedConnectionPool.from_url(redis_url(), **options))
    return _client


class _Publisher:
    """Sends announcements from one background thread per process, many per round trip.

    A request thread only queues its announcement. Waiting for Redis's reply in every request thread was
    measured to cost more CPU than the rest of /api/trigger-message beyond a bare insert (threads giving up
    and taking back the GIL around each round trip); one thread with a pipeline pays that once per batch.
    """

    BATCH_MAX = 500

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        # Once: a forked child inherits the registration along with the object.
        atexit.register(self.flush)

    def put(self, channel: str, payload: str) -> None:
        if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
            self._start()
        self._queue.put((channel, payload))

    def _start(self) -> None:
        with self._lock:  # once per process (also after a fork: threads do not survive it)
            if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
                return
            self._queue = queue.SimpleQueue()
            self._thread = threading.Thread(target=self._run, name="live-publisher", daemon=True)
            self._pid = os.getpid()
            self._thread.start()

    def _run(self) -> None:
        # No waiting for a batch to fill: what queued up while the last round trip was on its way goes
        # in the next one, so a lone message leaves at once and a burst still shares round trips.
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.BATCH_MAX:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._send(batch)

    def _send(self, batch: list[tuple[str, str]]) -> None:
        try:
            pipe = _redis().pipeline(transaction=False)
            for channel, payload in batch:
                pipe.publish(channel, payload)
            pipe.execute()
        except Exception:  # noqa: BLE001 - the messages are stored; live delivery is best effort
            logger.warning("Could not publish %d announcements to Redis", len(batch), exc_info=True)

    def flush(self, timeout: float = 2.0) -> None:
        """Wait until queued announcements are sent (at exit, and in tests)."""
        deadline = time.monotonic() + timeout
        while not self._queue.empty() and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.005)  # the last batch may still be on its way


_publisher = _Publisher()


def publish_message(message: Message) -> None:
    """Announce a stored message (call once it is committed). Never raises: live delivery is best effort."""
    if redis_url() is None:
        return
    from messaging.serializers import message_json

    # The message itself rides along (as its clicker sees it): an open page shows it without a fetch.
    # The stream hands it only to those who may see it, and a non-clicker never gets its event_id.
    payload = json.dumps({"message_id": message.pk, "button": str(message.button_id),
                          "recipient": message.recipient_id, "message": message_json(message, message.recipient_id)})
    _publisher.put(channel_name(message.company_id, message.resource, message.object_id), payload)


def publish_cleared(button: Button) -> None:
    """Announce that a button's messages were cleared, so open logs of it empty at once."""
    if redis_url() is None:
        return
    _publisher.put(company_channel(button.company_id), json.dumps({"cleared": True, "button": str(button.pk)}))


def publish_read(button: Button, recipient_id: int, resource: str, object_id: str) -> None:
    """Announce that a user read messages, so the user's other open pages update their envelope."""
    if redis_url() is None:
        return
    payload = json.dumps({"read": True, "button": str(button.pk), "recipient": recipient_id})
    _publisher.put(channel_name(button.company_id, resource, object_id), payload)

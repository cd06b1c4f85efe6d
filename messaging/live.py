"""Live updates: a new message is announced on Redis pub/sub so open pages can show it at once.

Only the fact that a record's log changed is published (channel per company and record, payload the
message id and button); pages fetch the message through the normal, permission-checked API, so nothing
about a user's messages reaches anyone who may not see it. Without Redis (the embedded local mode) pages
fall back to polling.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

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
    global _client
    if _client is None:
        import redis

        _client = redis.Redis.from_url(redis_url(), socket_connect_timeout=1, socket_timeout=1,
                                       **settings.REDIS_KEEPALIVE)
    return _client


class _Publisher:
    """Sends announcements from one background thread per process, many per round trip.

    A request thread only queues its announcement. Waiting for Redis's reply in every request thread was
    measured to cost more CPU than the rest of /api/trigger-message beyond a bare insert (threads giving up
    and taking back the GIL around each round trip); one thread with a pipeline pays that once per batch.
    """

    GATHER_SECONDS = 0.002  # how long a batch waits for others to join it: nothing next to a page's ~50 ms
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
        while True:
            batch = [self._queue.get()]
            time.sleep(self.GATHER_SECONDS)
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
        time.sleep(self.GATHER_SECONDS * 2)  # the last batch may still be on its way


_publisher = _Publisher()


def publish_message(message: Message) -> None:
    """Announce a stored message (call once it is committed). Never raises: live delivery is best effort."""
    if redis_url() is None:
        return
    payload = json.dumps(
        {"message_id": message.pk, "button": str(message.button_id), "recipient": message.recipient_id}
    )
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


@asynccontextmanager
async def subscription(*channels: str) -> AsyncIterator[Any]:
    """A redis.asyncio pub/sub connection subscribed to the channels, closed (with its pool) on exit.

    Raises redis.RedisError / OSError at entry when Redis cannot be reached.
    """
    import redis.asyncio

    # No read timeout (a stream waits for minutes between messages): the keepalives tell a silent Redis.
    client = redis.asyncio.Redis.from_url(redis_url(), socket_connect_timeout=2, health_check_interval=30,
                                          **settings.REDIS_KEEPALIVE)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe(*channels)
        yield pubsub
    finally:
        await pubsub.aclose()
        await client.aclose()

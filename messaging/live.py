"""Live updates: a new message is announced on Redis pub/sub so open pages can show it at once.

Only the fact that a record's log changed is published (channel per company and record, payload the
message id and button); pages fetch the message through the normal, permission-checked API, so nothing
about a user's messages reaches anyone who may not see it. Without Redis (the embedded local mode) pages
fall back to polling.
"""

from __future__ import annotations

import json
import logging
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


def _redis():
    global _client
    if _client is None:
        import redis

        _client = redis.Redis.from_url(redis_url(), socket_connect_timeout=1, socket_timeout=1)
    return _client


def publish_message(message: Message) -> None:
    """Announce a stored message. Never raises: a lost announcement only delays the page's poll."""
    if redis_url() is None:
        return
    payload = json.dumps(
        {"message_id": message.pk, "button": str(message.button_id), "recipient": message.recipient_id}
    )
    try:
        _redis().publish(channel_name(message.company_id, message.resource, message.object_id), payload)
    except Exception:  # noqa: BLE001 - the message is stored; live delivery is best effort
        logger.warning("Could not publish message %s to Redis", message.pk, exc_info=True)


def publish_read(button: Button, recipient_id: int, resource: str, object_id: str) -> None:
    """Announce that a user read messages, so the user's other open pages update their envelope."""
    if redis_url() is None:
        return
    payload = json.dumps({"read": True, "button": str(button.pk), "recipient": recipient_id})
    try:
        _redis().publish(channel_name(button.company_id, resource, object_id), payload)
    except Exception:  # noqa: BLE001 - best effort, like publish_message
        logger.warning("Could not publish a read of button %s to Redis", button.pk, exc_info=True)


@asynccontextmanager
async def subscription(channel: str) -> AsyncIterator[Any]:
    """A redis.asyncio pub/sub connection subscribed to one channel, closed (with its pool) on exit.

    Raises redis.RedisError / OSError at entry when Redis cannot be reached.
    """
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(redis_url(), socket_connect_timeout=2, health_check_interval=30)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe(channel)
        yield pubsub
    finally:
        await pubsub.aclose()
        await client.aclose()

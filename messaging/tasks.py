"""Lifecycle tasks: deleting a cleared log's rows, and the retention sweep run by Celery beat."""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.cache import cache

from messaging import retention

logger = logging.getLogger(__name__)

PURGE_LOCK = "oneclick:purge-expired-messages"
PURGE_MAX_SECONDS = 240  # one run's share; the next hourly run carries on where this one stopped


@shared_task(ignore_result=True, soft_time_limit=120, time_limit=150)
def delete_cleared_messages(button_id: int) -> int:
    deleted = retention.delete_cleared_messages(button_id)
    logger.info("Deleted %d cleared messages of button %s", deleted, button_id)
    return deleted


@shared_task(ignore_result=True, soft_time_limit=PURGE_MAX_SECONDS + 60, time_limit=PURGE_MAX_SECONDS + 90)
def purge_expired_messages() -> dict[str, int] | None:
    # Two overlapping runs would only fight over the same rows: the second one stands down.
    if not cache.add(PURGE_LOCK, "1", timeout=PURGE_MAX_SECONDS + 90):
        logger.info("A retention run is already in progress; skipping this one.")
        return None
    try:
        result = retention.purge_expired_messages(max_seconds=PURGE_MAX_SECONDS)
    finally:
        cache.delete(PURGE_LOCK)
    logger.info("Retention removed %d messages, %d click events and %d cleared messages",
                result.messages, result.events, result.cleared)
    return {"messages": result.messages, "events": result.events, "cleared": result.cleared}

"""Messaging verbs: storing webhook responses and custom messages, marking read, clearing a log.

What automations send is read in messaging.incoming, what users see in messaging.reads, and deleting
(retention, cleared rows) lives in messaging.retention.
"""

from __future__ import annotations

import functools
import logging
import uuid
from datetime import datetime
from typing import Any, NoReturn

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from buttons.models import Button, ClickEvent
from core.logs import events
from core.sql import insert_row
from messaging import live, tasks
from messaging.incoming import (
    Answer,
    EventMissed,
    MessageRejected,
    clean_content,
    clean_message_type,
    clean_redirect_url,
    parse_event_id,
    redirected_to,
)
from messaging.models import Message
from messaging.reads import MAX_READ_IDS, own_unread

logger = logging.getLogger(__name__)

CLEAR_DELAY_SECONDS = 5  # lets a message being stored while the admin clicks commit first

# --- Storing --------------------------------------------------------------------------------------


def _new(event: ClickEvent, source: str, message_type: str, content: str, redirect_url: str) -> Message:
    return Message.about(event, source=source, message_type=message_type, content=content,
                         redirect_url=redirect_url, created_at=timezone.now())


def _store(message: Message) -> Message:
    # insert_row: Message.objects.create() without its per-call machinery (a message per click).
    insert_row(message)
    announce(message)
    return message


def announce(message: Message) -> None:
    """Log a stored message and tell open pages once it is committed (live updates)."""
    events.info("message_stored", event_id=str(message.event_id), message_id=message.pk, source=message.source,
                message_type=message.message_type, button=message.button_id, company=message.company_id)
    transaction.on_commit(lambda: live.publish_message(message))


def _logs_responses(button: Button) -> bool:
    return button.messaging_enabled and button.log_http_responses


def response_message(event: ClickEvent, answer: Answer) -> Message | None:
    """The message the webhook's response (read by read_response) becomes, not yet stored; None when
    the button does not log responses. The delivery stores it in the statement that records the
    outcome, then announces it."""
    if not _logs_responses(event.button):
        return None
    return _new(event, "http_response", answer.message_type, answer.content, answer.redirect_url)


def failure_message(event: ClickEvent, error: str) -> Message | None:
    """The message of a webhook that never answered (refused, timed out, blocked), logged as its HTTP
    response would be; not yet stored.

    With "Do not log HTTP responses" on there is none; the page still says the webhook could not be
    delivered (the event's delivery state), and the admin's click event page shows the error.
    """
    if not _logs_responses(event.button):
        return None
    return _new(event, "http_response", "error", error, "")


def record_delivery_failure(event: ClickEvent, error: str) -> Message | None:
    """Store and announce a failed delivery's message (failure_message)."""
    message = failure_message(event, error)
    return _store(message) if message is not None else None


def add_custom_message(data: dict[str, Any]) -> Message:
    """Store one custom message posted to /api/trigger-message, or raise MessageRejected.

    The window and the quota of 10 are enforced by one conditional UPDATE on the event row, so
    concurrent posts can never store an 11th message or one after the window.
    """
    if data.get("event_id") in (None, ""):
        raise MessageRejected("event_id is required: use the event_id from the button's webhook payload.")
    content = clean_content(data.get("message"))
    message_type = clean_message_type(data.get("message_type"))
    redirect = clean_redirect_url(data["redirect_url"]) if data.get("redirect_url") else ""
    if not content and not redirect:
        raise MessageRejected("Send a message, a redirect_url, or both.")
    if not content:
        content = redirected_to(redirect)

    event_id = parse_event_id(data.get("event_id"))
    if event_id is None:
        raise EventMissed
    now = timezone.now()
    if connection.vendor == "postgresql":
        message = _claim_and_store(event_id, now, message_type, content, redirect)
    else:
        with transaction.atomic():
            event = _claim_custom_slot(event_id, now)
            message = _store(_new(event, "custom", message_type, content, redirect)) if event else None
    if message is None:
        _explain_no_slot(event_id, now)
    return message


# One conditional UPDATE takes a slot: it checks the window, the quota of 10 and the button's
# messaging setting at once, so concurrent posts can never store an 11th message.
_CLAIM_SQL = """
    UPDATE {event} SET custom_message_count = {event}.custom_message_count + 1
    FROM {button}
    WHERE {event}.id = %s AND {button}.id = {event}.button_id AND {button}.messaging_enabled
      AND {event}.window_ends_at > %s AND {event}.custom_message_count < %s
    RETURNING {event}.button_id, {event}.company_id, {event}.resource, {event}.object_id, {event}.user_id
"""
# PostgreSQL only: the claim and the insert in one statement (one round trip, atomic on its own), the
# hot path of /api/trigger-message. Elsewhere the two run in a transaction.
_CLAIM_AND_INSERT_SQL = """
    WITH claimed AS ({claim})
    INSERT INTO {message} (event_id, button_id, company_id, resource, object_id, recipient_id, source,
                           message_type, content, redirect_url, created_at)
    SELECT %s, button_id, company_id, resource, object_id, user_id, 'custom', %s, %s, %s, %s FROM claimed
    RETURNING id, button_id, company_id, resource, object_id, recipient_id
"""


def _tables() -> dict[str, str]:
    quote = connection.ops.quote_name
    return {
        "event": quote(ClickEvent._meta.db_table),
        "button": quote(Button._meta.db_table),
        "message": quote(Message._meta.db_table),
    }


@functools.cache
def _claim_and_insert_sql() -> str:
    tables = _tables()
    return _CLAIM_AND_INSERT_SQL.format(claim=_CLAIM_SQL.format(**tables), **tables)


def _claim_params(event_id: uuid.UUID, now: datetime) -> list[object]:
    return [
        ClickEvent._meta.pk.get_db_prep_value(event_id, connection),
        connection.ops.adapt_datetimefield_value(now),
        settings.MAX_CUSTOM_MESSAGES,
    ]


def _claim_custom_slot(event_id: uuid.UUID, now: datetime) -> ClickEvent | None:
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL.format(**_tables()), _claim_params(event_id, now))
        row = cursor.fetchone()
    return None if row is None else _claimed_event(event_id, row)


def _claimed_event(event_id: uuid.UUID, row: tuple) -> ClickEvent:
    """The event's columns a claim returns (button, company, resource, object id, clicker)."""
    button_id, company_id, resource, object_id, user_id = row
    return ClickEvent(id=event_id, button_id=button_id, company_id=company_id, resource=resource,
                      object_id=object_id, user_id=user_id)


def _claim_and_store(
    event_id: uuid.UUID, now: datetime, message_type: str, content: str, redirect: str
) -> Message | None:
    sql = _claim_and_insert_sql()
    params = [*_claim_params(event_id, now), event_id, message_type, content, redirect, now]
    connection.ensure_connection()
    # A server-side prepared statement on the raw psycopg connection: Django's cursors bind parameters
    # client-side, so PostgreSQL would plan this UPDATE-join-INSERT afresh for every post, about twice
    # the CPU of running it. psycopg keeps the statement per pooled connection.
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        row = cursor.fetchone()
    if row is None:
        return None
    message = Message.about(_claimed_event(event_id, row[1:]), id=row[0], source="custom",
                            message_type=message_type, content=content, redirect_url=redirect, created_at=now)
    announce(message)
    return message


def _explain_no_slot(event_id: uuid.UUID, now: datetime) -> NoReturn:
    """Why the claim found no slot: a miss, or an event that has had its quota."""
    event = ClickEvent.objects.select_related("button").filter(pk=event_id).first()
    if event is None or not event.button.messaging_enabled or now >= event.window_ends_at:
        raise EventMissed
    quota = settings.MAX_CUSTOM_MESSAGES
    raise MessageRejected(f"This event already has {quota} custom messages, the most it can have.")


def mark_read(button: Button, user_id: int, resource: str, object_id: str, ids: list[int]) -> int:
    """Mark the user's own messages among `ids` read; others' ids are ignored. Returns how many changed."""
    marked = own_unread(button, user_id, resource, object_id).filter(pk__in=ids[:MAX_READ_IDS]).update(
        read_at=timezone.now()
    )
    if marked:
        transaction.on_commit(lambda: live.publish_read(button, user_id, resource, object_id))
    return marked


def mark_all_read(button: Button, user_id: int, resource: str, object_id: str) -> int:
    marked = own_unread(button, user_id, resource, object_id).update(read_at=timezone.now())
    if marked:
        transaction.on_commit(lambda: live.publish_read(button, user_id, resource, object_id))
    return marked


def clear_messages(button: Button) -> datetime:
    """Clear all messages of a button: hidden for everyone at once (open logs empty live), rows
    deleted shortly after."""

    def enqueue() -> None:
        live.publish_cleared(button)  # open logs of the button empty now
        try:
            tasks.delete_cleared_messages.apply_async(args=[button.pk], countdown=CLEAR_DELAY_SECONDS, retry=True)
        except (OperationalError, OSError):
            # The log is already empty for users; the hourly retention task removes the rows instead.
            logger.warning("Could not queue the deletion of button %s's cleared messages", button.pk)

    now = timezone.now()
    with transaction.atomic():
        Button.objects.filter(pk=button.pk).update(messages_cleared_at=now)
        transaction.on_commit(enqueue)
    button.messages_cleared_at = now
    return now

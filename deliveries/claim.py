"""The delivery claim: a click's two writes by its delivery task, each a single statement.

A task claims a pending click (while its window is open long enough to send), sends the webhook, then
records the outcome, and with it the answer's message, atomically. The ORM would take two round trips and
1.5 ms of Python to claim a click and 0.8 ms to record its outcome, most of a delivery worker's time per
click (docs/decisions.md, bench/click_to_webhook.py). Each statement is built once per database vendor
from the models' own columns.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

from buttons.models import Button, ClickEvent
from core.sql import from_row, insert_row_if
from messaging.models import Message

_statements: dict[str, tuple[str, str]] = {}


def _sql(connection: Any) -> tuple[str, str]:
    if connection.vendor not in _statements:
        qn = connection.ops.quote_name
        event, button = qn(ClickEvent._meta.db_table), qn(Button._meta.db_table)
        # Only the models' own names go into the text; every value is a parameter.
        # SQLite's RETURNING cannot name an UPDATE ... FROM table: the button's columns come from
        # scalar subqueries, a primary-key lookup each, on both databases.
        returning = [f"{event}.{qn(f.column)}" for f in ClickEvent._meta.concrete_fields] + [
            f"(SELECT b.{qn(f.column)} FROM {button} b WHERE b.id = {event}.button_id)"  # noqa: S608
            for f in Button._meta.concrete_fields
        ]
        claim_sql = (
            f"UPDATE {event} SET claimed_at = %s, claimed_by = %s WHERE id = %s AND delivery = 'pending'"  # noqa: S608
            f" AND window_ends_at > %s AND (claimed_at IS NULL OR claimed_by = %s)"
            f" RETURNING {', '.join(returning)}"
        )
        end_sql = (
            f"UPDATE {event} SET delivery = %s, http_status = %s, duration_ms = %s, attempts = %s,"  # noqa: S608
            f" error = %s, response_body = %s, response_note = %s WHERE id = %s AND claimed_by = %s"
            f" AND (delivery = 'pending' OR (delivery = 'failed' AND error = %s))"
        )
        _statements[connection.vendor] = (claim_sql, end_sql)
    return _statements[connection.vendor]


def _prep(connection: Any, **values: Any) -> dict[str, Any]:
    return {name: ClickEvent._meta.get_field(name).get_db_prep_value(value, connection)
            for name, value in values.items()}


def claim(event_id: object, token: uuid.UUID, *, now: Any, leaves_by: Any,
          using: str = DEFAULT_DB_ALIAS) -> ClickEvent | None:
    """Claim a pending click for the task holding `token` (or find it already its own), if its
    window is open past `leaves_by`; the event with its button, or None."""
    connection = connections[using]
    p = _prep(connection, id=event_id, claimed_at=now, claimed_by=token, window_ends_at=leaves_by)
    with connection.cursor() as cursor:
        cursor.execute(_sql(connection)[0],
                       [p["claimed_at"], p["claimed_by"], p["id"], p["window_ends_at"], p["claimed_by"]])
        row = cursor.fetchone()
    if row is None:
        return None
    event_fields, button_fields = list(ClickEvent._meta.concrete_fields), list(Button._meta.concrete_fields)
    event = from_row(ClickEvent, event_fields, row[: len(event_fields)], using)
    event.button = from_row(Button, button_fields, row[len(event_fields):], using)
    return event


def end_claimed(event_id: object, token: uuid.UUID, *, delivery: str, http_status: int | None,
                duration_ms: int | None, attempts: int, error: str, unless_error: str, response_body: str = "",
                response_note: str = "", message: Message | None = None, using: str = DEFAULT_DB_ALIAS) -> bool:
    """Record a claimed delivery's outcome while the claim is still `token`'s and the click still
    pending (or failed with `unless_error`, which an outcome overrides), and with it the outcome's
    new `message`, atomically (one statement on PostgreSQL). False, and nothing stored, if not."""
    connection = connections[using]
    p = _prep(connection, id=event_id, claimed_by=token)
    params = [delivery, http_status, duration_ms, attempts, error, response_body, response_note,
              p["id"], p["claimed_by"], unless_error]
    if message is not None:
        return insert_row_if(message, _sql(connection)[1], params, using=using)
    with connection.cursor() as cursor:
        cursor.execute(_sql(connection)[1], params)
        return cursor.rowcount == 1

"""Deleting messages: retention after MESSAGE_RETENTION_DAYS, and the rows a Clear all messages hid.

Rows go in bounded batches, each DELETE its own short transaction, so neither clearing a busy
button nor the hourly retention sweep ever holds long locks or runs one huge statement.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from buttons.models import Button, ClickEvent
from messaging.models import Message

# Rows per DELETE: short statements (tens of ms), big enough that per-statement overhead is noise.
# bench/retention.py measures it (batches of 1,000 to 10,000 delete at much the same rate).
PURGE_BATCH_SIZE = 5_000


@dataclass(frozen=True)
class PurgeResult:
    messages: int = 0
    events: int = 0
    cleared: int = 0  # rows of cleared logs the clearing task had not removed yet


def batch_sql(table: str, rows: str, alias: str = "") -> str:
    """The statement that deletes one batch (its last parameter is the batch size); see
    _delete_in_batches. bench/retention.py explains it as it stands."""
    if connection.vendor == "postgresql":
        # The batch names its rows by physical address (ctid) and `= ANY(ARRAY(...))` makes them an
        # init plan: the DELETE goes straight to each row's page instead of looking every id up in
        # the primary key again (3-5x faster a batch, bench/retention.py). Both halves run in one
        # statement and snapshot, so an address cannot come to name another row; a row updated
        # meanwhile has moved, fails the recheck and waits for the next batch or run. Only the
        # count and the newest timestamp come back, not one row per deleted row.
        return (
            f"WITH gone AS (DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT {alias}ctid {rows} LIMIT %s))"  # noqa: S608
            " RETURNING created_at) SELECT count(*), max(created_at) FROM gone"
        )
    return f"DELETE FROM {table} WHERE id IN (SELECT {alias}id {rows} LIMIT %s) RETURNING created_at"  # noqa: S608


def _delete_in_batches(rows: str, params: list[Any], *, table: str, batch_size: int, alias: str = "",
                       deadline: float | None = None, keyset: bool = True) -> int:
    """Delete the rows `SELECT ... <rows> LIMIT n` picks from `table`, n at a time, until a batch
    deletes fewer than n. `rows` is the query from its FROM on; `alias` is the table's alias in it.

    With `keyset`, `rows` walks an index in created_at order and has a `created_at >= %s` lower
    bound as its first parameter: each batch starts where the previous one ended, so no batch
    re-walks the index entries of the rows already deleted.
    """
    sql = batch_sql(table, rows, alias)
    lower = connection.ops.adapt_datetimefield_value(datetime(1970, 1, 1, tzinfo=UTC))
    total = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # The batch's commit does not wait for its WAL to reach the disk: a crash can only undo
                # deletions the next run repeats, and live traffic's commits no longer queue behind
                # one WAL flush per batch (bench/retention.py: fewer latency stalls, faster purge).
                cursor.execute("SET LOCAL synchronous_commit = off")
                # The pages this batch empties go to disk as the purge writes them out, instead of piling
                # up in the kernel's page cache until its writeback flushes them all at once ~30 s later
                # and every commit's WAL fsync waits behind it (bench/retention.py: 100-300 ms stalls).
                cursor.execute("SET LOCAL backend_flush_after = '256kB'")
            cursor.execute(sql, [*([lower] if keyset else []), *params, batch_size])
            if connection.vendor == "postgresql":
                deleted, newest = cursor.fetchone()
            else:
                stamps = [row[0] for row in cursor.fetchall()]
                deleted, newest = len(stamps), max(stamps, default=None)
        total += deleted
        if deleted < batch_size or (deadline is not None and time.monotonic() > deadline):
            return total
        lower = newest


def delete_cleared_messages(button_id: int, *, batch_size: int = PURGE_BATCH_SIZE) -> int:
    """Delete the rows a Clear all messages hid (created up to the button's messages_cleared_at)."""
    cleared_at = Button.objects.filter(pk=button_id).values_list("messages_cleared_at", flat=True).first()
    if cleared_at is None:
        return 0
    table = Message._meta.db_table
    # Ordered as msg_record_log_idx is, so the batch walks that index within this button's entries
    # (the planner would otherwise seq-scan for a button with many rows, re-reading the dead ones).
    return _delete_in_batches(
        f"FROM {table} WHERE button_id = %s AND created_at <= %s"
        " ORDER BY resource, object_id, created_at DESC",
        [button_id, connection.ops.adapt_datetimefield_value(cleared_at)],
        table=table, batch_size=batch_size, keyset=False,
    )


def expired_rows(cutoff: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """What retention deletes, as _delete_in_batches takes it: the expired messages, then the expired
    click events left without messages. Both walk the created_at indexes (msg_created_idx,
    event_created_idx) oldest first."""
    messages_table, events_table = Message._meta.db_table, ClickEvent._meta.db_table
    messages = {
        "table": messages_table,
        "rows": f"FROM {messages_table} WHERE created_at >= %s AND created_at < %s ORDER BY created_at",
        "params": [cutoff],
    }
    # An event's messages are never older than the event, but they may be a little younger than the
    # cut-off: such an event waits for its last message to expire. Every message older than the
    # cut-off is gone by the time events are deleted, so only younger ones can be left: with that
    # bound the probe is answered inside msg_event_idx, without a visit to each just-deleted row in
    # the heap (which made this step 8x slower per row than the messages' own).
    events = {
        "table": events_table,
        "alias": "e.",
        "rows": f"FROM {events_table} e WHERE e.created_at >= %s AND e.created_at < %s"  # noqa: S608
                f" AND NOT EXISTS (SELECT 1 FROM {messages_table} m WHERE m.event_id = e.id AND m.created_at >= %s)"
                " ORDER BY e.created_at",
        "params": [cutoff, cutoff],
    }
    return messages, events


def purge_expired_messages(
    *, now: datetime | None = None, batch_size: int = PURGE_BATCH_SIZE, max_seconds: float | None = None
) -> PurgeResult:
    """Retention: delete messages older than MESSAGE_RETENTION_DAYS, then the click events of that age
    that have no messages left, then what recent Clear all messages left behind.

    `max_seconds` bounds one run; whatever is left waits for the next (the beat task runs hourly).
    """
    now = now or timezone.now()
    cutoff = connection.ops.adapt_datetimefield_value(now - timedelta(days=settings.MESSAGE_RETENTION_DAYS))
    deadline = time.monotonic() + max_seconds if max_seconds else None
    expired_messages, expired_events = expired_rows(cutoff)
    messages = _delete_in_batches(**expired_messages, batch_size=batch_size, deadline=deadline)
    events = 0
    if deadline is None or time.monotonic() < deadline:
        events = _delete_in_batches(**expired_events, batch_size=batch_size, deadline=deadline)
    cleared = 0
    # A clearing task that never ran (the broker was down) is made good here; older clears than the
    # retention period need nothing, their messages have expired anyway.
    recent_clears = Button.objects.filter(
        messages_cleared_at__gt=now - timedelta(days=settings.MESSAGE_RETENTION_DAYS)
    ).values_list("pk", flat=True)
    for button_id in recent_clears.iterator():
        if deadline is not None and time.monotonic() > deadline:
            break
        cleared += delete_cleared_messages(button_id, batch_size=batch_size)
    return PurgeResult(messages=messages, events=events, cleared=cleared)

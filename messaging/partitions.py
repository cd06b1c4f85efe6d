"""Daily partitions of the two tables retention empties (PostgreSQL only).

Retention removes a whole day of messages and click events by dropping that day's partition: next to
no WAL and no row-by-row work, so live traffic does not feel it (bench/retention.py). The rows a drop
cannot take (a partly expired day, rows in the DEFAULT partition) are still deleted in batches by
messaging.actions. Partitions are ranges of `created_at` in UTC days, named `<table>_pYYYYMMDD`; a
DEFAULT partition takes any row outside them, so an insert never fails for want of a partition (a clock
far off, or a beat that has not run for a week), it is only purged the slow way.

On SQLite nothing here applies: `leaf_tables()` returns the table itself.
"""

from __future__ import annotations

import logging
import re
import time as pytime
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db import DatabaseError, OperationalError, connection, transaction
from psycopg.errors import LockNotAvailable

logger = logging.getLogger(__name__)

DAYS_AHEAD = 7  # partitions made ahead of time by each retention run (hourly) and by the migration
DROP_LOCK_TIMEOUT = "100ms"  # how long a drop may wait for running queries (posts queue behind it)
DROP_ATTEMPTS = 5
DROP_RETRY_PAUSE = 0.5  # seconds

# Storage parameters each new partition gets (a partitioned parent cannot hold them): every custom
# message bumps its event's counter, and room left on each page keeps that update in place (HOT).
STORAGE = {"buttons_clickevent": "fillfactor = 70"}

_BOUND = re.compile(r"FROM \('([^']+)'\) TO \('([^']+)'\)")


@dataclass(frozen=True)
class Partition:
    name: str
    lower: datetime | None  # None for the DEFAULT partition
    upper: datetime | None


def is_partitioned(table: str) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)", [table])
        return cursor.fetchone() is not None


def _parse_bound(text: str) -> datetime:
    # PostgreSQL prints bounds in the session's time zone, which Django sets to UTC: '2026-11-27 00:00:00+00'.
    value = datetime.fromisoformat(text.replace(" ", "T").removesuffix("+00") + "+00:00")
    return value.astimezone(UTC)


def partitions(table: str) -> list[Partition]:
    """The partitions of `table`, oldest first, the DEFAULT partition last; [] if it is not partitioned."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
            [table],
        )
        rows = cursor.fetchall()
    found: list[Partition] = []
    for name, bound in rows:
        match = _BOUND.search(bound or "")
        if match:
            found.append(Partition(name, _parse_bound(match[1]), _parse_bound(match[2])))
        else:
            found.append(Partition(name, None, None))
    return sorted(found, key=lambda p: (p.lower is None, p.lower or datetime.min.replace(tzinfo=UTC)))


def leaf_tables(table: str) -> list[str]:
    """The tables that hold `table`'s rows: its partitions, or the table itself."""
    return [p.name for p in partitions(table)] or [table]


def partition_name(table: str, day: date) -> str:
    return f"{table}_p{day:%Y%m%d}"


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def create_day_partition(table: str, day: date) -> bool:
    """Create and attach `table`'s partition for `day`; False if it exists or cannot be made.

    CREATE TABLE ... PARTITION OF would lock the parent against every read and write; a table made on
    its own and then attached needs only SHARE UPDATE EXCLUSIVE, so posts and log reads go on meanwhile.
    """
    quote = connection.ops.quote_name
    name = partition_name(table, day)
    lower, upper = day_start(day), day_start(day + timedelta(days=1))
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
            if cursor.fetchone()[0]:
                return False
            options = STORAGE.get(table)
            cursor.execute(
                f"CREATE TABLE {quote(name)} (LIKE {quote(table)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
                + (f" WITH ({options})" if options else "")
            )
            cursor.execute(
                f"ALTER TABLE {quote(table)} ATTACH PARTITION {quote(name)} FOR VALUES FROM (%s) TO (%s)",
                [lower, upper],
            )
    except DatabaseError as exc:
        # The DEFAULT partition already holds rows of that day (written while no partition covered it):
        # they stay there and are purged row by row; the day simply has no partition of its own.
        logger.warning("Could not create partition %s: %s", name, exc)
        return False
    return True


def ensure_partitions(table: str, first: date, last: date) -> int:
    """Make sure `table` has a partition for each day from `first` to `last`; returns how many it made."""
    if not is_partitioned(table):
        return 0
    made = 0
    day = first
    while day <= last:
        made += create_day_partition(table, day)
        day += timedelta(days=1)
    return made


def _drop(table: str, name: str) -> int | None:
    """Drop partition `name` of `table`; returns how many rows it held, None if it could not.

    Dropped while attached, not detached first: DETACH turns the partition's foreign keys into
    constraints of their own (triggers on the button, company and user tables), and dropping those takes
    an exclusive lock on those tables, which every post needs (bench/retention.py saw deadlocks).
    Dropping an attached partition locks the parent table only, for a moment.
    """
    quote = connection.ops.quote_name
    for attempt in range(1, DROP_ATTEMPTS + 1):
        started = pytime.monotonic()
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"SELECT count(*) FROM {quote(name)}")  # noqa: S608
                rows = cursor.fetchone()[0]
                # Every query that comes after the DROP queues behind it while it waits for its lock: it
                # waits briefly, then tries again.
                cursor.execute(f"SET LOCAL lock_timeout = '{DROP_LOCK_TIMEOUT}'")
                cursor.execute(f"DROP TABLE {quote(name)}")
            logger.info("Dropped partition %s (%d rows) in %.0f ms", name, rows, (pytime.monotonic() - started) * 1000)
            return rows
        except OperationalError as exc:
            waited = isinstance(exc.__cause__, LockNotAvailable)  # lock_timeout: a long query holds the table
            if not waited or attempt == DROP_ATTEMPTS:
                logger.warning("Could not drop partition %s (the next run retries): %s", name, exc)
                return None
            pytime.sleep(DROP_RETRY_PAUSE)
    return None


def drop_partitions_before(table: str, limit: datetime) -> int:
    """Drop each day partition of `table` that ends at or before `limit`; returns the rows they held.

    A partition it cannot drop stays; its rows are then deleted row by row (messaging.actions).
    """
    removed = 0
    for part in partitions(table):
        if part.upper is not None and part.upper <= limit:
            removed += _drop(table, part.name) or 0
    return removed

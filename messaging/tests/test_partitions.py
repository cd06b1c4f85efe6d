"""Day partitions on PostgreSQL: retention drops whole expired days and deletes the rest row by row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from buttons.models import Button, ClickEvent, Member
from buttons.tests.helpers import make_event, make_message
from messaging import actions, partitions
from messaging.actions import PurgeResult, purge_expired_messages
from messaging.models import Message

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions are PostgreSQL's")

MESSAGES, EVENTS = Message._meta.db_table, ClickEvent._meta.db_table
NOW = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)


def home_of(message: Message) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {MESSAGES} WHERE id = %s", [message.pk])
        return cursor.fetchone()[0]


def exists(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
        return cursor.fetchone()[0]


def settle() -> None:
    """Run the deferred foreign key checks of the rows this test wrote: PostgreSQL will not drop a table
    with checks pending in the transaction (the retention task runs in transactions of its own)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def click(button: Button, member: Member, at: datetime, *contents: str) -> ClickEvent:
    event = make_event(button, member, created_at=at, window_ends_at=at + timedelta(seconds=45))
    for content in contents:
        make_message(event, content, seconds=1)
    return event


def test_the_migration_made_today_and_the_week_ahead_and_new_messages_land_in_their_day(
    admin_member: Member, make_button: Callable[..., Button]
) -> None:
    today = datetime.now(UTC).date()
    for table in (MESSAGES, EVENTS):
        names = {p.name for p in partitions.partitions(table)}
        days = [today + timedelta(days=n) for n in range(partitions.DAYS_AHEAD + 1)]
        assert {partitions.partition_name(table, day) for day in days} <= names
        assert f"{table}_pdefault" in names
    event = click(make_button(), admin_member, datetime.now(UTC), "hello")
    assert home_of(event.messages.get()) == partitions.partition_name(MESSAGES, today)


def test_retention_drops_expired_days_whole_and_deletes_the_partly_expired_day_row_by_row(
    admin_member: Member, make_button: Callable[..., Button]
) -> None:
    cutoff = NOW - timedelta(days=30)
    for table in (MESSAGES, EVENTS):
        partitions.ensure_partitions(table, (NOW - timedelta(days=40)).date(), NOW.date())
    button = make_button()
    old = click(button, admin_member, NOW - timedelta(days=35), "a", "b", "c")
    # Same day as the cut-off: 1 hour before it goes, 1 hour after it stays.
    edge_old = click(button, admin_member, cutoff - timedelta(hours=1), "edge old")
    edge_young = click(button, admin_member, cutoff + timedelta(hours=1), "edge young")
    old_day = (NOW - timedelta(days=35)).date()
    assert home_of(old.messages.first()) == partitions.partition_name(MESSAGES, old_day)

    settle()
    assert purge_expired_messages(now=NOW) == PurgeResult(messages=4, events=2, cleared=0)

    assert not exists(partitions.partition_name(MESSAGES, old_day))
    assert not exists(partitions.partition_name(EVENTS, old_day))
    assert exists(partitions.partition_name(MESSAGES, cutoff.date()))  # partly expired: kept
    assert list(Message.objects.values_list("content", flat=True)) == ["edge young"]
    assert set(ClickEvent.objects.all()) == {edge_young}
    assert not ClickEvent.objects.filter(pk__in=[old.pk, edge_old.pk]).exists()
    # The next run's partitions are made a week ahead; nothing else changes.
    assert purge_expired_messages(now=NOW) == PurgeResult()


def test_rows_of_a_day_without_a_partition_wait_in_the_default_partition_and_are_purged(
    admin_member: Member, make_button: Callable[..., Button]
) -> None:
    far = NOW - timedelta(days=90)  # no partition that old: the DEFAULT partition takes it
    event = click(make_button(), admin_member, far, "from the default partition")
    assert home_of(event.messages.get()) == f"{MESSAGES}_pdefault"
    # A partition for that day cannot be attached while the DEFAULT partition holds its rows: no error,
    # the rows stay where they are.
    assert partitions.ensure_partitions(MESSAGES, far.date(), far.date()) == 0
    assert Message.objects.filter(event=event).count() == 1
    assert purge_expired_messages(now=NOW) == PurgeResult(messages=1, events=1, cleared=0)


def test_a_clear_reaches_every_day(admin_member: Member, make_button: Callable[..., Button]) -> None:
    for table in (MESSAGES, EVENTS):
        partitions.ensure_partitions(table, (NOW - timedelta(days=3)).date(), NOW.date())
    button = make_button()
    for days in (3, 2, 0):
        click(button, admin_member, datetime.now(UTC) - timedelta(days=days, minutes=5), f"{days} days ago")
    Button.objects.filter(pk=button.pk).update(messages_cleared_at=datetime.now(UTC))
    assert actions.delete_cleared_messages(button.pk) == 3
    assert not Message.objects.exists()


def test_a_drop_that_would_wait_behind_a_long_query_gives_up_and_the_next_run_retries(
    db: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import psycopg

    monkeypatch.setattr(partitions, "DROP_RETRY_PAUSE", 0)
    oldest = partitions.partitions(MESSAGES)[0]
    # Another session reads the table in a long transaction: a DROP must not make everyone queue.
    with psycopg.connect(**connection.get_connection_params()) as reader:
        reader.execute(f"LOCK TABLE {MESSAGES} IN ACCESS SHARE MODE")
        # Returns (without lock_timeout it would wait for the reader, here for ever) and leaves it be.
        assert partitions.drop_partitions_before(MESSAGES, oldest.upper) == 0
        reader.rollback()
    assert exists(oldest.name) and "Could not drop partition" in caplog.text
    assert partitions.drop_partitions_before(MESSAGES, oldest.upper) == 0  # now it goes (it was empty)
    assert not exists(oldest.name)

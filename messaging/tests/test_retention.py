"""Retention: messages older than 30 days go for good, then the click events left without messages."""

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Member
from buttons.models import Button, ClickEvent
from buttons.tests.helpers import make_event, make_message
from messaging import tasks
from messaging.models import Message
from messaging.retention import PurgeResult, purge_expired_messages

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def click_at(when: datetime, button: Button, member: Member, *contents: str) -> ClickEvent:
    with time_machine.travel(when, tick=False):
        event = make_event(button, member)
        for content in contents:
            make_message(event, content, seconds=0)
    return event


def test_29_days_23_hours_stays_and_30_days_1_hour_goes(
    admin_member: Member, make_button: Callable[..., Button]
) -> None:
    button = make_button()
    old = click_at(T0, button, admin_member, "old")
    young = click_at(T0 + timedelta(hours=2), button, admin_member, "young")
    with time_machine.travel(T0 + timedelta(days=30, hours=1), tick=False):
        result = purge_expired_messages()
    assert result == PurgeResult(messages=1, events=1, cleared=0)
    assert list(Message.objects.values_list("content", flat=True)) == ["young"]
    assert list(ClickEvent.objects.all()) == [young]
    assert not ClickEvent.objects.filter(pk=old.pk).exists()


def test_an_event_waits_for_its_last_message_and_events_without_messages_go(
    admin_member: Member, make_button: Callable[..., Button]
) -> None:
    button = make_button()
    event = click_at(T0, button, admin_member, "first")
    make_message(event, "two hours later", seconds=2 * 3600)
    silent = click_at(T0, make_button(label="No messaging", messaging_enabled=False), admin_member)
    with time_machine.travel(T0 + timedelta(days=30, hours=1), tick=False):
        assert purge_expired_messages() == PurgeResult(messages=1, events=1, cleared=0)
    assert ClickEvent.objects.filter(pk=event.pk).exists()  # its second message is 29 days 23 hours old
    assert not ClickEvent.objects.filter(pk=silent.pk).exists()
    with time_machine.travel(T0 + timedelta(days=30, hours=3), tick=False):
        assert purge_expired_messages() == PurgeResult(messages=1, events=1, cleared=0)
    assert not Message.objects.exists() and not ClickEvent.objects.exists()


def test_it_deletes_in_bounded_batches(admin_member: Member, make_button: Callable[..., Button]) -> None:
    button = make_button()
    for _ in range(5):
        click_at(T0, button, admin_member, "a", "b")
    fresh = click_at(T0 + timedelta(days=20), button, admin_member, "fresh")
    with time_machine.travel(T0 + timedelta(days=31), tick=False), CaptureQueriesContext(connection) as queries:
        result = purge_expired_messages(batch_size=3)
    assert result == PurgeResult(messages=10, events=5, cleared=0)
    deletes = [q["sql"] for q in queries.captured_queries if "DELETE" in q["sql"].upper()]
    # 10 messages in batches of 3 (3+3+3+1), 5 events (3+2): one short statement each.
    assert len(deletes) == 6 and all("LIMIT 3" in sql for sql in deletes)
    assert list(ClickEvent.objects.all()) == [fresh]
    assert list(Message.objects.values_list("content", flat=True)) == ["fresh"]


def test_the_retention_period_is_a_setting(
    admin_member: Member, make_button: Callable[..., Button], settings: object
) -> None:
    settings.MESSAGE_RETENTION_DAYS = 7  # type: ignore[attr-defined]
    click_at(T0, make_button(), admin_member, "week old")
    with time_machine.travel(T0 + timedelta(days=6, hours=23), tick=False):
        assert purge_expired_messages() == PurgeResult()
    with time_machine.travel(T0 + timedelta(days=7, hours=1), tick=False):
        assert purge_expired_messages() == PurgeResult(messages=1, events=1)


def test_the_beat_task_purges_and_is_registered(admin_member: Member, make_button: Callable[..., Button]) -> None:
    from django.conf import settings

    from oneclick.celery import app

    schedule = settings.CELERY_BEAT_SCHEDULE["purge-expired-messages"]
    app.loader.import_default_modules()
    assert schedule["task"] in app.tasks
    click_at(T0, make_button(), admin_member, "old")
    with time_machine.travel(T0 + timedelta(days=31), tick=False):
        assert tasks.purge_expired_messages.delay().get() == {"messages": 1, "events": 1, "cleared": 0}


def test_a_second_overlapping_run_stands_down(admin_member: Member, make_button: Callable[..., Button]) -> None:
    from django.core.cache import cache

    click_at(T0, make_button(), admin_member, "old")
    cache.add(tasks.PURGE_LOCK, "1", 60)
    with time_machine.travel(T0 + timedelta(days=31), tick=False):
        assert tasks.purge_expired_messages() is None
    assert Message.objects.count() == 1


def test_the_purge_command_prints_what_it_removed(admin_member: Member, make_button: Callable[..., Button]) -> None:
    button = make_button()
    click_at(T0, button, admin_member, "a", "b", "c")
    click_at(T0, button, admin_member)
    click_at(T0 + timedelta(days=29), button, admin_member, "recent")
    out = StringIO()
    with time_machine.travel(T0 + timedelta(days=30, hours=1), tick=False):
        call_command("purge_messages", "--batch-size", "2", stdout=out)
    assert out.getvalue().strip() == (
        "Removed 3 messages and 2 click events older than 30 days, and 0 messages of cleared logs."
    )
    assert Message.objects.count() == 1 and ClickEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_event_that_gets_a_message_while_the_purge_runs_stays(
    admin_member: Member, make_button: Callable[..., Button]
) -> None:
    # messages.event has no database constraint: what keeps a message from losing its event is that
    # its writer locks the event's row first and the purge skips a row changed under it.
    if connection.vendor != "postgresql":
        pytest.skip("row locks and the purge's skip-on-change are PostgreSQL's; SQLite writes one at a time")
    month_ago = timezone.now() - timedelta(days=31)
    event = make_event(make_button(), admin_member, created_at=month_ago,
                       window_ends_at=month_ago + timedelta(seconds=45))
    locked, go = threading.Event(), threading.Event()

    # A writer that locks the event's row, then stores its message. The delivery does both in one
    # statement (deliveries.claim.end_claimed), which cannot be paused in between; this one waits
    # there, so the purge is certain to meet the lock.
    def late_delivery() -> None:
        try:
            with transaction.atomic():
                ClickEvent.objects.filter(pk=event.pk).update(delivery="delivered", http_status=200)
                locked.set()
                go.wait(timeout=30)
                make_message(event, "late answer", seconds=31 * 86400)
        finally:
            connection.close()

    def purge() -> PurgeResult:
        try:
            return purge_expired_messages()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        writer = pool.submit(late_delivery)
        assert locked.wait(timeout=30)
        purging = pool.submit(purge)
        # Let the purge pick the event and wait on its row lock before the writer commits.
        with connection.cursor() as cursor:
            for _ in range(300):
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                               "AND query LIKE %s", ["WITH gone AS (DELETE FROM buttons_clickevent%"])
                if cursor.fetchone()[0]:
                    break
                time.sleep(0.01)
            else:
                pytest.fail("the purge never waited on the event's row lock")
        go.set()
        writer.result(timeout=30)
        assert purging.result(timeout=30) == PurgeResult()
    assert ClickEvent.objects.filter(pk=event.pk).exists()
    assert list(Message.objects.filter(event=event).values_list("content", flat=True)) == ["late answer"]

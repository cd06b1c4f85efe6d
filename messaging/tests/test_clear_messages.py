"""Clear all messages: the log is empty at once for every user, and a task deletes the rows soon after."""

import time
from collections.abc import Callable
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from kombu.exceptions import OperationalError

from accounts.models import Member
from buttons.models import Button
from buttons.tests.helpers import make_message, make_past_event
from conftest import api_client
from messaging import actions, reads, retention
from messaging.models import Message


def test_clearing_hides_the_log_at_once_and_the_task_removes_the_rows(
    admin_member: Member, teammate: Member, make_button: Callable[..., Button],
    django_capture_on_commit_callbacks: Callable,
) -> None:
    button = make_button(messages_public=True)
    event = make_past_event(button, admin_member)
    for n in range(5):
        make_message(event, f"step {n}", seconds=n)
    other_button_message = make_message(make_past_event(make_button(label="Other"), admin_member), "stays")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        actions.clear_messages(button)
    # Before the task has run, nobody sees anything: the events API, the actions, the rules.
    assert Message.objects.filter(button=button).count() == 5
    body = api_client(admin_member).get(f"/api/events/{event.pk}/").json()
    assert body["messages"] == [] and body["redirect_url"] is None
    event.refresh_from_db()
    assert not reads.event_messages(event).exists()
    assert reads.unread_blocking_reason(button, admin_member.user_id, "deal", event.object_id) is None
    # The task deletes them (its countdown is ignored in the eager test mode).
    assert len(callbacks) == 1
    callbacks[0]()
    assert list(Message.objects.all()) == [other_button_message]


def test_messages_after_the_clear_show_and_stay(admin_member: Member, make_button: Callable[..., Button]) -> None:
    button = make_button()
    event = make_past_event(button, admin_member)
    make_message(event, "before")
    actions.clear_messages(button)
    after = make_message(event, "after", created_at=timezone.now() + timedelta(milliseconds=5))
    assert list(reads.event_messages(event)) == [after]
    assert retention.delete_cleared_messages(button.pk) == 1  # "before" only
    assert list(Message.objects.all()) == [after]


def test_the_task_deletes_in_bounded_batches(admin_member: Member, make_button: Callable[..., Button]) -> None:
    button = make_button()
    event = make_past_event(button, admin_member)
    for n in range(7):
        make_message(event, f"m{n}", seconds=n)
    Button.objects.filter(pk=button.pk).update(messages_cleared_at=timezone.now())
    with CaptureQueriesContext(connection) as queries:
        assert retention.delete_cleared_messages(button.pk, batch_size=3) == 7
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].upper().lstrip().startswith(("DELETE", "WITH"))]
    assert len(deletes) == 3 and all("LIMIT 3" in sql for sql in deletes)
    assert not Message.objects.exists()


def test_a_broker_outage_does_not_undo_the_clear_and_retention_makes_it_good(
    admin_member: Member, make_button: Callable[..., Button], django_capture_on_commit_callbacks: Callable,
) -> None:
    button = make_button()
    make_message(make_past_event(button, admin_member), "hidden")
    with mock.patch("messaging.tasks.delete_cleared_messages.apply_async", side_effect=OperationalError("down")), \
            django_capture_on_commit_callbacks(execute=True):
        response = api_client(admin_member).post(f"/api/buttons/{button.identifier}/clear-messages")
    assert response.status_code == 202
    assert Message.objects.count() == 1
    assert retention.purge_expired_messages() == retention.PurgeResult(cleared=1)
    assert not Message.objects.exists()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_deletes_the_rows_within_45_seconds(
    celery_worker: str, admin_member: Member, make_button: Callable[..., Button]
) -> None:
    button = make_button()
    event = make_past_event(button, admin_member)
    for n in range(3):
        make_message(event, f"m{n}", seconds=n)
    started = time.monotonic()
    response = api_client(admin_member).post(f"/api/buttons/{button.identifier}/clear-messages")
    assert response.status_code == 202
    assert api_client(admin_member).get(f"/api/events/{event.pk}/").json()["messages"] == []
    while Message.objects.filter(button=button).exists():
        assert time.monotonic() - started < 45, "the cleared messages were not deleted within 45 s"
        time.sleep(0.25)

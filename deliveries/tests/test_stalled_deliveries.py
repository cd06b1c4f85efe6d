"""A click whose delivery task was lost or interrupted still ends, with an error for the clicker."""

from collections.abc import Callable
from datetime import timedelta

import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.models import Member
from buttons.models import Button, ClickEvent
from buttons.tests.helpers import make_event
from conftest import Receiver
from deliveries import delivery
from messaging.models import Message


def test_a_click_whose_task_was_lost_fails_by_the_end_of_its_window(
    admin_member: Member, make_button: Callable[..., Button], receiver: Receiver
) -> None:
    button = make_button(url=receiver.url)
    event = make_event(button, admin_member)
    with time_machine.travel(event.window_ends_at - delivery.LATEST_START - timedelta(seconds=1), tick=False):
        assert delivery.fail_stalled_deliveries() == 0  # may still be waiting in a busy queue
    with time_machine.travel(event.window_ends_at - delivery.LATEST_START, tick=False):
        assert delivery.fail_stalled_deliveries() == 1
        assert delivery.fail_stalled_deliveries() == 0  # once
    event.refresh_from_db()
    assert event.delivery == "failed" and event.error == delivery.TOO_BUSY
    message = Message.objects.get(event=event)
    assert message.message_type == "error" and message.content == (
        "The automation was not called: OneClick was too busy. Press the button again."
    )
    client = Client()
    client.force_login(admin_member.user)
    panel = client.get(f"/api/panel/{button.resource}/{event.object_id}/").json()["buttons"]
    assert [b["envelope"] for b in panel if b["identifier"] == str(button.identifier)] == ["red"]
    # The task turns up after all: the clicker was told it would not be sent, so it is not.
    delivery.deliver_click(str(event.pk))
    assert receiver.requests == []


def test_a_task_that_arrives_too_late_fails_its_click_at_once_and_sends_nothing(
    admin_member: Member, make_button: Callable[..., Button], receiver: Receiver
) -> None:
    event = make_event(make_button(url=receiver.url), admin_member)
    with time_machine.travel(event.window_ends_at - timedelta(seconds=3), tick=False):
        delivery.deliver_click(str(event.pk))
    assert receiver.requests == []
    event.refresh_from_db()
    assert event.delivery == "failed" and event.error == delivery.TOO_BUSY
    assert Message.objects.get(event=event).content == delivery.TOO_BUSY


def test_a_dead_workers_click_is_reported_within_a_minute_of_the_click(
    admin_member: Member, make_button: Callable[..., Button]
) -> None:
    event = make_event(make_button(), admin_member)
    ClickEvent.objects.filter(pk=event.pk).update(claimed_at=event.created_at)  # then the worker died
    # A claimed delivery ends within its webhook's 40 s deadline (and the moment to store its answer).
    with time_machine.travel(event.created_at + timedelta(seconds=45), tick=False):
        assert delivery.fail_stalled_deliveries() == 0
    sweep = event.created_at + delivery.STALLED_AFTER_CLAIM + timedelta(seconds=settings.STALLED_SWEEP_SECONDS)
    assert sweep < event.created_at + timedelta(seconds=60)
    with time_machine.travel(sweep, tick=False):
        assert delivery.fail_stalled_deliveries() == 1
    event.refresh_from_db()
    assert event.delivery == "failed" and event.error == delivery.INTERRUPTED
    assert Message.objects.get(event=event).content == delivery.INTERRUPTED


def test_a_finished_delivery_is_left_alone(
    admin_member: Member, make_button: Callable[..., Button], receiver: Receiver
) -> None:
    delivered = make_event(make_button(url=receiver.url), admin_member)
    delivery.deliver_click(str(delivered.pk))
    before = list(Message.objects.values_list("pk", flat=True))
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=False):
        assert delivery.fail_stalled_deliveries() == 0
    assert list(Message.objects.values_list("pk", flat=True)) == before
    assert ClickEvent.objects.get(pk=delivered.pk).delivery == "delivered"


def test_the_sweep_is_a_registered_beat_task(admin_member: Member, make_button: Callable[..., Button]) -> None:
    from deliveries import tasks
    from oneclick.celery import app

    schedule = settings.CELERY_BEAT_SCHEDULE["fail-stalled-deliveries"]
    app.loader.import_default_modules()
    assert schedule["task"] in app.tasks and schedule["schedule"] <= 5
    assert app.amqp.router.route({}, schedule["task"])["queue"].name == "housekeeping"
    make_event(make_button(), admin_member)
    with time_machine.travel(timezone.now() + timedelta(minutes=6), tick=False):
        assert tasks.fail_stalled_deliveries.delay().get() == 1

"""A click whose delivery task was lost or interrupted still ends, with an error for the clicker."""

from collections.abc import Callable
from datetime import timedelta

import time_machine
from django.test import Client
from django.utils import timezone

from buttons import actions
from buttons.models import Button, ClickEvent, Member
from buttons.tests.helpers import make_event
from conftest import Receiver
from messaging.models import Message


def test_a_click_whose_task_was_lost_fails_with_an_error_the_clicker_sees(
    admin_member: Member, make_button: Callable[..., Button], receiver: Receiver
) -> None:
    button = make_button(url=receiver.url)
    event = make_event(button, admin_member)
    with time_machine.travel(timezone.now() + timedelta(minutes=4), tick=False):
        assert actions.fail_stalled_deliveries() == 0  # may still be waiting in a busy queue
    with time_machine.travel(timezone.now() + timedelta(minutes=6), tick=False):
        assert actions.fail_stalled_deliveries() == 1
        assert actions.fail_stalled_deliveries() == 0  # once
    event.refresh_from_db()
    assert event.delivery == "failed" and event.error == actions.NOT_SENT_IN_TIME
    message = Message.objects.get(event=event)
    assert message.message_type == "error" and "was not sent within 5 minutes" in message.content
    client = Client()
    client.force_login(admin_member.user)
    panel = client.get(f"/api/panel/{button.resource}/{event.object_id}/").json()["buttons"]
    assert [b["envelope"] for b in panel if b["identifier"] == str(button.identifier)] == ["red"]
    # The task turns up after all: the clicker was told it would not be sent, so it is not.
    actions.deliver_click(str(event.pk))
    assert receiver.requests == []


def test_an_interrupted_delivery_says_the_outcome_is_unknown(
    admin_member: Member, make_button: Callable[..., Button]
) -> None:
    event = make_event(make_button(), admin_member)
    claimed = event.created_at + timedelta(minutes=4)  # a queue that was behind, then the worker died
    ClickEvent.objects.filter(pk=event.pk).update(claimed_at=claimed)
    # A claimed delivery may run until the window and the webhook's deadline have passed.
    with time_machine.travel(claimed + timedelta(seconds=90), tick=False):
        assert actions.fail_stalled_deliveries() == 0
    with time_machine.travel(claimed + actions.STALLED_AFTER_CLAIM + timedelta(seconds=1), tick=False):
        assert actions.fail_stalled_deliveries() == 1
    event.refresh_from_db()
    assert event.delivery == "failed" and event.error == actions.INTERRUPTED
    assert Message.objects.get(event=event).content == actions.INTERRUPTED


def test_a_finished_delivery_is_left_alone(
    admin_member: Member, make_button: Callable[..., Button], receiver: Receiver
) -> None:
    delivered = make_event(make_button(url=receiver.url), admin_member)
    actions.deliver_click(str(delivered.pk))
    before = list(Message.objects.values_list("pk", flat=True))
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=False):
        assert actions.fail_stalled_deliveries() == 0
    assert list(Message.objects.values_list("pk", flat=True)) == before
    assert ClickEvent.objects.get(pk=delivered.pk).delivery == "delivered"


def test_the_sweep_is_a_registered_beat_task(admin_member: Member, make_button: Callable[..., Button]) -> None:
    from django.conf import settings

    from buttons import tasks
    from oneclick.celery import app

    schedule = settings.CELERY_BEAT_SCHEDULE["fail-stalled-deliveries"]
    app.loader.import_default_modules()
    assert schedule["task"] in app.tasks and schedule["schedule"] <= 60
    make_event(make_button(), admin_member)
    with time_machine.travel(timezone.now() + timedelta(minutes=6), tick=False):
        assert tasks.fail_stalled_deliveries.delay().get() == 1

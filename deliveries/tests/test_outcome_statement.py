"""A delivery's outcome and its message are stored together or not at all (deliveries.claim.end_claimed,
one statement on PostgreSQL, a transaction elsewhere): a click never reads "delivered" without its
answer in the log, and an answer is never stored for a click that is not this delivery's to end."""

import uuid
from collections.abc import Callable

import pytest
from django.db import IntegrityError
from django.utils import timezone

from accounts.models import Member
from buttons.models import Button, ClickEvent
from buttons.tests.helpers import make_event
from deliveries import claim
from deliveries.delivery import INTERRUPTED
from messaging.models import Message

OUTCOME = {"delivery": "delivered", "http_status": 200, "duration_ms": 12, "attempts": 1, "error": "",
           "unless_error": INTERRUPTED}


def claimed(button: Button, member: Member) -> tuple[ClickEvent, uuid.UUID]:
    token = uuid.uuid4()
    event = make_event(button, member)
    now = timezone.now()
    assert claim.claim(event.pk, token, now=now, leaves_by=now) is not None
    return event, token


def answer(event: ClickEvent, content: object = "Invoice 42 created") -> Message:
    return Message.about(event, source="http_response", message_type="success", content=content,
                         redirect_url="", created_at=timezone.now())


def test_the_outcome_and_its_message_are_stored_together(
    admin_member: Member, make_button: Callable[..., Button]
) -> None:
    event, token = claimed(make_button(), admin_member)
    message = answer(event)
    assert claim.end_claimed(event.pk, token, message=message, **OUTCOME) is True
    event.refresh_from_db()
    assert (event.delivery, event.http_status) == ("delivered", 200)
    stored = Message.objects.get()
    assert stored.pk == message.pk and stored.content == "Invoice 42 created" and stored.event_id == event.pk


def test_another_deliverys_claim_stores_neither(admin_member: Member, make_button: Callable[..., Button]) -> None:
    event, _ = claimed(make_button(), admin_member)
    message = answer(event)
    assert claim.end_claimed(event.pk, uuid.uuid4(), message=message, **OUTCOME) is False
    assert message.pk is None and not Message.objects.exists()
    event.refresh_from_db()
    assert event.delivery == "pending"


def test_a_click_already_ended_gets_no_second_answer(admin_member: Member, make_button: Callable[..., Button]) -> None:
    event, token = claimed(make_button(), admin_member)
    assert claim.end_claimed(event.pk, token, message=answer(event), **OUTCOME) is True
    assert claim.end_claimed(event.pk, token, message=answer(event, "again"), **OUTCOME) is False
    assert list(Message.objects.values_list("content", flat=True)) == ["Invoice 42 created"]


@pytest.mark.django_db(transaction=True)  # no test transaction around it, which would hide a half-write
def test_a_message_that_cannot_be_stored_leaves_the_click_pending(
    admin_member: Member, make_button: Callable[..., Button]
) -> None:
    event, token = claimed(make_button(), admin_member)
    with pytest.raises(IntegrityError):  # content may not be NULL
        claim.end_claimed(event.pk, token, message=answer(event, None), **OUTCOME)
    event.refresh_from_db()
    assert event.delivery == "pending" and not Message.objects.exists()

"""A delivery's outcome and its message are stored together or not at all (deliveries.claim.end_claimed,
one statement on PostgreSQL, a transaction elsewhere): a click never reads "delivered" without its
answer in the log, and an answer is never stored for a click that is not this delivery's to end."""

import threading
import uuid
from collections.abc import Callable

import pytest
from django.db import IntegrityError, connection
from django.utils import timezone

from accounts.models import Member
from buttons.models import Button, ClickEvent
from buttons.tests.helpers import make_event
from conftest import api_client
from deliveries import claim
from deliveries.delivery import INTERRUPTED
from messaging import reads
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


@pytest.mark.django_db(transaction=True)  # the delivery commits on its own connection, as the worker does
def test_a_poll_never_shows_the_answer_beside_a_pending_delivery(
    admin_member: Member, make_button: Callable[..., Button], monkeypatch: pytest.MonkeyPatch
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time: a delivery cannot commit between a reader's reads")
    event = make_event(make_button(), admin_member)
    token, now = uuid.uuid4(), timezone.now()
    assert claim.claim(event.pk, token, now=now, leaves_by=now) is not None
    first_read = reads.event_messages

    def delivered_meanwhile(polled: ClickEvent) -> object:
        """The worker records the outcome and its answer between the poll's read of the event and of
        its messages (the moment a black-box poll once caught)."""
        def record() -> None:
            answer = Message.about(polled, source="http_response", message_type="success", content="Done",
                                   redirect_url="", created_at=timezone.now())
            assert claim.end_claimed(polled.pk, token, delivery="delivered", http_status=200, duration_ms=5,
                                     attempts=1, error="", unless_error="", message=answer)
            connection.close()

        worker = threading.Thread(target=record)
        worker.start()
        worker.join()
        return first_read(polled)

    monkeypatch.setattr(reads, "event_messages", delivered_meanwhile)
    during = api_client(admin_member).get(f"/api/events/{event.pk}/").json()
    monkeypatch.undo()
    after = api_client(admin_member).get(f"/api/events/{event.pk}/").json()
    assert (during["delivery"], during["messages"]) == ("pending", [])  # before: "pending" beside "Done"
    assert (after["delivery"], [m["content"] for m in after["messages"]]) == ("delivered", ["Done"])

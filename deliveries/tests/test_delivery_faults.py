"""Database faults around a delivery: retried before the webhook leaves (the claim keeps it at most once)
and after it (the answer is stored), never sent twice; the sweep outlives them too."""

from collections.abc import Callable
from unittest import mock

import pytest
from django.db import OperationalError

from accounts.models import Member
from buttons.models import Button, ClickEvent
from buttons.tests.helpers import make_event
from conftest import Receiver
from deliveries import delivery, tasks
from messaging.models import Message


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "DB_RETRY_DELAYS", (0.01,))


def failing(times: int, real: Callable) -> Callable:
    """A stand-in that raises a lost-connection error `times` times, then does the real thing."""
    calls = {"n": 0}

    def step(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] <= times:
            raise OperationalError("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    return step


def test_a_claim_that_meets_a_dead_connection_is_retried_and_sent_once(
    admin_member: Member, make_button: Callable[..., Button], receiver: Receiver
) -> None:
    event = make_event(make_button(url=receiver.url), admin_member)
    with mock.patch.object(delivery, "_claim", side_effect=failing(3, delivery._claim)):
        delivery.deliver_click(str(event.pk))
    assert len(receiver.requests) == 1
    assert ClickEvent.objects.get(pk=event.pk).delivery == "delivered"


def test_a_claim_whose_commit_was_lost_is_still_this_tasks_own(
    admin_member: Member, make_button: Callable[..., Button], receiver: Receiver
) -> None:
    """The claim committed but its answer never came back: the retry finds its own token, not a rival's."""
    event = make_event(make_button(url=receiver.url), admin_member)
    real = delivery._claim

    def claim_then_lose_the_answer(event_id: str, token: object) -> object:
        if not getattr(claim_then_lose_the_answer, "done", False):
            claim_then_lose_the_answer.done = True
            real(event_id, token)
            raise OperationalError("connection lost after COMMIT")
        return real(event_id, token)

    with mock.patch.object(delivery, "_claim", side_effect=claim_then_lose_the_answer):
        delivery.deliver_click(str(event.pk))
    assert len(receiver.requests) == 1
    # A second task for the same click (a redelivery) sends nothing.
    delivery.deliver_click(str(event.pk))
    assert len(receiver.requests) == 1


def test_an_answer_that_arrived_is_stored_through_a_database_outage(
    admin_member: Member, make_button: Callable[..., Button], receiver: Receiver
) -> None:
    receiver.answer(200, {"message_type": "success", "message": "Scenario completed"})
    event = make_event(make_button(url=receiver.url), admin_member)
    with mock.patch.object(delivery, "_record_outcome", side_effect=failing(4, delivery._record_outcome)):
        delivery.deliver_click(str(event.pk))
    assert len(receiver.requests) == 1
    event.refresh_from_db()
    assert event.delivery == "delivered" and event.http_status == 200
    assert [m.content for m in Message.objects.filter(event=event)] == ["Scenario completed"]


def test_an_answer_wins_over_the_sweeps_interrupted(
    admin_member: Member, make_button: Callable[..., Button], receiver: Receiver
) -> None:
    """The sweep called the click interrupted while the database was away; the answer was real."""
    event = make_event(make_button(url=receiver.url), admin_member)
    real = delivery._record_outcome

    def swept_first(event_: ClickEvent, *args: object) -> None:
        claimed = ClickEvent.objects.get(pk=event_.pk)
        assert delivery._end_unfinished(claimed, delivery.INTERRUPTED)
        real(event_, *args)

    with mock.patch.object(delivery, "_record_outcome", side_effect=swept_first):
        delivery.deliver_click(str(event.pk))
    event.refresh_from_db()
    assert event.delivery == "delivered" and event.error == ""


def test_the_sweep_task_outlives_a_database_outage(db: None) -> None:
    with mock.patch.object(delivery, "fail_stalled_deliveries", side_effect=OperationalError("refused")):
        assert tasks.fail_stalled_deliveries() == 0

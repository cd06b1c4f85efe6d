"""GET /api/events/<event_id>/: the clicker's view of one click."""

from collections.abc import Callable
from datetime import timedelta

from accounts.models import Member
from buttons.models import Button
from buttons.tests.helpers import make_event
from conftest import api_client
from messaging.models import Message


def add(event, content: str, *, redirect: str = "", seconds: float = 1, message_type: str = "info") -> Message:
    return Message.objects.create(
        event=event, button=event.button, company_id=event.company_id, resource=event.resource,
        object_id=event.object_id, recipient=event.user, source="custom", message_type=message_type,
        content=content, redirect_url=redirect, created_at=event.created_at + timedelta(seconds=seconds),
    )


def test_the_clicker_sees_delivery_messages_and_the_latest_redirect(
    admin_member: Member, make_button: Callable[..., Button]
) -> None:
    event = make_event(make_button(), admin_member)
    add(event, "first", redirect="https://a.example/1", seconds=1)
    add(event, "second", redirect="https://a.example/2", seconds=2)
    add(event, "too late", redirect="https://a.example/late", seconds=50)
    response = api_client(admin_member).get(f"/api/events/{event.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"event_id", "delivery", "http_status", "window_ends_at", "messages", "redirect_url"}
    assert body["event_id"] == str(event.pk) and body["delivery"] == "pending" and body["http_status"] is None
    assert [m["content"] for m in body["messages"]] == ["too late", "second", "first"]
    assert body["redirect_url"] == "https://a.example/2"
    message = body["messages"][0]
    assert set(message) >= {"id", "event_id", "source", "message_type", "content", "redirect_url",
                            "created_at", "read"}
    assert message["read"] is False and message["event_id"] == str(event.pk)


def test_only_the_clicker_may_read_it(
    admin_member: Member, teammate: Member, outsider: Member, make_button: Callable[..., Button]
) -> None:
    event = make_event(make_button(messages_public=True), admin_member)
    assert api_client(teammate).get(f"/api/events/{event.pk}/").status_code == 404
    assert api_client(outsider).get(f"/api/events/{event.pk}/").status_code == 404
    assert api_client(None).get(f"/api/events/{event.pk}/").status_code in (401, 403)
    assert api_client(admin_member).get("/api/events/not-a-uuid/").status_code == 404


def test_cleared_messages_are_gone_at_once(admin_member: Member, make_button: Callable[..., Button]) -> None:
    button = make_button()
    event = make_event(button, admin_member)
    old = add(event, "old", seconds=1)
    button.messages_cleared_at = old.created_at
    button.save()
    add(event, "new", seconds=2)
    body = api_client(admin_member).get(f"/api/events/{event.pk}/").json()
    assert [m["content"] for m in body["messages"]] == ["new"]


def test_a_click_not_sent_yet_reads_as_queued(admin_member: Member, make_button: Callable[..., Button]) -> None:
    from django.utils import timezone

    from buttons.models import ClickEvent

    event = make_event(make_button(), admin_member)
    client = api_client(admin_member)
    assert client.get(f"/api/events/{event.pk}/").json()["queued"] is True
    ClickEvent.objects.filter(pk=event.pk).update(claimed_at=timezone.now())  # a worker took it
    body = client.get(f"/api/events/{event.pk}/").json()
    assert body["queued"] is False and body["delivery"] == "pending"


"""What an automation answered, shown where its author looks: the click event's admin page, the test
click page (server-rendered and through the event API it polls), with the reason whenever the log shows
"Success" or "Error (HTTP <status>)" instead of the answer."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import responses
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
from rest_framework.test import APIClient

from accounts.models import Member
from buttons.models import Button, ClickEvent
from buttons.tests.helpers import make_event
from deliveries import actions, delivery
from messaging.models import Message

HOOK = "http://hooks.example.test/invoice"
LONG = "Invoice " + "x" * 2992

# (status, body, content type) -> (what the log shows, words the reason must contain)
REPLACED = [
    ((200, '{"message": "<script>alert(1)</script>Done"}', "application/json"),
     ("Success", "the HTML tag <script>")),
    ((200, LONG, "text/plain"), ("Success", "3000 characters long")),
    ((502, "<!doctype html><html><body><h1>Bad gateway</h1></body></html>", "text/html"),
     ("Error (HTTP 502)", "the HTML tag <h1>")),
    ((200, '{"ok": true, "id": 7}', "application/json"), ("Success", 'has no "message"')),
    ((200, '{"message": "See it", "redirect_url": "javascript:alert(1)"}', "application/json"),
     ("See it", "redirect_url was ignored")),
    ((200, '{"message": "Hi", "message_type": "urgent"}', "application/json"), ("Hi", "message_type was ignored")),
]


def admin_client(member: Member) -> Client:
    client = Client()
    client.force_login(member.user)
    return client


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("answer", "shown"), REPLACED, ids=[str(i) for i in range(len(REPLACED))])
@responses.activate
def test_a_replaced_answer_says_why_on_both_admin_pages(
    admin_member: Member, make_button: Callable[..., Button], answer: tuple, shown: tuple
) -> None:
    status, body, content_type = answer
    content, reason = shown
    responses.post(HOOK, body=body, status=status, content_type=content_type)
    button = make_button(url=HOOK)
    event = actions.send_test_click(admin_member.user, button.identifier)
    assert Message.objects.get(event=event).content == content  # the log keeps the guide's words
    event.refresh_from_db()
    assert reason in event.response_note
    assert event.response_body == body[:2048]

    client = admin_client(admin_member)
    page = client.get(reverse("admin:buttons_clickevent_change", args=[event.pk])).content.decode()
    assert f'<pre class="oneclick-body">{escape(body[:2048])}</pre>' in page and escape(reason) in page
    assert "<script>alert(1)</script>" not in page  # the body is text there, never markup
    listing = client.get(reverse("admin:buttons_clickevent_changelist")).content.decode()
    assert escape(event.response_note[:30]) in listing  # the list names the reason, not "-"

    result = client.get(reverse("admin:buttons_button_test_click_result", args=[button.pk, event.pk]))
    html = result.content.decode()
    assert f"HTTP <strong data-role=\"status\">{status}</strong>" in html
    assert escape(reason) in html and escape(body[:2048]) in html

    api = APIClient()
    api.force_authenticate(admin_member.user)
    data = api.get(f"/api/events/{event.pk}/").json()
    assert data["response"]["http_status"] == status
    assert data["response"]["body"] == body[:2048]
    assert reason in data["response"]["replaced_because"]


@pytest.mark.django_db(transaction=True)
@responses.activate
def test_an_answer_shown_as_it_came_has_no_reason(admin_member: Member, make_button: Callable[..., Button]) -> None:
    responses.post(HOOK, json={"message": "Invoice <b>INV-1</b> created", "message_type": "success"})
    event = actions.send_test_click(admin_member.user, make_button(url=HOOK).identifier)
    event.refresh_from_db()
    assert event.response_note == "" and "INV-1" in event.response_body
    html = admin_client(admin_member).get(
        reverse("admin:buttons_button_test_click_result", args=[event.button_id, event.pk])).content.decode()
    assert 'class="oneclick-replaced" data-role="replaced" hidden' in html


def test_the_body_is_cut_at_2_kb_without_splitting_a_character(
    admin_member: Member, make_button: Callable[..., Button], receiver: object
) -> None:
    body = "é" * 3000  # 2 bytes each: 1,024 of them fit
    receiver.answer(200, body)  # type: ignore[attr-defined]
    event = make_event(make_button(url=receiver.url), admin_member)  # type: ignore[attr-defined]
    delivery.deliver_click(str(event.pk))
    event.refresh_from_db()
    assert event.response_body == "é" * 1024
    assert "3000 characters long" in event.response_note


def test_a_users_click_never_carries_the_raw_answer(
    admin_member: Member, make_button: Callable[..., Button], receiver: object
) -> None:
    receiver.answer(200, '{"message": "<script>x</script>", "internal": "secret-ish"}')  # type: ignore[attr-defined]
    event = make_event(make_button(url=receiver.url), admin_member)  # type: ignore[attr-defined]
    delivery.deliver_click(str(event.pk))
    api = APIClient()
    api.force_authenticate(admin_member.user)
    data = api.get(f"/api/events/{event.pk}/").json()
    assert data["response"] is None and "secret-ish" not in str(data)
    assert ClickEvent.objects.get(pk=event.pk).response_note  # kept for the admin's page

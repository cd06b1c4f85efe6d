"""The webhook's HTTP response becomes a message, by the rules of the messaging guide and the README."""

from collections.abc import Callable

import pytest

from accounts.models import Member
from buttons.models import Button
from buttons.tests.helpers import make_event
from conftest import Receiver
from deliveries import delivery
from messaging.incoming import interpret_response
from messaging.models import Message

ERROR_PAGE = "<!DOCTYPE html><html><head><title>502</title></head><body><h1>Bad gateway</h1></body></html>"

CASES = [
    # (status, body, content type) -> (content, message_type, redirect_url)
    ((200, "Invoice created", "text/plain"), ("Invoice created", "info", "")),
    ((201, "  <b>Done</b>\n", "text/plain"), ("<b>Done</b>", "info", "")),
    ((200, '{"message_type": "success", "message": "Scenario completed"}', "application/json"),
     ("Scenario completed", "success", "")),
    ((200, '{"message_type": "bogus", "message": "Hi"}', "application/json"), ("Hi", "info", "")),
    ((500, '{"message_type": "success", "message": "Nope"}', "application/json"), ("Nope", "error", "")),
    ((200, '{"redirect_url": "https://crm.example/deals/1"}', "application/json"),
     ("Redirected to https://crm.example/deals/1", "info", "https://crm.example/deals/1")),
    ((200, '{"message": "See it", "redirect_url": "javascript:alert(1)"}', "application/json"),
     ("See it", "info", "")),
    ((200, "", "text/plain"), ("Success", "info", "")),
    ((204, "", "text/plain"), ("Success", "info", "")),
    ((200, "   \n\t ", "text/plain"), ("Success", "info", "")),
    ((500, "", "text/plain"), ("Error", "error", "")),
    ((404, "Not found", "text/plain"), ("Not found", "error", "")),
    ((502, ERROR_PAGE, "text/html"), ("Error (HTTP 502)", "error", "")),
    ((200, ERROR_PAGE, "text/html"), ("Success", "info", "")),
    ((200, "x" * 2001, "text/plain"), ("Success", "info", "")),
    ((503, "<script>alert(1)</script>", "text/plain"), ("Error (HTTP 503)", "error", "")),
    ((200, '{"message": "<img src=x onerror=alert(1)>"}', "application/json"), ("Success", "info", "")),
    # Any JSON object is read by its keys: a platform's own receipt is not shown as source text.
    ((200, '{"ok": true}', "application/json"), ("Success", "info", "")),
    ((200, '{"attempt": "a1", "id": "b2", "status": "success"}', "application/json"), ("Success", "info", "")),
    ((500, '{"detail": "boom"}', "application/json"), ("Error", "error", "")),
    # The type as the custom-message endpoint reads it; one it would refuse leaves the status to decide.
    ((200, '{"message_type": "Success", "message": "Hi"}', "application/json"), ("Hi", "success", "")),
    ((200, '{"message_type": ["error"], "message": "Hi"}', "application/json"), ("Hi", "info", "")),
    ((200, '{"message_type": {"a": 1}, "message": "Hi"}', "application/json"), ("Hi", "info", "")),
    ((200, "[1, 2]", "application/json"), ("[1, 2]", "info", "")),
    ((200, '{"message": 42}', "application/json"), ("42", "info", "")),
    # JSON that json.loads takes but the app cannot store is read as plain text, never a crash.
    ((200, r'{"message": "ok \ud800"}', "application/json"), (r'{"message": "ok \ud800"}', "info", "")),
    ((500, '{"message": ' + "[" * 50_000 + "]" * 50_000 + "}", "application/json"), ("Error (HTTP 500)", "error", "")),
    ((500, "nul \x00 in the body", "text/plain"), ("Error (HTTP 500)", "error", "")),
    ((200, "Ligne \u00e9t\u00e9 \u2713", "text/plain"), ("Ligne \u00e9t\u00e9 \u2713", "info", "")),
]


@pytest.mark.parametrize(("response", "expected"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_interpret_response(response: tuple, expected: tuple) -> None:
    status, body, _ = response
    assert interpret_response(status, body) == expected


@pytest.mark.parametrize(("response", "expected"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_each_rule_holds_end_to_end(
    admin_member: Member, make_button: Callable[..., Button], receiver: Receiver, response: tuple,
    expected: tuple,
) -> None:
    status, body, content_type = response
    receiver.answer(status, body, content_type)
    event = make_event(make_button(url=receiver.url), admin_member)
    delivery.deliver_click(str(event.pk))
    message = Message.objects.get(event=event)
    assert (message.content, message.message_type, message.redirect_url) == expected
    assert message.source == "http_response" and message.read_at is None
    assert message.recipient == admin_member.user and message.object_id == "21389"


def test_logging_off_means_no_message(
    admin_member: Member, make_button: Callable[..., Button], receiver: Receiver
) -> None:
    receiver.answer(500, "Boom")
    event = make_event(make_button(url=receiver.url, log_http_responses=False), admin_member)
    delivery.deliver_click(str(event.pk))
    event.refresh_from_db()
    assert event.delivery == "delivered" and event.http_status == 500
    assert not Message.objects.exists()


def test_http_response_messages_do_not_use_the_custom_quota(
    admin_member: Member, make_button: Callable[..., Button], receiver: Receiver
) -> None:
    event = make_event(make_button(url=receiver.url), admin_member)
    delivery.deliver_click(str(event.pk))
    event.refresh_from_db()
    assert event.custom_message_count == 0

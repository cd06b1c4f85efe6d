"""The delivery task: at most once, signed, bounded in time, retried only when nothing was sent."""

import base64
import hashlib
import hmac
import json
import socket
from collections.abc import Callable

import pytest

from accounts.models import Member
from buttons.models import Button, ClickEvent
from buttons.tests.helpers import make_event
from conftest import Receiver
from deliveries import delivery
from messaging.models import Message

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "RETRY_DELAYS", (0.05, 0.05))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_it_signs_with_standard_webhooks_headers(
    admin_member: Member, make_button: Callable[..., Button], receiver: Receiver
) -> None:
    event = make_event(make_button(url=receiver.url, signing_secret=SECRET), admin_member)
    delivery.deliver_click(str(event.pk))
    request = receiver.requests[0]
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["webhook-id"] == str(event.pk) == headers["idempotency-key"]
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + request["body"]
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"
    assert json.loads(request["body"])["event_id"] == str(event.pk)


def test_without_a_secret_there_are_no_signature_headers(
    admin_member: Member, make_button: Callable[..., Button], receiver: Receiver
) -> None:
    event = make_event(make_button(url=receiver.url), admin_member)
    delivery.deliver_click(str(event.pk))
    assert "webhook-signature" not in {k.lower() for k in receiver.requests[0]["headers"]}


def test_a_duplicated_task_sends_one_webhook(
    admin_member: Member, make_button: Callable[..., Button], receiver: Receiver
) -> None:
    event = make_event(make_button(url=receiver.url), admin_member)
    delivery.deliver_click(str(event.pk))
    delivery.deliver_click(str(event.pk))
    assert len(receiver.requests) == 1
    assert Message.objects.filter(event=event).count() == 1
    event.refresh_from_db()
    assert event.delivery == "delivered" and event.http_status == 200 and event.duration_ms is not None


def test_a_refused_connection_is_retried_twice_then_failed(
    admin_member: Member, make_button: Callable[..., Button]
) -> None:
    event = make_event(make_button(url=f"http://127.0.0.1:{closed_port()}/hook"), admin_member)
    delivery.deliver_click(str(event.pk))
    event.refresh_from_db()
    assert event.delivery == "failed" and event.attempts == 3
    assert "refused the connection" in event.error
    message = Message.objects.get(event=event)
    assert message.message_type == "error" and "refused" in message.content


def test_a_dns_failure_is_retried(
    admin_member: Member, make_button: Callable[..., Button], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_such_host(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    event = make_event(make_button(url="http://hooks.example.test/x"), admin_member)
    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    delivery.deliver_click(str(event.pk))
    event.refresh_from_db()
    assert event.delivery == "failed" and event.attempts == 3 and "DNS" in event.error


def test_a_timeout_is_not_retried_and_says_what_happened(
    admin_member: Member, make_button: Callable[..., Button], receiver: Receiver, settings
) -> None:
    settings.WEBHOOK_TOTAL_TIMEOUT = 0.3
    receiver.delay = 1.0
    event = make_event(make_button(url=receiver.url), admin_member)
    delivery.deliver_click(str(event.pk))
    event.refresh_from_db()
    assert len(receiver.requests) == 1  # it may have reached the receiver: never sent twice
    assert event.delivery == "failed" and event.attempts == 1
    assert Message.objects.get(event=event).content == "The webhook timed out after 0.3 s."


def test_the_total_deadline_holds_for_a_slow_body(
    admin_member: Member, make_button: Callable[..., Button], settings
) -> None:
    """A receiver that trickles its body still ends within the total timeout (plus one read)."""
    import threading
    import time

    settings.WEBHOOK_TOTAL_TIMEOUT = 0.6
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def trickle() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        for _ in range(20):
            time.sleep(0.1)
            try:
                conn.sendall(b"x")
            except OSError:
                break
        conn.close()

    threading.Thread(target=trickle, daemon=True).start()
    event = make_event(make_button(url=f"http://127.0.0.1:{server.getsockname()[1]}/"), admin_member)
    started = time.monotonic()
    delivery.deliver_click(str(event.pk))
    assert time.monotonic() - started < 1.5
    event.refresh_from_db()
    assert event.delivery == "failed" and "timed out" in event.error
    server.close()


def test_no_redirects_are_followed(
    admin_member: Member, make_button: Callable[..., Button], receiver: Receiver
) -> None:
    receiver.answer(302, "")
    event = make_event(make_button(url=receiver.url), admin_member)
    delivery.deliver_click(str(event.pk))
    assert len(receiver.requests) == 1
    event.refresh_from_db()
    assert event.http_status == 302
    assert Message.objects.get(event=event).content == "Error"


def test_without_messaging_the_outcome_is_recorded_but_no_message(
    admin_member: Member, make_button: Callable[..., Button], receiver: Receiver
) -> None:
    receiver.answer(500, "boom")
    event = make_event(make_button(url=receiver.url, messaging_enabled=False), admin_member)
    delivery.deliver_click(str(event.pk))
    assert ClickEvent.objects.get(pk=event.pk).http_status == 500
    assert not Message.objects.exists()


@pytest.mark.parametrize("reachable", [True, False], ids=["answered", "failed"])
def test_an_event_deleted_while_its_webhook_is_in_flight_gets_no_message(
    admin_member: Member, make_button: Callable[..., Button], receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch, reachable: bool,
) -> None:
    # Its button was deleted (or retention ran) during the call: the answer must not be stored as a
    # message that outlives its event (messages.event has no database constraint to refuse it).
    url = receiver.url if reachable else f"http://127.0.0.1:{closed_port()}/hook"
    event = make_event(make_button(url=url), admin_member)
    send = delivery.webhooks.post_json

    def send_then_delete(*args: object, **kwargs: object) -> object:
        try:
            return send(*args, **kwargs)
        finally:
            ClickEvent.objects.filter(pk=event.pk).delete()

    monkeypatch.setattr(delivery.webhooks, "post_json", send_then_delete)
    delivery.deliver_click(str(event.pk))
    assert len(receiver.requests) == (1 if reachable else 0)
    assert not ClickEvent.objects.exists() and not Message.objects.exists()


def test_with_http_responses_not_logged_a_failure_is_not_logged_either(
    admin_member: Member, make_button: Callable[..., Button]
) -> None:
    # Guide: "If enabled any HTTP responses will not be visible in the message log view": a refused
    # connection stands in for the response, so it stays out too (no red envelope, no locked button).
    event = make_event(make_button(url=f"http://127.0.0.1:{closed_port()}/hook", log_http_responses=False),
                       admin_member)
    delivery.deliver_click(str(event.pk))
    event.refresh_from_db()
    assert event.delivery == "failed" and "refused the connection" in event.error
    assert not Message.objects.exists()

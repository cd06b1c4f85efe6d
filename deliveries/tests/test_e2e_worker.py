"""End to end: a click goes through the real broker and a real Celery worker to a real receiver."""

import json
import socket
import time
from collections.abc import Callable

import pytest

from accounts.models import Member
from buttons.models import Button
from conftest import Receiver, api_client

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def wait_for_event(member: Member, event_id: str, messages: int, timeout: float = 30) -> dict:
    client = api_client(member)
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/api/events/{event_id}/").json()
        if body["delivery"] != "pending" and len(body["messages"]) >= messages:
            return body
        assert time.monotonic() < deadline, f"the event did not settle: {body}"
        time.sleep(0.2)


def test_a_click_comes_back_as_a_message_through_a_real_worker(
    celery_worker: str, admin_member: Member, make_button: Callable[..., Button], receiver: Receiver
) -> None:
    receiver.answer(200, {"message_type": "success", "message": "Scenario <b>completed</b>"})
    button = make_button(url=receiver.url)
    client = api_client(admin_member)
    response = client.post(f"/api/buttons/{button.identifier}/click",
                           {"resource": "deal", "view": "details", "selectedIds": ["21389"]}, format="json")
    assert response.status_code == 202
    event_id = response.json()["event_id"]

    body = wait_for_event(admin_member, event_id, messages=1)
    assert body["delivery"] == "delivered" and body["http_status"] == 200
    assert [(m["content"], m["message_type"], m["source"]) for m in body["messages"]] == [
        ("Scenario <b>completed</b>", "success", "http_response")
    ]
    assert len(receiver.requests) == 1
    assert json.loads(receiver.requests[0]["body"])["event_id"] == event_id

    # The automation follows up with a custom message inside the window.
    posted = api_client(None).post("/api/trigger-message", {"event_id": event_id, "message": "Step 2 done",
                                                            "message_type": "info"}, format="json")
    assert posted.status_code == 201
    body = wait_for_event(admin_member, event_id, messages=2)
    assert body["messages"][0]["content"] == "Step 2 done"


def test_an_unreachable_webhook_is_a_failed_delivery_and_an_error_message(
    celery_worker: str, admin_member: Member, make_button: Callable[..., Button]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    button = make_button(url=f"http://127.0.0.1:{port}/hook")
    response = api_client(admin_member).post(f"/api/buttons/{button.identifier}/click",
                                             {"resource": "deal", "view": "details", "selectedIds": "7"},
                                             format="json")
    body = wait_for_event(admin_member, response.json()["event_id"], messages=1)
    assert body["delivery"] == "failed"
    assert body["messages"][0]["message_type"] == "error"
    assert "refused" in body["messages"][0]["content"]

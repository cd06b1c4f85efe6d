"""A failing database or Redis gets a 503 with a sentence (JSON under /api/, a styled page elsewhere),
sign-in and misses keep their budgets without Redis, and /healthz names the failed service.

The fault tests (test_faults.py) do the same with real servers stopped; these run in the fast suite.
"""

from __future__ import annotations

import uuid
from unittest import mock

import pytest
import redis
from django.db import OperationalError
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Member
from accounts.views import LoginThrottle
from conftest import api_client
from core import errors, faults
from messaging import throttling
from oneclick import health

DOWN = OperationalError("connection to server at 127.0.0.1 failed: Connection refused")


def test_an_api_call_that_meets_a_dead_database_gets_a_json_503(admin_member: Member) -> None:
    with mock.patch("messaging.reads.panel_state", side_effect=DOWN):
        response = api_client(admin_member).get("/api/panel/deal/42/")
    assert response.status_code == 503 and response["Retry-After"] == str(faults.RETRY_AFTER_SECONDS)
    assert response.json() == {"detail": faults.DATABASE_DOWN}


def test_trigger_message_meets_a_dead_database(db: None) -> None:
    with mock.patch("messaging.actions.add_custom_message", side_effect=DOWN):
        response = APIClient().post("/api/trigger-message", {"event_id": str(uuid.uuid4()), "message": "hi"},
                                    format="json")
    assert response.status_code == 503 and response.json() == {"detail": faults.DATABASE_DOWN}


def test_a_page_that_meets_a_dead_database_is_a_styled_error_page(admin_member: Member) -> None:
    client = Client()
    client.force_login(admin_member.user)
    with mock.patch("messaging.reads.panel_state", side_effect=DOWN):
        response = client.get("/panel/deal/42/")
    body = response.content.decode()
    assert response.status_code == 503 and response["Content-Type"].startswith("text/html")
    assert faults.DATABASE_DOWN in body and "panel.css" in body and "Traceback" not in body


def test_the_pipedrive_panel_meets_a_dead_database_with_a_page_pipedrive_may_show(db: None) -> None:
    with mock.patch("crm.tokens.pipedrive_user", side_effect=DOWN):
        response = Client().get("/pipedrive/panel/?token=x&userId=1&companyId=2&resource=deal&selectedIds=42")
    assert response.status_code == 503 and faults.DATABASE_DOWN in response.content.decode()
    assert "X-Frame-Options" not in response
    assert "frame-ancestors https://*.pipedrive.com" in response["Content-Security-Policy"]


def test_the_embed_session_meets_a_dead_database_with_json(db: None) -> None:
    with mock.patch("crm.tokens.embed_grant", side_effect=DOWN):
        response = APIClient().post("/embed/session/", {"token": "x"}, format="json")
    assert response.status_code == 503 and response.json() == {"detail": faults.DATABASE_DOWN}


def test_a_middleware_that_meets_a_dead_database_still_gets_the_503(admin_member: Member) -> None:
    # The session is saved after the view, by a middleware: handler500 answers for it.
    client = Client(raise_request_exception=False)
    with mock.patch("django.contrib.sessions.backends.db.SessionStore.save", side_effect=DOWN):
        response = client.post("/login/", {"username": "alice", "password": "pw-alice-123"})
    assert response.status_code == 503 and faults.DATABASE_DOWN in response.content.decode()


def test_a_broker_failure_is_named_as_such(admin_member: Member) -> None:
    with mock.patch("messaging.reads.panel_state", side_effect=redis.ConnectionError("refused")):
        response = api_client(admin_member).get("/api/panel/deal/42/")
    assert response.status_code == 503 and response.json() == {"detail": faults.BROKER_DOWN}


def test_a_bug_is_still_a_500_but_with_a_sentence(admin_member: Member) -> None:
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(admin_member.user)
    with mock.patch("messaging.reads.panel_state", side_effect=ValueError("a bug")):
        response = client.get("/api/panel/deal/42/")
    assert response.status_code == 500 and response.json() == {"detail": errors.SERVER_ERROR}


def test_healthz_is_ok_and_names_a_failed_service(db: None) -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200 and response.json() == {"database": "ok", "broker": "ok"}
    with mock.patch.object(health, "_database", side_effect=DOWN):
        down = Client().get("/healthz")
    assert down.status_code == 503 and down["Retry-After"]
    assert down.json() == {"database": health.DATABASE_DOWN, "broker": "ok"}


def test_healthz_answers_in_time_when_a_service_hangs(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    released = threading.Event()
    monkeypatch.setattr(health, "CHECK_SECONDS", 0.2)
    with mock.patch.object(health, "_broker", side_effect=lambda: released.wait(5)):
        response = Client().get("/healthz")
    released.set()
    assert response.status_code == 503
    assert response.json()["broker"] == "The message broker (Redis) is unavailable: it did not answer within 0.2 s."


def test_misses_are_counted_in_the_process_while_the_cache_is_down(
    db: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(throttling.TriggerMessageMissThrottle, "rate", "2/minute")
    with mock.patch("core.throttling.shared_count", side_effect=redis.ConnectionError("refused")) as shared:
        statuses = [APIClient().post("/api/trigger-message", {"event_id": str(uuid.uuid4()), "message": "m"},
                                     format="json").status_code for _ in range(3)]
    assert statuses == [400, 400, 429]
    assert "count in each process" in caplog.text
    assert shared.call_count == 1  # then the breaker spares the dead server


def test_signing_in_works_while_the_cache_is_down(admin_member: Member, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LoginThrottle, "rate", "3/minute", raising=False)
    with mock.patch("core.throttling.shared_count", side_effect=redis.TimeoutError("paused")):
        answers = [APIClient(REMOTE_ADDR="198.51.100.7").post(
            "/api/auth/token/", {"username": "alice", "password": "pw-alice-123"}, format="json").status_code
            for _ in range(4)]
    assert answers == [200, 200, 200, 429]

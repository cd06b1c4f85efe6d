"""A record's values from Pipedrive's API with the company's kept tokens (crm.records), against a fake
Pipedrive on 127.0.0.1: refresh, cache, 429, a refused refresh, a slow and a missing Pipedrive."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts.models import Member
from buttons.models import Button, ClickEvent
from conftest import api_client
from crm.models import PipedriveConnection
from testing.browser import free_port

DEAL = {"id": 42, "title": "120 licences for Globex", "value": 18400, "stage_id": 3, "pipeline_id": 1}


class FakePipedrive:
    """OAuth refresh and GET /api/v1/deals/<id>, as Pipedrive answers them."""

    def __init__(self) -> None:
        self.valid_tokens = {"access-1"}
        self.refreshes: list[str] = []
        self.reads = 0
        self.refuse_refresh = False
        self.throttle: list[str] = []  # Retry-After values of the next answers
        self.delay = 0.0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                form = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                fake.refreshes.append(form)
                if fake.refuse_refresh or "grant_type=refresh_token" not in form:
                    self._send(400, {"success": False, "error": "invalid_grant"})
                    return
                token = f"access-{len(fake.refreshes) + 1}"
                fake.valid_tokens = {token}
                self._send(200, {"access_token": token, "refresh_token": f"refresh-{len(fake.refreshes) + 1}",
                                 "expires_in": 3599, "api_domain": fake.url})

            def do_GET(self) -> None:
                fake.reads += 1
                if fake.delay:
                    time.sleep(fake.delay)
                if fake.throttle:
                    self._send(429, {"success": False}, {"Retry-After": fake.throttle.pop(0)})
                    return
                if self.headers.get("Authorization", "").removeprefix("Bearer ") not in fake.valid_tokens:
                    self._send(401, {"success": False, "error": "unauthorized"})
                    return
                if self.path == "/api/v1/deals/42":
                    self._send(200, {"success": True, "data": DEAL})
                else:
                    self._send(404, {"success": False, "error": "Deal not found"})

            def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up waiting (the slow case)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()


@pytest.fixture
def pipedrive(settings: Any) -> Iterator[FakePipedrive]:
    fake = FakePipedrive()
    settings.PIPEDRIVE_OAUTH_URL = fake.url
    settings.PIPEDRIVE_CLIENT_ID, settings.PIPEDRIVE_CLIENT_SECRET = "client", "client-secret"
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def connected(admin_member: Member, pipedrive: FakePipedrive) -> Iterator[PipedriveConnection]:
    connection = PipedriveConnection(company=admin_member.company, api_domain=pipedrive.url,
                                     user_external_id=admin_member.external_id)
    connection.keep({"access_token": "access-1", "refresh_token": "refresh-1", "expires_in": 3599})
    connection.save()
    forget(admin_member)
    forget(admin_member, "77")
    yield connection
    forget(admin_member)
    forget(admin_member, "77")


@pytest.fixture
def deal_button(make_button: Callable[..., Button]) -> Button:
    button = make_button(url="http://hooks.example.test/invoice")
    button.fields = [{"label": "Deal title", "kind": "record", "source": "title"},
                     {"label": "Stage", "kind": "record", "source": "stage_id"},
                     {"label": "Amount", "type": "number"}]
    button.save()
    return button


def forget(member: Member, deal: str = "42") -> None:
    """Drop the cached answer of one deal (never the whole cache: in CI it is the broker's Redis)."""
    cache.delete(f"crm:record:{member.company_id}:deal:{deal}")


def form(member: Member, button: Button, deal: str = "42") -> Any:
    return api_client(member).get(f"/api/buttons/{button.identifier}/form", {"resource": "deal", "object_id": deal})


def values(answer: Any) -> dict[str, Any]:
    return {f["key"]: f["value"] for f in answer.json()["fields"]}


def test_the_record_is_read_with_the_companys_token_and_cached(
    admin_member: Member, connected: PipedriveConnection, deal_button: Button, pipedrive: FakePipedrive
) -> None:
    answer = form(admin_member, deal_button)
    assert answer.status_code == 200
    assert values(answer) == {"deal_title": "120 licences for Globex", "stage": 3, "amount": None}
    form(admin_member, deal_button)
    assert pipedrive.reads == 1  # the second form within 60 s asked Pipedrive nothing
    assert values(form(admin_member, deal_button, "77")) == {"deal_title": None, "stage": None, "amount": None}


def test_an_expired_token_is_refreshed_first_and_kept_encrypted(
    admin_member: Member, connected: PipedriveConnection, deal_button: Button, pipedrive: FakePipedrive
) -> None:
    PipedriveConnection.objects.filter(pk=connected.pk).update(expires_at=timezone.now() - timedelta(minutes=5))
    pipedrive.valid_tokens = set()  # Pipedrive no longer takes the old one
    assert values(form(admin_member, deal_button))["deal_title"] == "120 licences for Globex"
    assert len(pipedrive.refreshes) == 1 and "refresh_token=refresh-1" in pipedrive.refreshes[0]
    kept = PipedriveConnection.objects.get()
    assert (kept.access_token, kept.refresh_token) == ("access-2", "refresh-2")
    assert "access-2" not in kept.access_token_encrypted and kept.expires_at > timezone.now() + timedelta(minutes=50)


def test_a_token_pipedrive_refuses_is_refreshed_once(
    admin_member: Member, connected: PipedriveConnection, deal_button: Button, pipedrive: FakePipedrive
) -> None:
    pipedrive.valid_tokens = {"someone-else"}  # revoked early: the answer is a 401
    assert values(form(admin_member, deal_button))["stage"] == 3
    assert len(pipedrive.refreshes) == 1 and pipedrive.reads == 2


@pytest.mark.django_db(transaction=True)
def test_a_refused_refresh_is_a_503_for_the_form_and_the_click(
    admin_member: Member, connected: PipedriveConnection, deal_button: Button, pipedrive: FakePipedrive
) -> None:
    pipedrive.valid_tokens, pipedrive.refuse_refresh = set(), True
    answer = form(admin_member, deal_button)
    assert answer.status_code == 503 and "install" in answer.json()["detail"]
    click = api_client(admin_member).post(f"/api/buttons/{deal_button.identifier}/click", {
        "resource": "deal", "view": "details", "selectedIds": ["42"], "fields": {"amount": 5}}, format="json")
    assert click.status_code == 503 and click.json()["detail"] == answer.json()["detail"]
    assert not ClickEvent.objects.exists()  # never a click with its record fields missing


def test_a_short_429_is_waited_out_and_a_long_one_is_a_503(
    admin_member: Member, connected: PipedriveConnection, deal_button: Button, pipedrive: FakePipedrive
) -> None:
    pipedrive.throttle = ["1"]
    started = time.monotonic()
    assert values(form(admin_member, deal_button))["stage"] == 3
    assert 1 <= time.monotonic() - started < 3 and pipedrive.reads == 2
    forget(admin_member)
    pipedrive.throttle = ["30"]
    answer = form(admin_member, deal_button)
    assert answer.status_code == 503 and "slow down" in answer.json()["detail"]
    assert answer["Retry-After"]


def test_a_slow_or_missing_pipedrive_is_a_503_within_the_budget(
    admin_member: Member, connected: PipedriveConnection, deal_button: Button, pipedrive: FakePipedrive
) -> None:
    pipedrive.delay = 5
    started = time.monotonic()
    answer = form(admin_member, deal_button)
    assert answer.status_code == 503 and "Pipedrive could not be reached" in answer.json()["detail"]
    assert time.monotonic() - started < 4
    PipedriveConnection.objects.update(api_domain=f"http://127.0.0.1:{free_port()}")  # nobody listens
    forget(admin_member)
    assert form(admin_member, deal_button).status_code == 503

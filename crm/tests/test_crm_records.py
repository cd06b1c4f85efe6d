"""A record's values from Pipedrive's API with the company's kept tokens (crm.records), against a fake
Pipedrive on 127.0.0.1: refresh, cache, 429, a refused refresh, a slow and a missing Pipedrive."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts.models import Member
from buttons.models import Button, ClickEvent
from conftest import api_client, forget
from crm.models import PipedriveConnection
from testing.browser import free_port
from testing.pipedrive import FakePipedrive


@pytest.fixture
def deal_button(make_button: Callable[..., Button]) -> Button:
    button = make_button(url="http://hooks.example.test/invoice")
    button.fields = [{"label": "Deal title", "kind": "record", "source": "title"},
                     {"label": "Stage", "kind": "record", "source": "stage_id"},
                     {"label": "Amount", "type": "number"}]
    button.save()
    return button


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
    # Back at once, but just failed: the next few seconds answer at once, without asking it.
    pipedrive.delay, reads = 0, pipedrive.reads
    started = time.monotonic()
    assert form(admin_member, deal_button).status_code == 503
    assert time.monotonic() - started < 1 and pipedrive.reads == reads
    cache.delete(f"crm:down:{admin_member.company_id}")  # records.DOWN_SECONDS later
    assert form(admin_member, deal_button).status_code == 200
    PipedriveConnection.objects.update(api_domain=f"http://127.0.0.1:{free_port()}")  # nobody listens
    forget(admin_member)
    assert form(admin_member, deal_button).status_code == 503


def test_a_failed_refresh_is_remembered_for_a_few_seconds(
    admin_member: Member, connected: PipedriveConnection, deal_button: Button, pipedrive: FakePipedrive,
    settings: Any,
) -> None:
    PipedriveConnection.objects.update(expires_at=timezone.now())  # the token must be renewed first
    settings.PIPEDRIVE_OAUTH_URL = f"http://127.0.0.1:{free_port()}"  # Pipedrive's OAuth host is down
    first = form(admin_member, deal_button)
    assert first.status_code == 503 and "renew OneClick's access" in first.json()["detail"]
    started = time.monotonic()
    assert form(admin_member, deal_button).status_code == 503
    assert time.monotonic() - started < 1 and pipedrive.reads == 0

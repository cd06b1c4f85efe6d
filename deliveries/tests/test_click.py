"""POST /api/buttons/<identifier>/click: every status of the contract."""

import json
from collections.abc import Callable
from unittest import mock

import pytest
import responses
from django.test import Client
from kombu.exceptions import OperationalError

from accounts.models import Member
from buttons.models import Button, ClickEvent
from conftest import api_client
from messaging.models import Message

DETAILS = {"resource": "deal", "view": "details", "selectedIds": ["21389"], "fields": None}


def click(member: Member, button: Button, body: dict | None = None, **kwargs: object):
    return api_client(member).post(f"/api/buttons/{button.identifier}/click", body or DETAILS, format="json")


@pytest.mark.django_db(transaction=True)
@responses.activate
def test_a_click_is_accepted_and_the_webhook_is_sent(
    admin_member: Member, make_button: Callable[..., Button]
) -> None:
    responses.post("http://hooks.example.test/invoice", body="ok")
    button = make_button()
    response = click(admin_member, button)
    assert response.status_code == 202
    body = response.json()
    event = ClickEvent.objects.get(pk=body["event_id"])
    assert body["window_ends_at"].startswith(event.window_ends_at.strftime("%Y-%m-%dT%H:%M:%S"))
    assert (event.window_ends_at - event.created_at).total_seconds() == 45
    assert event.object_id == "21389" and event.delivery == "delivered"
    sent = json.loads(responses.calls[0].request.body)
    assert sent["event_id"] == body["event_id"]


@pytest.mark.django_db(transaction=True)
@responses.activate
def test_the_webhook_body_has_exactly_the_contract_keys(
    admin_member: Member, make_button: Callable[..., Button]
) -> None:
    responses.post("http://hooks.example.test/invoice", body="")
    button = make_button(view="list")
    response = click(admin_member, button, {"resource": "deal", "view": "list",
                                            "selectedIds": ["21389", "21390"], "fields": {"stage": 3}})
    assert response.status_code == 202
    request = responses.calls[0].request
    assert json.loads(request.body) == {
        "identifier": str(button.identifier),
        "resource": "deal",
        "view": "list",
        "userId": "1108047",
        "companyId": "737569",
        "selectedIds": "21389,21390",
        "fields": {"stage": 3},
        "event_id": response.json()["event_id"],
    }
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("OneClick/")
    assert request.headers["Idempotency-Key"] == response.json()["event_id"]
    assert ClickEvent.objects.get().object_id == "list"


@pytest.mark.django_db(transaction=True)
@responses.activate
def test_without_messaging_there_is_no_event_id_in_the_payload(
    admin_member: Member, make_button: Callable[..., Button]
) -> None:
    responses.post("http://hooks.example.test/invoice", body="ok")
    button = make_button(messaging_enabled=False)
    assert click(admin_member, button, {**DETAILS, "selectedIds": "21389"}).status_code == 202
    sent = json.loads(responses.calls[0].request.body)
    assert "event_id" not in sent and sent["selectedIds"] == "21389"
    assert not Message.objects.exists()


def test_a_link_button_is_400(admin_member: Member, make_button: Callable[..., Button]) -> None:
    button = make_button(kind="link", messaging_enabled=False)
    response = click(admin_member, button)
    assert response.status_code == 400 and "link button" in response.json()["detail"]
    assert not ClickEvent.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"resource": "person", "view": "details", "selectedIds": ["1"]},
        {"resource": "deal", "view": "list", "selectedIds": ["1"]},
        {"resource": "lead", "view": "details", "selectedIds": ["1"]},
        {"resource": "deal", "view": "details", "selectedIds": ["1", "2"]},
        {"resource": "deal", "view": "details", "selectedIds": []},
        {"resource": "deal", "view": "details", "selectedIds": [{"a": 1}]},
        {"resource": "deal", "view": "details", "selectedIds": ["1"], "fields": [1, 2]},
        {"resource": "deal", "view": "details", "selectedIds": ["x" * 65]},
        {"view": "details", "selectedIds": ["1"]},
        {"resource": "deal", "view": "details", "selectedIds": ["1"], "fields": {"note": "a\u0000b"}},
        {"resource": "deal", "view": "details", "selectedIds": ["1\u0000"]},
    ],
)
def test_a_malformed_body_is_400_with_a_sentence(
    admin_member: Member, make_button: Callable[..., Button], body: dict
) -> None:
    response = click(admin_member, make_button(), body)
    assert response.status_code == 400
    assert response.json()["detail"].endswith(".")
    assert not ClickEvent.objects.exists()


def test_another_companys_button_is_404(outsider: Member, make_button: Callable[..., Button]) -> None:
    response = click(outsider, make_button())
    assert response.status_code == 404
    assert not ClickEvent.objects.exists()


def test_anonymous_is_refused(admin_member: Member, make_button: Callable[..., Button]) -> None:
    button = make_button()
    response = api_client(None).post(f"/api/buttons/{button.identifier}/click", DETAILS, format="json")
    assert response.status_code in (401, 403)


def test_a_session_post_needs_the_csrf_token(admin_member: Member, make_button: Callable[..., Button]) -> None:
    button = make_button()
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_member.user)
    response = client.post(f"/api/buttons/{button.identifier}/click", DETAILS, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_a_button_with_an_unread_error_is_409(
    admin_member: Member, teammate: Member, make_button: Callable[..., Button]
) -> None:
    button = make_button(disable_on_unread_error=True, messages_public=True)
    event = ClickEvent.objects.create(button=button, company=button.company, user=admin_member.user,
                                      resource="deal", view="details", object_id="21389",
                                      window_ends_at="2030-01-01T00:00:00Z")
    Message.objects.create(event=event, button=button, company=button.company, resource="deal",
                           object_id="21389", recipient=admin_member.user, source="custom",
                           message_type="error", content="Failed")
    response = click(admin_member, button)
    assert response.status_code == 409
    assert "error messages" in response.json()["detail"]
    # The rule looks at the clicker's own messages only, also on public buttons.
    assert click(teammate, button).status_code == 202
    # Another record is not blocked.
    assert click(admin_member, button, {**DETAILS, "selectedIds": ["5"]}).status_code == 202


@pytest.mark.django_db(transaction=True)
def test_a_dead_broker_is_503_and_the_event_is_failed(
    admin_member: Member, make_button: Callable[..., Button]
) -> None:
    button = make_button()
    with mock.patch("deliveries.tasks.deliver_click.apply_async", side_effect=OperationalError("down")):
        response = click(admin_member, button)
    assert response.status_code == 503
    assert "try again" in response.json()["detail"]
    event = ClickEvent.objects.get()
    assert event.delivery == "failed" and "queue" in event.error


def test_a_lone_surrogate_in_the_fields_is_400_not_a_database_error(
    admin_member: Member, make_button: Callable[..., Button]
) -> None:
    # json.loads takes "\ud800"; PostgreSQL's jsonb does not: the parser refuses it first.
    body = r'{"resource": "deal", "view": "details", "selectedIds": ["1"], "fields": {"note": "a\ud800b"}}'
    response = api_client(admin_member).post(
        f"/api/buttons/{make_button().identifier}/click", body, content_type="application/json"
    )
    assert response.status_code == 400 and "lone surrogate" in response.json()["detail"]
    assert not ClickEvent.objects.exists()

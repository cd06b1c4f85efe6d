"""Custom webhook headers and the confidential option: sent with every webhook, a confidential value
encrypted at rest and never in any answer, admin page or log line; only its adder may change the URL."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import pytest
import responses
from django.db import connection
from django.test import Client

from accounts.actions import create_member
from accounts.models import Member
from buttons.models import Button
from conftest import api_client
from deliveries import actions

HOOK = "http://hooks.example.test/invoice"
SECRET = "Bearer sk_live_4f7a9c1e2b8d6035"
HEADERS = [{"name": "Authorization", "value": SECRET, "confidential": True},
           {"name": "X-Team", "value": "sales", "confidential": False}]


def create(member: Member, **extra: object) -> dict:
    answer = api_client(member).post("/api/buttons/", {
        "label": "Create invoice", "kind": "webhook", "url": HOOK, "resource": "deal", "messaging_enabled": True,
        "headers": HEADERS, **extra}, format="json")
    assert answer.status_code == 201, answer.json()
    return answer.json()


@pytest.fixture
def other_admin(admin_member: Member) -> Member:
    return create_member("carol", "pw-carol-123", "737569", user_external_id="1108049", is_admin=True)


@pytest.mark.django_db(transaction=True)
@responses.activate
def test_headers_go_with_the_webhook_and_the_test_click(
    admin_member: Member, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    responses.post(HOOK, body="ok")
    body = create(admin_member)
    actions.send_test_click(admin_member.user, body["identifier"])
    api_client(admin_member).post(f"/api/buttons/{body['identifier']}/click", {
        "resource": "deal", "view": "details", "selectedIds": ["42"]}, format="json")
    for call in responses.calls:
        assert call.request.headers["Authorization"] == SECRET and call.request.headers["X-Team"] == "sales"
    assert len(responses.calls) == 2
    assert SECRET not in caplog.text and "sk_live" not in caplog.text  # no log line carries it


def test_a_confidential_value_is_never_read_back_and_is_encrypted_at_rest(
    admin_member: Member, other_admin: Member
) -> None:
    body = create(admin_member)
    assert body["headers"] == [{"name": "Authorization", "value": None, "confidential": True},
                               {"name": "X-Team", "value": "sales", "confidential": False}]
    for reader in (admin_member, other_admin):
        client = api_client(reader)
        listing = json.dumps(client.get("/api/buttons/").json())
        detail = json.dumps(client.get(f"/api/buttons/{body['identifier']}/").json())
        assert "sk_live" not in listing + detail
    with connection.cursor() as cursor:
        cursor.execute("SELECT headers FROM buttons_button")
        stored = str(cursor.fetchall())
    assert "sk_live" not in stored and "sales" in stored  # encrypted; the plain one as saved
    page = Client()
    page.force_login(admin_member.user)
    button = Button.objects.get()
    html = page.get(f"/admin/buttons/button/{button.pk}/change/").content.decode()
    assert "sk_live" not in html and "Authorization" in html


def test_sending_the_header_back_as_read_keeps_its_value(admin_member: Member) -> None:
    body = create(admin_member)
    client = api_client(admin_member)
    answer = client.patch(f"/api/buttons/{body['identifier']}/", {"headers": body["headers"]}, format="json")
    assert answer.status_code == 200
    from buttons.headers import to_send

    assert to_send(Button.objects.get().headers)["Authorization"] == SECRET


def test_only_the_admin_who_added_a_confidential_header_may_change_the_url(
    admin_member: Member, other_admin: Member
) -> None:
    body = create(admin_member)
    url = f"/api/buttons/{body['identifier']}/"
    refused = api_client(other_admin).patch(url, {"url": "http://evil.example.test/steal"}, format="json")
    assert refused.status_code == 403 and "only the admin who added it may change its URL" in refused.json()["detail"]
    assert Button.objects.get().url == HOOK
    # They may delete the header, and then change the URL.
    assert api_client(other_admin).patch(url, {"headers": [HEADERS[1]]}, format="json").status_code == 200
    assert api_client(other_admin).patch(url, {"url": "http://hooks.example.test/other"},
                                         format="json").status_code == 200
    # The adder may change it while the header is there.
    body = create(admin_member, label="Second")
    assert api_client(admin_member).patch(f"/api/buttons/{body['identifier']}/", {
        "url": "http://hooks.example.test/third"}, format="json").status_code == 200


def test_the_admin_page_refuses_the_url_change_of_another_admin(admin_member: Member, other_admin: Member) -> None:
    create(admin_member)
    button = Button.objects.get()
    page = Client()
    page.force_login(other_admin.user)
    answer = page.post(f"/admin/buttons/button/{button.pk}/change/", {
        "label": button.label, "kind": "webhook", "url": "http://evil.example.test/steal", "resource": "deal",
        "view": "details", "messaging_enabled": "on", "secret_action": "keep", "fields": "[]",
        "headers": json.dumps([{"name": "Authorization", "value": None, "confidential": True}])})
    assert answer.status_code == 200 and "only the admin who added it may change its URL" in answer.content.decode()
    assert Button.objects.get().url == HOOK


@pytest.mark.parametrize(("headers", "sentence"), [
    ([{"name": "X-Note", "value": "line\r\nX-Evil: 1"}], "must be one line"),
    ([{"name": "Content-Type", "value": "text/plain"}], "is set by OneClick itself"),
    ([{"name": "webhook-signature", "value": "v1,forged"}], "is set by OneClick itself"),
    ([{"name": "Bad Name", "value": "x"}], "a header name is 1 to 100"),
    ([{"name": f"X-H{i}", "value": "x"} for i in range(11)], "at most 10 custom headers"),
    ([{"name": "X-A", "value": "1"}, {"name": "x-a", "value": "2"}], "is listed twice"),
    ([{"name": "X-A", "value": ""}], "a value is required"),
    ([{"name": "X-A", "value": "Zürich ✓"}], "only Latin-1 characters"),
    ([{"name": "X-A", "value": "x", "colour": "red"}], "must be an object with name, value and confidential"),
])
def test_every_bad_header_is_a_400_naming_it(
    admin_member: Member, headers: list, sentence: str
) -> None:
    answer = api_client(admin_member).post("/api/buttons/", {
        "label": "Create invoice", "kind": "webhook", "url": HOOK, "resource": "deal", "headers": headers},
        format="json")
    assert answer.status_code == 400 and sentence in answer.json()["errors"]["headers"][0]
    assert not Button.objects.exists()


def test_a_link_button_has_no_headers(admin_member: Member, make_button: Callable[..., Button]) -> None:
    answer = api_client(admin_member).post("/api/buttons/", {
        "label": "Docs", "kind": "link", "url": "https://docs.example/", "resource": "deal",
        "messaging_enabled": False, "headers": [{"name": "X-A", "value": "1"}]}, format="json")
    assert answer.status_code == 400 and "has no headers" in answer.json()["detail"]

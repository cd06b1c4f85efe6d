from collections.abc import Callable

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import Member
from buttons.models import Button
from conftest import api_client

NEW_BUTTON = {
    "label": "Create invoice",
    "kind": "webhook",
    "url": "https://hooks.example.test/invoice",
    "resource": "deal",
    "view": "details",
    "messaging_enabled": True,
    "signing_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
}


def test_admin_creates_a_button_in_their_company(admin_member: Member) -> None:
    response = api_client(admin_member).post("/api/buttons/", NEW_BUTTON, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert "signing_secret" not in body and body["has_signing_secret"] is True
    assert body["log_http_responses"] is True
    button = Button.objects.get(identifier=body["identifier"])
    assert button.company == admin_member.company
    assert button.signing_secret == NEW_BUTTON["signing_secret"]


def test_a_link_button_cannot_have_messaging(admin_member: Member) -> None:
    response = api_client(admin_member).post(
        "/api/buttons/", {**NEW_BUTTON, "kind": "link", "signing_secret": ""}, format="json"
    )
    assert response.status_code == 400
    assert "Messaging is not available for link buttons" in response.json()["detail"]
    assert not Button.objects.exists()


def test_it_refuses_bad_urls_and_secrets(admin_member: Member) -> None:
    client = api_client(admin_member)
    for bad in ({"url": "ftp://x.test/"}, {"url": "not a url"}, {"signing_secret": "whsec_***"},
                {"resource": "lead"}, {"view": "board"}):
        response = client.post("/api/buttons/", {**NEW_BUTTON, **bad}, format="json")
        assert response.status_code == 400, bad
        assert response.json()["detail"].endswith("."), response.json()
    assert not Button.objects.exists()


def test_update_and_delete_by_identifier(admin_member: Member, make_button: Callable[..., Button]) -> None:
    button = make_button()
    client = api_client(admin_member)
    response = client.patch(f"/api/buttons/{button.identifier}/", {"messages_public": True}, format="json")
    assert response.status_code == 200 and response.json()["messages_public"] is True
    response = client.patch(f"/api/buttons/{button.identifier}/", {"kind": "link"}, format="json")
    assert response.status_code == 400  # it still has messaging on
    assert client.delete(f"/api/buttons/{button.identifier}/").status_code == 204
    assert not Button.objects.exists()


def test_a_member_without_admin_rights_gets_403(teammate: Member, make_button: Callable[..., Button]) -> None:
    client = api_client(teammate)
    assert client.get("/api/buttons/").status_code == 403
    assert client.post("/api/buttons/", NEW_BUTTON, format="json").status_code == 403


def test_another_companys_button_is_404(outsider: Member, make_button: Callable[..., Button]) -> None:
    button = make_button()
    client = api_client(outsider)
    assert client.get("/api/buttons/").json() == {"results": [], "next": None}
    assert client.get(f"/api/buttons/{button.identifier}/").status_code == 404
    assert client.patch(f"/api/buttons/{button.identifier}/", {"label": "x"}, format="json").status_code == 404
    assert client.delete(f"/api/buttons/{button.identifier}/").status_code == 404
    assert Button.objects.filter(pk=button.pk, label="Create invoice").exists()


def test_a_link_button_cannot_be_locked_by_unread_messages(admin_member: Member) -> None:
    link = {**NEW_BUTTON, "kind": "link", "signing_secret": "", "messaging_enabled": False}
    refused = api_client(admin_member).post("/api/buttons/", {**link, "disable_on_unread_error": True}, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"] == {"disable_on_unread_error": ["Messaging is not available for link buttons."]}
    made = api_client(admin_member).post("/api/buttons/", link, format="json").json()
    assert (made["kind"], made["disable_on_unread_error"], made["disable_on_any_unread"]) == ("link", False, False)


@pytest.mark.django_db(transaction=True)
def test_link_buttons_saved_with_messaging_options_are_corrected(admin_member: Member) -> None:
    executor = MigrationExecutor(connection)
    state = executor.migrate([("buttons", "0009_remove_company_member")])
    try:
        # As the admin's form let it through before: a link button with a lock option on (the model as it
        # was then: later migrations add columns).
        old = state.apps.get_model("buttons", "Button")
        old.objects.bulk_create([old(company_id=admin_member.company_id, label="Docs", kind="link",
                                     url="https://docs.example/", resource="deal", messages_public=True,
                                     disable_on_unread_error=True, disable_on_any_unread=True)])
    finally:
        MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    link = Button.objects.get(label="Docs")
    assert (link.messages_public, link.disable_on_unread_error, link.disable_on_any_unread) == (False, False, False)

"""POST .../messages/read and .../messages/read-all: read state belongs to the recipient alone."""

from collections.abc import Callable

from django.test import Client

from accounts.models import Member
from buttons.models import Button
from conftest import api_client
from messaging.models import Message
from messaging.public_ids import LIMIT, to_public
from messaging.tests.reading_helpers import message, panel


def read(client, button: Button, ids: list, object_id: str = "21389"):
    """Marks the messages of these row ids read, naming them by their ids in the API."""
    shown = [to_public(i) if isinstance(i, int) and 0 <= i < LIMIT else i for i in ids]
    return client.post(f"/api/buttons/{button.identifier}/messages/read",
                       {"resource": "deal", "object_id": object_id, "ids": shown}, format="json")


def read_all(client, button: Button, object_id: str = "21389"):
    return client.post(f"/api/buttons/{button.identifier}/messages/read-all",
                       {"resource": "deal", "object_id": object_id}, format="json")


def test_marking_read_answers_with_the_new_button_state(
    admin_member: Member, make_button: Callable[..., Button]
) -> None:
    button = make_button(disable_on_unread_error=True)
    error = message(button, admin_member, message_type="error")
    info = message(button, admin_member)
    client = api_client(admin_member)
    assert panel(client)["Create invoice"]["disabled"] is True
    body = read(client, button, [error.pk]).json()
    assert body["marked"] == 1
    assert body["button"] == panel(client)["Create invoice"]
    assert (body["button"]["envelope"], body["button"]["unread"], body["button"]["disabled"]) == ("blue", 1, False)
    assert read(client, button, [error.pk]).json()["marked"] == 0  # already read: idempotent
    assert Message.objects.get(pk=info.pk).read_at is None


def test_others_ids_are_ignored_without_a_leak(
    admin_member: Member, teammate: Member, outsider: Member, make_button: Callable[..., Button]
) -> None:
    button = make_button(messages_public=True)
    alices = message(button, admin_member)
    response = read(api_client(teammate), button, [alices.pk, 999999])
    assert response.status_code == 200 and response.json()["marked"] == 0
    assert read_all(api_client(teammate), button).json()["marked"] == 0
    assert Message.objects.get(pk=alices.pk).read_at is None
    assert read(api_client(outsider), button, [alices.pk]).status_code == 404
    assert read_all(api_client(outsider), button).status_code == 404
    # An id from another record of the same button is not marked either.
    elsewhere = message(button, admin_member, object_id="5")
    assert read(api_client(admin_member), button, [elsewhere.pk]).json()["marked"] == 0


def test_read_all_marks_only_the_record(admin_member: Member, make_button: Callable[..., Button]) -> None:
    button = make_button(disable_on_any_unread=True)
    for _ in range(3):
        message(button, admin_member)
    other = message(button, admin_member, object_id="5")
    body = read_all(api_client(admin_member), button).json()
    assert body["marked"] == 3
    assert (body["button"]["envelope"], body["button"]["unread"], body["button"]["disabled"]) == ("grey", 0, False)
    assert Message.objects.get(pk=other.pk).read_at is None


def test_bad_bodies_are_400(admin_member: Member, make_button: Callable[..., Button]) -> None:
    button = make_button()
    client = api_client(admin_member)
    url = f"/api/buttons/{button.identifier}/messages/read"
    for body in ({}, {"resource": "deal", "object_id": "1"}, {"resource": "deal", "object_id": "1", "ids": "1"},
                 {"resource": "deal", "object_id": "1", "ids": ["x"]},
                 {"resource": "deal", "object_id": "1", "ids": list(range(1, 502))},
                 {"resource": "person", "object_id": "1", "ids": [1]}):
        response = client.post(url, body, format="json")
        assert response.status_code == 400 and response.json()["detail"], body
    assert client.post(f"/api/buttons/{button.identifier}/messages/read-all", {}, format="json").status_code == 400


def test_session_posts_need_the_csrf_token(admin_member: Member, make_button: Callable[..., Button]) -> None:
    button = make_button()
    message(button, admin_member)
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_member.user)
    url = f"/api/buttons/{button.identifier}/messages/read-all"
    body = '{"resource": "deal", "object_id": "21389"}'
    assert client.post(url, body, content_type="application/json").status_code == 403
    client.get("/panel/deal/21389/")  # sets the csrftoken cookie, as the browser's page does
    token = client.cookies["csrftoken"].value
    response = client.post(url, body, content_type="application/json", headers={"X-CSRFToken": token})
    assert response.status_code == 200 and response.json()["marked"] == 1


def test_an_id_beyond_any_row_is_a_400_not_a_crash(admin_member: Member, make_button: Callable[..., Button]) -> None:
    response = read(api_client(admin_member), make_button(), [10**30])
    assert response.status_code == 400 and "ids" in response.json()["detail"]

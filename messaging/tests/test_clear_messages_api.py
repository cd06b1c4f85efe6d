"""POST /api/buttons/<identifier>/clear-messages: company admins empty a button's message log."""

from collections.abc import Callable

from accounts.models import Member
from buttons.models import Button
from buttons.tests.helpers import make_message, make_past_event
from conftest import api_client
from messaging.models import Message


def test_an_admin_clears_the_log_and_gets_202(
    admin_member: Member, make_button: Callable[..., Button], django_capture_on_commit_callbacks: Callable
) -> None:
    button = make_button()
    make_message(make_past_event(button, admin_member))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api_client(admin_member).post(f"/api/buttons/{button.identifier}/clear-messages")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["detail"].startswith("All messages of this button were cleared")
    button.refresh_from_db()
    assert button.messages_cleared_at is not None and body["messages_cleared_at"]
    assert len(callbacks) == 1 and not Message.objects.exists()  # the task ran (eagerly, in tests)


def test_a_member_without_admin_rights_gets_403(teammate: Member, make_button: Callable[..., Button]) -> None:
    button = make_button()
    response = api_client(teammate).post(f"/api/buttons/{button.identifier}/clear-messages")
    assert response.status_code == 403
    button.refresh_from_db()
    assert button.messages_cleared_at is None


def test_another_companys_button_is_404(outsider: Member, make_button: Callable[..., Button]) -> None:
    button = make_button()
    response = api_client(outsider).post(f"/api/buttons/{button.identifier}/clear-messages")
    assert response.status_code == 404
    button.refresh_from_db()
    assert button.messages_cleared_at is None


def test_it_needs_authentication_and_post(admin_member: Member, make_button: Callable[..., Button]) -> None:
    button = make_button()
    assert api_client(None).post(f"/api/buttons/{button.identifier}/clear-messages").status_code == 401
    assert api_client(admin_member).get(f"/api/buttons/{button.identifier}/clear-messages").status_code == 405


def test_token_auth_works(admin_member: Member, make_button: Callable[..., Button]) -> None:
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    button = make_button()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=admin_member.user).key}")
    assert client.post(f"/api/buttons/{button.identifier}/clear-messages").status_code == 202

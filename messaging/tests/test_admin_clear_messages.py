"""Clear all messages on the button's admin page: a confirmation page, then a POST with CSRF."""

from collections.abc import Callable

import pytest
from django.test import Client

from accounts.models import Member
from buttons.models import Button
from buttons.tests.helpers import make_message, make_past_event
from messaging.models import Message


@pytest.fixture
def client(admin_member: Member) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_member.user)
    return client


def test_the_change_page_links_to_a_confirmation_page(
    client: Client, admin_member: Member, make_button: Callable[..., Button]
) -> None:
    button = make_button()
    event = make_past_event(button, admin_member)
    make_message(event, "one")
    make_message(event, "two", seconds=2)
    url = f"/admin/buttons/button/{button.pk}/clear-messages/"
    assert url in client.get(f"/admin/buttons/button/{button.pk}/change/").content.decode()
    page = client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "permanently deletes all" in text and "2 messages" in text and "csrfmiddlewaretoken" in text
    button.refresh_from_db()
    assert button.messages_cleared_at is None  # GET changes nothing


def test_posting_clears_at_once_and_the_task_deletes_the_rows(
    client: Client, admin_member: Member, make_button: Callable[..., Button],
    django_capture_on_commit_callbacks: Callable,
) -> None:
    button = make_button()
    kept = make_message(make_past_event(make_button(label="Another button"), admin_member), "not this one")
    make_message(make_past_event(button, admin_member), "gone")
    url = f"/admin/buttons/button/{button.pk}/clear-messages/"
    assert client.post(url).status_code == 403  # no CSRF token
    token = client.get(url).context["csrf_token"]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(url, {"csrfmiddlewaretoken": str(token)})
    assert response.status_code == 302 and response["Location"].endswith(f"/{button.pk}/change/")
    page = client.get(response["Location"]).content.decode()
    assert "were cleared" in page and "Last cleared" in page
    # Hidden for everyone at once, in the admin too, before the task has run.
    assert "gone" not in client.get("/admin/messaging/message/").content.decode()
    assert Message.objects.filter(button=button).count() == 1
    for callback in callbacks:
        callback()
    assert list(Message.objects.all()) == [kept]


def test_a_plain_member_cannot_clear(teammate: Member, make_button: Callable[..., Button]) -> None:
    button = make_button()
    client = Client()
    client.force_login(teammate.user)
    response = client.post(f"/admin/buttons/button/{button.pk}/clear-messages/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    button.refresh_from_db()
    assert button.messages_cleared_at is None


def test_the_confirmation_page_of_an_empty_log_says_so(client: Client, make_button: Callable[..., Button]) -> None:
    button = make_button()
    text = client.get(f"/admin/buttons/button/{button.pk}/clear-messages/").content.decode()
    assert "has no messages to clear right now" in text and "all 0" not in text

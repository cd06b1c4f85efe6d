"""GET /api/panel/<resource>/<object_id>/: envelopes, unread counts and the disable rules."""

from collections.abc import Callable

import pytest

from accounts.models import Member
from buttons.models import Button
from conftest import api_client
from messaging.tests.reading_helpers import message, panel


def test_the_shape_is_exact(admin_member: Member, make_button: Callable[..., Button]) -> None:
    button = make_button()
    make_button(label="Open map", kind="link", url="https://maps.example.com/", messaging_enabled=False)
    make_button(label="In list view", view="list")
    make_button(label="For persons", resource="person")
    body = api_client(admin_member).get("/api/panel/deal/21389/").json()
    assert list(body) == ["buttons"]
    assert [b["label"] for b in body["buttons"]] == ["Create invoice", "Open map"]
    assert body["buttons"][0] == {
        "identifier": str(button.identifier), "label": "Create invoice", "kind": "webhook",
        # The webhook's URL is a credential: only link buttons carry one here.
        "url": None, "envelope": "none", "unread": 0, "disabled": False,
        "disabled_reason": None,
    }
    assert body["buttons"][1]["url"] == "https://maps.example.com/" and body["buttons"][1]["envelope"] == "none"


def test_list_view_is_the_literal_list(admin_member: Member, make_button: Callable[..., Button]) -> None:
    make_button(label="Export", view="list")
    make_button(label="Details only")
    assert list(panel(api_client(admin_member), "deal", "list")) == ["Export"]


def test_envelope_none_grey_blue_red(admin_member: Member, make_button: Callable[..., Button]) -> None:
    client = api_client(admin_member)
    button = make_button()
    assert panel(client)["Create invoice"]["envelope"] == "none"
    message(button, admin_member, read=True)
    state = panel(client)["Create invoice"]
    assert (state["envelope"], state["unread"]) == ("grey", 0)
    message(button, admin_member, message_type="success")
    state = panel(client)["Create invoice"]
    assert (state["envelope"], state["unread"]) == ("blue", 1)
    message(button, admin_member, message_type="error")
    state = panel(client)["Create invoice"]
    assert (state["envelope"], state["unread"]) == ("red", 2)
    # A read error does not colour the envelope red.
    message(button, admin_member, message_type="error", read=True, object_id="7")
    assert panel(client, object_id="7")["Create invoice"]["envelope"] == "grey"


def test_messages_are_per_record(admin_member: Member, make_button: Callable[..., Button]) -> None:
    button = make_button()
    message(button, admin_member, object_id="1")
    assert panel(api_client(admin_member), object_id="2")["Create invoice"]["envelope"] == "none"


def test_private_messages_are_the_clickers_alone(
    admin_member: Member, teammate: Member, make_button: Callable[..., Button]
) -> None:
    button = make_button()
    message(button, admin_member, message_type="error")
    assert panel(api_client(teammate))["Create invoice"]["envelope"] == "none"
    assert panel(api_client(admin_member))["Create invoice"]["envelope"] == "red"


def test_public_messages_are_everyones_but_read_for_others(
    admin_member: Member, teammate: Member, make_button: Callable[..., Button]
) -> None:
    button = make_button(messages_public=True, disable_on_any_unread=True)
    message(button, admin_member, message_type="error")
    mine = panel(api_client(admin_member))["Create invoice"]
    theirs = panel(api_client(teammate))["Create invoice"]
    assert (mine["envelope"], mine["unread"], mine["disabled"]) == ("red", 1, True)
    # The teammate sees the message, as read, and is not blocked by someone else's unread message.
    assert (theirs["envelope"], theirs["unread"], theirs["disabled"]) == ("grey", 0, False)


def test_cleared_messages_are_gone(admin_member: Member, make_button: Callable[..., Button]) -> None:
    button = make_button(disable_on_any_unread=True)
    old = message(button, admin_member, message_type="error")
    button.messages_cleared_at = old.created_at
    button.save()
    state = panel(api_client(admin_member))["Create invoice"]
    assert (state["envelope"], state["unread"], state["disabled"]) == ("none", 0, False)
    message(button, admin_member)
    assert panel(api_client(admin_member))["Create invoice"]["envelope"] == "blue"


@pytest.mark.parametrize(
    ("rule", "message_type", "disabled"),
    [
        ("disable_on_unread_error", "error", True),
        ("disable_on_unread_error", "warning", False),
        ("disable_on_any_unread", "info", True),
        ("disable_on_any_unread", "error", True),
        (None, "error", False),
    ],
)
def test_disable_rules(
    admin_member: Member, make_button: Callable[..., Button], rule: str | None, message_type: str, disabled: bool
) -> None:
    button = make_button(**({rule: True} if rule else {}))
    message(button, admin_member, message_type=message_type)
    state = panel(api_client(admin_member))["Create invoice"]
    assert state["disabled"] is disabled
    if disabled:
        assert state["disabled_reason"].startswith("This button is disabled until you have read its")
        # The server refuses the click with the same sentence.
        response = api_client(admin_member).post(
            f"/api/buttons/{button.identifier}/click",
            {"resource": "deal", "view": "details", "selectedIds": ["21389"]}, format="json",
        )
        assert response.status_code == 409 and response.json()["detail"] == state["disabled_reason"]
    else:
        assert state["disabled_reason"] is None


def test_another_companys_buttons_never_show(
    admin_member: Member, outsider: Member, make_button: Callable[..., Button]
) -> None:
    message(make_button(messages_public=True), admin_member)
    assert panel(api_client(outsider)) == {}


def test_bad_records(admin_member: Member) -> None:
    client = api_client(admin_member)
    assert client.get("/api/panel/lead/1/").status_code == 404
    response = client.get(f"/api/panel/deal/{'x' * 65}/")
    assert response.status_code == 400 and "object_id" in response.json()["detail"]
    assert api_client(None).get("/api/panel/deal/1/").status_code == 401


def test_token_auth_works(admin_member: Member, make_button: Callable[..., Button]) -> None:
    make_button()
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=admin_member.user).key}")
    assert client.get("/api/panel/deal/21389/").status_code == 200


def test_the_number_of_queries_does_not_grow(
    admin_member: Member, teammate: Member, make_button: Callable[..., Button], django_assert_max_num_queries
) -> None:
    client = api_client(admin_member)
    first = make_button(disable_on_unread_error=True)
    message(first, admin_member, message_type="error")
    # Membership (cached on this user object), buttons with an EXISTS each, one grouped unread count.
    with django_assert_max_num_queries(3) as small:
        panel(client)
    for n in range(12):
        button = make_button(label=f"Button {n:02}", messages_public=n % 2 == 0, disable_on_any_unread=n % 3 == 0)
        for m in range(4):
            message(button, admin_member if m % 2 else teammate, message_type="error" if m == 3 else "info",
                    read=m == 0)
        if n % 4 == 0:
            button.messages_cleared_at = button.messages.order_by("created_at").first().created_at
            button.save()
    with django_assert_max_num_queries(3) as large:
        states = panel(client)
    assert len(states) == 13 and len(small.captured_queries) == len(large.captured_queries)

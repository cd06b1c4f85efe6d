"""GET /api/buttons/<identifier>/messages: a record's log, newest first, paged with `before`."""

from collections.abc import Callable

from accounts.models import Member
from buttons.models import Button
from conftest import api_client
from messaging.models import Message
from messaging.public_ids import to_public
from messaging.tests.reading_helpers import message


def log_url(button: Button, object_id: str = "21389", **params: object) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"resource": button.resource, "object_id": object_id, **params}.items())
    return f"/api/buttons/{button.identifier}/messages?{query}"


def test_newest_first_in_the_exact_shape(admin_member: Member, make_button: Callable[..., Button]) -> None:
    button = make_button()
    message(button, admin_member, content="first")
    message(button, admin_member, content="<b>second</b>", message_type="success", redirect="https://x.example/")
    body = api_client(admin_member).get(log_url(button)).json()
    assert list(body) == ["results", "next"] and body["next"] is None
    assert [m["content"] for m in body["results"]] == ["<b>second</b>", "first"]
    # Exactly the documented keys (README, API): automations and scripts read these.
    assert set(body["results"][0]) == {
        "id", "event_id", "click_id", "source", "message_type", "content", "redirect_url", "created_at", "read"
    }
    assert body["results"][0]["read"] is False and body["results"][0]["redirect_url"] == "https://x.example/"


def test_pages_follow_the_cursor(admin_member: Member, make_button: Callable[..., Button]) -> None:
    button = make_button()
    made = [message(button, admin_member, content=f"m{i}").pk for i in range(7)]
    client = api_client(admin_member)
    seen: list[int] = []
    url: str | None = log_url(button, limit=3)
    while url:
        body = client.get(url).json()
        seen += [m["id"] for m in body["results"]]
        url = body["next"]
        assert url is None or url.startswith("http://testserver/api/buttons/")
    assert seen == [to_public(pk) for pk in made[::-1]]
    # A cursor that is not in this log (another user's message, or gone) ends the log without a leak.
    assert client.get(log_url(button, before=to_public(made[0]))).json() == {"results": [], "next": None}


def test_ties_on_created_at_are_not_lost(admin_member: Member, make_button: Callable[..., Button]) -> None:
    button = make_button()
    same = message(button, admin_member).created_at
    for _ in range(4):
        m = message(button, admin_member)
        Message.objects.filter(pk=m.pk).update(created_at=same)
    client = api_client(admin_member)
    ids, url = [], log_url(button, limit=2)
    while url:
        body = client.get(url).json()
        ids += [m["id"] for m in body["results"]]
        url = body["next"]
    assert len(ids) == len(set(ids)) == 5


def test_private_logs_show_own_messages_only(
    admin_member: Member, teammate: Member, make_button: Callable[..., Button]
) -> None:
    button = make_button()
    message(button, admin_member, content="alice's")
    message(button, teammate, content="bob's")
    assert [m["content"] for m in api_client(teammate).get(log_url(button)).json()["results"]] == ["bob's"]
    assert [m["content"] for m in api_client(admin_member).get(log_url(button)).json()["results"]] == ["alice's"]


def test_public_logs_show_everyones_read_for_others(
    admin_member: Member, teammate: Member, make_button: Callable[..., Button]
) -> None:
    button = make_button(messages_public=True)
    message(button, admin_member, content="alice's")
    message(button, teammate, content="bob's")
    results = api_client(teammate).get(log_url(button)).json()["results"]
    assert [(m["content"], m["read"]) for m in results] == [("bob's", False), ("alice's", True)]
    # Still only on that record.
    assert api_client(teammate).get(log_url(button, object_id="99")).json()["results"] == []


def test_cleared_messages_are_not_listed(admin_member: Member, make_button: Callable[..., Button]) -> None:
    button = make_button()
    old = message(button, admin_member, content="old")
    button.messages_cleared_at = old.created_at
    button.save()
    message(button, admin_member, content="new")
    assert [m["content"] for m in api_client(admin_member).get(log_url(button)).json()["results"]] == ["new"]


def test_another_companys_button_is_404(
    admin_member: Member, outsider: Member, make_button: Callable[..., Button]
) -> None:
    button = make_button(messages_public=True)
    message(button, admin_member)
    assert api_client(outsider).get(log_url(button)).status_code == 404
    assert api_client(admin_member).get(
        "/api/buttons/not-a-uuid/messages?resource=deal&object_id=1"
    ).status_code == 404


def test_bad_input_is_a_400_sentence(admin_member: Member, make_button: Callable[..., Button]) -> None:
    button = make_button()
    client = api_client(admin_member)
    for url in (
        f"/api/buttons/{button.identifier}/messages",
        f"/api/buttons/{button.identifier}/messages?resource=deal",
        log_url(button, before="abc"),
        log_url(button, limit=0),
        log_url(button, limit=101),
        f"/api/buttons/{button.identifier}/messages?resource=lead&object_id=1",
        f"/api/buttons/{button.identifier}/messages?resource=person&object_id=1",
    ):
        response = client.get(url)
        assert response.status_code == 400, url
        assert isinstance(response.json()["detail"], str) and response.json()["detail"]
    assert "person" in client.get(
        f"/api/buttons/{button.identifier}/messages?resource=person&object_id=1"
    ).json()["detail"]


def test_a_page_is_a_constant_number_of_queries(
    admin_member: Member, make_button: Callable[..., Button], django_assert_max_num_queries
) -> None:
    button = make_button()
    for _ in range(30):
        message(button, admin_member)
    client = api_client(admin_member)
    with django_assert_max_num_queries(3):  # button, (cursor anchor), page
        body = client.get(log_url(button, limit=25)).json()
    with django_assert_max_num_queries(3):
        client.get(body["next"])


def test_only_the_clicker_gets_the_event_id_and_everyone_groups_by_click_id(
    admin_member: Member, teammate: Member, make_button: Callable[..., Button]
) -> None:
    button = make_button(messages_public=True)
    first = message(button, admin_member, content="alice's answer")
    message(button, admin_member, content="alice's second", event=first.event)
    message(button, teammate, content="bob's answer")
    for reader, own in ((admin_member, "alice"), (teammate, "bob")):
        rows = api_client(reader).get(log_url(button)).json()["results"]
        assert len(rows) == 3  # a public log: everybody reads every message
        for row in rows:
            mine = row["content"].startswith(own)
            # The event_id is the credential of /api/trigger-message: a co-worker must not post as the clicker.
            assert (row["event_id"] is not None) == mine
            assert str(first.event_id) not in str(row) or reader == admin_member
    rows = api_client(teammate).get(log_url(button)).json()["results"]
    alice = [row["click_id"] for row in rows if row["content"].startswith("alice")]
    bob = [row["click_id"] for row in rows if row["content"].startswith("bob")]
    assert len(set(alice)) == 1 and alice[0] not in bob
    assert alice[0] != str(first.event_id) and alice[0] != str(first.event_id).replace("-", "")

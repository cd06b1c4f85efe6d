"""GET /api/stream/<resource>/<object_id>/: server-sent events fed by Redis pub/sub."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.test import AsyncClient, Client, override_settings

from accounts.access import issue_access
from accounts.models import Member
from buttons.models import Button
from messaging import live, stream
from messaging.public_ids import to_public
from messaging.stream import _buttons_of as buttons_of
from messaging.stream import forwardable
from messaging.tests.reading_helpers import message

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def test_only_what_the_user_may_see_is_forwarded() -> None:
    public, private = ("b-public", True), ("b-private", False)
    mine = {"message_id": 5, "button": "1", "recipient": 7}
    theirs = {"message_id": 6, "button": "1", "recipient": 8}
    assert forwardable(mine, 7, private) == {"button": "b-private", "message_id": to_public(5), "mine": True}
    assert forwardable(theirs, 7, private) is None
    assert forwardable(theirs, 7, public) == {"button": "b-public", "message_id": to_public(6), "mine": False}
    assert forwardable({"read": True, "button": "1", "recipient": 8}, 7, public) is None
    assert forwardable({"read": True, "button": "1", "recipient": 7}, 7, public) == {"button": "b-public", "read": True}
    assert forwardable(mine, 7, None) is None  # another company's or another view's button
    assert forwardable(["junk"], 7, public) is None
    assert forwardable({"message_id": "5; drop", "recipient": 8}, 7, public) is None
    # A clear concerns everyone who sees the button, and says nothing about anyone's messages.
    assert forwardable({"cleared": True, "button": "1"}, 7, private) == {"button": "b-private", "cleared": True}
    assert forwardable({"cleared": True, "button": "9"}, 7, None) is None
    # The message rides along, as the log API would show it to this reader.
    shown = {"id": "x", "event_id": "e-1", "content": "Hi", "read": False}
    assert forwardable({**mine, "message": shown}, 7, private)["message"] == shown
    assert forwardable({**theirs, "message": shown}, 7, public)["message"] == {**shown, "event_id": None, "read": True}
    assert forwardable({**theirs, "message": shown}, 7, private) is None


def test_anonymous_and_unknown(admin_member: Member) -> None:
    assert Client().get("/api/stream/deal/1/").status_code == 403
    client = Client()
    client.force_login(admin_member.user)
    assert client.get("/api/stream/lead/1/").status_code == 404


@override_settings(CELERY_BROKER_URL="filesystem://")
def test_without_redis_the_browser_is_told_to_poll(admin_member: Member) -> None:
    client = Client()
    client.force_login(admin_member.user)
    assert client.get("/api/stream/deal/1/").status_code == 204


@override_settings(CELERY_BROKER_URL=REDIS_URL)
def test_under_wsgi_the_browser_is_told_to_poll(admin_member: Member) -> None:
    # A WSGI server would read the whole five-minute stream before sending any of it.
    client = Client()
    client.force_login(admin_member.user)
    assert client.get("/api/stream/deal/1/").status_code == 204


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not redis_up(), reason="Redis is not running on 127.0.0.1:6379")
def test_the_development_server_answers_the_stream_at_once(
    admin_member: Member, django_db_blocker: Any
) -> None:
    from conftest import database_url_for_subprocess
    from testing.browser import app_server

    token, _ = issue_access(admin_member)
    with django_db_blocker.unblock():
        database_url = database_url_for_subprocess()
    with app_server(database_url, broker_url=REDIS_URL, wsgi=True) as base:
        request = urllib.request.Request(f"{base}/api/stream/deal/42/", headers={"Authorization": f"Bearer {token}"})
        # Before: the request hung for the stream's 300 s, then sent 393 bytes at once.
        with urllib.request.urlopen(request, timeout=30) as response:
            assert (response.status, response.read()) == (204, b"")
        with urllib.request.urlopen(f"{base}/login/", timeout=10) as response:  # the server is runserver
            assert response.status == 200


async def events_for(member: Member, count: int, record: str = "21389",
                     ready: asyncio.Event | None = None) -> list[tuple[str, dict]]:
    """The first `count` events of the member's stream of a deal (`ready` is set once it is subscribed)."""
    client = AsyncClient()
    await client.aforce_login(member.user)
    response = await client.get(f"/api/stream/deal/{record}/")
    assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
    chunks = aiter(response.streaming_content)
    seen: list[tuple[str, dict]] = []
    try:
        while len(seen) < count:
            chunk = await asyncio.wait_for(anext(chunks), 10)
            text = chunk.decode() if isinstance(chunk, bytes) else chunk
            for block in text.split("\n\n"):
                lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
                if "event" in lines:
                    seen.append((lines["event"], json.loads(lines["data"])))
                    if lines["event"] == "ready" and ready is not None:
                        ready.set()
    finally:
        await chunks.aclose()
    return seen


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not redis_up(), reason="Redis is not running on 127.0.0.1:6379")
@override_settings(CELERY_BROKER_URL=REDIS_URL)
def test_many_open_panels_of_a_record_share_one_read_of_its_buttons(
    admin_member: Member, make_button: Callable[..., Button], monkeypatch: pytest.MonkeyPatch
) -> None:
    button = make_button(label="Public", messages_public=True)
    reads: list[tuple] = []

    def counted(key: tuple) -> dict:
        reads.append(key)
        return buttons_of(key)

    monkeypatch.setattr(stream, "_buttons_of", counted)
    stored = message(button, admin_member, object_id="77")

    async def scenario() -> list[list[tuple[str, dict]]]:
        subscribed = [asyncio.Event() for _ in range(20)]
        panels = [asyncio.create_task(events_for(admin_member, 2, record="77", ready=ready)) for ready in subscribed]
        await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in subscribed)), 30)
        await asyncio.to_thread(live.publish_message, stored)
        try:
            return await asyncio.gather(*panels)
        finally:
            await sync_to_async(connections.close_all)()

    panels = asyncio.run(scenario())
    assert all([event for event, _ in seen] == ["ready", "log"] for seen in panels)
    assert all(seen[1][1]["button"] == str(button.identifier) for seen in panels)
    assert len(reads) == 1  # one query for twenty open panels, not twenty


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not redis_up(), reason="Redis is not running on 127.0.0.1:6379")
@override_settings(CELERY_BROKER_URL=REDIS_URL)
def test_messages_stream_to_those_who_may_see_them(
    admin_member: Member, teammate: Member, outsider: Member, make_button: Callable[..., Button]
) -> None:
    private = make_button(label="Private")
    public = make_button(label="Public", messages_public=True)
    outsiders = Button.objects.create(company=outsider.company, label="Theirs", url="http://x.example/",
                                      resource="deal", messaging_enabled=True, messages_public=True)

    stored = [
        message(outsiders, outsider),  # another company: another channel
        message(private, admin_member),  # alice's private message: never to bob
        message(public, admin_member),  # public: to both
        message(private, teammate),  # bob's own
    ]

    async def scenario() -> tuple[list, list]:
        subscribed = asyncio.Event(), asyncio.Event()
        bob = asyncio.create_task(events_for(teammate, 4, ready=subscribed[0]))
        alice = asyncio.create_task(events_for(admin_member, 5, ready=subscribed[1]))
        await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in subscribed)), 30)
        for made in stored:
            await asyncio.to_thread(live.publish_message, made)
        # Alice reads her messages (only her own pages hear of it), then an admin clears the private
        # button (everyone who sees the button hears of it, nobody learns of anyone's messages).
        await asyncio.to_thread(live.publish_read, private, admin_member.user_id, "deal", "21389")
        await asyncio.to_thread(live.publish_cleared, private)
        try:
            return await bob, await alice
        finally:
            # The view's ORM calls ran in asgiref's shared thread: close its connection, or the test
            # database cannot be dropped at the end of the run.
            await sync_to_async(connections.close_all)()

    bob, alice = asyncio.run(scenario())
    assert [event for event, _ in bob] == ["ready", "log", "log", "log"]
    assert bob[3][1] == {"button": str(private.identifier), "cleared": True}  # not alice's read
    assert alice[3][1] == {"button": str(private.identifier), "read": True}
    assert alice[4][1] == {"button": str(private.identifier), "cleared": True}
    assert [(d["button"], d["mine"]) for _, d in bob[1:3]] == [(str(public.identifier), False),
                                                             (str(private.identifier), True)]
    assert [(d["button"], d["mine"]) for _, d in alice[1:3]] == [(str(private.identifier), True),
                                                               (str(public.identifier), True)]
    # Each event carries the message as the log API shows it to that reader: alice's public message
    # reaches bob read, and without its event_id (the clicker's credential).
    by_bob = bob[1][1]["message"]
    assert by_bob["content"] == stored[2].content and by_bob["event_id"] is None and by_bob["read"] is True
    by_alice = alice[2][1]["message"]
    assert by_alice["event_id"] == str(stored[2].event_id) and by_alice["read"] is False
    assert bob[2][1]["message"]["event_id"] == str(stored[3].event_id)  # bob's own
    assert all(str(stored[1].event_id) not in json.dumps(d) for _, d in bob)


@pytest.mark.django_db(transaction=True)  # the directory reads in a thread of its own
def test_a_button_made_after_the_last_read_is_found_for_its_first_message(
    admin_member: Member, make_button: Callable[..., Button]
) -> None:
    old = make_button(label="Old")
    key = (admin_member.company_id, "deal", "details")
    directory = stream.ButtonDirectory()

    async def scenario() -> tuple[object, object]:
        first = await directory.get(key, str(old.pk), time.monotonic())
        new = await sync_to_async(make_button)(label="New", messages_public=True)
        await sync_to_async(connections.close_all)()  # asgiref's shared thread must not keep a connection
        found = await directory.get(key, str(new.pk), time.monotonic())  # its message arrived after the read
        return first, (found, new)

    first, (found, new) = asyncio.run(scenario())
    assert first == (str(old.identifier), False)
    assert found == (str(new.identifier), True)

"""GET /api/stream/<resource>/<object_id>/: server-sent events fed by Redis pub/sub."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.test import AsyncClient, Client, override_settings

from buttons.models import Button, Member
from messaging import live
from messaging.public_ids import to_public
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

    async def events_for(member: Member, count: int) -> list[tuple[str, dict]]:
        client = AsyncClient()
        await client.aforce_login(member.user)
        response = await client.get("/api/stream/deal/21389/")
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
        finally:
            await chunks.aclose()
        return seen

    stored = [
        message(outsiders, outsider),  # another company: another channel
        message(private, admin_member),  # alice's private message: never to bob
        message(public, admin_member),  # public: to both
        message(private, teammate),  # bob's own
    ]

    async def scenario() -> tuple[list, list]:
        bob = asyncio.create_task(events_for(teammate, 3))
        alice = asyncio.create_task(events_for(admin_member, 3))
        await asyncio.sleep(0.8)  # both subscribed
        for made in stored:
            await asyncio.to_thread(live.publish_message, made)
        try:
            return await bob, await alice
        finally:
            # The view's ORM calls ran in asgiref's shared thread: close its connection, or the test
            # database cannot be dropped at the end of the run.
            await sync_to_async(connections.close_all)()

    bob, alice = asyncio.run(scenario())
    assert [event for event, _ in bob] == ["ready", "log", "log"]
    assert [(d["button"], d["mine"]) for _, d in bob[1:]] == [(str(public.identifier), False),
                                                             (str(private.identifier), True)]
    assert [(d["button"], d["mine"]) for _, d in alice[1:]] == [(str(private.identifier), True),
                                                               (str(public.identifier), True)]

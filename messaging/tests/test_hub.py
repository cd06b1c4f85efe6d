"""One Redis pub/sub connection per web process for every open stream (messaging.hub)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.test import AsyncClient, override_settings

from accounts.models import Member
from buttons.models import Button
from messaging import hub as hubs
from messaging import live
from messaging.hub import INBOX_MAX, Dropped, Hub
from messaging.tests.reading_helpers import message
from messaging.tests.test_stream import REDIS_URL, redis_up

pytestmark = pytest.mark.skipif(not redis_up(), reason="Redis is not running on 127.0.0.1:6379")


def redis_client(url: str = REDIS_URL) -> Any:
    import redis

    return redis.Redis.from_url(url)


def clients_named(name: str) -> int:
    return sum(1 for c in redis_client().client_list() if c.get("name") == name)


def subscribers(channel: str, url: str = REDIS_URL) -> int:
    return int(dict(redis_client(url).pubsub_numsub(channel))[channel.encode()])


def test_many_streams_share_one_connection_and_a_channel_goes_when_its_last_stream_does() -> None:
    first, second = f"test:{uuid.uuid4()}", f"test:{uuid.uuid4()}"

    async def scenario() -> tuple[int, int, int, list[int], int, int]:
        name = f"oneclick-live-test-{uuid.uuid4().hex[:8]}"  # this hub's, not another process's
        hub = Hub(REDIS_URL, client_name=name)
        async with hub.listening([first]) as one, hub.listening([first, second]):
            others = [hub.listening([second]) for _ in range(48)]
            for listening in others:
                await listening.__aenter__()
            clients = await asyncio.to_thread(clients_named, name)
            counts = await asyncio.to_thread(lambda: (subscribers(first), subscribers(second)))
            await asyncio.to_thread(redis_client().publish, first, json.dumps({"n": 1}))
            got = await asyncio.wait_for(one.next(), 5)
            for listening in others:
                await listening.__aexit__(None, None, None)
            await asyncio.sleep(0.2)
            after_48 = await asyncio.to_thread(lambda: (subscribers(first), subscribers(second)))
        await asyncio.sleep(0.2)
        gone = await asyncio.to_thread(lambda: subscribers(first) + subscribers(second))
        await hub.close()
        return clients, *counts, [got["n"]], after_48[1], gone

    clients, on_first, on_second, got, second_after, gone = asyncio.run(scenario())
    assert clients == 1  # 50 open streams, one Redis connection
    assert (on_first, on_second) == (1, 1)  # each channel subscribed once, however many streams need it
    assert got == [1]
    assert second_after == 1  # one stream still needs it
    assert gone == 0  # the last stream left: unsubscribed


def test_a_slow_reader_is_dropped_and_does_not_hold_the_others_back() -> None:
    channel = f"test:{uuid.uuid4()}"

    async def scenario() -> tuple[list[int], float, bool]:
        hub = Hub(REDIS_URL)
        async with hub.listening([channel]) as slow, hub.listening([channel]) as keen:
            publisher = redis_client()
            got: list[int] = []

            async def read_all() -> None:
                while len(got) < INBOX_MAX + 50:
                    item = await asyncio.wait_for(keen.next(), 5)
                    assert item is not None
                    got.append(item["n"])

            reading = asyncio.create_task(read_all())
            started = time.monotonic()
            await asyncio.to_thread(lambda: [publisher.publish(channel, json.dumps({"n": n}))
                                             for n in range(INBOX_MAX + 50)])
            await reading
            took = time.monotonic() - started
            try:
                await asyncio.wait_for(slow.next(), 1)
                dropped = False
            except Dropped:
                dropped = True
        await hub.close()
        return got, took, dropped

    got, took, dropped = asyncio.run(scenario())
    assert got == list(range(INBOX_MAX + 50))  # all of them, in order
    assert took < 5
    assert dropped  # it fell INBOX_MAX behind: its stream ends and the browser reconnects


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[Any]:
    from testing.stack import Redis

    server = Redis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()  # by its process id


async def read_events(response: Any, into: list[tuple[str, dict]]) -> None:
    async for chunk in response.streaming_content:
        text = chunk.decode() if isinstance(chunk, bytes) else chunk
        for block in text.split("\n\n"):
            lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            if "event" in lines:
                into.append((lines["event"], json.loads(lines["data"])))


async def wait_until(predicate: Callable[[], bool], seconds: float) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > seconds:
            raise TimeoutError
        await asyncio.sleep(0.02)
    return time.monotonic() - started


@pytest.mark.django_db(transaction=True)
def test_after_a_redis_restart_open_and_new_streams_get_the_next_message(
    own_redis: Any, admin_member: Member, make_button: Callable[..., Button]
) -> None:
    button = make_button(label="Public", messages_public=True)
    stored = message(button, admin_member)
    channel = live.channel_name(stored.company_id, stored.resource, stored.object_id)
    payload = json.dumps({"message_id": stored.pk, "button": str(button.pk), "recipient": admin_member.user_id})

    async def open_stream(into: list) -> asyncio.Task:
        client = AsyncClient()
        await client.aforce_login(admin_member.user)
        response = await client.get(f"/api/stream/deal/{stored.object_id}/")
        assert response.status_code == 200
        task = asyncio.create_task(read_events(response, into))
        await wait_until(lambda: any(name == "ready" for name, _ in into), 10)
        return task

    async def scenario() -> tuple[list, list, float]:
        during: list[tuple[str, dict]] = []
        after: list[tuple[str, dict]] = []
        tasks = [await open_stream(during)]
        own_redis.stop()
        own_redis.start()  # the same port, empty: no subscriptions survive
        restarted = time.monotonic()
        # The open stream is subscribed again, and told so ("ready", resumed: the page catches up).
        await wait_until(lambda: ("ready", {"resumed": True}) in during, 5)
        resubscribed = time.monotonic() - restarted
        tasks.append(await open_stream(after))
        await asyncio.to_thread(redis_client(own_redis.url).publish, channel, payload)
        await wait_until(lambda: any(name == "log" for name, _ in during) and
                         any(name == "log" for name, _ in after), 5)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await sync_to_async(connections.close_all)()
        await hubs.hub().close()
        return during, after, resubscribed

    with override_settings(CELERY_BROKER_URL=own_redis.url):
        during, after, resubscribed = asyncio.run(scenario())
    assert resubscribed < 5
    heard = [d["message_id"] for name, d in during if name == "log"]
    assert heard == [d["message_id"] for name, d in after if name == "log"] and len(heard) == 1

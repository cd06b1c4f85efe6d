"""The production ASGI application (oneclick.handlers): sync views in one worker thread, async views on
Django's handler, bodies never lost or mixed up under concurrency, DB connections handed back."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from accounts.access import issue_access
from accounts.authentication import EXPIRED
from accounts.models import Member
from buttons.models import Button, ClickEvent
from buttons.tests.helpers import make_event
from messaging.models import Message
from messaging.tests.test_stream import REDIS_URL, redis_up
from oneclick.asgi import application
from oneclick.handlers import _is_async_view


async def call(
    method: str, path: str, body: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None, chunks: int = 1
) -> tuple[int, dict[bytes, bytes], bytes]:
    """One request through the ASGI application, the body delivered in `chunks` messages."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-length", str(len(body)).encode()), *(headers or [])],
        "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }
    size = max(1, -(-len(body) // chunks))
    parts = [body[i:i + size] for i in range(0, len(body), size)] or [b""]
    incoming = [{"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
                for i, part in enumerate(parts)]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if incoming:
            return incoming.pop(0)
        await asyncio.sleep(3600)  # the client stays connected
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await application(scope, receive, send)
    start = sent[0]
    headers = {name.lower(): value for name, value in start["headers"]}
    return start["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])


JSON = [(b"content-type", b"application/json")]


def threads_holding_a_connection() -> list[bool]:
    """Occupy every worker thread at once and ask each whether it still holds a database connection."""
    threads = application.executor._max_workers
    barrier = threading.Barrier(threads)

    def holds_connection() -> bool:
        barrier.wait(timeout=10)
        return connection.connection is not None

    futures = [application.executor.submit(holds_connection) for _ in range(threads)]
    return [future.result(timeout=20) for future in futures]


def post_message(event_id: str, message: str, chunks: int = 1):
    body = json.dumps({"event_id": event_id, "message": message}).encode()
    return call("POST", "/api/trigger-message", body, JSON, chunks)


@pytest.fixture
def events(admin_member: Member, make_button: Callable[..., Button]) -> Callable[[int], list[ClickEvent]]:
    button = make_button()
    return lambda n: [make_event(button, admin_member) for _ in range(n)]


def test_every_view_runs_in_a_worker_thread() -> None:
    # The live stream too: it is checked in a worker thread, then streamed from the event loop.
    assert not _is_async_view("/api/stream/deal/42/")
    assert not _is_async_view("/api/trigger-message")
    assert not _is_async_view("/panel/deal/42/")
    assert not _is_async_view("/no/such/page/")


@pytest.mark.django_db(transaction=True)
def test_a_body_arriving_in_pieces_is_read_whole(events: Callable[[int], list[ClickEvent]]) -> None:
    (event,) = events(1)
    message = "Step <b>1</b> of 3 " + "x" * 1500
    status, headers, body = asyncio.run(post_message(str(event.pk), message, chunks=7))
    assert status == 201, body
    assert json.loads(body)["content"] == message
    assert headers[b"content-type"] == b"application/json"
    assert Message.objects.get(event=event).content == message


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_never_lose_or_mix_up_bodies(events: Callable[[int], list[ClickEvent]]) -> None:
    batch = events(30)

    async def all_at_once() -> list[tuple[int, dict[bytes, bytes], bytes]]:
        return await asyncio.gather(*(post_message(str(e.pk), f"message for {e.pk}", chunks=3) for e in batch))

    answers = asyncio.run(all_at_once())
    assert [status for status, _, _ in answers] == [201] * len(batch), [body for _, _, body in answers]
    for event, (_, _, body) in zip(batch, answers, strict=True):
        data = json.loads(body)
        assert data["event_id"] == str(event.pk) and data["content"] == f"message for {event.pk}"
        assert Message.objects.get(event=event).content == f"message for {event.pk}"


@pytest.mark.django_db(transaction=True)
def test_worker_threads_hand_their_database_connection_back(
    events: Callable[[int], list[ClickEvent]],
) -> None:
    batch = events(12)

    async def run() -> None:
        await asyncio.gather(*(post_message(str(e.pk), "hello") for e in batch))

    asyncio.run(run())
    assert not any(threads_holding_a_connection())


@pytest.mark.django_db(transaction=True)
def test_errors_pages_and_cookies_come_through() -> None:
    status, _, body = asyncio.run(call("POST", "/api/trigger-message", b"{not json", JSON))
    assert status == 400 and b"JSON" in body
    status, _, _ = asyncio.run(call("GET", "/no/such/page/"))
    assert status == 404
    status, headers, body = asyncio.run(call("GET", "/login/"))
    assert status == 200 and b"<form" in body
    assert {b"content-security-policy", b"set-cookie"} <= headers.keys()  # the CSRF cookie for the form
    status, _, body = asyncio.run(call("GET", "/static/panel.js"))  # WhiteNoise's streamed file, whole
    assert status == 200 and body == (settings.BASE_DIR / "static" / "panel.js").read_bytes()


@pytest.mark.django_db(transaction=True)
def test_the_live_stream_refuses_strangers_before_streaming() -> None:
    status, _, _ = asyncio.run(call("GET", "/api/stream/deal/42/"))
    assert status in (401, 403)  # anonymous: refused before any streaming starts
    status, _, body = asyncio.run(call("GET", "/api/stream/deal/42/", headers=[(b"authorization", b"Bearer junk")]))
    assert status == 401 and json.loads(body) == {"detail": EXPIRED}


def open_stream(member: Member) -> tuple[asyncio.Event, list[dict[str, Any]], Callable[[], Any]]:
    """Start the member's live stream through the ASGI application: (disconnect, what was sent, run)."""
    token, _ = issue_access(member)
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": "/api/stream/deal/42/", "raw_path": b"/api/stream/deal/42/", "query_string": b"", "root_path": "",
        "headers": [(b"host", b"testserver"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }
    gone = asyncio.Event()
    sent: list[dict[str, Any]] = []
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    return gone, sent, lambda: application(scope, receive, send)


def connections_checked_out() -> int | None:
    """How many of the pool's connections are out (PostgreSQL's pool), or None (SQLite: no pool)."""
    pool = getattr(connection, "pool", None)
    if pool is None:
        return None
    stats = pool.get_stats()
    return stats["pool_size"] - stats["pool_available"]


@pytest.mark.django_db(transaction=True)
@override_settings(CELERY_BROKER_URL=REDIS_URL)
@pytest.mark.skipif(not redis_up(), reason="Redis is not running on 127.0.0.1:6379")
def test_open_streams_hold_no_thread_and_no_connection_and_end_with_their_clients(admin_member: Member) -> None:
    async def scenario() -> dict[str, Any]:
        await asyncio.to_thread(threads_holding_a_connection)  # every worker thread started
        threads, out = threading.active_count(), connections_checked_out()
        streams = [open_stream(admin_member) for _ in range(5)]
        served = [asyncio.create_task(run()) for _, _, run in streams]
        while not all(any(b"event: ready" in m.get("body", b"") for m in sent) for _, sent, _ in streams):
            await asyncio.sleep(0.02)
        seen = {
            "threads": threading.active_count() - threads,
            "checked out": None if out is None else connections_checked_out() - out,
            "holding": await asyncio.to_thread(threads_holding_a_connection),
            "status": [sent[0]["status"] for _, sent, _ in streams],
            "type": [{k.lower(): v for k, v in sent[0]["headers"]}[b"content-type"] for _, sent, _ in streams],
        }
        for gone, _, _ in streams:
            gone.set()  # the browser closes the panel
        await asyncio.wait_for(asyncio.gather(*served), 5)  # each stream and its subscription stop with it
        return seen

    seen = asyncio.run(scenario())
    assert seen["status"] == [200] * 5 and seen["type"] == [b"text/event-stream"] * 5
    assert seen["threads"] == 0  # no thread per open stream
    assert seen["checked out"] in (None, 0)  # no pooled connection per open stream
    assert not any(seen["holding"])


@pytest.mark.django_db(transaction=True)
def test_a_failure_outside_the_middleware_hands_the_connection_back(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(request: object) -> None:
        connection.ensure_connection()  # the request got as far as the database
        raise RuntimeError("broken before any middleware could answer")

    monkeypatch.setattr(application.sync_handler, "get_response", broken)
    with pytest.raises(RuntimeError):
        asyncio.run(call("GET", "/login/"))
    assert not any(threads_holding_a_connection())

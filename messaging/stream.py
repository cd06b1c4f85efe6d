"""GET /api/stream/<resource>/<object_id>/: server-sent events telling an open panel its log changed.

It forwards only the fact that a message the user may see arrived (public button, or the user's own
click) or that the user's own read state changed; the page then fetches through the normal API.

The view is a sync view: the user, the company and the record are checked in one of the web process's
worker threads like any other request (oneclick.handlers), and that thread's database connection goes
back to the pool before the first event is sent. The stream itself then runs on the event loop and
holds no thread and no database connection: what it reads from the database (which of the record's
buttons are public) comes from a per-process directory shared by every open stream, refreshed at most
every BUTTONS_FRESH_SECONDS by one query in a thread of its own that returns its connection at once. Open
panels therefore take at most one pooled connection per process, for a moment, however many are open.

It answers 204 (EventSource stops retrying; the page polls) without Redis (the embedded local mode) and
under a WSGI server (runserver, gunicorn's sync workers), which would read the whole 5-minute stream
before sending a byte of it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse

from accounts.access import NOT_A_MEMBER, company_of, user_for_access
from accounts.authentication import EXPIRED, bearer_token
from buttons.models import Button
from buttons.records import Record, view_of
from messaging import live, public_ids
from messaging.hub import INBOX_MAX, PING, RESUMED, Dropped, hub

logger = logging.getLogger(__name__)

STREAM_SECONDS = 300  # then the browser reconnects: auth and button settings are checked afresh
BUTTONS_FRESH_SECONDS = 10  # a button made public (or private) is seen within this long
RETRY_MS = 2000

ButtonKey = tuple[int, str, str]  # company id, resource, view
ButtonInfo = tuple[str, bool]  # identifier, messages public


def _buttons_of(key: ButtonKey) -> dict[str, ButtonInfo]:
    """One query for a record view's buttons; the connection is handed back before returning, since
    no stream may keep a connection checked out."""
    company_id, resource, view = key
    try:
        rows = Button.objects.filter(company_id=company_id, resource=resource, view=view).values_list(
            "pk", "identifier", "messages_public"
        )
        return {str(pk): (str(identifier), public) for pk, identifier, public in rows}
    finally:
        connections.close_all()


class ButtonDirectory:
    """pk -> (identifier, public) per (company, resource, view), shared by every open stream of a process.

    A message arriving on a record with 500 open panels asks one query at most, not 500: loads of one
    key are shared while in flight, and their result serves every stream for BUTTONS_FRESH_SECONDS. The
    loads run one at a time in a thread of their own, so all the streams of a process take at most one
    pooled connection, for a moment, never the connections of the requests' threads. A load that fails
    (the database away) leaves the last answer in use, so open streams go on rather than end.
    """

    def __init__(self) -> None:
        self._known: dict[ButtonKey, tuple[float, dict[str, ButtonInfo]]] = {}
        self._loading: dict[ButtonKey, asyncio.Future[dict[str, ButtonInfo]]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stream-buttons")

    async def get(self, key: ButtonKey, pk: str, received: float) -> ButtonInfo | None:
        """The button of a message received at `received` (time.monotonic()); a button unknown to a
        load that began before the message arrived (made since) is looked up again."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # futures belong to one loop (a process has one; tests make several)
            self._known, self._loading, self._loop = {}, {}, loop
        started, buttons = self._known.get(key, (0.0, {}))
        if time.monotonic() - started > BUTTONS_FRESH_SECONDS or (pk not in buttons and started < received):
            buttons = await self._load(key)
        return buttons.get(pk)

    async def _load(self, key: ButtonKey) -> dict[str, ButtonInfo]:
        pending = self._loading.get(key)
        if pending is None:
            started = time.monotonic()
            pending = asyncio.get_running_loop().run_in_executor(self._thread, _buttons_of, key)
            self._loading[key] = pending
            pending.add_done_callback(lambda done: self._loaded(key, started, done))
        try:
            # shield: a stream whose browser left must not cancel the load other streams wait for
            return await asyncio.shield(pending)
        except Exception:  # noqa: BLE001 - the database is away: the last answer serves meanwhile
            logger.warning("Could not read the buttons of %s for live streams", key, exc_info=True)
            return self._known.get(key, (0.0, {}))[1]

    def _loaded(self, key: ButtonKey, started: float, done: asyncio.Future[dict[str, ButtonInfo]]) -> None:
        self._loading.pop(key, None)
        if not done.cancelled() and done.exception() is None:
            self._known[key] = (started, done.result())


directory = ButtonDirectory()


def forwardable(data: object, user_id: int, button: ButtonInfo | None) -> dict | None:
    """What the user may learn from one pub/sub payload, or None (never about others' private messages).

    A new message comes with itself, as the log API would show it to this user (the page shows it without
    asking again): its event_id, the clicker's credential, only to the clicker, and unread only for them.
    """
    if not isinstance(data, dict) or button is None:
        return None
    identifier, public = button
    if data.get("cleared"):
        return {"button": identifier, "cleared": True}
    mine = data.get("recipient") == user_id
    if data.get("read"):
        return {"button": identifier, "read": True} if mine else None
    if not (mine or public) or not isinstance(data.get("message_id"), int):
        return None
    event = {"button": identifier, "message_id": public_ids.to_public(data["message_id"]), "mine": mine}
    message = data.get("message")
    if isinstance(message, dict):
        event["message"] = message if mine else {**message, "event_id": None, "read": True}
    return event


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def _events(user_id: int, company_id: int, resource: str, object_id: str) -> AsyncIterator[str]:
    key: ButtonKey = (company_id, resource, view_of(object_id))
    channel = live.channel_name(company_id, resource, object_id)
    try:
        async with hub().listening((channel, live.company_channel(company_id))) as listener:
            yield f"retry: {RETRY_MS}\n" + sse("ready", {})
            ends = time.monotonic() + STREAM_SECONDS
            while time.monotonic() < ends:
                data = await listener.next()
                received = time.monotonic()
                if data == PING:
                    yield ": ping\n\n"
                    continue
                if data == RESUMED:  # Redis came back: the page fetches what it may have missed
                    yield sse("ready", {"resumed": True})
                    continue
                button = (await directory.get(key, str(data.get("button")), received)
                          if isinstance(data, dict) else None)
                event = forwardable(data, user_id, button)
                if event is not None:
                    yield sse("log", event)
    except asyncio.CancelledError:  # the browser went away
        raise
    except Dropped:  # this client fell behind: the stream ends, the browser reconnects and catches up
        logger.info("Live stream for %s dropped: its client fell %d events behind", channel, INBOX_MAX)
    except Exception:  # noqa: BLE001 - Redis (or the button query) failed: the page falls back to polling
        logger.warning("Live stream for %s stopped", channel, exc_info=True)
        yield sse("unavailable", {})


def _user_of(request: HttpRequest) -> AbstractBaseUser | AnonymousUser | None:
    """The session's user, or the embedded panel's bearer credential's (None: a bad or expired one)."""
    token = bearer_token(request.headers.get("Authorization", ""))
    if token is None:
        return request.user
    return user_for_access(token)


def stream(request: HttpRequest, resource: str, object_id: str) -> HttpResponse:
    user = _user_of(request)
    if user is None:
        return JsonResponse({"detail": EXPIRED}, status=401, headers={"WWW-Authenticate": "Bearer"})
    if not user.is_authenticated:
        return JsonResponse({"detail": "Authentication credentials were not provided."}, status=403)
    if Record.parse(resource, object_id) is None:
        raise Http404("Unknown record.")
    company_id = company_of(user.pk)
    if company_id is None:
        raise Http404(NOT_A_MEMBER)
    if live.redis_url() is None or not isinstance(request, ASGIRequest):
        return HttpResponse(status=204)  # EventSource stops retrying; the page polls
    response = StreamingHttpResponse(
        _events(user.pk, company_id, resource, object_id), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"  # nginx must not buffer the stream
    return response

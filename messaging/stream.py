"""GET /api/stream/<resource>/<object_id>/: server-sent events telling an open panel its log changed.

An async view (served by uvicorn workers) holding one Redis pub/sub subscription per open page. It
forwards only the fact that a message the user may see arrived (public button, or the user's own
click) or that the user's own read state changed; the page then fetches through the normal API.
Without Redis (the embedded local mode) it answers 204, which tells EventSource to stop, and the page
polls instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse

from buttons.access import NOT_A_MEMBER, company_of, user_for_access
from buttons.authentication import EXPIRED, bearer_token
from buttons.models import Button
from buttons.records import Record, view_of
from messaging import live, public_ids

logger = logging.getLogger(__name__)

PING_SECONDS = 15  # a comment line keeps proxies from closing an idle stream
STREAM_SECONDS = 300  # then the browser reconnects: auth and button settings are checked afresh
BUTTONS_FRESH_SECONDS = 10  # a button made public (or new) is seen within this long
RETRY_MS = 2000


class _Buttons:
    """pk -> (identifier, public) for the company's buttons on this record's resource and view."""

    def __init__(self, company_id: int, resource: str, object_id: str) -> None:
        self.query = Button.objects.filter(
            company_id=company_id, resource=resource, view=view_of(object_id)
        )
        self.known: dict[str, tuple[str, bool]] = {}
        self.loaded_at = 0.0

    async def get(self, pk: str) -> tuple[str, bool] | None:
        if pk not in self.known or time.monotonic() - self.loaded_at > BUTTONS_FRESH_SECONDS:
            rows = await sync_to_async(list)(self.query.values_list("pk", "identifier", "messages_public"))
            self.known = {str(b): (str(identifier), public) for b, identifier, public in rows}
            self.loaded_at = time.monotonic()
        return self.known.get(pk)


def forwardable(data: object, user_id: int, button: tuple[str, bool] | None) -> dict | None:
    """What the user may learn from one pub/sub payload, or None (never about others' private messages)."""
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
    return {"button": identifier, "message_id": public_ids.to_public(data["message_id"]), "mine": mine}


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def _events(user_id: int, company_id: int, resource: str, object_id: str) -> AsyncIterator[str]:
    buttons = _Buttons(company_id, resource, object_id)
    channel = live.channel_name(company_id, resource, object_id)
    try:
        async with live.subscription(channel, live.company_channel(company_id)) as pubsub:
            yield f"retry: {RETRY_MS}\n" + sse("ready", {})
            ends = time.monotonic() + STREAM_SECONDS
            while time.monotonic() < ends:
                raw = await pubsub.get_message(timeout=PING_SECONDS)
                if raw is None:
                    yield ": ping\n\n"
                    continue
                if raw.get("type") != "message":
                    continue
                try:
                    data = json.loads(raw["data"])
                except (TypeError, ValueError):
                    continue
                button = await buttons.get(str(data.get("button"))) if isinstance(data, dict) else None
                event = forwardable(data, user_id, button)
                if event is not None:
                    yield sse("log", event)
    except asyncio.CancelledError:  # the browser went away
        raise
    except Exception:  # noqa: BLE001 - Redis down or gone: the page falls back to polling
        logger.warning("Live stream for %s stopped", channel, exc_info=True)
        yield sse("unavailable", {})


async def _user_of(request: HttpRequest) -> AbstractBaseUser | AnonymousUser | None:
    """The session's user, or the embedded panel's bearer credential's (None: a bad or expired one)."""
    token = bearer_token(request.headers.get("Authorization", ""))
    if token is None:
        return await request.auser()
    return await sync_to_async(user_for_access)(token)


async def stream(request: HttpRequest, resource: str, object_id: str) -> HttpResponse:
    user = await _user_of(request)
    if user is None:
        return JsonResponse({"detail": EXPIRED}, status=401, headers={"WWW-Authenticate": "Bearer"})
    if not user.is_authenticated:
        return JsonResponse({"detail": "Authentication credentials were not provided."}, status=403)
    if Record.parse(resource, object_id) is None:
        raise Http404("Unknown record.")
    company_id = await sync_to_async(company_of)(user.pk)
    if company_id is None:
        raise Http404(NOT_A_MEMBER)
    if live.redis_url() is None:
        return HttpResponse(status=204)  # EventSource stops retrying; the page polls
    response = StreamingHttpResponse(
        _events(user.pk, company_id, resource, object_id), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"  # nginx must not buffer the stream
    return response

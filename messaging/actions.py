"""Messaging verbs: turning webhook responses and custom posts into messages, and reading them."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from buttons.models import Button, ClickEvent
from messaging import live
from messaging.models import MESSAGE_TYPE_NAMES, Message
from messaging.validation import IllegalMessage, validate_message

NOT_FOUND_OR_EXPIRED = "Not found or the event window is expired"
MAX_URL_LENGTH = 2000


class MessageRejected(Exception):
    """A custom message that is not stored; the sentence goes back to the automation as a 400."""


# --- Parsing what automations send --------------------------------------------------------------


def clean_redirect_url(value: object) -> str:
    """An http(s) URL with a host, or MessageRejected with a sentence."""
    if not isinstance(value, str):
        raise MessageRejected("redirect_url must be a string holding an http or https URL.")
    url = value.strip()
    if len(url) > MAX_URL_LENGTH:
        raise MessageRejected(f"redirect_url is longer than {MAX_URL_LENGTH} characters.")
    # Whitespace, controls, quotes or angle brackets never belong in a URL we hand to window.open().
    if any(ch.isspace() or ord(ch) < 32 or ch in '<>"`\\' for ch in url):
        raise MessageRejected("redirect_url contains characters that are not allowed in a URL.")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise MessageRejected("redirect_url is not a valid URL.") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or not parts.hostname:
        raise MessageRejected("redirect_url must be an http or https URL, like https://example.com/page.")
    return url


def clean_message_type(value: object) -> str:
    if value is None or value == "":
        return "info"
    if not isinstance(value, str) or value.strip().lower() not in MESSAGE_TYPE_NAMES:
        shown = str(value)[:30]
        raise MessageRejected(f"Unknown message_type '{shown}': use info, success, warning or error.")
    return value.strip().lower()


def clean_content(value: object) -> str:
    """Validated HTML content ('' when absent), or MessageRejected naming the problem."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise MessageRejected("message must be a string.")
    text = str(value)
    if not text.strip():
        return ""
    try:
        return validate_message(text)
    except IllegalMessage as exc:
        raise MessageRejected(str(exc)) from None


def redirected_to(url: str) -> str:
    return f"Redirected to {url}"


def interpret_response(status: int, body: str) -> tuple[str, str, str]:
    """(content, message_type, redirect_url) for a webhook's HTTP response, by DESIGN's rules."""
    ok = 200 <= status < 300
    text = body.strip()
    if not text:
        return ("Success", "info", "") if ok else ("Error", "error", "")
    # An error page or anything else that is not a valid message must never render; the status
    # still tells the user what happened.
    fallback = "Success" if ok else f"Error (HTTP {status})"
    data = _json_object(text)
    if data is not None and data.keys() & {"message", "message_type", "redirect_url"}:
        given = data.get("message_type")
        message_type = (given if given in MESSAGE_TYPE_NAMES else "info") if ok else "error"
        try:
            redirect = clean_redirect_url(data["redirect_url"]) if data.get("redirect_url") else ""
        except MessageRejected:
            redirect = ""
        try:
            content = clean_content(data.get("message"))
        except MessageRejected:
            return fallback, message_type, redirect
        if not content:
            content = redirected_to(redirect) if redirect else ("Success" if ok else "Error")
        return content, message_type, redirect
    message_type = "info" if ok else "error"
    try:
        return clean_content(text) or fallback, message_type, ""
    except MessageRejected:
        return fallback, message_type, ""


def _json_object(text: str) -> dict[str, Any] | None:
    if not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


# --- Storing --------------------------------------------------------------------------------------


def _store(event: ClickEvent, source: str, message_type: str, content: str, redirect_url: str) -> Message:
    message = Message.objects.create(
        event=event,
        button_id=event.button_id,
        company_id=event.company_id,
        resource=event.resource,
        object_id=event.object_id,
        recipient_id=event.user_id,
        source=source,
        message_type=message_type,
        content=content,
        redirect_url=redirect_url,
        created_at=timezone.now(),
    )
    transaction.on_commit(lambda: live.publish_message(message))
    return message


def record_response(event: ClickEvent, status: int, body: str) -> Message | None:
    """The webhook answered: its response becomes a message when the button logs responses."""
    button = event.button
    if not (button.messaging_enabled and button.log_http_responses):
        return None
    content, message_type, redirect = interpret_response(status, body)
    return _store(event, "http_response", message_type, content, redirect)


def record_delivery_failure(event: ClickEvent, error: str) -> Message | None:
    """The webhook never answered (refused, timed out, blocked): the clicker must hear of it."""
    if not event.button.messaging_enabled:
        return None
    return _store(event, "http_response", "error", error, "")


def parse_event_id(raw: object) -> uuid.UUID | None:
    if not isinstance(raw, str):
        return None
    try:
        return uuid.UUID(raw.strip())
    except ValueError:
        return None


def add_custom_message(data: dict[str, Any]) -> Message:
    """Store one custom message posted to /api/trigger-message, or raise MessageRejected.

    The window and the quota of 10 are enforced by one conditional UPDATE on the event row, so
    concurrent posts can never store an 11th message or one after the window.
    """
    if data.get("event_id") in (None, ""):
        raise MessageRejected("event_id is required: use the event_id from the button's webhook payload.")
    content = clean_content(data.get("message"))
    message_type = clean_message_type(data.get("message_type"))
    redirect = clean_redirect_url(data["redirect_url"]) if data.get("redirect_url") else ""
    if not content and not redirect:
        raise MessageRejected("Send a message, a redirect_url, or both.")
    if not content:
        content = redirected_to(redirect)

    event_id = parse_event_id(data.get("event_id"))
    if event_id is None:
        raise MessageRejected(NOT_FOUND_OR_EXPIRED)
    event = ClickEvent.objects.select_related("button").filter(pk=event_id).first()
    if event is None or not event.button.messaging_enabled or not event.window_open():
        raise MessageRejected(NOT_FOUND_OR_EXPIRED)
    with transaction.atomic():
        now = timezone.now()
        claimed = ClickEvent.objects.filter(
            pk=event_id, window_ends_at__gt=now, custom_message_count__lt=settings.MAX_CUSTOM_MESSAGES
        ).update(custom_message_count=F("custom_message_count") + 1)
        if claimed != 1:
            if now >= event.window_ends_at:
                raise MessageRejected(NOT_FOUND_OR_EXPIRED)
            raise MessageRejected(
                f"This event already has {settings.MAX_CUSTOM_MESSAGES} custom messages, the most it can have."
            )
        return _store(event, "custom", message_type, content, redirect)


# --- Reading --------------------------------------------------------------------------------------


def visible_after(button: Button) -> Q:
    """Clearing a button's messages hides them at once; the rows go later, in batches."""
    if button.messages_cleared_at is None:
        return Q()
    return Q(created_at__gt=button.messages_cleared_at)


def event_messages(event: ClickEvent) -> QuerySet[Message]:
    return event.messages.filter(visible_after(event.button)).order_by("-created_at", "-id")


def pending_redirect(event: ClickEvent, messages: list[Message]) -> str | None:
    """The latest redirect that arrived inside the window (redirects after it are not followed)."""
    for message in messages:  # newest first
        if message.redirect_url and message.created_at < event.window_ends_at:
            return message.redirect_url
    return None


def is_read_by(message: Message, user_id: int) -> bool:
    """Unread state belongs to the clicker; everybody else sees the message as read."""
    return message.recipient_id != user_id or message.read_at is not None


def unread_blocking_reason(button: Button, user_id: int, resource: str, object_id: str) -> str | None:
    """Why the disable rules stop this user clicking this button on this record, or None.

    Only the user's own unread messages count, also on public buttons (guide: "this only applies to
    the user who clicked the button").
    """
    if not button.messaging_enabled or not (button.disable_on_any_unread or button.disable_on_unread_error):
        return None
    unread = Message.objects.filter(
        visible_after(button),
        recipient_id=user_id,
        button=button,
        resource=resource,
        object_id=object_id,
        read_at__isnull=True,
    )
    if button.disable_on_any_unread and unread.exists():
        return "This button is disabled until you have read its messages on this record."
    if button.disable_on_unread_error and unread.filter(message_type="error").exists():
        return "This button is disabled until you have read its error messages on this record."
    return None

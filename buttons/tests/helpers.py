from __future__ import annotations

import uuid
from datetime import timedelta

from django.utils import timezone

from accounts.models import Member
from buttons.models import Button, ClickEvent
from deliveries.actions import ClickRequest, _webhook_payload
from messaging.models import Message


def make_event(button: Button, member: Member, object_id: str = "21389", **overrides: object) -> ClickEvent:
    """A click event as press_button makes it, without going through the API (or the queue)."""
    now = timezone.now()
    event_id = uuid.uuid4()
    click = ClickRequest(button.resource, button.view, [object_id], None)
    values: dict[str, object] = {
        "id": event_id,
        "button": button,
        "company_id": button.company_id,
        "user": member.user,
        "resource": button.resource,
        "view": button.view,
        "object_id": object_id,
        "selected_ids": [object_id],
        "payload": _webhook_payload(button, member, click, event_id),
        "created_at": now,
        "window_ends_at": now + timedelta(seconds=45),
    }
    values.update(overrides)
    return ClickEvent.objects.create(**values)


def make_message(event: ClickEvent, content: str = "Done", *, seconds: float = 1, **overrides: object) -> Message:
    """A message on an event, `seconds` after its click (as an automation's answer would be)."""
    values: dict[str, object] = {
        "event": event,
        "button_id": event.button_id,
        "company_id": event.company_id,
        "resource": event.resource,
        "object_id": event.object_id,
        "recipient_id": event.user_id,
        "source": "custom",
        "message_type": "info",
        "content": content,
        "created_at": event.created_at + timedelta(seconds=seconds),
    }
    values.update(overrides)
    return Message.objects.create(**values)


def make_past_event(button: Button, member: Member, minutes: float = 5, **overrides: object) -> ClickEvent:
    """A click some minutes ago, so its messages (seconds after it) are in the past too."""
    created_at = timezone.now() - timedelta(minutes=minutes)
    return make_event(button, member, created_at=created_at, window_ends_at=created_at + timedelta(seconds=45),
                      **overrides)

"""Messages made directly in the database, for the reading tests."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.models import Member
from buttons.models import Button
from buttons.tests.helpers import make_event
from messaging.models import Message

_clock = {"t": 0}


def message(button: Button, member: Member, object_id: str = "21389", *, content: str = "Done",
            message_type: str = "info", read: bool = False, redirect: str = "", event=None) -> Message:
    """One stored message of `member`'s click, each a little newer than the one before."""
    event = event or make_event(button, member, object_id)
    _clock["t"] += 1
    created = timezone.now() - timedelta(hours=1) + timedelta(milliseconds=_clock["t"])
    return Message.objects.create(
        event=event, button=button, company_id=button.company_id, resource=button.resource,
        object_id=event.object_id, recipient=member.user, source="custom", message_type=message_type,
        content=content, redirect_url=redirect, created_at=created, read_at=created if read else None,
    )


def panel(client, resource: str = "deal", object_id: str = "21389") -> dict[str, dict]:
    response = client.get(f"/api/panel/{resource}/{object_id}/")
    assert response.status_code == 200, response.content
    return {b["label"]: b for b in response.json()["buttons"]}

"""Buttons and click events a user may see: built on the access helper (accounts.access.scoped), and,
on a record, on the button's visibility rules (buttons.visibility.Viewer)."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.http import Http404

from accounts.access import RecordClaims, member_for, scoped
from buttons.models import Button, ClickEvent
from buttons.sources import RecordContext, RecordUnavailable
from buttons.visibility import NOT_AVAILABLE, UNKNOWN, Viewer


def buttons_for(user: AbstractBaseUser) -> QuerySet[Button]:
    """Every button query that serves a user starts here, scoped to the user's company."""
    return scoped(Button.objects.all(), user)


def get_button(user: AbstractBaseUser, identifier: object) -> Button:
    try:
        key = uuid.UUID(str(identifier))
    except ValueError:
        raise Http404("No such button.") from None
    button = buttons_for(user).filter(identifier=key).first()
    if button is None:
        raise Http404("No such button.")
    return button


def viewer_for(user: AbstractBaseUser, resource: str, object_id: str,
               claims: RecordClaims | None = None) -> Viewer:
    """The user on a record, as the visibility rules see them (claims: what the page's CRM vouched for)."""
    member = member_for(user)
    return Viewer(member, RecordContext(member, resource, object_id, claims))


def check_shown(button: Button, viewer: Viewer) -> None:
    """The form and the click of a button its rules hide on the viewer's record: a 404, NOT_AVAILABLE; of
    one whose rules need the deal's stage while the CRM cannot be asked: RecordUnavailable (a 503)."""
    verdict = viewer.verdict(button)
    if verdict is None:
        return
    if verdict == UNKNOWN and viewer.place().failed:
        raise RecordUnavailable(viewer.place().failed)
    raise Http404(NOT_AVAILABLE)


def get_own_event(user: AbstractBaseUser, event_id: object) -> ClickEvent:
    """A click event, for the user who clicked only."""
    try:
        key = uuid.UUID(str(event_id).strip())
    except ValueError:
        raise Http404("No such event.") from None
    event = ClickEvent.objects.select_related("button").filter(pk=key, user_id=user.pk).first()
    if event is None:
        raise Http404("No such event.")
    return event

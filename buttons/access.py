"""Who may see and do what: the one place that answers "which company is this user in".

Every query that serves a person starts here: the member of a user, the buttons and events they may
see, and company-admin rights in the admin panel and the API. Another company's button or event is
simply not found (a 404), never "forbidden", so ids do not leak which exist.
"""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser, Permission
from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from buttons.models import Button, ClickEvent, Member

# What `createmember --admin` grants: enough to manage buttons and read the logs, nothing else.
COMPANY_ADMIN_PERMISSIONS = (
    ("buttons", "view_button"),
    ("buttons", "add_button"),
    ("buttons", "change_button"),
    ("buttons", "delete_button"),
    ("buttons", "view_clickevent"),
    ("messaging", "view_message"),
)
NOT_A_MEMBER = "You are not a member of any company."


def member_for(user: AbstractBaseUser) -> Member:
    """The user's company membership; users who belong to no company see nothing at all."""
    try:
        return user.member  # type: ignore[attr-defined]
    except (Member.DoesNotExist, AttributeError):
        raise Http404(NOT_A_MEMBER) from None


def company_of(user_id: int) -> int | None:
    """The company id of a user, or None: for callers without the user object (the live stream)."""
    return Member.objects.filter(user_id=user_id).values_list("company_id", flat=True).first()


def buttons_for(user: AbstractBaseUser) -> QuerySet[Button]:
    """Every button query that serves a user starts here, scoped to the user's company."""
    return Button.objects.filter(company_id=member_for(user).company_id)


def get_button(user: AbstractBaseUser, identifier: object) -> Button:
    try:
        key = uuid.UUID(str(identifier))
    except ValueError:
        raise Http404("No such button.") from None
    button = buttons_for(user).filter(identifier=key).first()
    if button is None:
        raise Http404("No such button.")
    return button


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


def is_company_admin(user: AbstractBaseUser | None) -> bool:
    """May manage the company's buttons through the API."""
    if user is None or not user.is_authenticated:
        return False
    try:
        return bool(user.member.is_company_admin)  # type: ignore[attr-defined]
    except (Member.DoesNotExist, AttributeError):
        return False


def admin_company_of(request: HttpRequest) -> int | None:
    """For the admin panel: None for superusers (no scoping); otherwise the admin's company, or -1
    (matches nothing) for a staff user who is not a company admin. Looked up once per request."""
    if request.user.is_superuser:
        return None
    cached = getattr(request, "_oneclick_company_id", None)
    if cached is None:
        member = Member.objects.filter(user_id=request.user.pk, is_company_admin=True).only("company_id").first()
        cached = member.company_id if member else -1
        request._oneclick_company_id = cached  # type: ignore[attr-defined]
    return cached


def may_use_admin(request: HttpRequest) -> bool:
    return request.user.is_active and (request.user.is_superuser or admin_company_of(request) != -1)


def _company_admin_permissions() -> QuerySet[Permission]:
    return Permission.objects.filter(
        content_type__app_label__in={app for app, _ in COMPANY_ADMIN_PERMISSIONS},
        codename__in={code for _, code in COMPANY_ADMIN_PERMISSIONS},
    )


def grant_company_admin_permissions(user: AbstractBaseUser) -> None:
    user.user_permissions.add(*_company_admin_permissions())  # type: ignore[attr-defined]


def revoke_company_admin_permissions(user: AbstractBaseUser) -> None:
    user.user_permissions.remove(*_company_admin_permissions())  # type: ignore[attr-defined]

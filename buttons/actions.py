"""Button verbs: bootstrapping members and pressing a button (its webhook goes out in buttons.delivery)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from buttons import tasks
from buttons.access import (
    get_button,
    grant_company_admin_permissions,
    member_for,
    revoke_company_admin_permissions,
)
from buttons.models import LIST_OBJECT_ID, TEST_OBJECT_ID, Button, ClickEvent, Company, Member
from buttons.records import MAX_OBJECT_ID_LENGTH, is_object_id
from buttons.signing import generate_embed_secret
from messaging import reads
from oneclick.logs import events

MAX_SELECTED_IDS = 500
MAX_FIELDS_BYTES = 16 * 1024
T = TypeVar("T")


class ClickRefused(Exception):
    """A click that is not accepted; `status` is the HTTP status the sentence goes back with."""

    def __init__(self, sentence: str, status: int) -> None:
        super().__init__(sentence)
        self.status = status


# --- Bootstrapping --------------------------------------------------------------------------------


@transaction.atomic
def create_member(
    username: str,
    password: str,
    company_external_id: str,
    *,
    company_name: str | None = None,
    user_external_id: str | None = None,
    is_admin: bool = False,
) -> Member:
    """Create a user in a company (created if new). Company admins get admin-panel access."""
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise ValueError(f"A user named {username!r} already exists.")
    company, created = Company.objects.get_or_create(
        external_id=company_external_id, defaults={"name": company_name or f"Company {company_external_id}"}
    )
    if not created and company_name and company.name != company_name:
        company.name = company_name
        company.save(update_fields=["name"])
    user = User.objects.create_user(username=username, password=password, is_staff=is_admin)
    external = user_external_id or str(user.pk)
    if Member.objects.filter(company=company, external_id=external).exists():
        raise ValueError(f"Company {company_external_id} already has a member with user id {external}.")
    member = Member.objects.create(user=user, company=company, external_id=external, is_company_admin=is_admin)
    if is_admin:
        grant_company_admin_permissions(user)
    return member


# --- Members the CRM vouches for (buttons.embedding verified who they are) ----------------------------


def _new_member(company: Company, user_id: str, *, name: str = "", email: str = "", is_admin: bool = False) -> Member:
    """A user who signs in through the CRM only: no password of ours."""
    User = get_user_model()
    username = f"crm-{company.pk}-{user_id}"[:150]
    if User.objects.filter(username=username).exists():  # an operator's user took the name
        username = f"{username[:140]}-{uuid.uuid4().hex[:8]}"
    user = User(username=username, first_name=name[:150], email=email[:254], is_staff=is_admin)
    user.set_unusable_password()
    user.save()
    member = Member.objects.create(user=user, company=company, external_id=user_id, is_company_admin=is_admin)
    if is_admin:
        grant_company_admin_permissions(user)
    return member


def join_from_crm(company: Company, user_id: str, name: str = "") -> Member:
    """The member a CRM's token names; a new user of the company joins as a plain member."""
    members = Member.objects.select_related("user", "company")
    member = members.filter(company=company, external_id=user_id).first()
    if member is not None:
        return member
    try:
        with transaction.atomic():
            return _new_member(company, user_id, name=name)
    except IntegrityError:  # the same user's first two requests at once: the other one made it
        return members.get(company=company, external_id=user_id)


@transaction.atomic
def install_from_pipedrive(*, company_id: str, company_name: str, user_id: str, name: str = "", email: str = "",
                           is_admin: bool = False) -> Member:
    """Pipedrive's OAuth callback: the company and the installing user, active again if they had
    uninstalled; company admin exactly when Pipedrive says the user is an admin there."""
    company, created = Company.objects.get_or_create(
        external_id=company_id, defaults={"name": company_name or f"Company {company_id}"})
    if not created and company_name and company.name != company_name:
        company.name = company_name
        company.save(update_fields=["name"])
    member = Member.objects.select_related("user").select_for_update().filter(
        company=company, external_id=user_id).first()
    if member is None:
        member = _new_member(company, user_id, name=name, email=email, is_admin=is_admin)
        events.info("member_installed", company=company.external_id, user=user_id, admin=is_admin)
        return member
    member.is_active, member.is_company_admin = True, is_admin
    member.save(update_fields=["is_active", "is_company_admin"])
    user = member.user
    user.is_staff = is_admin or user.is_superuser
    user.first_name = name[:150] or user.first_name
    user.email = email[:254] or user.email
    user.save(update_fields=["is_staff", "first_name", "email"])
    (grant_company_admin_permissions if is_admin else revoke_company_admin_permissions)(user)
    events.info("member_installed", company=company.external_id, user=user_id, admin=is_admin)
    return member


def uninstall_from_pipedrive(company_id: str, user_id: str) -> bool:
    """Pipedrive's uninstall callback: that member is no longer active (no panel, no clicks). False when
    there was no active member to uninstall."""
    changed = Member.objects.filter(company__external_id=company_id, external_id=user_id, is_active=True).update(
        is_active=False)
    events.info("member_uninstalled", company=company_id, user=user_id, changed=bool(changed))
    return bool(changed)


def rotate_embed_secret(company: Company) -> str:
    """A new embed secret for the company (shown once to the admin); tokens signed with the old one stop."""
    company.embed_secret = generate_embed_secret()
    company.save(update_fields=["embed_secret"])
    return company.embed_secret


# --- Pressing a button ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ClickRequest:
    resource: str
    view: str
    selected_ids: list[str]
    fields: dict[str, Any] | None


def parse_selected_ids(value: object) -> list[str]:
    """selectedIds as the CRM sends it: a list, or a comma-joined string; ids are short tokens."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        items: list[object] = value.split(",")
    elif isinstance(value, int) and not isinstance(value, bool):
        items = [value]
    elif isinstance(value, list):
        items = value
    else:
        raise ClickRefused("selectedIds must be a list of ids or a comma-separated string.", 400)
    ids: list[str] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise ClickRefused("selectedIds must contain only ids (strings or numbers).", 400)
        text = str(item).strip()
        if not is_object_id(text) or "," in text:  # each id may be a record of its own
            raise ClickRefused(
                f"Each selected id must be 1 to {MAX_OBJECT_ID_LENGTH} printable characters without commas.", 400
            )
        ids.append(text)
    if len(ids) > MAX_SELECTED_IDS:
        raise ClickRefused(f"At most {MAX_SELECTED_IDS} records can be selected for one click.", 400)
    return ids


def _object_id(button: Button, click: ClickRequest) -> str:
    if click.view == "list":
        return LIST_OBJECT_ID  # a list's messages belong to the list (buttons.records)
    if len(click.selected_ids) != 1:
        raise ClickRefused("A click in details view needs exactly one selected id: the record's id.", 400)
    return click.selected_ids[0]


def _webhook_payload(button: Button, member: Member, click: ClickRequest, event_id: uuid.UUID) -> dict:
    payload: dict[str, Any] = {
        "identifier": str(button.identifier),
        "resource": click.resource,
        "view": click.view,
        "userId": member.external_id,
        "companyId": member.company.external_id,
        "selectedIds": ",".join(click.selected_ids),
        "fields": click.fields,
    }
    if button.messaging_enabled:
        payload["event_id"] = str(event_id)
    return payload


def press_button(user: AbstractBaseUser, identifier: object, click: ClickRequest) -> ClickEvent:
    """Record a click and queue its webhook. Raises Http404 or ClickRefused(sentence, status)."""
    member = member_for(user)
    button = get_button(user, identifier)
    if button.kind == "link":
        raise ClickRefused("This is a link button: it opens its URL in the browser and sends no webhook.", 400)
    if click.resource != button.resource:
        raise ClickRefused(f"This button is for {button.resource} records, not {click.resource}.", 400)
    if click.view != button.view:
        raise ClickRefused(f"This button is shown in the {button.view} view, not the {click.view} view.", 400)
    if click.fields is not None and len(json.dumps(click.fields)) > MAX_FIELDS_BYTES:
        raise ClickRefused(f"fields is too large: at most {MAX_FIELDS_BYTES // 1024} KB of JSON.", 400)
    object_id = _object_id(button, click)
    reason = reads.unread_blocking_reason(button, user.pk, click.resource, object_id)
    if reason:
        raise ClickRefused(reason, 409)
    return _record_click(button, member, click, object_id)


# What a test click sends: the exact shape of a real click's payload, with sample record ids.
SAMPLE_SELECTED_IDS = {"details": ["12345"], "list": ["12345", "12346"]}


def send_test_click(user: AbstractBaseUser, identifier: object) -> ClickEvent:
    """An admin's test click: the button's real webhook (payload shape, signature, a real event_id with
    its 45 s window) with sample record ids, so Make's "Redetermine data structure" or Zapier's "Test
    trigger" can learn the payload. It belongs to no record (TEST_OBJECT_ID): its answer and messages
    reach the admin's test page only, never a member's log. Raises Http404 for another company's button
    and ClickRefused for a link button."""
    member = member_for(user)
    button = get_button(user, identifier)
    if button.kind == "link":
        raise ClickRefused("A link button sends no webhook, so there is nothing to test.", 400)
    click = ClickRequest(button.resource, button.view, SAMPLE_SELECTED_IDS[button.view], None)
    return _record_click(button, member, click, TEST_OBJECT_ID, is_test=True)


def _record_click(button: Button, member: Member, click: ClickRequest, object_id: str, *,
                  is_test: bool = False) -> ClickEvent:
    now = timezone.now()
    event_id = uuid.uuid4()
    with transaction.atomic():
        event = ClickEvent.objects.create(
            id=event_id,
            button=button,
            company_id=button.company_id,
            user=member.user,
            resource=click.resource,
            view=click.view,
            object_id=object_id,
            selected_ids=click.selected_ids,
            fields=click.fields,
            payload=_webhook_payload(button, member, click, event_id),
            created_at=now,
            window_ends_at=now + timedelta(seconds=settings.EVENT_WINDOW_SECONDS),
            is_test=is_test,
        )
        # Enqueue only once the event is visible to the worker; a broker failure surfaces here.
        transaction.on_commit(lambda: _enqueue_delivery(event))
    events.info("test_click" if is_test else "click", event_id=str(event_id), button=str(button.identifier),
                company=button.company_id, user=member.external_id, resource=click.resource, object_id=object_id)
    return event


class QueueUnavailable(Exception):
    pass


def _enqueue_delivery(event: ClickEvent) -> None:
    try:
        tasks.deliver_click.apply_async(args=[str(event.pk), event.company_id], retry=True)
    except (OperationalError, OSError) as exc:
        events.error("delivery_not_queued", event_id=str(event.pk), error=exc.__class__.__name__)
        error = "The task queue is unavailable, so the webhook was not sent."
        ClickEvent.objects.filter(pk=event.pk, delivery="pending").update(delivery="failed", error=error)
        raise QueueUnavailable("The click could not be processed right now; please try again shortly.") from exc

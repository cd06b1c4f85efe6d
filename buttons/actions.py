"""Button verbs: bootstrapping members, pressing a button, delivering its webhook."""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django import db
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from kombu.exceptions import OperationalError

from buttons import webhooks
from buttons.models import LIST_OBJECT_ID, Button, ClickEvent, Company, Member
from buttons.signing import signature_headers
from messaging import actions as messaging

logger = logging.getLogger(__name__)

MAX_SELECTED_IDS = 500
MAX_ID_LENGTH = 64
MAX_FIELDS_BYTES = 16 * 1024


class ClickRefused(Exception):
    """A click that is not accepted; `status` is the HTTP status the sentence goes back with."""

    def __init__(self, sentence: str, status: int) -> None:
        super().__init__(sentence)
        self.status = status


# --- Access ---------------------------------------------------------------------------------------


def member_for(user: AbstractBaseUser) -> Member:
    """The user's company membership; users who belong to no company see nothing at all."""
    try:
        return user.member  # type: ignore[attr-defined]
    except (Member.DoesNotExist, AttributeError):
        raise Http404("You are not a member of any company.") from None


def buttons_for(user: AbstractBaseUser):
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
    key = messaging.parse_event_id(str(event_id))
    event = (
        ClickEvent.objects.select_related("button").filter(pk=key, user_id=user.pk).first() if key else None
    )
    if event is None:
        raise Http404("No such event.")
    return event


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
        from buttons.admin import grant_company_admin_permissions

        grant_company_admin_permissions(user)
    return member


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
        if not text or len(text) > MAX_ID_LENGTH or "," in text or not text.isprintable():
            raise ClickRefused(
                f"Each selected id must be 1 to {MAX_ID_LENGTH} printable characters without commas.", 400
            )
        ids.append(text)
    if len(ids) > MAX_SELECTED_IDS:
        raise ClickRefused(f"At most {MAX_SELECTED_IDS} records can be selected for one click.", 400)
    return ids


def _object_id(button: Button, click: ClickRequest) -> str:
    if click.view == "list":
        return LIST_OBJECT_ID
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
    reason = messaging.unread_blocking_reason(button, user.pk, click.resource, object_id)
    if reason:
        raise ClickRefused(reason, 409)

    now = timezone.now()
    event_id = uuid.uuid4()
    with transaction.atomic():
        event = ClickEvent.objects.create(
            id=event_id,
            button=button,
            company_id=button.company_id,
            user=user,
            resource=click.resource,
            view=click.view,
            object_id=object_id,
            selected_ids=click.selected_ids,
            fields=click.fields,
            payload=_webhook_payload(button, member, click, event_id),
            created_at=now,
            window_ends_at=now + timedelta(seconds=settings.EVENT_WINDOW_SECONDS),
        )
        # Enqueue only once the event is visible to the worker; a broker failure surfaces here.
        transaction.on_commit(lambda: _enqueue_delivery(event))
    return event


class QueueUnavailable(Exception):
    pass


def _enqueue_delivery(event: ClickEvent) -> None:
    from buttons.tasks import deliver_click

    try:
        deliver_click.apply_async(args=[str(event.pk)], retry=True)
    except (OperationalError, OSError) as exc:
        logger.error("Could not queue the webhook of event %s: %s", event.pk, exc)
        error = "The task queue is unavailable, so the webhook was not sent."
        ClickEvent.objects.filter(pk=event.pk, delivery="pending").update(delivery="failed", error=error)
        raise QueueUnavailable("The click could not be processed right now; please try again shortly.") from exc


# --- Delivering the webhook -----------------------------------------------------------------------

RETRY_DELAYS = (1.0, 2.0)  # a refused connection or DNS failure is retried at most twice


def deliver_click(event_id: str) -> None:
    """Send the click's webhook at most once and record what came back.

    The conditional UPDATE claims the event: a redelivered or duplicated task finds it claimed and
    stops, so a receiver never sees the same click twice.
    """
    claimed = ClickEvent.objects.filter(pk=event_id, claimed_at__isnull=True, delivery="pending").update(
        claimed_at=timezone.now()
    )
    if claimed != 1:
        logger.info("Event %s is already claimed; not sending its webhook again.", event_id)
        return
    event = ClickEvent.objects.select_related("button").get(pk=event_id)
    button = event.button
    body = json.dumps(event.payload, separators=(",", ":")).encode()
    headers = {"Idempotency-Key": str(event.pk)}
    if button.signing_secret:
        headers |= signature_headers(button.signing_secret, str(event.pk), int(time.time()), body)

    # A webhook may take 40 s: hand the database connection back (to the pool) rather than sit on it.
    if not db.connection.in_atomic_block:
        db.connection.close()
    attempts = 0
    response: webhooks.WebhookResponse | None = None
    failure: webhooks.WebhookError | None = None
    while True:
        attempts += 1
        try:
            webhooks.check_destination(button.url, resolve=False)
            response = webhooks.post_json(button.url, body, headers)
            failure = None
            break
        except webhooks.WebhookError as exc:
            failure = exc
        except ValidationError as exc:  # a URL saved before a rule changed
            failure = webhooks.WebhookError(f"The webhook was not sent: {exc.messages[0]}", retryable=False)
        delay = RETRY_DELAYS[attempts - 1] if attempts <= len(RETRY_DELAYS) else None
        closes_in = (event.window_ends_at - timezone.now()).total_seconds()
        if not failure.retryable or delay is None or delay >= closes_in:
            break
        time.sleep(delay)

    with transaction.atomic():
        # The UPDATE locks the event's row until the message is stored, so the retention purge
        # (which skips rows changed under it) cannot delete the event in between; if the event is
        # already gone (its button deleted, or retention after a very late delivery), nothing is
        # stored: a message must not outlive its event (messages.event has no database constraint).
        if response is not None:
            found = ClickEvent.objects.filter(pk=event.pk).update(
                delivery="delivered",
                http_status=response.status,
                duration_ms=response.duration_ms,
                attempts=attempts,
                error="",
            )
            if found:
                messaging.record_response(event, response.status, response.body)
        else:
            assert failure is not None
            found = ClickEvent.objects.filter(pk=event.pk).update(
                delivery="failed", duration_ms=failure.duration_ms, attempts=attempts, error=str(failure)
            )
            if found:
                messaging.record_delivery_failure(event, str(failure))
        if not found:
            logger.info("Event %s was deleted while its webhook was in flight; its answer is not kept.", event.pk)


# --- Deliveries that never finished ----------------------------------------------------------------

# A click's task can be lost (a broker restarted without persistence, a worker killed mid-task). The
# clicker must still hear of it rather than watch the button forget the click when the window closes.
STALLED_QUEUE_MINUTES = 5  # never picked up: lost, or a queue this far behind is as good as lost
STALLED_AFTER_CLAIM = timedelta(seconds=settings.EVENT_WINDOW_SECONDS + settings.WEBHOOK_TOTAL_TIMEOUT + 60)
STALLED_BATCH = 500
NOT_SENT_IN_TIME = (
    f"The webhook was not sent within {STALLED_QUEUE_MINUTES} minutes of the click (the task queue lost it or"
    " is far behind), so it will not be sent. Please press the button again."
)
INTERRUPTED = (
    "The webhook's delivery was interrupted (its worker stopped), so whether the automation received"
    " the click is unknown."
)


def fail_stalled_deliveries(now: datetime | None = None) -> int:
    """Mark clicks whose delivery never finished as failed, with an error message for the clicker.

    A claimed delivery always ends within the window plus the webhook's deadline, so one older than
    that has lost its worker; an unclaimed one older than STALLED_QUEUE_MINUTES is not sent any more
    (a late task finds it failed and stops, as for a duplicate). Runs every minute (Celery beat).
    """
    now = now or timezone.now()
    stalled = ClickEvent.objects.filter(
        delivery="pending", created_at__lt=now - timedelta(minutes=STALLED_QUEUE_MINUTES)
    ).exclude(claimed_at__gte=now - STALLED_AFTER_CLAIM)
    failed = 0
    for event in stalled.select_related("button").order_by("created_at")[:STALLED_BATCH]:
        error = NOT_SENT_IN_TIME if event.claimed_at is None else INTERRUPTED
        with transaction.atomic():
            # Conditional: a delivery finishing at this moment keeps its own outcome.
            if ClickEvent.objects.filter(pk=event.pk, delivery="pending").update(delivery="failed", error=error):
                messaging.record_delivery_failure(event, error)
                failed += 1
    if failed:
        logger.warning("Marked %d stalled webhook deliveries as failed", failed)
    return failed

"""Pressing a button: the click is recorded with its window and its webhook queued (sent by
deliveries.delivery); an admin's test click the same way, for no record."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from accounts.access import RecordClaims, member_for
from accounts.models import Member
from buttons import fields
from buttons.models import LIST_OBJECT_ID, TEST_OBJECT_ID, Button, ClickEvent, window_end
from buttons.reads import check_shown, get_button, viewer_for
from buttons.records import MAX_OBJECT_ID_LENGTH, is_object_id
from buttons.sources import RecordContext, RecordUnavailable, record_values
from buttons.visibility import Viewer
from core.logs import events
from deliveries import tasks
from messaging import reads

MAX_SELECTED_IDS = 500
MAX_FIELDS_BYTES = 16 * 1024


class ClickRefused(Exception):
    """A click that is not accepted; `status` is the HTTP status the sentence goes back with."""

    def __init__(self, sentence: str, status: int, field: str | None = None) -> None:
        super().__init__(sentence)
        self.status = status
        self.field = field  # the input the sentence is about, for the form to show it beside


# --- Pressing a button ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ClickRequest:
    resource: str
    view: str
    selected_ids: list[str]
    fields: dict[str, Any] | None
    # What a signed embed's host vouched for about the record (accounts.access.record_claims), or None.
    claims: RecordClaims | None = None


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


def asked_fields(button: Button, member: Member, click: ClickRequest, object_id: str) -> dict[str, Any] | None:
    """The webhook's `fields`: for a button with definitions, every key (inputs checked, record values
    read from the CRM by the server); otherwise the click's own object, as before."""
    definitions = button.fields or []
    if not definitions:
        return click.fields
    try:
        inputs = fields.clean_inputs(definitions, click.fields)
    except fields.FieldError as exc:
        raise ClickRefused(str(exc), 400, exc.key) from None
    record = _record(definitions, RecordContext(member, click.resource, object_id, click.claims))
    return fields.webhook_fields(definitions, inputs, record)


def _record(definitions: list[dict[str, Any]], context: RecordContext) -> dict[str, Any]:
    """The record's values when a definition shows one ({} for a list, which is no record); the CRM
    being unreachable is a 503 with its sentence."""
    if not fields.needs_record(definitions) or context.object_id == LIST_OBJECT_ID:
        return {}
    try:
        return record_values(context)
    except RecordUnavailable as exc:
        raise ClickRefused(str(exc), 503) from None


def _check_shown(button: Button, viewer: Viewer) -> None:
    try:
        check_shown(button, viewer)
    except RecordUnavailable as exc:
        raise ClickRefused(str(exc), 503) from None


def button_form(user: AbstractBaseUser, identifier: object, resource: str, object_id: str,
                claims: RecordClaims | None = None) -> dict[str, Any]:
    """What pressing the button asks first (GET /api/buttons/<identifier>/form): its fields, record values
    read now from the CRM (null where the record has none), inputs empty, and its confirmation."""
    member = member_for(user)
    button = get_button(user, identifier)
    if button.kind == "link":
        raise ClickRefused("A link button opens its URL at once: it asks nothing.", 400)
    if resource != button.resource:
        raise ClickRefused(f"This button is for {button.resource} records, not {resource}.", 400)
    _check_shown(button, viewer_for(user, resource, object_id, claims))
    definitions = button.fields or []
    record = _record(definitions, RecordContext(member, resource, object_id, claims))
    shown = [{"key": d["key"], "label": d["label"], "kind": d["kind"], "type": d["type"], "required": d["required"],
              "options": d["options"], "value": record.get(d["source"]) if d["kind"] == "record" else None}
             for d in definitions]
    return {"fields": shown, "confirm": button.confirm,
            "confirm_text": button.confirmation() if button.confirm else None}


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
    _check_shown(button, viewer_for(user, click.resource, object_id, click.claims))
    reason = reads.unread_blocking_reason(button, user.pk, click.resource, object_id)
    if reason:
        raise ClickRefused(reason, 409)
    click = replace(click, fields=asked_fields(button, member, click, object_id))
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
    # A sample of every field's shape, so the automation's platform learns them all.
    samples = fields.sample_fields(button.fields) if button.fields else None
    click = ClickRequest(button.resource, button.view, SAMPLE_SELECTED_IDS[button.view], samples)
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
            window_ends_at=window_end(now),
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

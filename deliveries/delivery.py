"""Delivering a click's webhook: at most once, inside its window, and its outcome recorded.

The claim and the recording are single statements (deliveries.claim); database faults are retried
around them, the webhook itself never after it may have reached the receiver. The stalled-delivery
sweep ends the clicks whose delivery will never finish, each with a message for its clicker.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from django import db
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from buttons.headers import to_send
from buttons.models import ClickEvent
from core.destinations import check_destination
from core.logs import events
from core.secrets import signature_headers
from deliveries import claim, webhooks
from deliveries.shares import shares
from messaging import actions as message_actions
from messaging.incoming import body_excerpt, read_response

T = TypeVar("T")

RETRY_DELAYS = (1.0, 2.0)  # a refused connection or DNS failure is retried at most twice
# A webhook leaves only while this much of its click's window is left: an automation called later
# could not send its custom messages back in time anyway (README: a webhook leaves within the window or not at all).
LATEST_START = timedelta(seconds=5)
# A delivery that reached the receiver retries storing its answer through a database outage this long
# (the sweep below would otherwise call the click interrupted, although the automation received it).
RECORD_PATIENCE_SECONDS = 600.0
DB_RETRY_DELAYS = (0.1, 0.25, 0.5, 1.0, 2.0)  # then every 2 s

TOO_BUSY = "The automation was not called: OneClick was too busy. Press the button again."
INTERRUPTED = (
    "The webhook's delivery was interrupted (its worker stopped), so whether the automation received"
    " the click is unknown."
)


def _with_db_retries(step: Callable[[], T], *, give_up_at: float, what: str, event_id: object) -> T:
    """Run a database step, retrying while the database is unreachable (a restart, a dead pooled
    connection) until `give_up_at` (time.monotonic()); then the last error is raised."""
    for attempt in itertools.count():
        try:
            return step()
        except (db.OperationalError, db.InterfaceError) as exc:
            if not db.connection.in_atomic_block:  # (a test's transaction is no pool's connection)
                db.connection.close()  # a broken connection goes back to the pool, which discards it
            delay = DB_RETRY_DELAYS[min(attempt, len(DB_RETRY_DELAYS) - 1)]
            if time.monotonic() + delay > give_up_at:
                raise
            events.warning("database_retry", step=what, event_id=str(event_id), attempt=attempt + 1,
                           error=exc.__class__.__name__)
            time.sleep(delay)
    raise AssertionError("unreachable")


def _claim(event_id: str, token: uuid.UUID) -> ClickEvent | None:
    """Take the event for this task (a conditional UPDATE), or None if it is not to be sent by it.

    The token makes a retried claim idempotent: when the database died between the claim's commit and
    its answer, the retry finds the claim its own instead of someone else's.
    """
    now = timezone.now()
    event = claim.claim(event_id, token, now=now, leaves_by=now + LATEST_START)
    if event is None:
        _fail_unsent(event_id, now)
    return event


def _fail_unsent(event_id: str, now: datetime) -> None:
    """An event this task cannot send: a duplicate task's (already claimed or ended), or one whose
    window is nearly over, which ends at once with a message so its clicker does not wait for it."""
    late = ClickEvent.objects.filter(pk=event_id, delivery="pending", claimed_at__isnull=True,
                                     window_ends_at__lte=now + LATEST_START)
    event = late.select_related("button").first()
    if event is not None and _end_unfinished(event, TOO_BUSY):
        return
    events.info("delivery_skipped", event_id=event_id, reason="already claimed or ended")


def deliver_click(event_id: str) -> None:
    """Send the click's webhook at most once and record what came back.

    The claim is a conditional UPDATE: a redelivered or duplicated task finds the event claimed and
    stops, so a receiver never sees the same click twice. Database faults before the webhook leaves
    are retried (nothing was sent yet); after it left, storing the answer is retried until it is stored.
    """
    token = uuid.uuid4()
    latest = time.monotonic() + settings.EVENT_WINDOW_SECONDS
    event = _with_db_retries(lambda: _claim(event_id, token), give_up_at=latest, what="claim", event_id=event_id)
    if event is None:
        return
    button = event.button
    body = json.dumps(event.payload, separators=(",", ":")).encode()
    # The button's own headers first (their names can never be OneClick's: buttons.headers).
    headers = {**to_send(button.headers or []), "Idempotency-Key": str(event.pk)}
    if button.signing_secret:
        headers |= signature_headers(button.signing_secret, str(event.pk), int(time.time()), body)

    # A webhook may take 40 s: hand the database connection back (to the pool) rather than sit on it.
    if not db.connection.in_atomic_block:
        db.connection.close()
    context = {"event_id": str(event.pk), "button": str(button.identifier), "company": event.company_id}
    deadline = time.monotonic() + settings.WEBHOOK_TOTAL_TIMEOUT
    attempts = 0
    response: webhooks.WebhookResponse | None = None
    failure: webhooks.WebhookError | None = None
    while True:
        attempts += 1
        events.info("delivery_attempt", attempt=attempts, **context)
        try:
            check_destination(button.url, resolve=False)
            response = webhooks.post_json(button.url, body, headers, deadline=deadline)
            failure = None
            break
        except webhooks.WebhookError as exc:
            failure = exc
        except ValidationError as exc:  # a URL saved before a rule changed
            failure = webhooks.WebhookError(f"The webhook was not sent: {exc.messages[0]}", retryable=False)
        delay = RETRY_DELAYS[attempts - 1] if attempts <= len(RETRY_DELAYS) else None
        closes_in = (event.window_ends_at - timezone.now()).total_seconds()
        if not failure.retryable or delay is None or delay >= min(closes_in, deadline - time.monotonic()):
            break
        time.sleep(delay)

    if response is not None:
        events.info("delivery_delivered", http_status=response.status, duration_ms=response.duration_ms,
                    attempts=attempts, **context)
    else:
        assert failure is not None
        events.warning("delivery_failed", error=str(failure), duration_ms=failure.duration_ms,
                       attempts=attempts, **context)
    _with_db_retries(lambda: _record_outcome(event, token, attempts, response, failure),
                     give_up_at=time.monotonic() + RECORD_PATIENCE_SECONDS, what="record", event_id=event.pk)


def deliver_in_turn(event_id: str, company_id: int | None = None) -> None:
    """Deliver a click within its company's share of this process's slots (deliveries.shares); then, in
    the same slot, the company's clicks that were parked behind it."""
    if company_id is None:  # a task queued before tasks carried the company
        company_id = _with_db_retries(
            lambda: ClickEvent.objects.filter(pk=event_id).values_list("company_id", flat=True).first(),
            give_up_at=time.monotonic() + settings.EVENT_WINDOW_SECONDS, what="company", event_id=event_id)
        if company_id is None:
            return
    if not shares.enter(company_id, event_id):
        events.info("delivery_parked", event_id=event_id, company=company_id, waiting=shares.waiting(company_id))
        return
    current: str | None = event_id
    while current is not None:
        try:
            deliver_click(current)
        except Exception:  # noqa: BLE001 - the clicks parked behind this one must still get their turn
            events.exception("delivery_crashed", event_id=current, company=company_id)
        current = shares.leave(company_id)


def _record_outcome(event: ClickEvent, token: uuid.UUID, attempts: int, response: webhooks.WebhookResponse | None,
                    failure: webhooks.WebhookError | None) -> None:
    # Still this task's claim, and not ended meanwhile, except by the sweep calling it interrupted while
    # the database was away: an answer that arrived wins over "unknown".
    if response is not None:
        answer = read_response(response.status, response.body)
        outcome = {"delivery": "delivered", "http_status": response.status, "duration_ms": response.duration_ms,
                   "error": "", "response_body": body_excerpt(response.body),
                   "response_note": answer.replaced_because}
        message = message_actions.response_message(event, answer)
    else:
        assert failure is not None
        outcome = {"delivery": "failed", "http_status": None, "duration_ms": failure.duration_ms,
                   "error": str(failure)}
        message = message_actions.failure_message(event, outcome["error"])
    # One statement stores the outcome and its message (or neither): the UPDATE locks the event's row
    # until the message is in, so the retention purge (which skips rows changed under it) cannot delete
    # the event in between; if the event is already gone (its button deleted, or retention after a very
    # late delivery), nothing is stored: a message must not outlive its event (messages.event has no
    # database constraint).
    found = claim.end_claimed(event.pk, token, attempts=attempts, unless_error=INTERRUPTED, message=message,
                              **outcome)
    if found and message is not None:
        message_actions.announce(message)
    if not found:
        # Deleted meanwhile (its button, or retention after a very late delivery), or already ended by
        # this very delivery: a retry after a commit whose answer the database never sent back.
        events.info("delivery_not_recorded", event_id=str(event.pk), reason="the event was deleted or already ended")


# --- Deliveries that never finished ----------------------------------------------------------------

# A click's task can be lost (a broker restarted without persistence) or its worker killed mid-delivery.
# The clicker must still hear of it, soon: a claimed delivery ends within its webhook's deadline, so
# one claimed longer ago than that (and the time to store its answer) has lost its worker.
STALLED_AFTER_CLAIM = timedelta(seconds=settings.WEBHOOK_TOTAL_TIMEOUT + 8)
STALLED_BATCH = 500


def _end_unfinished(event: ClickEvent, error: str) -> bool:
    """Fail a pending event with an error message for its clicker; False if it ended meanwhile."""
    with transaction.atomic():
        # Conditional: a delivery finishing at this moment keeps its own outcome.
        ended = ClickEvent.objects.filter(pk=event.pk, delivery="pending", claimed_at=event.claimed_at).update(
            delivery="failed", error=error
        )
        if ended:
            message_actions.record_delivery_failure(event, error)
    if ended:
        events.warning("delivery_failed", event_id=str(event.pk), button=str(event.button.identifier),
                       company=event.company_id, error=error)
    return bool(ended)


def fail_stalled_deliveries(now: datetime | None = None) -> int:
    """End clicks whose delivery will never finish, each with an error message for its clicker.

    Unclaimed clicks whose window is nearly over are not sent any more (a late task finds them failed
    and stops, as for a duplicate), so the clicker hears of it by the end of the window; claimed ones
    older than STALLED_AFTER_CLAIM have lost their worker. Runs every STALLED_SWEEP_SECONDS (beat).
    """
    now = now or timezone.now()
    stalled = ClickEvent.objects.filter(delivery="pending").filter(
        Q(claimed_at__isnull=True, window_ends_at__lte=now + LATEST_START)
        | Q(claimed_at__lt=now - STALLED_AFTER_CLAIM)
    )
    failed = 0
    for event in stalled.select_related("button").order_by("created_at")[:STALLED_BATCH]:
        failed += _end_unfinished(event, TOO_BUSY if event.claimed_at is None else INTERRUPTED)
    return failed

"""Messaging verbs: turning webhook responses and custom posts into messages, and reading them."""

from __future__ import annotations

import functools
import logging
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn
from urllib.parse import urlsplit

import psycopg
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import BooleanField, Case, Count, Exists, F, Max, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from buttons.models import LIST_OBJECT_ID, Button, ClickEvent
from messaging import live
from messaging.models import MESSAGE_TYPE_NAMES, Message
from messaging.validation import IllegalMessage, validate_message
from oneclick.logs import events
from oneclick.parsers import loads_checked
from oneclick.sql import insert_row

logger = logging.getLogger(__name__)

NOT_FOUND_OR_EXPIRED = "Not found or the event window is expired"
MAX_URL_LENGTH = 2000


class MessageRejected(Exception):
    """A custom message that is not stored; the sentence goes back to the automation as a 400."""


class EventMissed(MessageRejected):
    """No open window for that event_id (unknown, expired, messaging off): the miss a guesser makes."""

    def __init__(self) -> None:
        super().__init__(NOT_FOUND_OR_EXPIRED)


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
    # NUL cannot be stored (PostgreSQL text) and no control character belongs in a message.
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text):
        raise MessageRejected("The message contains control characters, which are not allowed.")
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
    if data is not None:
        # Any JSON object is read by its keys (guide: "Formatted HTTP responses"): a platform's own
        # receipt such as {"status": "success", "id": ...} reads "Success", not its source text.
        try:
            message_type = clean_message_type(data.get("message_type")) if ok else "error"
        except MessageRejected:  # a type the custom-message endpoint would refuse: the status decides
            message_type = "info"
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
        data = loads_checked(text)
    except ValueError:  # not JSON, nested too deeply, or a lone surrogate: read as plain text
        return None
    return data if isinstance(data, dict) else None


# --- Storing --------------------------------------------------------------------------------------


def _store(event: ClickEvent, source: str, message_type: str, content: str, redirect_url: str) -> Message:
    # insert_row: Message.objects.create() without its per-call machinery (a message per click).
    message = Message(
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
    insert_row(message)
    _announce(message)
    return message


def _announce(message: Message) -> None:
    """Log the stored message and tell open pages once it is committed (live updates)."""
    events.info("message_stored", event_id=str(message.event_id), message_id=message.pk, source=message.source,
                message_type=message.message_type, button=message.button_id, company=message.company_id)
    transaction.on_commit(lambda: live.publish_message(message))


def _logs_responses(button: Button) -> bool:
    return button.messaging_enabled and button.log_http_responses


def record_response(event: ClickEvent, status: int, body: str) -> Message | None:
    """The webhook answered: its response becomes a message when the button logs responses."""
    if not _logs_responses(event.button):
        return None
    content, message_type, redirect = interpret_response(status, body)
    return _store(event, "http_response", message_type, content, redirect)


def record_delivery_failure(event: ClickEvent, error: str) -> Message | None:
    """The webhook never answered (refused, timed out, blocked): logged as its HTTP response would be.

    With "Do not log HTTP responses" on, nothing is stored; the page still says the webhook could not
    be delivered (the event's delivery state), and the admin's click event page shows the error.
    """
    if not _logs_responses(event.button):
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
        raise EventMissed
    now = timezone.now()
    if connection.vendor == "postgresql":
        message = _claim_and_store(event_id, now, message_type, content, redirect)
    else:
        with transaction.atomic():
            event = _claim_custom_slot(event_id, now)
            message = _store(event, "custom", message_type, content, redirect) if event else None
    if message is None:
        _explain_no_slot(event_id, now)
    return message


# One conditional UPDATE takes a slot: it checks the window, the quota of 10 and the button's
# messaging setting at once, so concurrent posts can never store an 11th message.
_CLAIM_SQL = """
    UPDATE {event} SET custom_message_count = {event}.custom_message_count + 1
    FROM {button}
    WHERE {event}.id = %s AND {button}.id = {event}.button_id AND {button}.messaging_enabled
      AND {event}.window_ends_at > %s AND {event}.custom_message_count < %s
    RETURNING {event}.button_id, {event}.company_id, {event}.resource, {event}.object_id, {event}.user_id
"""
# PostgreSQL only: the claim and the insert in one statement (one round trip, atomic on its own), the
# hot path of /api/trigger-message. Elsewhere the two run in a transaction.
_CLAIM_AND_INSERT_SQL = """
    WITH claimed AS ({claim})
    INSERT INTO {message} (event_id, button_id, company_id, resource, object_id, recipient_id, source,
                           message_type, content, redirect_url, created_at)
    SELECT %s, button_id, company_id, resource, object_id, user_id, 'custom', %s, %s, %s, %s FROM claimed
    RETURNING id, button_id, company_id, resource, object_id, recipient_id
"""


def _tables() -> dict[str, str]:
    quote = connection.ops.quote_name
    return {
        "event": quote(ClickEvent._meta.db_table),
        "button": quote(Button._meta.db_table),
        "message": quote(Message._meta.db_table),
    }


@functools.cache
def _claim_and_insert_sql() -> str:
    tables = _tables()
    return _CLAIM_AND_INSERT_SQL.format(claim=_CLAIM_SQL.format(**tables), **tables)


def _claim_params(event_id: uuid.UUID, now: datetime) -> list[object]:
    return [
        ClickEvent._meta.pk.get_db_prep_value(event_id, connection),
        connection.ops.adapt_datetimefield_value(now),
        settings.MAX_CUSTOM_MESSAGES,
    ]


def _claim_custom_slot(event_id: uuid.UUID, now: datetime) -> ClickEvent | None:
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL.format(**_tables()), _claim_params(event_id, now))
        row = cursor.fetchone()
    if row is None:
        return None
    button_id, company_id, resource, object_id, user_id = row
    return ClickEvent(id=event_id, button_id=button_id, company_id=company_id, resource=resource,
                      object_id=object_id, user_id=user_id)


def _claim_and_store(
    event_id: uuid.UUID, now: datetime, message_type: str, content: str, redirect: str
) -> Message | None:
    sql = _claim_and_insert_sql()
    params = [*_claim_params(event_id, now), event_id, message_type, content, redirect, now]
    connection.ensure_connection()
    # A server-side prepared statement on the raw psycopg connection: Django's cursors bind parameters
    # client-side, so PostgreSQL would plan this UPDATE-join-INSERT afresh for every post, about twice
    # the CPU of running it. psycopg keeps the statement per pooled connection.
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        row = cursor.fetchone()
    if row is None:
        return None
    message_id, button_id, company_id, resource, object_id, recipient_id = row
    message = Message(id=message_id, event_id=event_id, button_id=button_id, company_id=company_id,
                      resource=resource, object_id=object_id, recipient_id=recipient_id, source="custom",
                      message_type=message_type, content=content, redirect_url=redirect, created_at=now)
    _announce(message)
    return message


def _explain_no_slot(event_id: uuid.UUID, now: datetime) -> NoReturn:
    """Why the claim found no slot: a miss, or an event that has had its quota."""
    event = ClickEvent.objects.select_related("button").filter(pk=event_id).first()
    if event is None or not event.button.messaging_enabled or now >= event.window_ends_at:
        raise EventMissed
    quota = settings.MAX_CUSTOM_MESSAGES
    raise MessageRejected(f"This event already has {quota} custom messages, the most it can have.")


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
    counts = own_unread(button, user_id, resource, object_id).aggregate(
        unread=Count("pk"), errors=Count("pk", filter=Q(message_type="error"))
    )
    return blocking_reason(button, counts["unread"], counts["errors"])


DISABLED_ANY_UNREAD = "This button is disabled until you have read its messages on this record."
DISABLED_UNREAD_ERROR = "This button is disabled until you have read its error messages on this record."
LOG_PAGE_SIZE = 20
MAX_LOG_PAGE_SIZE = 100
MAX_READ_IDS = 500
RECENT_RECORDS = 12
# Comparing with a constant keeps "created after the clear" one index condition for every button.
_NEVER_CLEARED = datetime(1970, 1, 1, tzinfo=UTC)


def blocking_reason(button: Button, unread: int, unread_errors: int) -> str | None:
    """The disable rules, given the user's own unread counts on one button and record."""
    if not button.messaging_enabled:
        return None
    if button.disable_on_any_unread and unread:
        return DISABLED_ANY_UNREAD
    if button.disable_on_unread_error and unread_errors:
        return DISABLED_UNREAD_ERROR
    return None


def check_record(button: Button, resource: str, object_id: str) -> None:
    """A log request names the record the button lives on, or gets a 400 sentence."""
    if resource != button.resource:
        raise ValidationError(f"This button is for {button.resource} records, not {resource}.")
    if not object_id or len(object_id) > 64 or not object_id.isprintable():
        raise ValidationError("object_id must be the record's id (1 to 64 printable characters) or 'list'.")


def visible_messages(button: Button, user_id: int, resource: str, object_id: str) -> QuerySet[Message]:
    """A record's log as one user sees it: everyone's on a public button, otherwise their own.

    Served by msg_record_log_idx (public) and msg_own_log_idx (private).
    """
    messages = Message.objects.filter(visible_after(button), button=button, resource=resource, object_id=object_id)
    if not button.messages_public:
        messages = messages.filter(recipient_id=user_id)
    return messages


def own_unread(button: Button, user_id: int, resource: str, object_id: str) -> QuerySet[Message]:
    """The user's own unread messages on a record (msg_unread_idx): the only ones that count as unread."""
    return Message.objects.filter(
        visible_after(button),
        recipient_id=user_id,
        resource=resource,
        object_id=object_id,
        button=button,
        read_at__isnull=True,
    )


@dataclass(frozen=True)
class ButtonState:
    identifier: str
    label: str
    kind: str
    url: str | None  # link buttons only
    envelope: str  # none | grey | blue | red
    unread: int
    disabled: bool
    disabled_reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _with_visibility(buttons: QuerySet[Button], user_id: int, resource: str, object_id: str) -> QuerySet[Button]:
    """Annotate has_messages: does this user see any message of the button on the record?

    One EXISTS probe per button inside the same query (CASE evaluates only the branch it needs).
    """
    after_clear = Q(created_at__gt=Coalesce(OuterRef("messages_cleared_at"), Value(_NEVER_CLEARED)))
    anyone = Message.objects.filter(after_clear, button=OuterRef("pk"), resource=resource, object_id=object_id)
    return buttons.annotate(
        has_messages=Case(
            When(kind="link", then=Value(False)),
            When(messages_public=True, then=Exists(anyone)),
            default=Exists(anyone.filter(recipient_id=user_id)),
            output_field=BooleanField(),
        )
    )


def _unread_counts(buttons: list[Button], user_id: int, resource: str, object_id: str) -> dict[int, tuple]:
    """{button pk: (unread, unread errors)} of the user's own messages, in one grouped query."""
    webhooks = [b for b in buttons if b.kind == "webhook"]
    if not webhooks:
        return {}
    scope = Q(button_id__in=[b.pk for b in webhooks if b.messages_cleared_at is None])
    for b in webhooks:
        if b.messages_cleared_at is not None:
            scope |= Q(button_id=b.pk, created_at__gt=b.messages_cleared_at)
    rows = (
        Message.objects.filter(scope, recipient_id=user_id, resource=resource, object_id=object_id,
                               read_at__isnull=True)
        .order_by()
        .values("button_id")
        .annotate(unread=Count("pk"), errors=Count("pk", filter=Q(message_type="error")))
    )
    return {row["button_id"]: (row["unread"], row["errors"]) for row in rows}


def _state(button: Button, unread: int, errors: int) -> ButtonState:
    if not getattr(button, "has_messages", False):
        envelope = "none"
    elif errors:
        envelope = "red"
    elif unread:
        envelope = "blue"
    else:
        envelope = "grey"
    reason = blocking_reason(button, unread, errors)
    # A webhook's URL is a credential (a Make or Zapier hook accepts any caller that knows it), so
    # members never see it; link buttons need theirs to open it. Admins read URLs in /api/buttons/.
    url = button.url if button.kind == "link" else None
    return ButtonState(str(button.identifier), button.label, button.kind, url, envelope, unread,
                       reason is not None, reason)


def panel_state(user: AbstractBaseUser, resource: str, object_id: str) -> list[ButtonState]:
    """The record's buttons for its view, each with envelope and disabled state: three queries in all
    (membership, buttons with an EXISTS per button, one grouped unread count), whatever the numbers."""
    from buttons.actions import buttons_for  # buttons.actions imports this module

    view = "list" if object_id == LIST_OBJECT_ID else "details"
    buttons = list(
        _with_visibility(buttons_for(user).filter(resource=resource, view=view), user.pk, resource, object_id)
        .order_by("label", "id")
    )
    counts = _unread_counts(buttons, user.pk, resource, object_id)
    return [_state(b, *counts.get(b.pk, (0, 0))) for b in buttons]


def button_state(button: Button, user_id: int, resource: str, object_id: str) -> ButtonState:
    annotated = _with_visibility(Button.objects.filter(pk=button.pk), user_id, resource, object_id).get()
    return _state(annotated, *_unread_counts([annotated], user_id, resource, object_id).get(button.pk, (0, 0)))


def message_page(
    button: Button, user_id: int, resource: str, object_id: str, *, before: int | None = None,
    limit: int = LOG_PAGE_SIZE,
) -> tuple[list[Message], bool]:
    """One page of the log, newest first, and whether older messages remain.

    `before` is the id of the last message the page already shows (keyset paging on created_at, id):
    a message gone meanwhile (cleared, expired) ends the log rather than failing.
    """
    log = visible_messages(button, user_id, resource, object_id)
    page = log.order_by("-created_at", "-id")
    if before is not None:
        anchor = log.filter(pk=before).values_list("created_at", flat=True).first()
        if anchor is None:
            return [], False
        page = page.filter(created_at__lte=anchor).exclude(created_at=anchor, pk__gte=before)
    rows = list(page[: limit + 1])
    return rows[:limit], len(rows) > limit


def mark_read(button: Button, user_id: int, resource: str, object_id: str, ids: list[int]) -> int:
    """Mark the user's own messages among `ids` read; others' ids are ignored. Returns how many changed."""
    marked = own_unread(button, user_id, resource, object_id).filter(pk__in=ids[:MAX_READ_IDS]).update(
        read_at=timezone.now()
    )
    if marked:
        transaction.on_commit(lambda: live.publish_read(button, user_id, resource, object_id))
    return marked


def mark_all_read(button: Button, user_id: int, resource: str, object_id: str) -> int:
    marked = own_unread(button, user_id, resource, object_id).update(read_at=timezone.now())
    if marked:
        transaction.on_commit(lambda: live.publish_read(button, user_id, resource, object_id))
    return marked


def recent_records(user: AbstractBaseUser, limit: int = RECENT_RECORDS) -> list[dict[str, Any]]:
    """The records the user clicked buttons on lately, newest first (the start page)."""
    return list(
        ClickEvent.objects.filter(user_id=user.pk)
        .order_by()
        .values("resource", "object_id")
        .annotate(last_at=Max("created_at"), clicks=Count("pk"))
        .order_by("-last_at")[:limit]
    )


# --- Lifecycle (clearing, retention) ---------------------------------------------------------------
# Rows go in bounded batches, each DELETE its own short transaction, so neither clearing a busy
# button nor the hourly retention sweep ever holds long locks or runs one huge statement.

# Rows per DELETE: short statements (tens of ms), big enough that per-statement overhead is noise.
# bench/retention.py measures it (batches of 1,000 to 10,000 delete at much the same rate).
PURGE_BATCH_SIZE = 5_000
CLEAR_DELAY_SECONDS = 5  # lets a message being stored while the admin clicks commit first


@dataclass(frozen=True)
class PurgeResult:
    messages: int = 0
    events: int = 0
    cleared: int = 0  # rows of cleared logs the clearing task had not removed yet


def not_cleared() -> Q:
    """visible_after() for queries over many buttons (the admin's lists): a join on the button."""
    return Q(button__messages_cleared_at__isnull=True) | Q(created_at__gt=F("button__messages_cleared_at"))


def clear_messages(button: Button) -> datetime:
    """Clear all messages of a button: hidden for everyone at once, rows deleted shortly after."""
    from kombu.exceptions import OperationalError

    from messaging.tasks import delete_cleared_messages

    def enqueue() -> None:
        try:
            delete_cleared_messages.apply_async(args=[button.pk], countdown=CLEAR_DELAY_SECONDS, retry=True)
        except (OperationalError, OSError):
            # The log is already empty for users; the hourly retention task removes the rows instead.
            logger.warning("Could not queue the deletion of button %s's cleared messages", button.pk)

    now = timezone.now()
    with transaction.atomic():
        Button.objects.filter(pk=button.pk).update(messages_cleared_at=now)
        transaction.on_commit(enqueue)
    button.messages_cleared_at = now
    return now


def batch_sql(table: str, rows: str, alias: str = "") -> str:
    """The statement that deletes one batch (its last parameter is the batch size); see
    _delete_in_batches. bench/retention.py explains it as it stands."""
    if connection.vendor == "postgresql":
        # The batch names its rows by physical address (ctid) and `= ANY(ARRAY(...))` makes them an
        # init plan: the DELETE goes straight to each row's page instead of looking every id up in
        # the primary key again (3-5x faster a batch, bench/retention.py). Both halves run in one
        # statement and snapshot, so an address cannot come to name another row; a row updated
        # meanwhile has moved, fails the recheck and waits for the next batch or run. Only the
        # count and the newest timestamp come back, not one row per deleted row.
        return (
            f"WITH gone AS (DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT {alias}ctid {rows} LIMIT %s))"  # noqa: S608
            " RETURNING created_at) SELECT count(*), max(created_at) FROM gone"
        )
    return f"DELETE FROM {table} WHERE id IN (SELECT {alias}id {rows} LIMIT %s) RETURNING created_at"  # noqa: S608


def _delete_in_batches(rows: str, params: list[Any], *, table: str, batch_size: int, alias: str = "",
                       deadline: float | None = None, keyset: bool = True) -> int:
    """Delete the rows `SELECT ... <rows> LIMIT n` picks from `table`, n at a time, until a batch
    deletes fewer than n. `rows` is the query from its FROM on; `alias` is the table's alias in it.

    With `keyset`, `rows` walks an index in created_at order and has a `created_at >= %s` lower
    bound as its first parameter: each batch starts where the previous one ended, so no batch
    re-walks the index entries of the rows already deleted.
    """
    sql = batch_sql(table, rows, alias)
    lower = connection.ops.adapt_datetimefield_value(datetime(1970, 1, 1, tzinfo=UTC))
    total = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # The batch's commit does not wait for its WAL to reach the disk: a crash can only undo
                # deletions the next run repeats, and live traffic's commits no longer queue behind
                # one WAL flush per batch (bench/retention.py: fewer latency stalls, faster purge).
                cursor.execute("SET LOCAL synchronous_commit = off")
                # The pages this batch empties go to disk as the purge writes them out, instead of piling
                # up in the kernel's page cache until its writeback flushes them all at once ~30 s later
                # and every commit's WAL fsync waits behind it (bench/retention.py: 100-300 ms stalls).
                cursor.execute("SET LOCAL backend_flush_after = '256kB'")
            cursor.execute(sql, [*([lower] if keyset else []), *params, batch_size])
            if connection.vendor == "postgresql":
                deleted, newest = cursor.fetchone()
            else:
                stamps = [row[0] for row in cursor.fetchall()]
                deleted, newest = len(stamps), max(stamps, default=None)
        total += deleted
        if deleted < batch_size or (deadline is not None and time.monotonic() > deadline):
            return total
        lower = newest


def delete_cleared_messages(button_id: int, *, batch_size: int = PURGE_BATCH_SIZE) -> int:
    """Delete the rows a Clear all messages hid (created up to the button's messages_cleared_at)."""
    cleared_at = Button.objects.filter(pk=button_id).values_list("messages_cleared_at", flat=True).first()
    if cleared_at is None:
        return 0
    table = Message._meta.db_table
    # Ordered as msg_record_log_idx is, so the batch walks that index within this button's entries
    # (the planner would otherwise seq-scan for a button with many rows, re-reading the dead ones).
    return _delete_in_batches(
        f"FROM {table} WHERE button_id = %s AND created_at <= %s"
        " ORDER BY resource, object_id, created_at DESC",
        [button_id, connection.ops.adapt_datetimefield_value(cleared_at)],
        table=table, batch_size=batch_size, keyset=False,
    )


def expired_rows(cutoff: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """What retention deletes, as _delete_in_batches takes it: the expired messages, then the expired
    click events left without messages. Both walk the created_at indexes (msg_created_idx,
    event_created_idx) oldest first."""
    messages_table, events_table = Message._meta.db_table, ClickEvent._meta.db_table
    messages = {
        "table": messages_table,
        "rows": f"FROM {messages_table} WHERE created_at >= %s AND created_at < %s ORDER BY created_at",
        "params": [cutoff],
    }
    # An event's messages are never older than the event, but they may be a little younger than the
    # cut-off: such an event waits for its last message to expire. Every message older than the
    # cut-off is gone by the time events are deleted, so only younger ones can be left: with that
    # bound the probe is answered inside msg_event_idx, without a visit to each just-deleted row in
    # the heap (which made this step 8x slower per row than the messages' own).
    events = {
        "table": events_table,
        "alias": "e.",
        "rows": f"FROM {events_table} e WHERE e.created_at >= %s AND e.created_at < %s"  # noqa: S608
                f" AND NOT EXISTS (SELECT 1 FROM {messages_table} m WHERE m.event_id = e.id AND m.created_at >= %s)"
                " ORDER BY e.created_at",
        "params": [cutoff, cutoff],
    }
    return messages, events


def purge_expired_messages(
    *, now: datetime | None = None, batch_size: int = PURGE_BATCH_SIZE, max_seconds: float | None = None
) -> PurgeResult:
    """Retention: delete messages older than MESSAGE_RETENTION_DAYS, then the click events of that age
    that have no messages left, then what recent Clear all messages left behind.

    `max_seconds` bounds one run; whatever is left waits for the next (the beat task runs hourly).
    """
    now = now or timezone.now()
    cutoff = connection.ops.adapt_datetimefield_value(now - timedelta(days=settings.MESSAGE_RETENTION_DAYS))
    deadline = time.monotonic() + max_seconds if max_seconds else None
    expired_messages, expired_events = expired_rows(cutoff)
    messages = _delete_in_batches(**expired_messages, batch_size=batch_size, deadline=deadline)
    events = 0
    if deadline is None or time.monotonic() < deadline:
        events = _delete_in_batches(**expired_events, batch_size=batch_size, deadline=deadline)
    cleared = 0
    # A clearing task that never ran (the broker was down) is made good here; older clears than the
    # retention period need nothing, their messages have expired anyway.
    recent_clears = Button.objects.filter(
        messages_cleared_at__gt=now - timedelta(days=settings.MESSAGE_RETENTION_DAYS)
    ).values_list("pk", flat=True)
    for button_id in recent_clears.iterator():
        if deadline is not None and time.monotonic() > deadline:
            break
        cleared += delete_cleared_messages(button_id, batch_size=batch_size)
    return PurgeResult(messages=messages, events=events, cleared=cleared)

"""What a user sees of messages: the record's log, unread state, envelopes and the disable rules.

Every read of messages for a person goes through here; clearing hides messages through
visible_after(), so a cleared log is empty the moment the admin clears it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db.models import BooleanField, Case, Count, Exists, F, Max, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce

from accounts.access import RecordClaims
from buttons.models import Button, ClickEvent
from buttons.reads import buttons_for, get_own_event, viewer_for
from buttons.records import OBJECT_ID_RULE, is_object_id, view_of
from buttons.visibility import NOT_AVAILABLE, Viewer, needs_place
from core.sql import snapshot
from messaging.models import Message

# Comparing with a constant keeps "created after the clear" one index condition for every button.
_NEVER_CLEARED = datetime(1970, 1, 1, tzinfo=UTC)


def created_after_clear(cleared_at: datetime | F | None) -> Q:
    """The messages a Clear all messages has not hidden: created after the button's messages_cleared_at,
    given as a value (one button) or as an expression naming it inside a larger query.

    Clearing hides a log at once; its rows go later, in batches (messaging.retention).
    """
    if cleared_at is None:
        return Q()
    if isinstance(cleared_at, datetime):
        return Q(created_at__gt=cleared_at)
    return Q(created_at__gt=Coalesce(cleared_at, Value(_NEVER_CLEARED)))


def visible_after(button: Button) -> Q:
    return created_after_clear(button.messages_cleared_at)


def event_messages(event: ClickEvent) -> QuerySet[Message]:
    return event.messages.filter(visible_after(event.button)).order_by("-created_at", "-id")


def own_event_with_messages(user: AbstractBaseUser, event_id: object) -> tuple[ClickEvent, list[Message]]:
    """The clicker's event and its messages (newest first) as of one moment: a poll landing while the
    delivery records its outcome sees both before or both after, never the HTTP answer's message beside
    a delivery still "pending"."""
    with snapshot():
        event = get_own_event(user, event_id)
        return event, list(event_messages(event))


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
    if not is_object_id(object_id):
        raise ValidationError(OBJECT_ID_RULE)


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
    # Its rules hide it on this record, but the user reads messages of it here: envelope and log, no press.
    hidden: bool = False
    # Pressing it opens a form or a confirmation first (the page knows before it asks the server for it);
    # not part of the panel API's shape.
    asks: bool = field(default=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        state = asdict(self)
        del state["asks"]
        if not self.hidden:
            del state["hidden"]  # the contract's exact shape; "hidden": true only where it is
        return state


def _with_messages(buttons: QuerySet[Button], user_id: int, resource: str, object_id: str) -> QuerySet[Button]:
    """Annotate has_messages: does this user see any message of the button on the record?

    One EXISTS probe per button inside the same query (CASE evaluates only the branch it needs).
    """
    after_clear = created_after_clear(OuterRef("messages_cleared_at"))
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
            scope |= Q(button_id=b.pk) & visible_after(b)
    rows = (
        Message.objects.filter(scope, recipient_id=user_id, resource=resource, object_id=object_id,
                               read_at__isnull=True)
        .order_by()
        .values("button_id")
        .annotate(unread=Count("pk"), errors=Count("pk", filter=Q(message_type="error")))
    )
    return {row["button_id"]: (row["unread"], row["errors"]) for row in rows}


@dataclass(frozen=True)
class PanelState:
    buttons: list[ButtonState]
    # Why buttons limited to pipelines or stages are hidden here (the CRM could not say), or None.
    notice: str | None = None
    # How many of the view's buttons the rules hide here (the empty panel says "none for you", not "none yet").
    hidden_count: int = 0
    # Some button of the view is limited to pipelines or stages: an open page refreshes more often, so a
    # deal moved in the CRM shows the right buttons within a minute.
    watches_place: bool = False
    # The page's templates of a row (a button that appears while it is open: static/panel.js addRow).
    webhook_template = ButtonState("__id__", "", "webhook", None, "none", 0, False, None)
    link_template = ButtonState("__id__", "", "link", "about:blank", "none", 0, False, None)


def _state(button: Button, unread: int, errors: int, hidden: bool = False) -> ButtonState:
    if not getattr(button, "has_messages", False):
        envelope = "none"
    elif errors:
        envelope = "red"
    elif unread:
        envelope = "blue"
    else:
        envelope = "grey"
    reason = NOT_AVAILABLE if hidden else blocking_reason(button, unread, errors)
    # A webhook's URL is a credential (a Make or Zapier hook accepts any caller that knows it), so
    # members never see it; link buttons need theirs to open it. Admins read URLs in /api/buttons/.
    url = button.url if button.kind == "link" else None
    return ButtonState(str(button.identifier), button.label, button.kind, url, envelope, unread,
                       reason is not None, reason, hidden, asks=button.asks)


def panel_state(user: AbstractBaseUser, resource: str, object_id: str,
                claims: RecordClaims | None = None) -> PanelState:
    """The record's buttons for its view that the user sees there (buttons.visibility), each with envelope
    and disabled state, and a hidden button the user still reads messages of. Three queries in all
    (membership, buttons with an EXISTS per button, one grouped unread count), whatever the numbers; rules
    add at most the member's groups and the CRM connection's lookup (the record itself is cached)."""
    view = view_of(object_id)
    buttons = list(
        _with_messages(buttons_for(user).filter(resource=resource, view=view), user.pk, resource, object_id)
        .order_by("label", "id")
    )
    viewer = viewer_for(user, resource, object_id, claims)
    listed = [(b, not seen) for b in buttons if (seen := viewer.sees(b)) or b.has_messages]
    counts = _unread_counts([b for b, _ in listed], user.pk, resource, object_id)
    states = [_state(b, *counts.get(b.pk, (0, 0)), hidden=hidden) for b, hidden in listed]
    return PanelState(states, viewer.notice, len(buttons) - len(listed),
                      any(needs_place(b.visibility) for b in buttons))


def readable_on(button: Button, viewer: Viewer) -> bool:
    """Whether the viewer's record log of the button is theirs to read: it shows there, or they read
    messages of it there (an automation moved the deal to a stage the button is not for)."""
    context = viewer.context
    return viewer.sees(button) or visible_messages(button, viewer.member.user_id, context.resource,
                                                   context.object_id).exists()


def button_state(button: Button, user_id: int, resource: str, object_id: str, hidden: bool = False) -> ButtonState:
    annotated = _with_messages(Button.objects.filter(pk=button.pk), user_id, resource, object_id).get()
    counts = _unread_counts([annotated], user_id, resource, object_id).get(button.pk, (0, 0))
    return _state(annotated, *counts, hidden=hidden)


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


def recent_records(user: AbstractBaseUser, limit: int = RECENT_RECORDS) -> list[dict[str, Any]]:
    """The records the user clicked buttons on lately, newest first (the start page)."""
    return list(
        ClickEvent.objects.filter(user_id=user.pk, is_test=False)
        .order_by()
        .values("resource", "object_id")
        .annotate(last_at=Max("created_at"), clicks=Count("pk"))
        .order_by("-last_at")[:limit]
    )


def not_cleared() -> Q:
    """visible_after() for queries over many buttons (the admin's lists): a join on the button."""
    return created_after_clear(F("button__messages_cleared_at"))

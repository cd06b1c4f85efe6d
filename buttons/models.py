"""Companies, their members, their buttons, and each click of a button."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, models
from django.db.models import Q
from django.utils import timezone

from buttons.signing import EMBED_SECRET_PREFIX, secret_key_bytes
from buttons.webhooks import check_destination
from oneclick.sql import from_row, insert_row_if

RESOURCES = (("deal", "Deal"), ("organization", "Organization"), ("person", "Person"))
VIEWS = (("details", "Details view"), ("list", "List view"))
KINDS = (("webhook", "Webhook"), ("link", "Link"))
DELIVERY_STATES = (("pending", "Pending"), ("delivered", "Delivered"), ("failed", "Failed"))

# In list view a click is not about one record: its messages belong to the list itself.
LIST_OBJECT_ID = "list"
# An admin's test click is about no record at all. Its object id is one no record can have (it starts
# with an invisible, non-printable character, which buttons.records refuses everywhere a record comes
# in), so the test's messages can never show in a member's log, and no query has to filter them out.
TEST_OBJECT_ID = "\u2063test-click"


class Company(models.Model):
    external_id = models.CharField("CRM company id", max_length=64, unique=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    # The signed embed for other CRMs (buttons.embedding): the key hosts sign the panel's token with,
    # and the origins that may frame the panel.
    embed_secret = models.CharField(max_length=120, blank=True, default="")
    embed_origins = models.TextField(
        "allowed origins", blank=True, default="",
        help_text="Pages that may show the OneClick panel in a frame, one origin per line, for example "
        "https://app.hubspot.com. Only these can frame /embed/panel/.",
    )

    class Meta:
        verbose_name_plural = "companies"
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    def allowed_origins(self) -> list[str]:
        return [line.strip() for line in self.embed_origins.splitlines() if line.strip()]

    def clean(self) -> None:
        # The origins go into a Content-Security-Policy header: only well-formed origins, nothing else.
        bad = [origin for origin in self.allowed_origins() if not is_frame_origin(origin)]
        if bad:
            raise ValidationError({"embed_origins": f"{bad[0]!r} is not an origin: write each as "
                                   "https://host or https://host:port (a leading *. allows subdomains), no path."})
        if self.embed_secret:
            try:
                secret_key_bytes(self.embed_secret, EMBED_SECRET_PREFIX)
            except ValueError as exc:
                raise ValidationError({"embed_secret": str(exc)}) from None


_HOST_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


def is_frame_origin(value: str) -> bool:
    """An origin a company may let frame its panel: http(s)://host[:port], host optionally *.domain."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or parts.path not in ("", "/") or parts.query or parts.fragment:
        return False
    if parts.username or parts.password or value != value.strip() or not parts.hostname:
        return False
    host = parts.hostname.removeprefix("*.")
    if port is not None and not 0 < port < 65536:
        return False
    labels = host.split(".")
    return all(_HOST_LABEL.fullmatch(label) for label in labels) and "*" not in host


class Member(models.Model):
    """A Django user's link to their one company."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="member")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="members")
    external_id = models.CharField("CRM user id", max_length=64)
    is_company_admin = models.BooleanField(default=False)
    # Off once Pipedrive told us the app was uninstalled for this user: no panel, no clicks, until they
    # install it again. A company is installed while it has at least one active member.
    is_active = models.BooleanField("active", default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=("company", "external_id"), name="member_company_external_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.company}"


class Button(models.Model):
    identifier = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="buttons")
    label = models.CharField(max_length=60)
    kind = models.CharField(max_length=10, choices=KINDS, default="webhook")
    url = models.URLField(
        "URL",
        max_length=2000,
        help_text="Webhook buttons POST the click to this URL; link buttons open it in a new tab.",
    )
    resource = models.CharField(max_length=20, choices=RESOURCES)
    view = models.CharField(max_length=10, choices=VIEWS, default="details")

    messaging_enabled = models.BooleanField(
        "Enable messaging",
        default=False,
        help_text="Listen for messages from your automation once the button has been triggered: its HTTP "
        "response and up to 10 custom messages sent to /api/trigger-message within 45 seconds. "
        "Not available for link buttons.",
    )
    messages_public = models.BooleanField(
        "Make messages public",
        default=False,
        help_text="By default messages are only visible to the user who clicked the button, on the record "
        "it was clicked from. Public messages are visible to every user, still only on that record.",
    )
    log_http_responses = models.BooleanField(
        "Log HTTP responses",
        default=True,
        help_text="Untick to not log HTTP responses (the guide's \"Do not log HTTP responses\"): only "
        "custom messages will appear in the message log.",
    )
    disable_on_unread_error = models.BooleanField(
        "Disable the button if there are unread error messages",
        default=False,
        help_text="The button stays disabled until the user has seen the error in the message log. With "
        "public messages this only applies to the user who clicked the button.",
    )
    disable_on_any_unread = models.BooleanField(
        "Disable the button if there are any unread messages",
        default=False,
        help_text="The user needs to see all messages before the button can be clicked again. With public "
        "messages this only applies to the user who clicked the button.",
    )
    signing_secret = models.CharField(
        max_length=120,
        blank=True,
        help_text="Optional Standard Webhooks secret (whsec_...). When set, every webhook carries "
        "webhook-id, webhook-timestamp and webhook-signature headers.",
    )
    messages_cleared_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ("label", "id")
        indexes = [
            # The panel: a company's buttons for one resource and view.
            models.Index(fields=("company", "resource", "view"), name="button_panel_idx"),
        ]

    def __str__(self) -> str:
        return self.label

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.kind == "link" and self.messaging_enabled:
            errors["messaging_enabled"] = "Messaging is not available for link buttons."
        if self.url:
            try:
                check_destination(self.url, resolve=self.kind == "webhook")
            except ValidationError as exc:
                errors["url"] = exc.messages[0]
        if self.signing_secret:
            try:
                secret_key_bytes(self.signing_secret)
            except ValueError as exc:
                errors["signing_secret"] = str(exc)
        if errors:
            raise ValidationError(errors)


class ClickEventManager(models.Manager["ClickEvent"]):
    """The delivery's two writes as single statements.

    The ORM would take two round trips and 1.5 ms of Python to claim a click and 0.8 ms to record its
    outcome, most of a delivery worker's time per click (docs/decisions.md, bench/click_to_webhook.py).
    Each statement is built once per database vendor from the models' own columns.
    """

    _statements: dict[str, tuple[str, str]] = {}

    def _sql(self, connection: Any) -> tuple[str, str]:
        if connection.vendor not in self._statements:
            qn = connection.ops.quote_name
            event, button = qn(self.model._meta.db_table), qn(Button._meta.db_table)
            # Only the models' own names go into the text; every value is a parameter.
            # SQLite's RETURNING cannot name an UPDATE ... FROM table: the button's columns come from
            # scalar subqueries, a primary-key lookup each, on both databases.
            returning = [f"{event}.{qn(f.column)}" for f in self.model._meta.concrete_fields] + [
                f"(SELECT b.{qn(f.column)} FROM {button} b WHERE b.id = {event}.button_id)"  # noqa: S608
                for f in Button._meta.concrete_fields
            ]
            claim = (
                f"UPDATE {event} SET claimed_at = %s, claimed_by = %s WHERE id = %s AND delivery = 'pending'"  # noqa: S608
                f" AND window_ends_at > %s AND (claimed_at IS NULL OR claimed_by = %s)"
                f" RETURNING {', '.join(returning)}"
            )
            end = (
                f"UPDATE {event} SET delivery = %s, http_status = %s, duration_ms = %s, attempts = %s,"  # noqa: S608
                f" error = %s WHERE id = %s AND claimed_by = %s"
                f" AND (delivery = 'pending' OR (delivery = 'failed' AND error = %s))"
            )
            self._statements[connection.vendor] = (claim, end)
        return self._statements[connection.vendor]

    def _prep(self, connection: Any, **values: Any) -> dict[str, Any]:
        return {name: self.model._meta.get_field(name).get_db_prep_value(value, connection)
                for name, value in values.items()}

    def claim(self, event_id: object, token: uuid.UUID, *, now: Any, leaves_by: Any) -> ClickEvent | None:
        """Claim a pending click for the task holding `token` (or find it already its own), if its
        window is open past `leaves_by`; the event with its button, or None."""
        connection = connections[self.db]
        p = self._prep(connection, id=event_id, claimed_at=now, claimed_by=token, window_ends_at=leaves_by)
        with connection.cursor() as cursor:
            cursor.execute(self._sql(connection)[0],
                           [p["claimed_at"], p["claimed_by"], p["id"], p["window_ends_at"], p["claimed_by"]])
            row = cursor.fetchone()
        if row is None:
            return None
        event_fields, button_fields = list(self.model._meta.concrete_fields), list(Button._meta.concrete_fields)
        event = from_row(self.model, event_fields, row[: len(event_fields)], self.db)
        event.button = from_row(Button, button_fields, row[len(event_fields):], self.db)
        return event

    def end_claimed(self, event_id: object, token: uuid.UUID, *, delivery: str, http_status: int | None,
                    duration_ms: int | None, attempts: int, error: str, unless_error: str,
                    message: models.Model | None = None) -> bool:
        """Record a claimed delivery's outcome while the claim is still `token`'s and the click still
        pending (or failed with `unless_error`, which an outcome overrides), and with it the outcome's
        new `message`, atomically (one statement on PostgreSQL). False, and nothing stored, if not."""
        connection = connections[self.db]
        p = self._prep(connection, id=event_id, claimed_by=token)
        params = [delivery, http_status, duration_ms, attempts, error, p["id"], p["claimed_by"], unless_error]
        if message is not None:
            return insert_row_if(message, self._sql(connection)[1], params, using=self.db)
        with connection.cursor() as cursor:
            cursor.execute(self._sql(connection)[1], params)
            return cursor.rowcount == 1


class ClickEvent(models.Model):
    """One press of a button; its id is the event_id automations send messages back with."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    button = models.ForeignKey(Button, on_delete=models.CASCADE, related_name="events")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="click_events")
    resource = models.CharField(max_length=20, choices=RESOURCES)
    view = models.CharField(max_length=10, choices=VIEWS)
    object_id = models.CharField(max_length=64)
    selected_ids = models.JSONField(default=list)
    fields = models.JSONField(null=True, blank=True)
    payload = models.JSONField(default=dict, help_text="The webhook body as sent.")
    created_at = models.DateTimeField(default=timezone.now)
    window_ends_at = models.DateTimeField()
    custom_message_count = models.PositiveSmallIntegerField("custom messages", default=0)
    is_test = models.BooleanField("test click", default=False, help_text="Sent from the admin to try the automation.")

    delivery = models.CharField(max_length=10, choices=DELIVERY_STATES, default="pending")
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The delivery task's own token: its claim is idempotent across a database fault (buttons.delivery).
    claimed_by = models.UUIDField(null=True, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    http_status = models.PositiveSmallIntegerField("HTTP status", null=True, blank=True)
    duration_ms = models.PositiveIntegerField("duration (ms)", null=True, blank=True)
    error = models.TextField(blank=True)

    objects = ClickEventManager()

    class Meta:
        ordering = ("-created_at",)
        indexes = [
            # Retention: events older than the cut-off, oldest first.
            models.Index(fields=("created_at",), name="event_created_idx"),
            # The minutely sweep for deliveries that never finished: only pending rows, so it stays tiny.
            models.Index(fields=("created_at",), condition=Q(delivery="pending"), name="event_pending_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.button} clicked on {self.resource} {self.object_id}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.window_ends_at is None:
            self.window_ends_at = self.created_at + timedelta(seconds=settings.EVENT_WINDOW_SECONDS)
        super().save(*args, **kwargs)


"""Buttons, and each click of a button (a click event: its record, its window, its delivery state)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Company
from buttons import visibility as visibility_rules
from buttons.fields import FieldError, clean_definitions
from core.crypto import EncryptedTextField
from core.destinations import check_destination
from core.secrets import secret_key_bytes

RESOURCES = (("deal", "Deal"), ("organization", "Organization"), ("person", "Person"))
VIEWS = (("details", "Details view"), ("list", "List view"))
KINDS = (("webhook", "Webhook"), ("link", "Link"))
# The messaging options a link button cannot have (log_http_responses is on by default and means nothing
# without messaging).
LINK_REFUSES = ("messaging_enabled", "messages_public", "disable_on_unread_error", "disable_on_any_unread")
DELIVERY_STATES = (("pending", "Pending"), ("delivered", "Delivered"), ("failed", "Failed"))

# In list view a click is not about one record: its messages belong to the list itself.
LIST_OBJECT_ID = "list"
# An admin's test click is about no record at all. Its object id is one no record can have (it starts
# with an invisible, non-printable character, which buttons.records refuses everywhere a record comes
# in), so the test's messages can never show in a member's log, and no query has to filter them out.
TEST_OBJECT_ID = "\u2063test-click"


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
    signing_secret = EncryptedTextField(
        blank=True,
        help_text="Optional Standard Webhooks secret (whsec_...). When set, every webhook carries "
        "webhook-id, webhook-timestamp and webhook-signature headers.",
    )
    # Buttons that ask (buttons.fields): what the user is shown and asked before the click.
    fields = models.JSONField(
        "fields", default=list, blank=True,
        help_text="Record fields (values of the CRM record, shown read-only) and one-time inputs the user fills "
        "before the click, in this order; the webhook's fields object carries every one by its key.",
    )
    confirm = models.BooleanField(
        "ask for confirmation", default=False,
        help_text="The user confirms before the click is sent (for automations that cannot be undone).",
    )
    confirm_text = models.CharField(
        "confirmation question", max_length=200, blank=True,
        help_text='What the confirmation asks; empty: "Run" and the button\'s label, as in "Run Create invoice?".',
    )
    # Custom webhook headers (buttons.headers): confidential values only encrypted, never shown again.
    headers = models.JSONField("custom headers", default=list, blank=True)
    # Where it shows (buttons.visibility): {"pipelines", "stages", "users", "groups"}, each empty for no limit.
    visibility = models.JSONField(
        "visibility", default=visibility_rules.empty, blank=True,
        help_text="Show the button only on deals in these pipelines and stages, and only to these users or the "
        "members of these groups. Empty: everywhere, to everyone.",
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

    def save(self, *args: object, **kwargs: object) -> None:
        # Stored as clean() leaves them (keys made, defaults filled), however the row was made: the click
        # reads them as they are. A malformed list fails here, loudly, rather than at a user's click.
        self.fields = clean_definitions(self.fields)
        self.visibility = visibility_rules.clean_visibility(self.visibility, self.resource, self.view)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.kind == "link":
            # A link opens its URL and hears nothing back: no messaging option may be on for it, or the
            # API would report a lock (disable on unread messages) that can never apply.
            for option in LINK_REFUSES:
                if getattr(self, option):
                    errors[option] = "Messaging is not available for link buttons."
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
        try:
            self.fields = clean_definitions(self.fields)
        except FieldError as exc:
            errors["fields"] = str(exc)
        try:
            self.visibility = visibility_rules.clean_visibility(self.visibility, self.resource, self.view)
        except visibility_rules.VisibilityError as exc:
            errors["visibility"] = str(exc)
        if self.kind == "link" and self.headers:
            errors["headers"] = "A link button sends no webhook, so it has no headers."
        if self.kind == "link" and (self.fields or self.confirm):
            errors["fields" if self.fields else "confirm"] = (
                "A link button opens its URL at once: it cannot ask for fields or a confirmation.")
        if self.confirm_text and any(ord(ch) < 32 for ch in self.confirm_text):
            errors["confirm_text"] = "The confirmation question must be one line of text."
        if errors:
            raise ValidationError(errors)

    @property
    def asks(self) -> bool:
        """Whether pressing it opens a form or a confirmation first."""
        return bool(self.fields) or self.confirm

    def confirmation(self) -> str:
        return self.confirm_text.strip() or f"Run {self.label}?"


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
    # The delivery task's own token: its claim is idempotent across a database fault (deliveries.claim).
    claimed_by = models.UUIDField(null=True, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    http_status = models.PositiveSmallIntegerField("HTTP status", null=True, blank=True)
    duration_ms = models.PositiveIntegerField("duration (ms)", null=True, blank=True)
    error = models.TextField(blank=True)
    # What came back, for the automation's author (the admin's click event and test click pages): the
    # log shows the guide's words, "Success" or "Error (HTTP 502)", and these say what was replaced and why.
    response_body = models.TextField("response body", blank=True,
                                     help_text="The first 2 KB of the body the webhook answered, as text.")
    response_note = models.TextField("why the answer was replaced", blank=True)

    class Meta:
        ordering = ("-created_at",)
        indexes = [
            # Retention: events older than the cut-off, oldest first.
            models.Index(fields=("created_at",), name="event_created_idx"),
            # The sweep for deliveries that never finished (every few seconds): only pending rows, so it
            # stays tiny.
            models.Index(fields=("created_at",), condition=Q(delivery="pending"), name="event_pending_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.button} clicked on {self.resource} {self.object_id}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.window_ends_at is None:
            self.window_ends_at = window_end(self.created_at)
        super().save(*args, **kwargs)


def window_end(clicked_at: datetime) -> datetime:
    """The end of a click's message window: the one place it is computed (the press stores it on the
    event; the trigger-message claim and the delivery's deadline read it from there)."""
    return clicked_at + timedelta(seconds=settings.EVENT_WINDOW_SECONDS)


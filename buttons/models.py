"""Companies, their members, their buttons, and each click of a button."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

RESOURCES = (("deal", "Deal"), ("organization", "Organization"), ("person", "Person"))
VIEWS = (("details", "Details view"), ("list", "List view"))
KINDS = (("webhook", "Webhook"), ("link", "Link"))
DELIVERY_STATES = (("pending", "Pending"), ("delivered", "Delivered"), ("failed", "Failed"))

# In list view a click is not about one record: its messages belong to the list itself.
LIST_OBJECT_ID = "list"


class Company(models.Model):
    external_id = models.CharField("CRM company id", max_length=64, unique=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "companies"
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class Member(models.Model):
    """A Django user's link to their one company."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="member")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="members")
    external_id = models.CharField("CRM user id", max_length=64)
    is_company_admin = models.BooleanField(default=False)

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
        from buttons.webhooks import check_destination  # avoids a cycle with webhooks -> models

        errors: dict[str, str] = {}
        if self.kind == "link" and self.messaging_enabled:
            errors["messaging_enabled"] = "Messaging is not available for link buttons."
        if self.url:
            try:
                check_destination(self.url, resolve=self.kind == "webhook")
            except ValidationError as exc:
                errors["url"] = exc.messages[0]
        if self.signing_secret:
            from buttons.signing import secret_key_bytes

            try:
                secret_key_bytes(self.signing_secret)
            except ValueError as exc:
                errors["signing_secret"] = str(exc)
        if errors:
            raise ValidationError(errors)


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

    delivery = models.CharField(max_length=10, choices=DELIVERY_STATES, default="pending")
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The delivery task's own token: its claim is idempotent across a database fault (buttons.actions).
    claimed_by = models.UUIDField(null=True, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    http_status = models.PositiveSmallIntegerField("HTTP status", null=True, blank=True)
    duration_ms = models.PositiveIntegerField("duration (ms)", null=True, blank=True)
    error = models.TextField(blank=True)

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


"""Messages automations send back to the user who clicked."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.text import Truncator

from accounts.models import Company
from buttons.models import RESOURCES, Button, ClickEvent

SOURCES = (("http_response", "HTTP response"), ("custom", "Custom message"))
MESSAGE_TYPES = (("info", "Info"), ("success", "Success"), ("warning", "Warning"), ("error", "Error"))
MESSAGE_TYPE_NAMES = frozenset(name for name, _ in MESSAGE_TYPES)


class Message(models.Model):
    # The foreign keys' own single-column indexes are left out where a composite index below leads
    # with the same column (msg_event_idx, msg_record_log_idx, msg_own_log_idx): every post writes
    # each index of this table, and the composites serve the same lookups.
    # No database constraint: its check ran at every commit that deleted click events, and for each
    # event it walked the entries of the messages the purge had just deleted, row by row in the heap
    # (70 % of the retention purge's time, bench/retention.py). Every write of a message locks its
    # event's row first in the same transaction (the trigger-message claim, the delivery's UPDATE),
    # and the purge skips rows changed under it, so no message is left without its event.
    event = models.ForeignKey(
        ClickEvent, on_delete=models.CASCADE, related_name="messages", db_index=False, db_constraint=False
    )
    # Denormalised from the event so the log and the panel read one table.
    button = models.ForeignKey(Button, on_delete=models.CASCADE, related_name="messages", db_index=False)
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    resource = models.CharField(max_length=20, choices=RESOURCES)
    object_id = models.CharField(max_length=64)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    source = models.CharField(max_length=20, choices=SOURCES)
    message_type = models.CharField(max_length=10, choices=MESSAGE_TYPES, default="info")
    content = models.TextField(help_text="Validated HTML, at most 2000 characters.")
    redirect_url = models.URLField(max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Unread state belongs to the clicker alone, so this one column is the whole read model.
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            # A record's log, newest first (public buttons) and "does this record have messages".
            models.Index(
                "button", "resource", "object_id", models.F("created_at").desc(), name="msg_record_log_idx"
            ),
            # A user's own log on a record, newest first (private buttons).
            models.Index(
                "recipient",
                "button",
                "resource",
                "object_id",
                models.F("created_at").desc(),
                name="msg_own_log_idx",
            ),
            # Envelope colour, unread counts and the disable rules: only unread rows, so it stays small.
            models.Index(
                fields=("recipient", "resource", "object_id", "button"),
                condition=Q(read_at__isnull=True),
                name="msg_unread_idx",
            ),
            # An event's messages (the clicker's view of one click), and retention's "has this expired
            # event any message left": with created_at in the key, that probe skips the index entries
            # of the messages the purge has just deleted instead of visiting each dead row in the heap.
            models.Index(fields=("event", "created_at"), name="msg_event_idx"),
            # Retention: the oldest messages first.
            models.Index(fields=("created_at",), name="msg_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_message_type_display()}: {self.preview(60)}"

    @classmethod
    def about(cls, event: ClickEvent, **fields: Any) -> Message:
        """A new message of a click: on the click's record, for its clicker (the one way an event's
        fields are repeated on its messages)."""
        return cls(event=event, button_id=event.button_id, company_id=event.company_id, resource=event.resource,
                   object_id=event.object_id, recipient_id=event.user_id, **fields)

    def preview(self, chars: int) -> str:
        """The content as text, shortened: admin titles, lists and deletion pages (content is HTML)."""
        return Truncator(strip_tags(self.content)).chars(chars)

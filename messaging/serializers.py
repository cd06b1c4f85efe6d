from __future__ import annotations

from typing import Any

from rest_framework import serializers

from messaging.actions import is_read_by
from messaging.models import MESSAGE_TYPES, SOURCES, Message
from messaging.validation import sanitize_message


class MessageSerializer(serializers.Serializer):
    """A message from the asking user's point of view (`read` is true for others' messages)."""

    id = serializers.IntegerField()
    event_id = serializers.UUIDField()
    source = serializers.ChoiceField(choices=SOURCES)
    message_type = serializers.ChoiceField(choices=MESSAGE_TYPES)
    content = serializers.CharField(help_text="The message as the automation sent it (validated HTML).")
    html = serializers.CharField(help_text="The content sanitized for display; links open in a new tab.")
    redirect_url = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    read = serializers.BooleanField()

    def to_representation(self, message: Message) -> dict[str, Any]:
        # Hand-built: this runs for every message of every log page, and for every accepted post.
        viewer = self.context.get("viewer_id")
        return {
            "id": message.pk,
            "event_id": str(message.event_id),
            "source": message.source,
            "message_type": message.message_type,
            "content": message.content,
            "html": sanitize_message(message.content),
            "redirect_url": message.redirect_url or None,
            "created_at": serializers.DateTimeField().to_representation(message.created_at),
            "read": is_read_by(message, viewer) if viewer is not None else message.read_at is not None,
        }


class TriggerMessageSerializer(serializers.Serializer):
    """Documents the body of /api/trigger-message; the view validates it in messaging.actions."""

    event_id = serializers.UUIDField(help_text="The event_id from the button's webhook payload.")
    message = serializers.CharField(
        required=False, help_text="Up to 2000 characters; HTML allowed: <a> <b> <i> <br> <div>."
    )
    message_type = serializers.ChoiceField(choices=MESSAGE_TYPES, required=False, default="info")
    redirect_url = serializers.URLField(required=False, help_text="http or https; opens in a new tab.")


class EventSerializer(serializers.Serializer):
    event_id = serializers.UUIDField()
    delivery = serializers.ChoiceField(choices=("pending", "delivered", "failed"))
    http_status = serializers.IntegerField(allow_null=True)
    window_ends_at = serializers.DateTimeField()
    messages = MessageSerializer(many=True)
    redirect_url = serializers.CharField(allow_null=True)

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from buttons.models import KINDS, RESOURCES
from buttons.records import MAX_OBJECT_ID_LENGTH, OBJECT_ID_RULE, is_object_id
from messaging import public_ids
from messaging.models import MESSAGE_TYPES, SOURCES, Message
from messaging.reads import LOG_PAGE_SIZE, MAX_LOG_PAGE_SIZE, MAX_READ_IDS, is_read_by


class PublicIdField(serializers.IntegerField):
    """A message id as the API shows it (messaging.public_ids); the view gets the row's id."""

    default_error_messages = {"not_an_id": "Not a message id (ids are whole numbers from 0 to 2**52 - 1)."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=0, max_value=public_ids.LIMIT - 1, **kwargs)

    def to_internal_value(self, data: object) -> int:
        value = super().to_internal_value(data)
        if not 0 <= value < public_ids.LIMIT:  # the bounds are checked after this, too late to decode
            self.fail("not_an_id")
        return public_ids.from_public(value)


class MessageSerializer(serializers.Serializer):
    """A message from the asking user's point of view (`read` is true for others' messages)."""

    id = serializers.IntegerField(help_text="Unique and stable; says nothing of other companies' messages.")
    event_id = serializers.UUIDField(
        allow_null=True,
        help_text="The click's event_id, the credential of /api/trigger-message: given to the user who "
        "clicked only, null for everyone else.",
    )
    click_id = serializers.CharField(
        help_text="An opaque id shared by the messages of one click, for grouping them (no credential)."
    )
    source = serializers.ChoiceField(choices=SOURCES)
    message_type = serializers.ChoiceField(choices=MESSAGE_TYPES)
    content = serializers.CharField(
        help_text="The message as the automation sent it: HTML validated against the allowlist. Render it "
        "through an allowlist of your own (the panel rebuilds it node by node): links open in a new tab."
    )
    redirect_url = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    read = serializers.BooleanField()

    def to_representation(self, message: Message) -> dict[str, Any]:
        return message_json(message, self.context.get("viewer_id"))


_DATETIME = serializers.DateTimeField()


def message_json(message: Message, viewer_id: int | None) -> dict[str, Any]:
    """MessageSerializer's shape, built by hand: this runs for every message of every log page, and for
    every accepted post, where a serializer instance per message costs more than the rest of the work."""
    mine = viewer_id is not None and message.recipient_id == viewer_id
    return {
        "id": public_ids.to_public(message.pk),
        "event_id": str(message.event_id) if mine else None,
        "click_id": public_ids.click_id(message.event_id),
        "source": message.source,
        "message_type": message.message_type,
        "content": message.content,
        "redirect_url": message.redirect_url or None,
        "created_at": _DATETIME.to_representation(message.created_at),
        "read": is_read_by(message, viewer_id) if viewer_id is not None else message.read_at is not None,
    }


class TriggerMessageSerializer(serializers.Serializer):
    """Documents the body of /api/trigger-message; the view validates it in messaging.actions."""

    event_id = serializers.UUIDField(help_text="The event_id from the button's webhook payload.")
    message = serializers.CharField(
        required=False, help_text="Up to 2000 characters; HTML allowed: <a> <b> <i> <br> <div>."
    )
    message_type = serializers.ChoiceField(choices=MESSAGE_TYPES, required=False, default="info")
    redirect_url = serializers.URLField(required=False, help_text="http or https; opens in a new tab.")


class ResponseSerializer(serializers.Serializer):
    http_status = serializers.IntegerField()
    body = serializers.CharField(allow_blank=True, help_text="The first 2 KB of the answer's body, as text.")
    replaced_because = serializers.CharField(
        allow_blank=True, help_text='Why the log shows "Success" or "Error (HTTP <status>)" instead ("" if not).')


class EventSerializer(serializers.Serializer):
    event_id = serializers.UUIDField()
    delivery = serializers.ChoiceField(choices=("pending", "delivered", "failed"))
    http_status = serializers.IntegerField(allow_null=True)
    window_ends_at = serializers.DateTimeField()
    messages = MessageSerializer(many=True)
    redirect_url = serializers.CharField(allow_null=True)
    queued = serializers.BooleanField(
        help_text="Pending and not sent yet: the click waits for a free delivery slot (the panel says so "
        "after a second)."
    )
    response = ResponseSerializer(allow_null=True, help_text="What the webhook answered: test clicks only.")


# --- Reading the log (the panel's JSON API) ----------------------------------------------------------


def _object_id(value: str) -> None:
    if not is_object_id(value):
        raise serializers.ValidationError(OBJECT_ID_RULE)


class RecordSerializer(serializers.Serializer):
    """The record a log request is about: query parameters of GETs, the body of POSTs."""

    resource = serializers.ChoiceField(choices=RESOURCES)
    object_id = serializers.CharField(max_length=MAX_OBJECT_ID_LENGTH, validators=[_object_id],
                                      help_text="The record's id, or 'list' in list view.")


class LogPageQuerySerializer(RecordSerializer):
    before = PublicIdField(required=False, help_text="The id of the oldest message already shown: older ones follow.")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_LOG_PAGE_SIZE,
                                     default=LOG_PAGE_SIZE)


class MarkReadSerializer(RecordSerializer):
    ids = serializers.ListField(
        child=PublicIdField(), max_length=MAX_READ_IDS, allow_empty=True,
        help_text="Ids of messages the user has seen; ids of other users' messages are ignored.",
    )


class MessagePageSerializer(serializers.Serializer):
    results = MessageSerializer(many=True)
    next = serializers.URLField(allow_null=True)


class ButtonStateSerializer(serializers.Serializer):
    identifier = serializers.UUIDField()
    label = serializers.CharField()
    kind = serializers.ChoiceField(choices=KINDS)
    url = serializers.URLField(allow_null=True, help_text="Link buttons only; null for webhook buttons.")
    envelope = serializers.ChoiceField(choices=("none", "grey", "blue", "red"))
    unread = serializers.IntegerField()
    disabled = serializers.BooleanField()
    disabled_reason = serializers.CharField(allow_null=True)
    hidden = serializers.BooleanField(
        required=False, help_text="Present (true) when its visibility rules hide it on this record: it is listed "
        "because the user reads messages of it here (envelope and log, nothing to press).")


class PanelSerializer(serializers.Serializer):
    buttons = ButtonStateSerializer(many=True)
    notice = serializers.CharField(required=False, help_text="Present when buttons limited to pipelines or stages "
                                   "are hidden because the page's CRM does not say the deal's stage: why, in a line.")


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many of the user's messages became read.")
    button = ButtonStateSerializer(help_text="The button's state after the change.")


class ClearMessagesSerializer(serializers.Serializer):
    detail = serializers.CharField()
    messages_cleared_at = serializers.DateTimeField()

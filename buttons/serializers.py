from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from buttons.actions import ClickRefused, ClickRequest, parse_selected_ids
from buttons.models import RESOURCES, VIEWS, Button


class ButtonSerializer(serializers.ModelSerializer):
    has_signing_secret = serializers.SerializerMethodField()

    class Meta:
        model = Button
        fields = (
            "identifier",
            "label",
            "kind",
            "url",
            "resource",
            "view",
            "messaging_enabled",
            "messages_public",
            "log_http_responses",
            "disable_on_unread_error",
            "disable_on_any_unread",
            "signing_secret",
            "has_signing_secret",
        )
        read_only_fields = ("identifier",)
        extra_kwargs = {"signing_secret": {"write_only": True}}

    def get_has_signing_secret(self, button: Button) -> bool:
        return bool(button.signing_secret)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # The model's clean() holds the rules (link buttons have no messaging, the SSRF guard, the
        # secret's form) so the admin and the API refuse the same things with the same sentences.
        candidate = Button(**{f.name: getattr(self.instance, f.name) for f in Button._meta.concrete_fields}) \
            if self.instance else Button()
        for key, value in attrs.items():
            setattr(candidate, key, value)
        try:
            candidate.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        return attrs


@extend_schema_field({
    "oneOf": [
        {"type": "string", "description": "Comma-joined ids, as the CRM sends them.", "example": "21389,21390"},
        {"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "integer"}]}, "maxItems": 500,
         "example": ["21389"]},
    ],
    "nullable": True,
})
class SelectedIdsField(serializers.JSONField):
    """The record ids of a click: a list, or a comma-joined string (parse_selected_ids checks them)."""


@extend_schema_field({"type": "object", "additionalProperties": True, "nullable": True})
class FieldsField(serializers.JSONField):
    """The record's fields the CRM passes along, a JSON object or null."""


class ClickSerializer(serializers.Serializer):
    resource = serializers.ChoiceField(choices=RESOURCES)
    view = serializers.ChoiceField(choices=VIEWS)
    selectedIds = SelectedIdsField(required=False, allow_null=True)  # noqa: N815 - CRM's name
    fields = FieldsField(required=False, allow_null=True)

    def validate_selectedIds(self, value: object) -> list[str]:  # noqa: N802
        try:
            return parse_selected_ids(value)
        except ClickRefused as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_fields(self, value: object) -> dict | None:
        if value is not None and not isinstance(value, dict):
            raise serializers.ValidationError("fields must be a JSON object or null.")
        if value is not None and "\\u0000" in json.dumps(value):  # PostgreSQL's jsonb cannot hold NUL
            raise serializers.ValidationError("fields must not contain NUL characters.")
        return value

    def to_click(self) -> ClickRequest:
        data = self.validated_data
        return ClickRequest(data["resource"], data["view"], data.get("selectedIds") or [], data.get("fields"))


class ClickAcceptedSerializer(serializers.Serializer):
    event_id = serializers.UUIDField()
    window_ends_at = serializers.DateTimeField()


class ClearMessagesSerializer(serializers.Serializer):
    detail = serializers.CharField()
    messages_cleared_at = serializers.DateTimeField()

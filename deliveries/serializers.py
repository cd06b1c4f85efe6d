"""The click's body: what the panel (or a script) sends to press a button, and the 202 it gets back."""

from __future__ import annotations

import json

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from buttons.fields import KINDS, TYPES
from buttons.models import RESOURCES, VIEWS
from buttons.records import MAX_OBJECT_ID_LENGTH, OBJECT_ID_RULE, is_object_id
from deliveries.actions import ClickRefused, ClickRequest, parse_selected_ids


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


class FormQuerySerializer(serializers.Serializer):
    resource = serializers.ChoiceField(choices=RESOURCES)
    object_id = serializers.CharField(max_length=MAX_OBJECT_ID_LENGTH, help_text="The record's id, or 'list'.")

    def validate_object_id(self, value: str) -> str:
        if not is_object_id(value):
            raise serializers.ValidationError(OBJECT_ID_RULE)
        return value


class FormFieldSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.ChoiceField(choices=KINDS)
    type = serializers.ChoiceField(choices=TYPES, allow_null=True)
    required = serializers.BooleanField()
    options = serializers.ListField(child=serializers.CharField())
    value = serializers.JSONField(allow_null=True, help_text="A record field's value from the CRM; null for inputs.")


class FormSerializer(serializers.Serializer):
    confirm = serializers.BooleanField()
    confirm_text = serializers.CharField(allow_null=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        # "fields" is the contract's key, and the name of a serializer's own property: added here.
        return {"fields": FormFieldSerializer(many=True), **super().get_fields()}

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied

from accounts.access import member_for
from buttons.actions import check_visibility
from buttons.headers import HeaderError, clean_headers, shown, url_keepers
from buttons.models import Button
from buttons.visibility import KEYS, VisibilityError

URL_KEPT = ("This button sends a confidential header: only the admin who added it may change its URL. You may "
            "delete the header first.")


@extend_schema_field({"type": "array", "maxItems": 10, "items": {"type": "object", "properties": {
    "name": {"type": "string"}, "value": {"type": "string", "nullable": True,
                                          "description": "null when confidential: it is never read back"},
    "confidential": {"type": "boolean"}}}})
class HeadersField(serializers.JSONField):
    """Custom webhook headers; a confidential value reads null (buttons.headers)."""

    def to_representation(self, value: Any) -> Any:
        return shown(value or [])


@extend_schema_field({"type": "object", "properties": {
    key: {"type": "array", "items": {"type": "integer"} if key == "groups" else {"oneOf": [
        {"type": "integer"}, {"type": "string"}]}} for key in KEYS},
    "description": "Where the button shows: deals in these pipelines and stages, to these CRM user ids or the "
    "members of these groups (/api/groups/); each list empty for no limit."})
class VisibilityField(serializers.JSONField):
    pass


class ButtonSerializer(serializers.ModelSerializer):
    has_signing_secret = serializers.SerializerMethodField()
    headers = HeadersField(required=False)
    visibility = VisibilityField(required=False)

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
            "fields",
            "confirm",
            "confirm_text",
            "headers",
            "visibility",
        )
        read_only_fields = ("identifier",)
        extra_kwargs = {"signing_secret": {"write_only": True}}

    def get_has_signing_secret(self, button: Button) -> bool:
        return bool(button.signing_secret)

    def validate_headers(self, value: object) -> list[dict[str, Any]]:
        request = self.context.get("request")
        previous = self.instance.headers if self.instance else []
        try:
            return clean_headers(value, previous, request.user.pk if request else None)
        except HeaderError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        request = self.context.get("request")
        if self.instance is not None and "url" in attrs and attrs["url"] != self.instance.url:
            keepers = url_keepers(self.instance.headers)
            if keepers and (request is None or request.user.pk not in keepers):
                raise PermissionDenied(URL_KEPT)
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
        if "fields" in attrs:
            attrs["fields"] = candidate.fields  # as stored: keys made from labels, defaults filled in
        if "visibility" in attrs:
            attrs["visibility"] = candidate.visibility
            try:
                check_visibility(member_for(request.user).company, candidate.visibility,
                                 self.instance.visibility if self.instance else None)
            except VisibilityError as exc:
                raise serializers.ValidationError({"visibility": str(exc)}) from None
        return attrs

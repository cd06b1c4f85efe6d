from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from buttons.models import Button


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
            "fields",
            "confirm",
            "confirm_text",
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
        if "fields" in attrs:
            attrs["fields"] = candidate.fields  # as stored: keys made from labels, defaults filled in
        return attrs

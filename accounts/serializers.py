"""/api/groups/: a company's groups of members, by the members' CRM user ids."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts import actions
from accounts.models import Group


class GroupSerializer(serializers.ModelSerializer):
    members = serializers.ListField(
        child=serializers.CharField(max_length=64), max_length=1000, required=False,
        help_text="The members' CRM user ids (userId in the webhook).")

    class Meta:
        model = Group
        fields = ("id", "name", "members")
        read_only_fields = ("id",)

    def to_representation(self, group: Group) -> dict[str, Any]:
        return {"id": group.pk, "name": group.name,
                "members": sorted(m.external_id for m in group.members.all())}

    def validate_name(self, value: str) -> str:
        name = value.strip()
        company_id = self.context["company_id"]
        if not name:
            raise serializers.ValidationError("A group needs a name.")
        if actions.group_name_taken(company_id, name, self.instance.pk if self.instance else None):
            raise serializers.ValidationError(f"The company already has a group named {name}.")
        return name

    def validate_members(self, value: list[str]) -> list[str]:
        try:
            actions.group_members(self.context["company_id"], value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value

    def create(self, data: dict[str, Any]) -> Group:
        return actions.save_group(self.context["company_id"], data["name"], data.get("members", []))

    def update(self, group: Group, data: dict[str, Any]) -> Group:
        members = data.get("members", [m.external_id for m in group.members.all()])
        return actions.save_group(group.company_id, data.get("name", group.name), members, group)

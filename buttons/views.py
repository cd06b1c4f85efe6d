"""/api/buttons/: company admins manage their company's buttons from scripts (token or session auth)."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import viewsets

from accounts.access import member_for
from accounts.permissions import IsCompanyAdmin
from buttons.models import Button
from buttons.reads import buttons_for
from buttons.serializers import ButtonSerializer


class ButtonViewSet(viewsets.ModelViewSet):
    """Company admins manage their company's buttons (token or session auth)."""

    serializer_class = ButtonSerializer
    permission_classes = [IsCompanyAdmin]
    lookup_field = "identifier"
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"

    def get_queryset(self) -> QuerySet[Button]:
        return buttons_for(self.request.user).order_by("label", "id")

    def perform_create(self, serializer: ButtonSerializer) -> None:
        serializer.save(company_id=member_for(self.request.user).company_id)

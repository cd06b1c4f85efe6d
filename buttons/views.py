from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from buttons import access, actions
from buttons.models import Button
from buttons.permissions import IsCompanyAdmin
from buttons.serializers import (
    ButtonSerializer,
    ClearMessagesSerializer,
    ClickAcceptedSerializer,
    ClickSerializer,
)
from messaging.actions import clear_messages
from oneclick.faults import RETRY_AFTER_SECONDS


class ButtonViewSet(viewsets.ModelViewSet):
    """Company admins manage their company's buttons (token or session auth)."""

    serializer_class = ButtonSerializer
    permission_classes = [IsCompanyAdmin]
    lookup_field = "identifier"
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"

    def get_queryset(self) -> QuerySet[Button]:
        return access.buttons_for(self.request.user).order_by("label", "id")

    def perform_create(self, serializer: ButtonSerializer) -> None:
        serializer.save(company_id=access.member_for(self.request.user).company_id)


class ClickView(APIView):
    @extend_schema(
        request=ClickSerializer,
        responses={
            202: ClickAcceptedSerializer,
            400: OpenApiResponse(description="A link button, a resource the button is not for, a bad body."),
            404: OpenApiResponse(description="No such button in your company."),
            409: OpenApiResponse(description="Disabled until you read its (error) messages."),
            503: OpenApiResponse(description="The task queue is unavailable; nothing was sent."),
        },
        examples=[
            OpenApiExample(
                "Details view",
                value={"resource": "deal", "view": "details", "selectedIds": ["21389"], "fields": None},
                request_only=True,
            )
        ],
        summary="Press a button",
    )
    def post(self, request: Request, identifier: str) -> Response:
        serializer = ClickSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            event = actions.press_button(request.user, identifier, serializer.to_click())
        except actions.ClickRefused as exc:
            return Response({"detail": str(exc)}, status=exc.status)
        except actions.QueueUnavailable as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE,
                            headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        return Response(
            ClickAcceptedSerializer({"event_id": event.pk, "window_ends_at": event.window_ends_at}).data,
            status=status.HTTP_202_ACCEPTED,
        )


class ClearMessagesView(APIView):
    """Clear all messages of a button (company admins): the log is empty at once for every user."""

    permission_classes = [IsCompanyAdmin]

    @extend_schema(
        request=None,
        responses={
            202: ClearMessagesSerializer,
            403: OpenApiResponse(description="Only company admins can clear messages."),
            404: OpenApiResponse(description="No such button in your company."),
        },
        summary="Clear all messages of a button",
    )
    def post(self, request: Request, identifier: str) -> Response:
        button = access.get_button(request.user, identifier)
        cleared_at = clear_messages(button)
        return Response(
            ClearMessagesSerializer({
                "detail": "All messages of this button were cleared; they are deleted for good within a minute.",
                "messages_cleared_at": cleared_at,
            }).data,
            status=status.HTTP_202_ACCEPTED,
        )

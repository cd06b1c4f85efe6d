"""POST /api/buttons/<identifier>/click: pressing a button (the panel's click, or a script's)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.faults import RETRY_AFTER_SECONDS
from deliveries import actions
from deliveries.serializers import ClickAcceptedSerializer, ClickSerializer


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

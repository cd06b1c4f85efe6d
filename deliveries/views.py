"""POST /api/buttons/<identifier>/click: pressing a button (the panel's click, or a script's)."""

from __future__ import annotations

from dataclasses import replace

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import record_claims
from core.faults import RETRY_AFTER_SECONDS
from deliveries import actions
from deliveries.serializers import ClickAcceptedSerializer, ClickSerializer, FormQuerySerializer, FormSerializer


class ClickView(APIView):
    @extend_schema(
        request=ClickSerializer,
        responses={
            202: ClickAcceptedSerializer,
            400: OpenApiResponse(description="A link button, a resource the button is not for, a bad body."),
            404: OpenApiResponse(description="No such button in your company, or its visibility rules hide it on "
                                 "this record (nothing is created)."),
            409: OpenApiResponse(description="Disabled until you read its (error) messages."),
            503: OpenApiResponse(description="The task queue, or the CRM the button's fields or rules need, is "
                                 "unavailable; nothing was sent."),
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
        click = serializer.to_click()
        claims = record_claims(request.auth, click.resource, click.selected_ids[0] if click.selected_ids else "")
        try:
            event = actions.press_button(request.user, identifier, replace(click, claims=claims))
        except actions.ClickRefused as exc:
            return refused(exc)
        except actions.QueueUnavailable as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE,
                            headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        return Response(
            ClickAcceptedSerializer({"event_id": event.pk, "window_ends_at": event.window_ends_at}).data,
            status=status.HTTP_202_ACCEPTED,
        )


def refused(exc: actions.ClickRefused) -> Response:
    body = {"detail": str(exc)}
    if exc.field:
        body["field"] = exc.field  # the input the sentence is about: the panel shows it beside that input
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if exc.status == 503 else None
    return Response(body, status=exc.status, headers=headers)


class FormView(APIView):
    @extend_schema(
        parameters=[FormQuerySerializer],
        responses={
            200: FormSerializer,
            400: OpenApiResponse(description="A bad record, or a link button."),
            404: OpenApiResponse(description="No such button in your company, or not available on this record."),
            503: OpenApiResponse(description="The CRM could not be asked for the record's values or stage."),
        },
        summary="What a button asks before its click",
    )
    def get(self, request: Request, identifier: str) -> Response:
        """The button's fields (record values read now from the CRM, inputs empty) and its confirmation."""
        query = FormQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        resource, object_id = query.validated_data["resource"], query.validated_data["object_id"]
        try:
            form = actions.button_form(request.user, identifier, resource, object_id,
                                       record_claims(request.auth, resource, object_id))
        except actions.ClickRefused as exc:
            return refused(exc)
        return Response(FormSerializer(form).data)

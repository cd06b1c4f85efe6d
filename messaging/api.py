"""The messages' JSON API for automations, clickers and admins: POST /api/trigger-message (an automation's
custom message), GET /api/events/<id>/ (the clicker's click and its messages) and
POST /api/buttons/<id>/clear-messages (company admins). The panel's own API is messaging.panel_api."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsCompanyAdmin
from buttons.reads import get_button
from messaging import actions, incoming, reads
from messaging.serializers import (
    ClearMessagesSerializer,
    EventSerializer,
    MessageSerializer,
    TriggerMessageSerializer,
    message_json,
)
from messaging.throttling import TriggerMessageMissThrottle

TRIGGER_EXAMPLES = [
    OpenApiExample(
        "A success message",
        value={
            "event_id": "d3cc3758-41d3-4eba-bb80-894734f5fa20",
            "message": "You succeeded in whatever you tried to do",
            "message_type": "success",
        },
        request_only=True,
    ),
    OpenApiExample(
        "A message with a redirect",
        value={
            "event_id": "d3cc3758-41d3-4eba-bb80-894734f5fa20",
            "message": "Your invoice is ready",
            "message_type": "success",
            "redirect_url": "https://example.com/invoices/42",
        },
        request_only=True,
    ),
    OpenApiExample(
        "A redirect only",
        value={"event_id": "d3cc3758-41d3-4eba-bb80-894734f5fa20", "redirect_url": "https://example.com/x"},
        request_only=True,
    ),
    OpenApiExample(
        "The stored message",
        value={"id": 3565371427276041, "event_id": "d3cc3758-41d3-4eba-bb80-894734f5fa20",
               "click_id": "1ecc9a984696daa3ddc0a244951557dd", "source": "custom", "message_type": "success",
               "content": "You succeeded in whatever you tried to do", "redirect_url": None,
               "created_at": "2026-12-01T10:37:09.613926Z", "read": False},
        response_only=True,
        status_codes=["201"],
    ),
    OpenApiExample(
        "Window closed or unknown event",
        value={"detail": incoming.NOT_FOUND_OR_EXPIRED},
        response_only=True,
        status_codes=["400"],
    ),
]


class JSONOnly(BaseContentNegotiation):
    """The endpoint speaks JSON whatever the client accepts: no Accept header parsing on the hot path."""

    def select_parser(self, request: Request, parsers: list[BaseParser]) -> BaseParser | None:
        return DefaultContentNegotiation().select_parser(request, parsers)

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        return renderers[0], renderers[0].media_type


class TriggerMessageView(APIView):
    """Automations post custom messages here within 45 s of a click; the event_id is the credential."""

    authentication_classes: list = []
    content_negotiation_class = JSONOnly
    renderer_classes = [JSONRenderer]
    permission_classes = [AllowAny]
    throttle_classes: list = []  # only misses count: TriggerMessageMissThrottle, asked in post()

    @extend_schema(
        request=TriggerMessageSerializer,
        responses={
            201: MessageSerializer,
            400: OpenApiResponse(description="Unknown or expired event, illegal HTML, too long, 11th message."),
            429: OpenApiResponse(description="Too many posts for unknown or expired events from this address."),
        },
        examples=TRIGGER_EXAMPLES,
        summary="Send a custom message to the user who clicked",
        auth=[],
    )
    def post(self, request: Request) -> HttpResponse:
        data = request.data
        if hasattr(data, "dict"):  # a form body: one value per key
            data = data.dict()
        if not isinstance(data, dict):
            return Response({"detail": "The body must be a JSON object."}, status=status.HTTP_400_BAD_REQUEST)
        try:
            message = actions.add_custom_message(data)
        except incoming.MessageRejected as exc:
            if isinstance(exc, incoming.EventMissed):
                throttle = TriggerMessageMissThrottle()
                if not throttle.allow_request(request, self):
                    self.throttled(request, throttle.wait())
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(message_json(message, message.recipient_id), status=status.HTTP_201_CREATED)


class EventView(APIView):
    @extend_schema(responses={200: EventSerializer, 404: OpenApiResponse(description="Not your event.")})
    def get(self, request: Request, event_id: str) -> Response:
        """The clicker's event: delivery state, its messages (newest first) and a pending redirect."""
        event, messages = reads.own_event_with_messages(request.user, event_id)
        context = {"viewer_id": request.user.pk}
        return Response(
            {
                "event_id": str(event.pk),
                "delivery": event.delivery,
                "http_status": event.http_status,
                "window_ends_at": EventSerializer().fields["window_ends_at"].to_representation(
                    event.window_ends_at
                ),
                "messages": MessageSerializer(messages, many=True, context=context).data,
                "redirect_url": reads.pending_redirect(event, messages),
                "queued": event.delivery == "pending" and event.claimed_at is None,
                # What came back, for the admin's test click page: a test click's clicker is the admin
                # trying their automation; a user's click never carries the raw answer.
                "response": ({"http_status": event.http_status, "body": event.response_body,
                              "replaced_because": event.response_note}
                             if event.is_test and event.http_status is not None else None),
            }
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
        button = get_button(request.user, identifier)
        cleared_at = actions.clear_messages(button)
        return Response(
            ClearMessagesSerializer({
                "detail": "All messages of this button were cleared; they are deleted for good within a minute.",
                "messages_cleared_at": cleared_at,
            }).data,
            status=status.HTTP_202_ACCEPTED,
        )

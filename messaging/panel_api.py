"""The panel's JSON API: button states, log pages and read state (token or session auth).

Views validate, call messaging.reads or one verb in messaging.actions and shape the answer; every
button goes through buttons.reads.get_button, so another company's button is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import member_for, record_claims
from buttons.models import Button
from buttons.reads import get_button, viewer_for
from buttons.records import RESOURCE_NAMES
from buttons.visibility import NOT_AVAILABLE, Viewer
from messaging import actions, public_ids, reads
from messaging.serializers import (
    LogPageQuerySerializer,
    MarkedSerializer,
    MarkReadSerializer,
    MessagePageSerializer,
    MessageSerializer,
    PanelSerializer,
    RecordSerializer,
)

NOT_YOURS = OpenApiResponse(description="No such button in your company, or not available on this record.")
BAD_INPUT = OpenApiResponse(description='{"detail": "<sentence>"}: a bad resource, object_id, cursor or ids.')


def check_object_id(resource: str, object_id: str) -> None:
    if resource not in RESOURCE_NAMES:
        raise Http404("Unknown resource: use deal, organization or person.")
    RecordSerializer(data={"resource": resource, "object_id": object_id}).is_valid(raise_exception=True)


def readable(request: Request, button: Button, resource: str, object_id: str) -> Viewer:
    """The log of a button the user neither sees on the record nor reads messages of there is a 404."""
    viewer = viewer_for(request.user, resource, object_id, record_claims(request.auth, resource, object_id))
    if not reads.readable_on(button, viewer):
        raise Http404(NOT_AVAILABLE)
    return viewer


class PanelView(APIView):
    @extend_schema(responses={200: PanelSerializer, 404: OpenApiResponse(description="Unknown resource.")},
                   summary="The record's buttons with their envelope and disabled state")
    def get(self, request: Request, resource: str, object_id: str) -> Response:
        check_object_id(resource, object_id)
        member_for(request.user)
        panel = reads.panel_state(request.user, resource, object_id, record_claims(request.auth, resource, object_id))
        body: dict[str, object] = {"buttons": [state.as_dict() for state in panel.buttons]}
        if panel.notice:
            body["notice"] = panel.notice  # only where buttons are hidden for want of the deal's stage
        return Response(body)


class MessageLogView(APIView):
    @extend_schema(
        parameters=[LogPageQuerySerializer],
        responses={200: MessagePageSerializer, 400: BAD_INPUT, 404: NOT_YOURS},
        summary="One page of a button's message log on a record, newest first",
    )
    def get(self, request: Request, identifier: str) -> Response:
        button = get_button(request.user, identifier)
        query = LogPageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        resource, object_id = query.validated_data["resource"], query.validated_data["object_id"]
        limit = query.validated_data["limit"]
        reads.check_record(button, resource, object_id)
        readable(request, button, resource, object_id)
        messages, more = reads.message_page(
            button, request.user.pk, resource, object_id, before=query.validated_data.get("before"), limit=limit
        )
        next_url = None
        if more:
            before = public_ids.to_public(messages[-1].pk)
            params = {"resource": resource, "object_id": object_id, "before": before, "limit": limit}
            next_url = request.build_absolute_uri(f"{request.path}?{urlencode(params)}")
        context = {"viewer_id": request.user.pk}
        return Response({"results": MessageSerializer(messages, many=True, context=context).data, "next": next_url})


class _MarkView(APIView):
    """Both read verbs: the button (404 if not the user's company's), the record it names, the verb."""

    body_class: type[RecordSerializer] = RecordSerializer

    def mark(self, request: Request, identifier: str, verb: Callable[..., int]) -> Response:
        button = get_button(request.user, identifier)
        body = self.body_class(data=request.data)
        body.is_valid(raise_exception=True)
        resource, object_id = body.validated_data["resource"], body.validated_data["object_id"]
        reads.check_record(button, resource, object_id)
        viewer = readable(request, button, resource, object_id)
        count = verb(button, request.user.pk, resource, object_id, **{k: v for k, v in body.validated_data.items()
                                                                       if k not in ("resource", "object_id")})
        state = reads.button_state(button, request.user.pk, resource, object_id, hidden=not viewer.sees(button))
        return Response({"marked": count, "button": state.as_dict()})


class MarkReadView(_MarkView):
    body_class = MarkReadSerializer

    @extend_schema(request=MarkReadSerializer, responses={200: MarkedSerializer, 400: BAD_INPUT, 404: NOT_YOURS},
                   summary="Mark messages the user has seen as read")
    def post(self, request: Request, identifier: str) -> Response:
        return self.mark(request, identifier, actions.mark_read)


class MarkAllReadView(_MarkView):
    @extend_schema(request=RecordSerializer, responses={200: MarkedSerializer, 400: BAD_INPUT, 404: NOT_YOURS},
                   summary="Mark all of the user's messages on the record read")
    def post(self, request: Request, identifier: str) -> Response:
        return self.mark(request, identifier, actions.mark_all_read)

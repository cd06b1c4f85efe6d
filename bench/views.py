"""The baseline of bench/trigger_message.py: a bare Django view that inserts one row per request."""

import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from messaging.models import Message

_event = None


@csrf_exempt
def baseline_insert(request: HttpRequest) -> JsonResponse:
    global _event
    if _event is None:
        from buttons.models import ClickEvent

        _event = ClickEvent.objects.order_by("created_at").first()
    body = json.loads(request.body)
    message = Message.objects.create(
        event_id=_event.pk, button_id=_event.button_id, company_id=_event.company_id, resource=_event.resource,
        object_id=_event.object_id, recipient_id=_event.user_id, source="custom", message_type="info",
        content=body.get("message", ""),
    )
    return JsonResponse({"id": message.pk}, status=201)

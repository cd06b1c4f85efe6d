"""The built-in demo automation of the embedded local mode (never mounted in production).

It behaves like a Make or Zapier scenario: it answers the webhook at once with a JSON message, then
sends progress messages and a final redirect to /api/trigger-message with the click's event_id.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from demo.tasks import demo_follow_up


@csrf_exempt
@require_POST
def automation(request: HttpRequest) -> JsonResponse:
    try:
        payload = json.loads(request.body)
    except ValueError:
        return JsonResponse({"message": "The demo automation expects JSON."}, status=400)
    scenario = request.GET.get("scenario", "progress")
    record = f"{payload.get('resource')} {payload.get('selectedIds') or 'list'}"
    if scenario == "fail":
        return JsonResponse({"message": f"Could not sync <b>{record}</b>: the CRM said no."}, status=422)
    event_id = payload.get("event_id")
    if event_id and scenario != "answer":  # "answer": the webhook's answer only, no messages after it
        demo_follow_up.apply_async(args=[event_id, scenario], countdown=1)
    if scenario == "answer":
        return JsonResponse({"message_type": "success", "message": f"Received the click on <b>{record}</b>."})
    return JsonResponse({"message_type": "success", "message": f"Started the demo scenario for <b>{record}</b>."})

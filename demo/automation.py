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
    ids = payload.get("selectedIds") if isinstance(payload, dict) else None
    # The webhook sends them joined by commas (DESIGN "Exact shapes"); a script might send a list.
    selected = [i for i in (ids.split(",") if isinstance(ids, str) else map(str, ids or [])) if i]
    if scenario == "export":  # a list view's button: about the records ticked there
        return _export(payload, selected)
    record = f"{payload.get('resource')} {', '.join(selected) or 'list'}"
    if scenario == "fail":
        return JsonResponse({"message": f"Could not sync <b>{record}</b>: the CRM said no."}, status=422)
    event_id = payload.get("event_id")
    if event_id and scenario != "answer":  # "answer": the webhook's answer only, no messages after it
        demo_follow_up.apply_async(args=[event_id, scenario], countdown=1)
    if scenario == "answer":
        return JsonResponse({"message_type": "success", "message": f"Received the click on <b>{record}</b>."})
    return JsonResponse({"message_type": "success", "message": f"Started the demo scenario for <b>{record}</b>."})


def _export(payload: dict, selected: list[str]) -> JsonResponse:
    resource = str(payload.get("resource") or "record")
    if not selected:
        return JsonResponse({"message_type": "warning", "message": f"No {resource} was selected: nothing to export."})
    event_id = payload.get("event_id")
    if event_id:
        demo_follow_up.apply_async(args=[event_id, "export", selected], countdown=1)
    many = f"{len(selected)} {resource}s" if len(selected) > 1 else f"1 {resource}"
    shown = ", ".join(f"#{i}" for i in selected[:10]) + (" …" if len(selected) > 10 else "")
    return JsonResponse({"message_type": "success", "message": f"Exporting <b>{many}</b>: {shown}."})

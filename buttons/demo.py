"""The built-in demo automation of the embedded local mode (never mounted in production).

It behaves like a Make or Zapier scenario: it answers the webhook at once with a JSON message, then
sends progress messages and a final redirect to /api/trigger-message with the click's event_id.
"""

from __future__ import annotations

import json
import time

import requests
from celery import shared_task
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


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


def base_url() -> str:
    return settings.DEMO_BASE_URL.rstrip("/")


@shared_task(ignore_result=True, soft_time_limit=40)
def demo_follow_up(event_id: str, scenario: str) -> None:
    """The demo automation's custom messages (local mode only): what Make or Zapier would send."""
    steps: list[dict[str, str]] = [
        {"message": "Step 1 of 2: looked up the customer.", "message_type": "info"},
        {"message": "Step 2 of 2: created the invoice <b>INV-1042</b>.", "message_type": "success"},
    ]
    if scenario == "warning":
        steps[1] = {"message": "The customer has no VAT number; the invoice is a <i>draft</i>.",
                    "message_type": "warning"}
    if scenario == "progress":
        steps.append({"message": "Opening the invoice…", "redirect_url": "https://example.com/invoices/INV-1042"})
    for step in steps:
        time.sleep(1.5)
        requests.post(f"{base_url()}/api/trigger-message", json={"event_id": event_id, **step}, timeout=5)

"""The demo automation's custom messages, sent a little after it answered the webhook (local mode only)."""

from __future__ import annotations

import time

import requests
from celery import shared_task
from django.conf import settings


def base_url() -> str:
    return settings.DEMO_BASE_URL.rstrip("/")


# The name it had before the apps were layered, so a task queued by the earlier version still runs.
@shared_task(name="buttons.demo.demo_follow_up", ignore_result=True, soft_time_limit=40)
def demo_follow_up(event_id: str, scenario: str, selected: list[str] | None = None) -> None:
    """The demo automation's custom messages (local mode only): what Make or Zapier would send."""
    steps: list[dict[str, str]] = [
        {"message": "Step 1 of 2: looked up the customer.", "message_type": "info"},
        {"message": "Step 2 of 2: created the invoice <b>INV-1042</b>.", "message_type": "success"},
    ]
    if scenario == "warning":
        steps[1] = {"message": "The customer has no VAT number; the invoice is a <i>draft</i>.",
                    "message_type": "warning"}
    if scenario == "export":
        count = len(selected or [])
        steps = [{"message": f"Wrote {count} row{'s' if count != 1 else ''} to <b>export-1042.csv</b>.",
                  "message_type": "success"}]
    if scenario == "progress":
        steps.append({"message": "Opening the invoice…", "redirect_url": "https://example.com/invoices/INV-1042"})
    for step in steps:
        time.sleep(1.5)
        requests.post(f"{base_url()}/api/trigger-message", json={"event_id": event_id, **step}, timeout=5)

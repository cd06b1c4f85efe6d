import logging

from celery import shared_task
from django import db

from buttons import actions

logger = logging.getLogger(__name__)


# Webhooks wait on the network, so the delivery worker runs greenlets (-P gevent, two thousand at once);
# the 40 s deadline lives in buttons.webhooks.
@shared_task(ignore_result=True, soft_time_limit=50, time_limit=60)
def deliver_click(event_id: str, company_id: int | None = None) -> None:
    actions.deliver_in_turn(event_id, company_id)


@shared_task(ignore_result=True, soft_time_limit=50, time_limit=60)
def fail_stalled_deliveries() -> int:
    try:
        return actions.fail_stalled_deliveries()
    except (db.OperationalError, db.InterfaceError) as exc:
        # The database is away: the next run, seconds from now, tries again on a fresh connection.
        if not db.connection.in_atomic_block:
            db.connection.close()
        logger.warning("The stalled-delivery sweep could not reach the database (%s)", exc.__class__.__name__)
        return 0


@shared_task(ignore_result=True, soft_time_limit=40)
def demo_follow_up(event_id: str, scenario: str) -> None:
    """The demo automation's custom messages (local mode only): what Make or Zapier would send."""
    import time

    import requests

    from buttons.demo import base_url

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

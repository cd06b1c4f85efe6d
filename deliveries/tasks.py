import logging

from celery import shared_task
from django import db

from deliveries import delivery

logger = logging.getLogger(__name__)


# Webhooks wait on the network, so the delivery worker runs greenlets (-P gevent, two thousand at once);
# the 40 s deadline lives in deliveries.webhooks. Each task keeps the name it had before the apps were
# layered, so a click queued by the earlier version is still delivered after an upgrade.
@shared_task(name="buttons.tasks.deliver_click", ignore_result=True, soft_time_limit=50, time_limit=60)
def deliver_click(event_id: str, company_id: int | None = None) -> None:
    delivery.deliver_in_turn(event_id, company_id)


@shared_task(name="buttons.tasks.fail_stalled_deliveries", ignore_result=True, soft_time_limit=50, time_limit=60)
def fail_stalled_deliveries() -> int:
    try:
        return delivery.fail_stalled_deliveries()
    except (db.OperationalError, db.InterfaceError) as exc:
        # The database is away: the next run, seconds from now, tries again on a fresh connection.
        if not db.connection.in_atomic_block:
            db.connection.close()
        logger.warning("The stalled-delivery sweep could not reach the database (%s)", exc.__class__.__name__)
        return 0

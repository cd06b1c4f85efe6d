"""What the message log's templates say of the messages (settings.TEMPLATES' context processors)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def retention(request: HttpRequest) -> dict[str, int]:
    """How long messages are kept: MESSAGE_RETENTION_DAYS, which retention deletes by."""
    return {"retention_days": settings.MESSAGE_RETENTION_DAYS}

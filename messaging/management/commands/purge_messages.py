from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from messaging.retention import PURGE_BATCH_SIZE, purge_expired_messages


class Command(BaseCommand):
    help = (
        "Delete messages older than MESSAGE_RETENTION_DAYS, click events of that age with no messages left, "
        "and the rows of cleared message logs (what the hourly beat task does), and print the counts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=PURGE_BATCH_SIZE,
                            help=f"Rows per DELETE statement (default {PURGE_BATCH_SIZE}).")

    def handle(self, *args: Any, **options: Any) -> None:
        result = purge_expired_messages(batch_size=max(1, options["batch_size"]))
        days = settings.MESSAGE_RETENTION_DAYS
        self.stdout.write(
            f"Removed {result.messages} messages and {result.events} click events older than {days} days"
            f", and {result.cleared} messages of cleared logs."
        )

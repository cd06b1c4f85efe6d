"""What the CRM layer keeps: a company's Pipedrive connection (its OAuth tokens, encrypted at rest)."""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils import timezone

from accounts.models import Company
from core import crypto


class PipedriveConnection(models.Model):
    """The company's Pipedrive OAuth tokens, kept from the installation and refreshed before they end,
    so the server can read a record's fields. Both tokens are stored encrypted (core.crypto)."""

    company = models.OneToOneField(Company, on_delete=models.CASCADE, related_name="pipedrive")
    api_domain = models.CharField(max_length=300, help_text="Where the company's API lives, as Pipedrive says.")
    # Whose authorization the tokens are: that user's uninstall ends them.
    user_external_id = models.CharField("installed by (CRM user id)", max_length=64)
    access_token_encrypted = models.TextField(editable=False)
    refresh_token_encrypted = models.TextField(editable=False)
    expires_at = models.DateTimeField()
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "Pipedrive connection"

    def __str__(self) -> str:
        return f"Pipedrive of {self.company}"

    @property
    def access_token(self) -> str:
        return crypto.decrypt(self.access_token_encrypted)

    @property
    def refresh_token(self) -> str:
        return crypto.decrypt(self.refresh_token_encrypted)

    def keep(self, answer: dict) -> None:
        """Take a token answer's tokens (install or refresh), encrypted; not saved."""
        self.access_token_encrypted = crypto.encrypt(answer["access_token"])
        if answer.get("refresh_token"):
            self.refresh_token_encrypted = crypto.encrypt(answer["refresh_token"])
        seconds = answer.get("expires_in")
        seconds = seconds if isinstance(seconds, int) and 0 < seconds <= 86400 else 3600
        self.expires_at = timezone.now() + timedelta(seconds=seconds)
        self.updated_at = timezone.now()

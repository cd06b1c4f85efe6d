"""Companies and their members: who a user is in OneClick (the CRM's company and user ids)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from core.crypto import EncryptedTextField
from core.secrets import EMBED_SECRET_PREFIX, secret_key_bytes


class Company(models.Model):
    external_id = models.CharField("CRM company id", max_length=64, unique=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    crm_domain = models.CharField(
        "Pipedrive address", max_length=253, blank=True,
        help_text="The company's own Pipedrive host (acme.pipedrive.com), as its installation names it: an "
                  "automation's redirect to a deal, person or organization there opens inside Pipedrive.")
    # The signed embed for other CRMs (crm.tokens): the key hosts sign the panel's token with,
    # and the origins that may frame the panel.
    embed_secret = EncryptedTextField(blank=True, default="")  # stored encrypted (core.crypto)
    embed_origins = models.TextField(
        "allowed origins", blank=True, default="",
        help_text="Pages that may show the OneClick panel in a frame, one origin per line, for example "
        "https://app.hubspot.com. Only these can frame /embed/panel/.",
    )

    class Meta:
        db_table = "buttons_company"  # made by the buttons app, where companies lived first
        verbose_name_plural = "companies"
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    def allowed_origins(self) -> list[str]:
        return [line.strip() for line in self.embed_origins.splitlines() if line.strip()]

    def clean(self) -> None:
        # The origins go into a Content-Security-Policy header: only well-formed origins, nothing else.
        bad = [origin for origin in self.allowed_origins() if not is_frame_origin(origin)]
        if bad:
            raise ValidationError({"embed_origins": f"{bad[0]!r} is not an origin: write each as "
                                   "https://host or https://host:port (a leading *. allows subdomains), no path."})
        if self.embed_secret:
            try:
                secret_key_bytes(self.embed_secret, EMBED_SECRET_PREFIX)
            except ValueError as exc:
                raise ValidationError({"embed_secret": str(exc)}) from None


_HOST_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


def is_frame_origin(value: str) -> bool:
    """An origin a company may let frame its panel: http(s)://host[:port], host optionally *.domain."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or parts.path not in ("", "/") or parts.query or parts.fragment:
        return False
    if parts.username or parts.password or value != value.strip() or not parts.hostname:
        return False
    host = parts.hostname.removeprefix("*.")
    if port is not None and not 0 < port < 65536:
        return False
    labels = host.split(".")
    return all(_HOST_LABEL.fullmatch(label) for label in labels) and "*" not in host


class Member(models.Model):
    """A Django user's link to their one company."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="member")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="members")
    external_id = models.CharField("CRM user id", max_length=64)
    is_company_admin = models.BooleanField(default=False)
    # Off once Pipedrive told us the app was uninstalled for this user: no panel, no clicks, until they
    # install it again. A company is installed while it has at least one active member.
    is_active = models.BooleanField("active", default=True)

    class Meta:
        db_table = "buttons_member"  # made by the buttons app, where members lived first
        constraints = [
            models.UniqueConstraint(fields=("company", "external_id"), name="member_company_external_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.company}"


class Group(models.Model):
    """A company's group of members, for a button's visibility (DESIGN "Buttons only where they belong")."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(max_length=100)
    members = models.ManyToManyField(Member, related_name="groups", blank=True)

    class Meta:
        ordering = ("name", "id")
        constraints = [models.UniqueConstraint(fields=("company", "name"), name="group_name_unique")]

    def __str__(self) -> str:
        return self.name

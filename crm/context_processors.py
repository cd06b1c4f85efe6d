"""What every page may need to know of the CRM adapters (settings.TEMPLATES' context processors)."""

from __future__ import annotations

from django.http import HttpRequest

from crm import pipedrive


def pipedrive_sign_in(request: HttpRequest) -> dict[str, bool]:
    """The sign-in page offers "Sign in with Pipedrive": people who came through the Pipedrive app have
    no password here, the install signs them in."""
    return {"pipedrive_sign_in": pipedrive.configured()}

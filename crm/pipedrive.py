"""Talking to Pipedrive's OAuth server for the install: the authorize URL, the code exchange, the user.

The install keeps the company's access and refresh tokens, encrypted (crm.models.PipedriveConnection),
so the server can read a record's fields later (crm.records refreshes them).
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from django.conf import settings

from core.ids import crm_id

TIMEOUT = (5.0, 10.0)  # connect, read: the user waits on the callback page


class PipedriveError(Exception):
    """Pipedrive refused or could not be reached; the text is the sentence for the page."""

    def __init__(self, sentence: str, status: int = 400) -> None:
        super().__init__(sentence)
        self.status = status


def configured() -> bool:
    return bool(settings.PIPEDRIVE_CLIENT_ID and settings.PIPEDRIVE_CLIENT_SECRET and settings.PUBLIC_URL)


def redirect_uri() -> str:
    return f"{settings.PUBLIC_URL}/pipedrive/callback/"


def authorize_url(state: str) -> str:
    query = urlencode({"client_id": settings.PIPEDRIVE_CLIENT_ID, "redirect_uri": redirect_uri(), "state": state})
    return f"{settings.PIPEDRIVE_OAUTH_URL}/oauth/authorize?{query}"


def is_client(username: str, password: str) -> bool:
    """Basic-auth credentials that are this app's own client id and secret (Pipedrive's uninstall)."""
    if not configured():
        return False
    same_id = hmac.compare_digest(username.encode(), settings.PIPEDRIVE_CLIENT_ID.encode())
    same_secret = hmac.compare_digest(password.encode(), settings.PIPEDRIVE_CLIENT_SECRET.encode())
    return same_id and same_secret


def json_object(response: requests.Response) -> dict[str, Any]:
    """Pipedrive's answer as a JSON object ({} for anything else)."""
    try:
        data = response.json()
    except ValueError:
        data = None
    return data if isinstance(data, dict) else {}


def exchange_code(code: str) -> dict[str, Any]:
    """The token answer for an authorization code (Basic client_id:client_secret)."""
    try:
        response = requests.post(
            f"{settings.PIPEDRIVE_OAUTH_URL}/oauth/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri()},
            auth=(settings.PIPEDRIVE_CLIENT_ID, settings.PIPEDRIVE_CLIENT_SECRET),
            timeout=TIMEOUT,
        )
    except requests.RequestException:
        raise PipedriveError("Pipedrive could not be reached to finish the installation. Try again.", 503) from None
    data = json_object(response)
    if response.status_code != 200 or not isinstance(data.get("access_token"), str):
        raise PipedriveError(
            "Pipedrive did not accept this installation link (it may have been used already or expired). "
            "Start the installation again.")
    return data


def _api_base(api_domain: object) -> str:
    """Where the company's API lives, as the token answer says; https unless private networks are allowed
    (tests and the local mode point it at a fake on 127.0.0.1)."""
    parts = urlsplit(api_domain) if isinstance(api_domain, str) else None
    allowed = ("https", "http") if settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS else ("https",)
    if parts is None or parts.scheme not in allowed or not parts.hostname:
        raise PipedriveError("Pipedrive's answer named no usable API address. Start the installation again.", 502)
    return f"{parts.scheme}://{parts.netloc}"


def current_user(token_answer: dict[str, Any]) -> dict[str, Any]:
    """GET {api_domain}/api/v1/users/me with the fresh access token: who installed, in which company."""
    base = _api_base(token_answer.get("api_domain"))
    try:
        response = requests.get(f"{base}/api/v1/users/me", timeout=TIMEOUT,
                                headers={"Authorization": f"Bearer {token_answer['access_token']}"})
    except requests.RequestException:
        raise PipedriveError("Pipedrive could not be reached to finish the installation. Try again.", 503) from None
    data = json_object(response).get("data")
    if response.status_code != 200 or not isinstance(data, dict):
        raise PipedriveError("Pipedrive did not tell who is installing OneClick. Start the installation again.", 502)
    user_id, company_id = crm_id(data.get("id")), crm_id(data.get("company_id"))
    if user_id is None or company_id is None:
        raise PipedriveError("Pipedrive did not tell who is installing OneClick. Start the installation again.", 502)

    def text(key: str) -> str:
        value = data.get(key)
        return value.strip() if isinstance(value, str) else ""

    return {"company_id": company_id, "company_name": text("company_name")[:200], "user_id": user_id,
            "domain": urlsplit(base).hostname or "", "api_base": base,
            "name": text("name"), "email": text("email"), "is_admin": data.get("is_admin") in (True, 1, "1", "true")}

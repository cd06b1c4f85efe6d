"""What automations send, read and checked: custom-message fields and webhook responses.

Pure functions, no database: messaging.actions stores what these return.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

from core.bodies import loads_checked
from messaging.models import MESSAGE_TYPE_NAMES
from messaging.validation import IllegalMessage, validate_message

NOT_FOUND_OR_EXPIRED = "Not found or the event window is expired"
MAX_URL_LENGTH = 2000


class MessageRejected(Exception):
    """A custom message that is not stored; the sentence goes back to the automation as a 400."""


class EventMissed(MessageRejected):
    """No open window for that event_id (unknown, expired, messaging off): the miss a guesser makes."""

    def __init__(self) -> None:
        super().__init__(NOT_FOUND_OR_EXPIRED)


# --- Parsing what automations send --------------------------------------------------------------


def clean_redirect_url(value: object) -> str:
    """An http(s) URL with a host, or MessageRejected with a sentence."""
    if not isinstance(value, str):
        raise MessageRejected("redirect_url must be a string holding an http or https URL.")
    url = value.strip()
    if len(url) > MAX_URL_LENGTH:
        raise MessageRejected(f"redirect_url is longer than {MAX_URL_LENGTH} characters.")
    # Whitespace, controls, quotes or angle brackets never belong in a URL we hand to window.open().
    if any(ch.isspace() or ord(ch) < 32 or ch in '<>"`\\' for ch in url):
        raise MessageRejected("redirect_url contains characters that are not allowed in a URL.")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise MessageRejected("redirect_url is not a valid URL.") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or not parts.hostname:
        raise MessageRejected("redirect_url must be an http or https URL, like https://example.com/page.")
    return url


def clean_message_type(value: object) -> str:
    if value is None or value == "":
        return "info"
    if not isinstance(value, str) or value.strip().lower() not in MESSAGE_TYPE_NAMES:
        shown = str(value)[:30]
        raise MessageRejected(f"Unknown message_type '{shown}': use info, success, warning or error.")
    return value.strip().lower()


def clean_content(value: object) -> str:
    """Validated HTML content ('' when absent), or MessageRejected naming the problem."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise MessageRejected("message must be a string.")
    text = str(value)
    if not text.strip():
        return ""
    # NUL cannot be stored (PostgreSQL text) and no control character belongs in a message.
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text):
        raise MessageRejected("The message contains control characters, which are not allowed.")
    try:
        return validate_message(text)
    except IllegalMessage as exc:
        raise MessageRejected(str(exc)) from None


def redirected_to(url: str) -> str:
    return f"Redirected to {url}"


def interpret_response(status: int, body: str) -> tuple[str, str, str]:
    """(content, message_type, redirect_url) for a webhook's HTTP response, by the rules the README's
    "Wire your automation" gives."""
    ok = 200 <= status < 300
    text = body.strip()
    if not text:
        return ("Success", "info", "") if ok else ("Error", "error", "")
    # An error page or anything else that is not a valid message must never render; the status
    # still tells the user what happened.
    fallback = "Success" if ok else f"Error (HTTP {status})"
    data = _json_object(text)
    if data is not None:
        # Any JSON object is read by its keys (guide: "Formatted HTTP responses"): a platform's own
        # receipt such as {"status": "success", "id": ...} reads "Success", not its source text.
        try:
            message_type = clean_message_type(data.get("message_type")) if ok else "error"
        except MessageRejected:  # a type the custom-message endpoint would refuse: the status decides
            message_type = "info"
        try:
            redirect = clean_redirect_url(data["redirect_url"]) if data.get("redirect_url") else ""
        except MessageRejected:
            redirect = ""
        try:
            content = clean_content(data.get("message"))
        except MessageRejected:
            return fallback, message_type, redirect
        if not content:
            content = redirected_to(redirect) if redirect else ("Success" if ok else "Error")
        return content, message_type, redirect
    message_type = "info" if ok else "error"
    try:
        return clean_content(text) or fallback, message_type, ""
    except MessageRejected:
        return fallback, message_type, ""


def _json_object(text: str) -> dict[str, Any] | None:
    if not text.startswith("{"):
        return None
    try:
        data = loads_checked(text)
    except ValueError:  # not JSON, nested too deeply, or a lone surrogate: read as plain text
        return None
    return data if isinstance(data, dict) else None


def parse_event_id(raw: object) -> uuid.UUID | None:
    if not isinstance(raw, str):
        return None
    try:
        return uuid.UUID(raw.strip())
    except ValueError:
        return None

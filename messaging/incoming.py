"""What automations send, read and checked: custom-message fields and webhook responses.

Pure functions, no database: messaging.actions stores what these return.
"""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from core.bodies import loads_checked
from messaging.models import MESSAGE_TYPE_NAMES
from messaging.validation import IllegalMessage, validate_message

NOT_FOUND_OR_EXPIRED = "Not found or the event window is expired"
MAX_URL_LENGTH = 2000
RESPONSE_EXCERPT_BYTES = 2048


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


class Answer(NamedTuple):
    """What a webhook's HTTP response becomes: the message's content, type and redirect, and, when the
    automation's own words were not used, why (for the admin's pages, never for the log)."""

    content: str
    message_type: str
    redirect_url: str
    replaced_because: str = ""


def interpret_response(status: int, body: str) -> tuple[str, str, str]:
    """(content, message_type, redirect_url) for a webhook's HTTP response (read_response)."""
    return read_response(status, body)[:3]


def read_response(status: int, body: str) -> Answer:
    """A webhook's HTTP response read by the rules of the messaging guide (README, "Wire your automation")."""
    ok = 200 <= status < 300
    text = body.strip()
    if not text:
        return Answer("Success", "info", "") if ok else Answer("Error", "error", "")
    # An error page or anything else that is not a valid message must never render; the status
    # still tells the user what happened, and the admin's pages say why.
    fallback = "Success" if ok else f"Error (HTTP {status})"
    data = _json_object(text)
    if data is not None:
        # Any JSON object is read by its keys (guide: "Formatted HTTP responses"): a platform's own
        # receipt such as {"status": "success", "id": ...} reads "Success", not its source text.
        notes = []
        try:
            message_type = clean_message_type(data.get("message_type")) if ok else "error"
        except MessageRejected as exc:  # a type the custom-message endpoint would refuse: the status decides
            message_type = "info"
            notes.append(f"message_type was ignored: {exc}")
        try:
            redirect = clean_redirect_url(data["redirect_url"]) if data.get("redirect_url") else ""
        except MessageRejected as exc:
            redirect = ""
            notes.append(f"redirect_url was ignored: {exc}")
        try:
            content = clean_content(data.get("message"))
        except MessageRejected as exc:
            why = _joined([f'The JSON\'s "message" is not a valid message: {exc}', *notes])
            return Answer(fallback, message_type, redirect, why)
        if not content:
            if redirect:
                content = redirected_to(redirect)
            else:
                content = "Success" if ok else "Error"
                notes.insert(0, 'The JSON object has no "message" (nor "redirect_url"), so the status decides.')
        return Answer(content, message_type, redirect, _joined(notes))
    message_type = "info" if ok else "error"
    try:
        return Answer(clean_content(text) or fallback, message_type, "")
    except MessageRejected as exc:
        return Answer(fallback, message_type, "", f"The body is not a valid message: {exc}")


def body_excerpt(body: str, limit: int = RESPONSE_EXCERPT_BYTES) -> str:
    """The first `limit` bytes of an answer's body as text (never a split character), for the admin's
    pages; NUL, which PostgreSQL's text cannot hold, shows as U+FFFD."""
    head = body[:limit].encode("utf-8", "surrogatepass")[:limit]
    return head.decode("utf-8", "ignore").replace("\x00", "\ufffd")


def _joined(notes: list[str]) -> str:
    return " ".join(note if note.endswith(".") else note + "." for note in notes)


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

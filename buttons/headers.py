"""A webhook button's custom headers (DESIGN "Buttons that ask": headers), with the confidential option.

Stored on the button as a list of {"name", "value", "confidential", "added_by"}: a confidential value is
kept only encrypted ("value" holds the Fernet token, core.crypto) and never read back by anyone (every
answer shows `"value": null`); only the delivery decrypts it, to send it. `added_by` is the user who set
a confidential header: while one is there, only that user may change the button's URL (the header's
value must not follow the webhook to a URL someone else chose).
"""

from __future__ import annotations

import re
from typing import Any

from core import crypto

MAX_HEADERS = 10
MAX_VALUE = 2000
TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}$")  # RFC 9110 token
RESERVED = {"content-type", "content-length", "host", "user-agent", "idempotency-key", "connection",
            "transfer-encoding"}


class HeaderError(ValueError):
    """A header refused; str() is the sentence, naming it."""


def _name(position: int, item: dict[str, Any]) -> str:
    name = item.get("name")
    return f'Header {position} "{name[:40]}"' if isinstance(name, str) and name.strip() else f"Header {position}"


def clean_headers(raw: object, previous: list[dict[str, Any]], user_id: int | None) -> list[dict[str, Any]]:
    """The headers as stored, from what an admin sent: confidential values encrypted; a confidential
    header sent back with "value": null (as every answer shows it) keeps its stored value."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise HeaderError("headers must be a list of {name, value, confidential}.")
    if len(raw) > MAX_HEADERS:
        raise HeaderError(f"A button has at most {MAX_HEADERS} custom headers; this one has {len(raw)}.")
    kept = {h["name"].lower(): h for h in previous if h.get("confidential")}
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    for position, item in enumerate(raw, start=1):
        if not isinstance(item, dict) or set(item) - {"name", "value", "confidential"}:
            raise HeaderError(f"{_name(position, item if isinstance(item, dict) else {})} must be an object with "
                              "name, value and confidential.")
        label = _name(position, item)
        name = item.get("name")
        if not isinstance(name, str) or not TOKEN.match(name.strip()):
            raise HeaderError(f"{label}: a header name is 1 to 100 letters, digits or !#$%&'*+-.^_`|~, no spaces.")
        name = name.strip()
        lower = name.lower()
        if lower in RESERVED or lower.startswith("webhook-"):
            raise HeaderError(f"{label}: {name} is set by OneClick itself and cannot be a custom header.")
        if lower in seen:
            raise HeaderError(f"{label}: {name} is listed twice.")
        seen.add(lower)
        confidential = item.get("confidential", False)
        if not isinstance(confidential, bool):
            raise HeaderError(f"{label}: confidential must be true or false.")
        value = item.get("value")
        if value is None and confidential and lower in kept:
            cleaned.append({**kept[lower], "name": name})  # unchanged: the stored value stays
            continue
        if not isinstance(value, str) or not value.strip():
            raise HeaderError(f"{label}: a value is required.")
        value = value.strip()
        if len(value) > MAX_VALUE or any((ord(ch) < 32 and ch != "\t") or ord(ch) == 127 for ch in value):
            raise HeaderError(f"{label}: the value must be one line of at most {MAX_VALUE} characters "
                              "(no line breaks).")
        try:
            value.encode("latin-1")  # what HTTP/1.1 header values can carry
        except UnicodeEncodeError:
            raise HeaderError(f"{label}: the value may hold only Latin-1 characters (HTTP headers cannot carry "
                              "others; encode them first).") from None
        cleaned.append({"name": name, "value": crypto.encrypt(value) if confidential else value,
                        "confidential": confidential, "added_by": user_id if confidential else None})
    return cleaned


def shown(headers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What any answer or page shows: a confidential value never."""
    return [{"name": h["name"], "value": None if h.get("confidential") else h["value"],
             "confidential": bool(h.get("confidential"))} for h in headers]


def to_send(headers: list[dict[str, Any]]) -> dict[str, str]:
    """The headers as the webhook carries them (the delivery's only use of a confidential value)."""
    return {h["name"]: crypto.decrypt(h["value"]) if h.get("confidential") else h["value"] for h in headers}


def url_keepers(headers: list[dict[str, Any]]) -> set[int]:
    """Who may change the URL while confidential headers are there: whoever added them."""
    return {h["added_by"] for h in headers if h.get("confidential") and h.get("added_by") is not None}

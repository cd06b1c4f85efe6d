"""The OpenAPI schema documents every operation's error answers, as the server really gives them.

Every error is `{"detail": "<sentence>"}` (field errors add `errors`), and any operation can answer a
malformed body (400), an unknown object (404), a body too large (413), a charset that is no text
encoding (415) or a service that is down (503); authenticated ones also 401 and 403. drf-spectacular
lists only what each view declares, so a generated client and schemathesis would call these undocumented.
"""

from __future__ import annotations

import re
from typing import Any

ERROR = {
    "type": "object",
    "properties": {
        "detail": {"type": "string", "description": "What went wrong, as a sentence."},
        "errors": {"type": "object", "additionalProperties": True, "description": "Per field, on a 400."},
    },
    "required": ["detail"],
}
EVERY_OPERATION = {
    "400": "The request is malformed or a value is invalid.",
    "404": "No such URL or object (other companies' objects included).",
    "413": "The request body is too large.",
    "415": "The charset of the body is no text encoding.",
    "503": "The database or the message queue is unavailable; see Retry-After.",
}
THROTTLED = {"auth_token_create", "trigger_message_create"}  # sign-in budget; misses of trigger-message
AUTHENTICATED = {
    "401": "No credentials, or credentials that are not valid.",
    "403": "Not allowed (not a company admin, or a CSRF failure for a session).",
}


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """POSTPROCESSING_HOOKS entry: an Error component, and each missing error answer on each operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            answers = dict(EVERY_OPERATION)
            if operation.get("security") != [{}] and operation.get("security") != []:
                answers |= AUTHENTICATED
            if operation.get("operationId") in THROTTLED:
                answers["429"] = "Too many attempts from this address; see Retry-After."
            for status, description in answers.items():
                response = operation["responses"].setdefault(status, {"description": description})
                response.setdefault("content", reference)
    return result


def _optional_slash_paths() -> set[str]:
    """The API paths routed with an optional trailing slash (`re_path(r"^api/.../?$")`), as the schema
    names paths: "/api/buttons/{identifier}/messages"."""
    from django.urls import URLResolver, get_resolver

    found: set[str] = set()
    stack = list(get_resolver().url_patterns)
    while stack:
        entry = stack.pop()
        if isinstance(entry, URLResolver):
            stack.extend(entry.url_patterns)
            continue
        regex = getattr(entry.pattern, "_regex", "")
        if isinstance(regex, str) and regex.endswith("/?$"):
            found.add("/" + re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", regex[1:-3]))
    return found


def canonical_paths(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """POSTPROCESSING_HOOKS entry: a path that works with and without its trailing slash is listed as
    the README's API section names it, without the slash (drf-spectacular renders the optional slash as a slash)."""
    optional = _optional_slash_paths()
    result["paths"] = {
        (path.rstrip("/") if path.rstrip("/") in optional else path): item
        for path, item in result.get("paths", {}).items()
    }
    return result

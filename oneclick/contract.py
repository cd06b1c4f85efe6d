"""Every answer under /api/ is JSON with a sentence, whatever Django raises; pages get styled error pages.

- `CharsetMiddleware`: a request body whose Content-Type names a charset that is no text encoding
  (Python's codecs include zlib, base64, rot13 ... and Django would hand them the body) is a 415.
- `handler400/403/404` (500: oneclick.faults) and `csrf_failure`: Django's own answers (too many form fields, a URL that
  matches nothing, a CSRF failure, a bug) in the API's shape or as a styled page.
- `JSONErrorsMiddleware`: anything else under /api/ that still leaves as HTML or empty (a 405 of a
  function view, Django's debug 404 page in the local mode) is rewritten to JSON.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from oneclick.faults import SERVER_ERROR, error_response, wants_json

# Codecs Python has that no browser or HTTP client means by a charset: they are not character encodings.
NOT_CHARSETS = {"undefined", "punycode", "idna"}
SENTENCES = {
    400: "The request could not be read: check its body and parameters.",
    403: "You do not have permission to do this.",
    404: "Not found: no such URL or object.",
    405: "This URL does not accept that method.",
    413: "The request body is too large.",
    415: "The request's content type is not supported.",
    429: "Too many requests; please wait and try again.",
    500: SERVER_ERROR,
}


def charset_problem(content_type: str) -> str | None:
    """Why the charset of a Content-Type cannot be read, or None."""
    for param in content_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.strip().lower() != "charset":
            continue
        charset = value.strip().strip('"').strip()
        shown = charset[:40]
        try:
            info = codecs.lookup(charset)
        except (LookupError, ValueError):
            return f"The charset {shown!r} is not a known text encoding: send the body as UTF-8."
        if not getattr(info, "_is_text_encoding", True) or info.name in NOT_CHARSETS:
            return f"The charset {shown!r} is not a text encoding: send the body as UTF-8."
    return None


class CharsetMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = charset_problem(request.META.get("CONTENT_TYPE", ""))
        if problem:
            return error_response(request, problem, 415)
        return self.get_response(request)


class JSONErrorsMiddleware:
    """Listed first: it sees every answer last."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or not wants_json(request) or response.streaming:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        default = SENTENCES[400] if response.status_code < 500 else SERVER_ERROR
        fixed = error_response(request, SENTENCES.get(response.status_code, default), response.status_code)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                fixed[header] = response[header]
        return fixed


def _handler(status: int) -> Callable[..., HttpResponse]:
    def view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
        return error_response(request, SENTENCES[status], status)

    view.__name__ = f"handler{status}"
    return view


handler400 = _handler(400)
handler403 = _handler(403)
handler404 = _handler(404)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    sentence = "The form expired or came from another site (CSRF check failed); reload the page and try again."
    if wants_json(request):
        sentence = f"CSRF check failed: {reason or 'no valid token'}. Send the csrftoken cookie's value in X-CSRFToken."
    return error_response(request, sentence, 403)


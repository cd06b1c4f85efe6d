"""Every error answer of the HTTP contract, in one place: JSON `{"detail": "<a sentence>"}` (with "errors"
per field for invalid input) on JSON paths, a styled error page elsewhere; never Django's HTML 500.

- `error_response`: the one builder every answer below goes through (503s carry Retry-After).
- `ServiceUnavailableMiddleware`, `server_error` (handler500) and the DRF `exception_handler`: a failing
  PostgreSQL or Redis (core.faults says which failures those are) becomes a fast 503 with a sentence,
  whether a view, DRF or another middleware met it.
- `CharsetMiddleware`: a request body whose Content-Type names a charset that is no text encoding
  (Python's codecs include zlib, base64, rot13 ... and Django would hand them the body) is a 415.
- `handler400/403/404` and `csrf_failure`: Django's own answers (too many form fields, a URL that
  matches nothing, a CSRF failure) in the API's shape or as a styled page.
- `JSONErrorsMiddleware`: anything else under /api/ that still leaves as HTML or empty (a 405 of a
  function view, Django's debug 404 page in the local mode) is rewritten to JSON.
"""

from __future__ import annotations

import codecs
import logging
import sys
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.bodies import body_too_large
from core.faults import RETRY_AFTER_SECONDS, unavailable_sentence
from core.framing import framed_by

logger = logging.getLogger(__name__)

SERVER_ERROR = "Something went wrong on our side; the error was logged. Please try again."
# Paths that speak JSON (every page elsewhere is HTML).
JSON_PREFIXES = ("/api/", "/healthz", "/pipedrive/session/", "/embed/session/", "/pipedrive/uninstall/")


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(JSON_PREFIXES)


def error_response(request: HttpRequest, sentence: str, status: int) -> HttpResponse:
    if wants_json(request):
        response: HttpResponse = JsonResponse({"detail": sentence}, status=status)
    else:
        response = HttpResponse(render_to_string("error.html", {"sentence": sentence, "status": status}),
                                status=status)
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    if request.path.startswith("/pipedrive/panel/"):
        # Shown inside Pipedrive's frame, so the reader sees the sentence rather than a refused frame.
        # (The signed embed's origins are the company's, which a failing database cannot tell.)
        response = framed_by(response, settings.EMBED_FRAME_ANCESTORS)
    return response


def unavailable(request: HttpRequest, exc: BaseException) -> HttpResponse | None:
    sentence = unavailable_sentence(exc)
    if sentence is None:
        return None
    logger.warning("Answered 503 to %s %s: %s", request.method, request.path, exc.__class__.__name__)
    return error_response(request, sentence, 503)


class ServiceUnavailableMiddleware:
    """Turns a view's service failure into a 503 (listed first, so it sees every view's exception)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return unavailable(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a failing middleware (the session saved on a dead database) still gets its 503, and
    anything else a sentence, as JSON under /api/ or as a styled page."""
    exc = sys.exc_info()[1]
    response = unavailable(request, exc) if exc is not None else None
    return response or error_response(request, SERVER_ERROR, 500)


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


# --- The JSON API (DRF) ---------------------------------------------------------------------------


def _first_sentence(errors: Any, field: str | None = None) -> str:
    if isinstance(errors, dict):
        key, value = next(iter(errors.items()))
        name = None if key in ("non_field_errors", "__all__") else key
        return _first_sentence(value, name if field is None else f"{field}.{name}" if name else field)
    if isinstance(errors, list) and errors:
        return _first_sentence(errors[0], field)
    text = str(errors)
    return f"{field}: {text}" if field else text


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, RequestDataTooBig):  # a form body over DATA_UPLOAD_MAX_MEMORY_SIZE
        exc = body_too_large()
    if unavailable_sentence(exc) is not None:
        return None  # re-raised to ServiceUnavailableMiddleware, which answers every path's 503 alike
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"detail": _first_sentence(exc.detail)}
        if isinstance(exc.detail, dict):  # "errors" is per field, as the schema says; a whole-request
            response.data["errors"] = exc.detail  # refusal is its sentence alone
    return response

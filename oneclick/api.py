"""One error shape for every JSON endpoint: {"detail": "<a sentence>"} (+ "errors" per field)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from oneclick.faults import unavailable_sentence
from oneclick.parsers import body_too_large


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
        return None  # re-raised to oneclick.faults' middleware, which answers every path's 503 alike
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"detail": _first_sentence(exc.detail), "errors": exc.detail}
    return response

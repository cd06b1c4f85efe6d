"""Request body parsing for every JSON endpoint, with the limits a public endpoint needs.

DRF's JSONParser reads the whole stream whatever its size (Django's DATA_UPLOAD_MAX_MEMORY_SIZE
only guards request.body), lets RecursionError from a deeply nested body escape as a 500, and
accepts "\\ud800" escapes: lone surrogates that fail later, in the database or the response.
"""

from __future__ import annotations

import codecs
import re
from typing import IO, Any

from django.conf import settings
from django.http import QueryDict
from rest_framework import exceptions, parsers
from rest_framework.utils import json

# A lone surrogate can only arrive as a \u escape (raw bytes that encode one are not valid UTF-8), so
# bodies without such an escape (nearly all) skip the walk below.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "request_too_large"


def body_too_large() -> RequestTooLarge:
    limit_kb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024
    return RequestTooLarge(f"The request body is larger than {limit_kb:,} KB.")


def has_lone_surrogate(data: Any) -> bool:
    stack = [data]  # iterative: json.loads may return nesting deeper than Python's recursion limit
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def loads_checked(text: str) -> Any:
    """json.loads that raises ValueError for everything wrong with the text (see the module's note)."""
    try:
        data = json.loads(text, parse_constant=json.strict_constant)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply.") from None
    if _SURROGATE_ESCAPE.search(text) and has_lone_surrogate(data):
        raise ValueError("the JSON has a \\u escape that is half of a character (a lone surrogate).")
    return data


def read_bounded(stream: IO[bytes]) -> bytes:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise body_too_large()
    return raw


class JSONParser(parsers.JSONParser):
    def parse(self, stream: IO[bytes], media_type: str | None = None, parser_context: dict | None = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        raw = read_bounded(stream)
        try:
            text = codecs.decode(raw, encoding)
            return loads_checked(text)
        except ValueError as exc:  # UnicodeDecodeError is one too
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None


class FormParser(parsers.FormParser):
    """A url-encoded body, bounded as JSON is (DRF's reads it whole; multipart's fields are bounded by
    Django, whose RequestDataTooBig core.errors answers with the same 413)."""

    def parse(self, stream: IO[bytes], media_type: str | None = None, parser_context: dict | None = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        return QueryDict(read_bounded(stream), encoding=encoding)

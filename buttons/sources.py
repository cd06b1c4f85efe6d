"""Where a record's values come from (DESIGN "CRM data"), as the layers below the CRM see it.

A button's record fields and (later) its visibility rules need the record's values, which only the CRM
layer can read (Pipedrive's API with the company's tokens, the signed embed's claims, the demo CRM).
The click and the form live below that layer, so the CRM app registers its sources here when it loads
(crm.apps) and everything below asks `record_values()`; dependencies still point one way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from accounts.models import Member


class RecordUnavailable(Exception):
    """The CRM could not be asked in time (down, slow, refusing the company's token): a 503 with this
    sentence, never a click with its record fields missing."""


@dataclass(frozen=True)
class RecordContext:
    member: Member
    resource: str
    object_id: str
    # What the page's CRM said about the record itself (a signed embed's `record` claim), or None.
    claims: dict[str, Any] | None = field(default=None)


Source = Callable[[RecordContext], dict[str, Any] | None]
_sources: list[Source] = []


def register(source: Source) -> None:
    """A source answers a record's values, or None when the record is not its to answer."""
    if source not in _sources:
        _sources.append(source)


def record_values(context: RecordContext) -> dict[str, Any]:
    """The record's values by the CRM's field keys ({} when no CRM knows the record). Raises
    RecordUnavailable when the CRM that knows it cannot answer."""
    for source in _sources:
        values = source(context)
        if values is not None:
            return values
    return {}

"""Where a record's values come from (DESIGN "CRM data"), as the layers below the CRM see it.

A button's record fields and its visibility rules need the record's values and a deal's pipeline and
stage, which only the CRM layer can read (Pipedrive's API with the company's tokens, the signed embed's
claims, the demo CRM); the admin's rule editor needs the company's pipelines and stages.
The click and the form live below that layer, so the CRM app registers its sources here when it loads
(crm.apps) and everything below asks `record_values()`; dependencies still point one way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from accounts.access import RecordClaims
from accounts.models import Company, Member
from core.ids import crm_id

NO_PLACE_CLAIMS = ("Buttons limited to pipelines or stages are hidden: this page's token does not give both the "
                   "deal's pipelineId and stageId.")
NO_CRM = "Buttons limited to pipelines or stages are hidden: this page does not know the deal's stage."


class RecordUnavailable(Exception):
    """The CRM could not be asked in time (down, slow, refusing the company's token): a 503 with this
    sentence, never a click with its record fields missing."""


@dataclass(frozen=True)
class RecordContext:
    member: Member
    resource: str
    object_id: str
    # What the page's CRM said about the record itself (a signed embed's claims), or None.
    claims: RecordClaims | None = field(default=None)


@dataclass(frozen=True)
class DealPlace:
    """Where a deal is: its pipeline and stage ids as strings (None: not known, `unknown` says why)."""

    pipeline: str | None
    stage: str | None
    unknown: str | None = None
    # The CRM that knows the deal could not be asked (RecordUnavailable's sentence): a press is a 503.
    failed: str | None = None


@dataclass(frozen=True)
class Pipeline:
    """A pipeline as the CRM names it, with its stages in order: [(id, name)]."""

    id: str
    name: str
    stages: list[tuple[str, str]]


Source = Callable[[RecordContext], dict[str, Any] | None]
Catalogue = Callable[[Company], list[Pipeline] | None]
_sources: list[Source] = []
_catalogues: list[Catalogue] = []


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


def deal_place(context: RecordContext) -> DealPlace:
    """The deal's pipeline and stage: a signed embed's claims (nothing is fetched), or the CRM's record
    (`pipeline_id`, `stage_id`, as Pipedrive names them). Raises RecordUnavailable."""
    claims = context.claims
    if claims is not None and claims.signed:
        if claims.pipeline is None and claims.stage is None:
            return DealPlace(None, None, NO_PLACE_CLAIMS)
        return DealPlace(claims.pipeline, claims.stage, NO_PLACE_CLAIMS)
    values = record_values(context)
    return DealPlace(crm_id(values.get("pipeline_id")), crm_id(values.get("stage_id")), NO_CRM)


def register_catalogue(catalogue: Catalogue) -> None:
    """A catalogue answers a company's pipelines, or None when the company is not its to answer."""
    if catalogue not in _catalogues:
        _catalogues.append(catalogue)


def pipelines(company: Company) -> list[Pipeline] | None:
    """The company's pipelines and their stages as its CRM names them; None when no CRM lists them (a
    signed embed's host: the admin types the ids). Raises RecordUnavailable."""
    for catalogue in _catalogues:
        found = catalogue(company)
        if found is not None:
            return found
    return None

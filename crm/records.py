"""A record's values from the CRM (DESIGN "CRM data"), registered as buttons.sources when crm loads.

- The signed embed: the page's token may carry `record`, the host's own values of the record it shows;
  nothing is fetched (the demo CRM of the local mode passes its pretend deals this way).
- Pipedrive: the company's tokens (kept from the installation, encrypted) read
  GET {api_domain}/api/v1/{deals|organizations|persons}/<id>. The access token is refreshed before it
  ends, or after a 401; a 429 is waited out when its Retry-After fits in the request's budget; answers
  are cached RECORD_CACHE_SECONDS per record; Pipedrive down, slow (over BUDGET_SECONDS) or refusing the
  company's token is RecordUnavailable, a 503 with a sentence. A deal's answer carries its pipeline_id and
  stage_id (its buttons' visibility rules); /pipelines and /stages feed the admin's rule editor.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import requests
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.models import Company
from buttons.sources import Pipeline, RecordContext, RecordUnavailable
from core.ids import crm_id
from core.logs import events
from crm.models import PipedriveConnection
from crm.pipedrive import json_object

BUDGET_SECONDS = 3.0  # what one form or click may spend asking Pipedrive, retries included
# After Pipedrive failed to answer a company's request (down, slow, a 5xx), its next requests fail at once
# for this long: every open panel of a company with stage-limited buttons asks, and none should wait 3 s.
DOWN_SECONDS = 5
# A deal moved to another stage shows the right buttons within a minute: this, plus an open panel's refresh
# (static/panel.js, every 25 s on a page with stage-limited buttons).
RECORD_CACHE_SECONDS = 30
REFRESH_AHEAD = timedelta(seconds=60)  # refreshed this long before it ends, not at the last moment
ENDPOINTS = {"deal": "deals", "organization": "organizations", "person": "persons"}
UNREACHABLE = "Pipedrive could not be reached to read this {resource}'s fields; try again in a moment."
REFUSED = ("Pipedrive no longer accepts OneClick's access for this company: a Pipedrive admin installs "
           "OneClick again.")


def embed_source(context: RecordContext) -> dict[str, Any] | None:
    return context.claims.values if context.claims is not None else None


def pipedrive_source(context: RecordContext) -> dict[str, Any] | None:
    if context.resource not in ENDPOINTS or not context.object_id.isdigit():
        return None
    connection = PipedriveConnection.objects.filter(company_id=context.member.company_id).first()
    if connection is None:
        return None
    key = f"crm:record:{connection.company_id}:{context.resource}:{context.object_id}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    values = read_record(connection, context.resource, context.object_id)
    cache.set(key, values, RECORD_CACHE_SECONDS)
    return values


def read_record(connection: PipedriveConnection, resource: str, object_id: str) -> dict[str, Any]:
    data = _get(connection, f"{ENDPOINTS[resource]}/{object_id}", UNREACHABLE.format(resource=resource),
                resource).get("data") or {}
    if not isinstance(data, dict):
        events.warning("crm_error", company=connection.company_id, status=200)
        raise RecordUnavailable(UNREACHABLE.format(resource=resource))
    return data


def pipedrive_catalogue(company: Company) -> list[Pipeline] | None:
    """The company's pipelines and stages as Pipedrive names them (GET /api/v1/pipelines and /stages),
    cached RECORD_CACHE_SECONDS; None when the company has no Pipedrive connection."""
    connection = PipedriveConnection.objects.filter(company_id=company.pk).first()
    if connection is None:
        return None
    key = f"crm:pipelines:{company.pk}"
    cached = cache.get(key)
    if cached is not None:
        return [Pipeline(p["id"], p["name"], [tuple(s) for s in p["stages"]]) for p in cached]
    found: list[Pipeline] = []
    for item in _list(connection, "pipelines"):
        pipeline_id = crm_id(item.get("id"))
        if pipeline_id is not None:
            found.append(Pipeline(pipeline_id, _name(item, pipeline_id), []))
    by_id = {p.id: p for p in found}
    for item in sorted(_list(connection, "stages"), key=lambda s: (_order(s), str(s.get("id")))):
        stage_id, pipeline = crm_id(item.get("id")), by_id.get(crm_id(item.get("pipeline_id")) or "")
        if stage_id is not None and pipeline is not None:
            pipeline.stages.append((stage_id, _name(item, stage_id)))
    cache.set(key, [{"id": p.id, "name": p.name, "stages": p.stages} for p in found], RECORD_CACHE_SECONDS)
    return found


CATALOGUE_UNREACHABLE = ("Pipedrive could not be reached to list the company's pipelines and stages; try again in a "
                         "moment.")


PAGE, MAX_PAGES = 500, 10


def _list(connection: PipedriveConnection, path: str) -> list[dict[str, Any]]:
    """Every item of a Pipedrive list, page by page while it says more follow (at most MAX_PAGES)."""
    items: list[dict[str, Any]] = []
    start = 0
    for _ in range(MAX_PAGES):
        body = _get(connection, f"{path}?start={start}&limit={PAGE}", CATALOGUE_UNREACHABLE, "list")
        data = body.get("data")
        if isinstance(data, list):
            items.extend(item for item in data if isinstance(item, dict))
        more = body.get("additional_data")
        pagination = more.get("pagination") if isinstance(more, dict) else None
        if not isinstance(pagination, dict) or pagination.get("more_items_in_collection") is not True:
            break
        following = pagination.get("next_start")
        if not isinstance(following, int) or following <= start:
            break
        start = following
    return items


def _name(item: dict[str, Any], fallback: str) -> str:
    name = item.get("name")
    return name.strip()[:200] if isinstance(name, str) and name.strip() else fallback


def _order(item: dict[str, Any]) -> int:
    order = item.get("order_nr")
    return order if isinstance(order, int) and not isinstance(order, bool) else 0


def _get(connection: PipedriveConnection, path: str, sentence: str, what: str) -> dict[str, Any]:
    """GET {api_domain}/api/v1/<path>: the answer's object ({} on a 404), within BUDGET_SECONDS, the tokens
    refreshed when they end or after a 401, a 429 waited out when its wait fits. RecordUnavailable else."""
    if cache.get(_down_key(connection.company_id)):  # it just failed: answer at once, hold no worker 3 s
        raise RecordUnavailable(sentence)
    deadline = time.monotonic() + BUDGET_SECONDS
    if connection.expires_at - REFRESH_AHEAD <= timezone.now():
        connection = refresh(connection, deadline)
    refreshed = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            _mark_down(connection.company_id)
            raise RecordUnavailable(sentence)
        try:
            response = requests.get(f"{connection.api_domain}/api/v1/{path}",
                                    headers={"Authorization": f"Bearer {connection.access_token}"},
                                    timeout=(min(left, 2.0), left))
        except requests.RequestException:
            events.warning("crm_unreachable", company=connection.company_id, resource=what)
            _mark_down(connection.company_id)
            raise RecordUnavailable(sentence) from None
        if response.status_code == 401 and not refreshed:
            connection, refreshed = refresh(connection, deadline), True
            continue
        if response.status_code == 429:
            wait = _retry_after(response)
            if wait is None or time.monotonic() + wait >= deadline:
                events.warning("crm_rate_limited", company=connection.company_id, retry_after=wait)
                raise RecordUnavailable(f"Pipedrive asks OneClick to slow down; try this {what} again in a few "
                                        "seconds.")
            time.sleep(wait)
            continue
        if response.status_code == 404:
            return {}  # no such record: every record field is null
        if response.status_code == 401:
            raise RecordUnavailable(REFUSED)
        body = json_object(response)
        if response.status_code != 200 or "data" not in body:
            events.warning("crm_error", company=connection.company_id, status=response.status_code)
            if response.status_code >= 500:
                _mark_down(connection.company_id)
            raise RecordUnavailable(sentence)
        return body


def _down_key(company_id: int) -> str:
    return f"crm:down:{company_id}"


def _mark_down(company_id: int) -> None:
    cache.set(_down_key(company_id), True, DOWN_SECONDS)


def refresh(connection: PipedriveConnection, deadline: float) -> PipedriveConnection:
    """New tokens for the company, one process at a time (Pipedrive may retire a refresh token once used)."""
    unreachable = "Pipedrive could not be reached to renew OneClick's access; try again in a moment."
    with transaction.atomic():
        locked = PipedriveConnection.objects.select_for_update().get(pk=connection.pk)
        if locked.updated_at > connection.updated_at and locked.expires_at - REFRESH_AHEAD > timezone.now():
            return locked  # another request refreshed it meanwhile
        if cache.get(_down_key(locked.company_id)):  # the request before us (we queued on its lock) failed
            raise RecordUnavailable(unreachable)
        left = max(0.1, deadline - time.monotonic())
        try:
            response = requests.post(f"{settings.PIPEDRIVE_OAUTH_URL}/oauth/token",
                                     data={"grant_type": "refresh_token", "refresh_token": locked.refresh_token},
                                     auth=(settings.PIPEDRIVE_CLIENT_ID, settings.PIPEDRIVE_CLIENT_SECRET),
                                     timeout=(min(left, 2.0), left))
        except requests.RequestException:
            _mark_down(locked.company_id)
            raise RecordUnavailable(unreachable) from None
        answer = json_object(response)
        if response.status_code >= 500:
            _mark_down(locked.company_id)
            raise RecordUnavailable(unreachable)
        if response.status_code != 200 or not isinstance(answer.get("access_token"), str):
            events.warning("crm_refresh_refused", company=locked.company_id, status=response.status_code)
            raise RecordUnavailable(REFUSED)
        locked.keep(answer)
        locked.save()
        events.info("crm_tokens_refreshed", company=locked.company_id)
        return locked


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After") or response.headers.get("x-ratelimit-reset")
    try:
        seconds = float(value) if value is not None else 1.0
    except ValueError:
        return None
    return seconds if 0 <= seconds <= 60 else None

"""A record's values from the CRM (DESIGN "CRM data"), registered as buttons.sources when crm loads.

- The signed embed: the page's token may carry `record`, the host's own values of the record it shows;
  nothing is fetched (the demo CRM of the local mode passes its pretend deals this way).
- Pipedrive: the company's tokens (kept from the installation, encrypted) read
  GET {api_domain}/api/v1/{deals|organizations|persons}/<id>. The access token is refreshed before it
  ends, or after a 401; a 429 is waited out when its Retry-After fits in the request's budget; answers
  are cached RECORD_CACHE_SECONDS per record; Pipedrive down, slow (over BUDGET_SECONDS) or refusing the
  company's token is RecordUnavailable, a 503 with a sentence.
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

from buttons.sources import RecordContext, RecordUnavailable
from core.logs import events
from crm.models import PipedriveConnection
from crm.pipedrive import json_object

BUDGET_SECONDS = 3.0  # what one form or click may spend asking Pipedrive, retries included
RECORD_CACHE_SECONDS = 60
REFRESH_AHEAD = timedelta(seconds=60)  # refreshed this long before it ends, not at the last moment
ENDPOINTS = {"deal": "deals", "organization": "organizations", "person": "persons"}
UNREACHABLE = "Pipedrive could not be reached to read this {resource}'s fields; try again in a moment."
REFUSED = ("Pipedrive no longer accepts OneClick's access for this company: a Pipedrive admin installs "
           "OneClick again.")


def embed_source(context: RecordContext) -> dict[str, Any] | None:
    return context.claims if context.claims is not None else None


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
    deadline = time.monotonic() + BUDGET_SECONDS
    sentence = UNREACHABLE.format(resource=resource)
    if connection.expires_at - REFRESH_AHEAD <= timezone.now():
        connection = refresh(connection, deadline)
    refreshed = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise RecordUnavailable(sentence)
        try:
            response = requests.get(f"{connection.api_domain}/api/v1/{ENDPOINTS[resource]}/{object_id}",
                                    headers={"Authorization": f"Bearer {connection.access_token}"},
                                    timeout=(min(left, 2.0), left))
        except requests.RequestException:
            events.warning("crm_unreachable", company=connection.company_id, resource=resource)
            raise RecordUnavailable(sentence) from None
        if response.status_code == 401 and not refreshed:
            connection, refreshed = refresh(connection, deadline), True
            continue
        if response.status_code == 429:
            wait = _retry_after(response)
            if wait is None or time.monotonic() + wait >= deadline:
                events.warning("crm_rate_limited", company=connection.company_id, retry_after=wait)
                raise RecordUnavailable(f"Pipedrive asks OneClick to slow down; try this {resource} again in a "
                                        "few seconds.")
            time.sleep(wait)
            continue
        if response.status_code == 404:
            return {}  # no such record: every record field is null
        if response.status_code == 401:
            raise RecordUnavailable(REFUSED)
        data = _data(response)
        if response.status_code != 200 or data is None:
            events.warning("crm_error", company=connection.company_id, status=response.status_code)
            raise RecordUnavailable(sentence)
        return data


def refresh(connection: PipedriveConnection, deadline: float) -> PipedriveConnection:
    """New tokens for the company, one process at a time (Pipedrive may retire a refresh token once used)."""
    with transaction.atomic():
        locked = PipedriveConnection.objects.select_for_update().get(pk=connection.pk)
        if locked.updated_at > connection.updated_at and locked.expires_at - REFRESH_AHEAD > timezone.now():
            return locked  # another request refreshed it meanwhile
        left = max(0.1, deadline - time.monotonic())
        try:
            response = requests.post(f"{settings.PIPEDRIVE_OAUTH_URL}/oauth/token",
                                     data={"grant_type": "refresh_token", "refresh_token": locked.refresh_token},
                                     auth=(settings.PIPEDRIVE_CLIENT_ID, settings.PIPEDRIVE_CLIENT_SECRET),
                                     timeout=(min(left, 2.0), left))
        except requests.RequestException:
            raise RecordUnavailable("Pipedrive could not be reached to renew OneClick's access; try again in a "
                                    "moment.") from None
        answer = json_object(response)
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


def _data(response: requests.Response) -> dict[str, Any] | None:
    data = json_object(response).get("data")
    return data if isinstance(data, dict) else None

"""The demo CRM of the embedded local mode (never mounted in production): a deal page on another
origin (http://localhost:<port>, beside the app on 127.0.0.1) that shows the OneClick panel in its
sidebar, as a newcomer's users would see it.

It plays the host's part for real: its server signs the panel's token (a signed embed with the demo
company's embed secret, or a Pipedrive panel token with PIPEDRIVE_JWT_SECRET), and static/demo-crm.js
answers the panel's messages (Pipedrive's SDK protocol, or the signed embed's token and resize requests).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt
from csp.decorators import csp_update
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.models import Company, Member
from buttons.sources import Pipeline, RecordContext
from core.secrets import EMBED_SECRET_PREFIX, secret_key_bytes

DEMO_COMPANY = "737569"  # as seed_demo makes it
DEMO_RECORD = "42"
USERS = {"demo": "1108048", "admin": "1108047"}
HOSTS = ("signed", "pipedrive")
THEMES = ("light", "dark")  # or none: the system's


# The pretend CRM's pipelines and their stages, as Pipedrive numbers them (the admin's rule editor offers
# them; a button of the demo shows only on deals in one stage).
PIPELINES = (
    Pipeline("1", "Sales", [("1", "Qualified"), ("2", "Contact made"), ("3", "Proposal made"),
                            ("4", "Negotiations started")]),
    Pipeline("2", "Partners", [("5", "Introduced"), ("6", "Agreement signed")]),
)
STAGES = {stage_id: (pipeline.id, name) for pipeline in PIPELINES for stage_id, name in pipeline.stages}


@dataclass(frozen=True)
class Deal:
    id: str
    title: str
    value: str
    stage_id: str
    organization: str
    contact: str
    owner: str

    @property
    def stage(self) -> str:
        return STAGES[self.stage_id][1]

    @property
    def pipeline_id(self) -> str:
        return STAGES[self.stage_id][0]


# The pretend CRM's deals, each in another stage of its pipeline.
DEALS = {deal.id: deal for deal in (
    Deal("42", "120 licences for Globex", "€ 18,400", "3", "Globex Corporation", "Hank Scorpio", "demo"),
    Deal("43", "Support renewal for Initech", "€ 6,250", "4", "Initech", "Bill Lumbergh", "admin"),
    Deal("44", "Pilot for Umbrella", "€ 2,900", "1", "Umbrella Corporation", "Alice Abernathy", "demo"),
    Deal("45", "Fleet tracking for Acme", "€ 31,000", "2", "Acme Corporation", "Wile E. Coyote", "admin"),
)}


def deal_values(deal: Deal) -> dict[str, str | int]:
    """A pretend deal's fields, by the keys a button's record fields name (title, value, stage, owner),
    and its pipeline_id and stage_id as Pipedrive gives them (numbers)."""
    return {"id": deal.id, "title": deal.title, "value": deal.value, "stage": deal.stage, "owner": deal.owner,
            "organization": deal.organization, "contact": deal.contact,
            "pipeline_id": int(deal.pipeline_id), "stage_id": int(deal.stage_id)}


def _is_demo(company: Company) -> bool:
    # (the test suite installs the demo app for its own tests; its company id is common there)
    return settings.LOCAL_MODE and company.external_id == DEMO_COMPANY


def demo_source(context: RecordContext) -> dict[str, Any] | None:
    """The demo CRM as a record source of the local mode: the session page (/panel/deal/42/) of the demo
    company shows the same values (and the same buttons) as the demo CRM's own page."""
    if context.resource != "deal" or not _is_demo(context.member.company):
        return None
    deal = DEALS.get(context.object_id)
    return deal_values(deal) if deal else None


def demo_catalogue(company: Company) -> list[Pipeline] | None:
    """The demo company's pipelines for the admin's rule editor (local mode)."""
    return list(PIPELINES) if _is_demo(company) else None


def _app_base() -> str:
    return settings.DEMO_BASE_URL.rstrip("/")


def _crm_base() -> str:
    """The demo CRM's own origin: the app's, with localhost for 127.0.0.1 (so it is another site)."""
    parts = urlsplit(_app_base())
    return f"{parts.scheme}://localhost:{parts.port or 80}"


def _member(request: HttpRequest) -> Member | None:
    user_id = USERS.get(request.GET.get("as", "demo"), USERS["demo"])
    return Member.objects.select_related("company", "user").filter(
        company__external_id=DEMO_COMPANY, external_id=user_id).first()


def embed_token(member: Member, resource: str = "deal", selected_ids: str = DEMO_RECORD, view: str = "details") -> str:
    """What a host's server signs for /embed/panel/: at most 15 minutes ahead. On a deal's page it vouches
    for the deal's values too (`record`: a button's record fields show them) and its pipelineId and stageId
    (buttons limited to stages show on the deals in them)."""
    claims = {"companyId": member.company.external_id, "userId": member.external_id, "resource": resource,
              "view": view, "selectedIds": selected_ids, "name": member.user.get_username(),
              "exp": int(time.time()) + 600}
    deal = DEALS.get(selected_ids) if resource == "deal" and view == "details" else None
    if deal is not None:
        claims.update(record=deal_values(deal), pipelineId=int(deal.pipeline_id), stageId=int(deal.stage_id))
    return jwt.encode(claims, secret_key_bytes(member.company.embed_secret, EMBED_SECRET_PREFIX), algorithm="HS256")


def pipedrive_token(member: Member) -> str:
    """What Pipedrive signs for a custom panel (and its SDK's get_signed_token)."""
    claims = {"userId": int(member.external_id), "companyId": int(member.company.external_id),
              "exp": int(time.time()) + 600}
    return jwt.encode(claims, settings.PIPEDRIVE_JWT_SECRET, algorithm="HS256")


def _frame_url(member: Member, host: str, theme: str, deal: Deal | None) -> str:
    themed = {"theme": theme} if theme else {}  # none: the panel follows the system, as this page does
    if deal is None:  # the list of deals: Pipedrive shows custom panels on a record only, so a signed embed
        token = embed_token(member, "deal", "", view="list")
        return f"{_app_base()}/embed/panel/?{urlencode({'token': token, **themed})}"
    if host == "pipedrive":
        query = {"resource": "deal", "view": "details", "selectedIds": deal.id, "id": "oneclick-demo-panel",
                 "userId": member.external_id, "companyId": member.company.external_id, **themed,
                 "token": pipedrive_token(member)}
        return f"{_app_base()}/pipedrive/panel/?{urlencode(query)}"
    return f"{_app_base()}/embed/panel/?{urlencode({'token': embed_token(member, selected_ids=deal.id), **themed})}"


@require_GET
@csp_update({"frame-src": [_app_base()]})
def crm(request: HttpRequest) -> HttpResponse:
    """GET /demo/crm/: a deal in a pretend CRM (?deal=43), or its list of deals (?deal=list), the OneClick
    panel in its sidebar."""
    if request.get_host().split(":")[0] != "localhost":  # the CRM lives on another origin than the app
        return HttpResponseRedirect(f"{_crm_base()}{request.get_full_path()}")
    member = _member(request)
    if member is None or not member.company.embed_secret:
        return HttpResponse("The demo data is missing: run `python manage.py seed_demo` (./run does).",
                            status=503, content_type="text/plain")
    wanted = request.GET.get("deal", DEMO_RECORD)
    deal = None if wanted == "list" else DEALS.get(wanted, DEALS[DEMO_RECORD])
    host = request.GET.get("host") if request.GET.get("host") in HOSTS else "signed"
    theme = request.GET.get("theme") if request.GET.get("theme") in THEMES else ""
    as_user = "admin" if member.external_id == USERS["admin"] else "demo"
    here = {"as": as_user, "host": host, "deal": deal.id if deal else "list", "theme": theme}
    response = render(request, "embed/demo_crm.html", {
        "frame_url": _frame_url(member, host, theme, deal), "app_origin": _app_base(),
        "host": host if deal else "signed", "chosen_host": host, "crm_theme": theme, "as_user": as_user,
        "member": member, "deal": deal,
        "deals": [(d, "?" + urlencode({**here, "deal": d.id})) for d in DEALS.values()],
        "links": {name: "?" + urlencode({**here, **change}) for name, change in {
            "demo": {"as": "demo"}, "admin": {"as": "admin"}, "signed": {"host": "signed"},
            "pipedrive": {"host": "pipedrive"}, "list": {"deal": "list"},
        }.items()},
        "token_url": "/demo/crm/token?" + urlencode({"as": as_user, "host": host if deal else "signed",
                                                     "deal": here["deal"]}),
    })
    # A host page whose opener policy is same-origin cuts a cross-origin frame's popups off (the browser
    # opens them without an opener and window.open() answers null): the panel's redirects need this.
    response["Cross-Origin-Opener-Policy"] = "unsafe-none"
    return response


@require_GET
def crm_token(request: HttpRequest) -> JsonResponse:
    """A fresh token for the demo CRM's panel (the host's server side; local mode only)."""
    member = _member(request)
    if member is None or not member.company.embed_secret:
        return JsonResponse({"detail": "The demo data is missing: run python manage.py seed_demo."}, status=503)
    deal = request.GET.get("deal", DEMO_RECORD)
    if request.GET.get("host") == "pipedrive":
        return JsonResponse({"token": pipedrive_token(member)})
    if deal == "list":
        return JsonResponse({"token": embed_token(member, "deal", "", view="list")})
    return JsonResponse({"token": embed_token(member, selected_ids=deal if deal in DEALS else DEMO_RECORD)})

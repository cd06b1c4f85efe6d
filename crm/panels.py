"""The panel inside a CRM: Pipedrive's custom panel and the signed embed for any other host.

The CRM vouches for its user with a signed token (crm.tokens). The page then works without a
cookie (third-party cookies are blocked in Safari and Firefox, and soon everywhere): it carries a
short-lived bearer credential (accounts.access.issue_access) that static/panel.js sends with every API
call and the live stream, and renews at /pipedrive/session/ or /embed/session/ before it ends.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import access
from accounts.actions import join_from_crm
from accounts.authentication import MAX_CREDENTIAL
from accounts.models import Member
from buttons.records import Record
from core.framing import framed_by
from crm import tokens
from messaging import reads
from messaging.pages import RESOURCE_LABELS, record_title

NOT_INSTALLED = "OneClick is not installed for this company"


def _note(request: HttpRequest, origins: Iterable[str], heading: str, sentence: str, *, status: int,
          install: bool = False) -> HttpResponse:
    """A sentence inside the frame, and nothing of any company."""
    context = {"heading": heading, "sentence": sentence, "status": status,
               "install_url": reverse("pipedrive-install") if install else None,
               "pipedrive": request.path.startswith("/pipedrive/")}
    return framed_by(render(request, "embed/refused.html", context, status=status), origins)


def _refused(request: HttpRequest, origins: Iterable[str], sentence: str) -> HttpResponse:
    return _note(request, origins, "OneClick cannot open here", sentence, status=401)


def _panel(request: HttpRequest, member: Member, record: Record, selected_ids: list[str], *, mode: str,
           origins: Iterable[str], sdk_id: str = "", claims: access.RecordClaims | None = None) -> HttpResponse:
    refusal = access.refusal_of(member)
    if refusal is not None:
        uninstalled = refusal == access.UNINSTALLED
        heading = "OneClick is not installed for you" if uninstalled else "OneClick is not available to you"
        return _note(request, origins, heading, refusal, status=403, install=mode == "pipedrive" and uninstalled)
    token, expires_in = access.issue_access(member, (record.resource, record.object_id), claims)
    response = render(request, "embed/panel.html", {
        "member": member,
        "resource": record.resource,
        "resource_label": RESOURCE_LABELS[record.resource],
        "object_id": record.object_id,
        "is_list": record.is_list,
        "view": record.view,
        "title": record_title(record.resource, record.object_id),
        "panel": reads.panel_state(member.user, record.resource, record.object_id, claims),
        "live_mode": "poll" if request.GET.get("live") == "poll" else "stream",
        "embed": {
            "mode": mode, "access": token, "expires_in": expires_in, "sdk_id": sdk_id,
            "session_url": reverse("pipedrive-session" if mode == "pipedrive" else "embed-session"),
            "selected_ids": ",".join(selected_ids),
            # Inside Pipedrive, a redirect to a record of this account navigates there (SDK REDIRECT_TO).
            "crm_domain": member.company.crm_domain if mode == "pipedrive" else "",
        },
    })
    response["Cache-Control"] = "no-store"  # it holds a credential
    return framed_by(response, origins)


def _pipedrive_member(crm: tokens.CrmUser) -> Member | None:
    """The member a Pipedrive token names (a new user of an installed company joins), or None while the
    company has not installed OneClick."""
    company = access.installed_company(crm.company_id)
    return join_from_crm(company, crm.user_id) if company else None


def _embed_member(grant: tokens.EmbedGrant) -> Member:
    return join_from_crm(grant.company, grant.user.user_id, grant.user.name)


@require_GET
def pipedrive_panel(request: HttpRequest) -> HttpResponse:
    """GET /pipedrive/panel/: the custom panel URL registered in Pipedrive's Developer Hub."""
    origins = settings.EMBED_FRAME_ANCESTORS
    query = request.GET
    try:
        crm = tokens.pipedrive_user(query.get("token"), user_id=query.get("userId"),
                                       company_id=query.get("companyId"))
        # Custom panels live in details views; a list view, should Pipedrive open one, is the list's log.
        view = "list" if query.get("view") == "list" else "details"
        record, selected = tokens.embed_record(query.get("resource"), view, query.get("selectedIds"))
    except tokens.Refused as exc:
        return _refused(request, origins, str(exc))
    member = _pipedrive_member(crm)
    if member is None:
        return _note(request, origins, NOT_INSTALLED,
                     f"{NOT_INSTALLED}. A Pipedrive admin of the company installs it once for everyone.",
                     status=200, install=True)
    return _panel(request, member, record, selected, mode="pipedrive", origins=origins,
                  sdk_id=(query.get("id") or "")[:200])


@require_GET
def embed_panel(request: HttpRequest) -> HttpResponse:
    """GET /embed/panel/?token=: the panel for any other host, which signs the token with the company's
    embed secret; only the company's listed origins may frame it."""
    token = request.GET.get("token")
    try:
        grant = tokens.embed_grant(token)
    except tokens.Refused as exc:
        return _refused(request, tokens.framing_origins(token), str(exc))
    return _panel(request, _embed_member(grant), grant.record, grant.selected_ids, mode="signed",
                  origins=grant.company.allowed_origins(), claims=grant.claims)


class _TokenSerializer(serializers.Serializer):
    # A signed embed's token carries the record's values (at most 4 KB of JSON: about 5.5 KB of JWT).
    token = serializers.CharField(max_length=MAX_CREDENTIAL, trim_whitespace=True,
                                  help_text="The CRM's signed token (a JWT).")


class _AccessSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="Send as `Authorization: Bearer <access>`; needs no CSRF token.")
    expires_in = serializers.IntegerField(help_text="Seconds it lasts (at most 900); renew before.")


SESSION_SCHEMA = extend_schema(
    request=_TokenSerializer,
    responses={200: _AccessSerializer, 401: OpenApiResponse(description="The token is missing or fails a check; "
                                                            "`detail` says which.")},
)


class _SessionView(APIView):
    """POST {"token": <the CRM's signed token>} -> {"access", "expires_in"}: a fresh bearer credential."""

    authentication_classes: list = []  # the token in the body is the credential; no cookie, no CSRF
    permission_classes = [AllowAny]

    record_claims: tuple[tuple[str, str] | None, access.RecordClaims | None] = (None, None)

    def member(self, token: str) -> Member | None:
        raise NotImplementedError

    def post(self, request: Request) -> Response:
        body = _TokenSerializer(data=request.data)
        if not body.is_valid():
            return Response({"detail": tokens.NO_TOKEN}, status=401)
        try:
            member = self.member(body.validated_data["token"])
        except tokens.Refused as exc:
            return Response({"detail": str(exc)}, status=401)
        if member is None:
            return Response({"detail": f"{NOT_INSTALLED}."}, status=401)
        refusal = access.refusal_of(member)
        if refusal is not None:
            return Response({"detail": refusal}, status=401)
        token, expires_in = access.issue_access(member, *self.record_claims)
        return Response({"access": token, "expires_in": expires_in}, headers={"Cache-Control": "no-store"})


@extend_schema_view(post=extend_schema(summary="A bearer credential for Pipedrive's custom panel"))
@SESSION_SCHEMA
class PipedriveSessionView(_SessionView):
    """POST /pipedrive/session/ with the token of the SDK's get_signed_token command."""

    def member(self, token: str) -> Member | None:
        return _pipedrive_member(tokens.pipedrive_user(token, check_query=False))


@extend_schema_view(post=extend_schema(summary="A bearer credential for the signed embed"))
@SESSION_SCHEMA
class EmbedSessionView(_SessionView):
    """POST /embed/session/ with a fresh token from the host (the panel asks it by postMessage)."""

    def member(self, token: str) -> Member | None:
        grant = tokens.embed_grant(token)
        self.record_claims = ((grant.record.resource, grant.record.object_id), grant.claims)
        return _embed_member(grant)

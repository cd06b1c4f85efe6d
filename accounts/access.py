"""Who may see and do what: the one place that answers "which company is this user in".

Every query that serves a person starts here: the member of a user and their company (`scoped` narrows
any company-owned queryset to it: buttons.reads builds the buttons and events a user may see on it),
the embedded panel's bearer credential, and company-admin rights in the admin panel and the API.
Another company's object is simply not found (a 404), never "forbidden", so ids do not leak which exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, Permission
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest

from accounts.models import Company, Member

M = TypeVar("M", bound=Model)

NOT_A_MEMBER = "You are not a member of any company."
UNINSTALLED = "OneClick was uninstalled for you in Pipedrive. Install it again to use its buttons."
DEACTIVATED = "Your OneClick account is deactivated. Ask your company's OneClick admin."


def member_for(user: AbstractBaseUser) -> Member:
    """The user's company membership; users who belong to no company see nothing at all, and a member
    for whom Pipedrive uninstalled the app is refused."""
    try:
        member = user.member  # type: ignore[attr-defined]
    except (Member.DoesNotExist, AttributeError):
        raise Http404(NOT_A_MEMBER) from None
    if not member.is_active:
        raise PermissionDenied(UNINSTALLED)
    return member


def scoped(queryset: QuerySet[M], user: AbstractBaseUser) -> QuerySet[M]:
    """A company-owned queryset (a `company` foreign key) narrowed to the user's company; every query
    that serves a member goes through here."""
    return queryset.filter(company_id=member_for(user).company_id)


def company_of(user_id: int) -> int | None:
    """The company id of an active member, or None: for callers without the user object (the stream)."""
    return Member.objects.filter(user_id=user_id, is_active=True).values_list("company_id", flat=True).first()


def refusal_of(member: Member) -> str | None:
    """Why a member the CRM vouches for may not use OneClick, or None: Pipedrive uninstalled the app for
    them, or an operator deactivated their account."""
    if not member.is_active:
        return UNINSTALLED
    if not member.user.is_active:
        return DEACTIVATED
    return None


def installed_company(external_id: str) -> Company | None:
    """The company of a CRM company id while OneClick is installed there (it has an active member)."""
    return Company.objects.filter(external_id=external_id, members__is_active=True).distinct().first()


# --- The embedded panel's credential --------------------------------------------------------------
# Inside a CRM's iframe there are no cookies (Safari and Firefox block third-party ones), so the panel
# holds a short-lived bearer credential in its memory instead: Django's signed, timestamped value naming
# the member, checked against the database on every use (an uninstalled member is refused at once).
ACCESS_SALT = "oneclick.embed-access"


@dataclass(frozen=True)
class RecordClaims:
    """What the page's CRM vouched for about the record the panel shows (a signed embed's token)."""

    values: dict[str, Any] | None = None  # its `record` claim: the host's field values
    pipeline: str | None = None  # its `pipelineId` and `stageId` claims
    stage: str | None = None
    # A signed embed's host speaks for the record: where it says nothing, nothing is fetched.
    signed: bool = False


def issue_access(member: Member, record: tuple[str, str] | None = None,
                 claims: RecordClaims | None = None) -> tuple[str, int]:
    """A bearer credential for the member's embedded panel, and how many seconds it lasts. A signed
    embed's host may vouch for the record's values and its deal's pipeline and stage: they ride in the
    credential, signed, for the panel, forms and clicks of that one record."""
    payload: dict[str, Any] = {"u": member.user_id, "m": member.pk}
    if record is not None and claims is not None:
        payload["r"] = f"{record[0]}:{record[1]}"
        payload["c"] = [claims.values, claims.pipeline, claims.stage, claims.signed]
    token = signing.dumps(payload, salt=ACCESS_SALT, compress=True)
    return token, settings.EMBED_ACCESS_SECONDS


def record_claims(token: object, resource: str, object_id: str) -> RecordClaims | None:
    """What a bearer credential carries for this record (None: it carries nothing for it)."""
    if not isinstance(token, str):
        return None
    try:
        payload = signing.loads(token, salt=ACCESS_SALT, max_age=settings.EMBED_ACCESS_SECONDS)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or payload.get("r") != f"{resource}:{object_id}":
        return None
    match payload.get("c"):
        case [dict() | None as values, str() | None as pipeline, str() | None as stage, bool() as signed]:
            return RecordClaims(values, pipeline, stage, signed)
    return None


def user_for_access(token: str) -> AbstractBaseUser | None:
    """The user a bearer credential stands for while it lasts and its member is active, or None."""
    try:
        claims = signing.loads(token, salt=ACCESS_SALT, max_age=settings.EMBED_ACCESS_SECONDS)
    except signing.BadSignature:  # expired ones included (SignatureExpired is a BadSignature)
        return None
    if not isinstance(claims, dict) or not isinstance(claims.get("u"), int) or not isinstance(claims.get("m"), int):
        return None
    member = (Member.objects.select_related("user", "company")
              .filter(pk=claims["m"], user_id=claims["u"], is_active=True, user__is_active=True).first())
    if member is None:
        return None
    user = member.user
    user.member = member  # one query: member_for() reads it from here
    return user


def is_company_admin(user: AbstractBaseUser | None) -> bool:
    """May manage the company's buttons through the API."""
    if user is None or not user.is_authenticated:
        return False
    try:
        member = user.member  # type: ignore[attr-defined]
    except (Member.DoesNotExist, AttributeError):
        return False
    return bool(member.is_company_admin and member.is_active)


def admin_company_of(request: HttpRequest) -> int | None:
    """For the admin panel: None for superusers (no scoping); otherwise the admin's company, or -1
    (matches nothing) for a staff user who is not a company admin. Looked up once per request."""
    if request.user.is_superuser:
        return None
    cached = getattr(request, "_oneclick_company_id", None)
    if cached is None:
        member = (Member.objects.filter(user_id=request.user.pk, is_company_admin=True, is_active=True)
                  .only("company_id").first())
        cached = member.company_id if member else -1
        request._oneclick_company_id = cached  # type: ignore[attr-defined]
    return cached


def may_use_admin(request: HttpRequest) -> bool:
    return request.user.is_active and (request.user.is_superuser or admin_company_of(request) != -1)


def _company_admin_permissions() -> QuerySet[Permission]:
    # What `createmember --admin` grants (settings.COMPANY_ADMIN_PERMISSIONS): the apps' own permissions.
    wanted = settings.COMPANY_ADMIN_PERMISSIONS
    return Permission.objects.filter(
        content_type__app_label__in={app for app, _ in wanted}, codename__in={code for _, code in wanted},
    )


def grant_company_admin_permissions(user: AbstractBaseUser) -> None:
    user.user_permissions.add(*_company_admin_permissions())  # type: ignore[attr-defined]


def revoke_company_admin_permissions(user: AbstractBaseUser) -> None:
    user.user_permissions.remove(*_company_admin_permissions())  # type: ignore[attr-defined]

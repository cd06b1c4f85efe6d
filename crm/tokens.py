"""The CRM's signed tokens: who is opening the panel inside a CRM, as the CRM vouches for it.

Two kinds, both HS256 JWTs (PyJWT), both refused with a sentence (`Refused`) that names what is wrong
without telling anything about any company:
- Pipedrive's custom panel token, signed with PIPEDRIVE_JWT_SECRET; its user and company must be the
  ones the panel's URL names.
- The signed embed of any other host, signed with the company's embed secret (`oce_...`, keyed like
  the signing secret); it also names the record, and must expire within 15 minutes.
Nothing here writes: the views (crm.panels) hand the verified identity to accounts.actions.join_from_crm.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import jwt
from django.conf import settings

from accounts.access import RecordClaims
from accounts.models import Company
from buttons.models import LIST_OBJECT_ID
from buttons.records import MAX_OBJECT_ID_LENGTH, RESOURCE_NAMES, Record
from core.ids import crm_id
from core.secrets import EMBED_SECRET_PREFIX, secret_key_bytes
from deliveries.actions import ClickRefused, parse_selected_ids

ALGORITHM = "HS256"
LEEWAY_SECONDS = 10  # the CRM's clock and ours may differ a little
EMBED_MAX_LIFETIME = 15 * 60

NO_TOKEN = "This panel opens inside your CRM: its address carries no token."  # noqa: S105 - a sentence
BAD_TOKEN = "This panel's token is not valid: it is not a JWT signed by your CRM."  # noqa: S105 - a sentence
BAD_SIGNATURE = "This panel's token is not valid: its signature does not match."
BAD_ALGORITHM = "This panel's token is not valid: it must be signed with HS256."
EXPIRED = "This panel's token has expired. Reload the page in your CRM."
NOT_CONFIGURED = "The Pipedrive app is not set up on this server (PIPEDRIVE_CLIENT_SECRET is not set)."


class Refused(Exception):
    """A token that does not let anyone in; its text is the sentence the 401 page shows."""


@dataclass(frozen=True)
class CrmUser:
    """A user as the CRM names them: the company's and the user's ids there."""

    company_id: str
    user_id: str
    name: str = ""


@dataclass(frozen=True)
class EmbedGrant:
    """A verified signed-embed token: who, in which company, on which record."""

    company: Company
    user: CrmUser
    record: Record
    selected_ids: list[str]
    # The host's own values of the record (its `record` claim) and its deal's pipelineId and stageId.
    claims: RecordClaims


def _external_id(claims: dict[str, Any], *names: str) -> str:
    """A CRM id claim: a number or a short printable string (the first of the names that is present)."""
    value = crm_id(next((claims[name] for name in names if name in claims), None))
    if value is None:
        raise Refused(f"This panel's token is not valid: its {names[0]} claim is missing or not an id.")
    return value


def _decode(token: object, key: str | bytes | None, *, require: list[str]) -> dict[str, Any]:
    """The token's claims once its header, signature and expiry are checked (key None: unverified)."""
    if not isinstance(token, str) or not token:
        raise Refused(NO_TOKEN)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Refused(BAD_TOKEN) from None
    # PyJWT refuses other algorithms too (algorithms=[...]); saying so first gives the clearer sentence,
    # and `alg: none` never reaches a decoder.
    if header.get("alg") != ALGORITHM:
        raise Refused(BAD_ALGORITHM)
    try:
        if key is None:
            claims = jwt.decode(token, options={"verify_signature": False})
        else:
            claims = jwt.decode(token, key, algorithms=[ALGORITHM], leeway=LEEWAY_SECONDS,
                                options={"require": require, "verify_aud": False})
    except jwt.ExpiredSignatureError:
        raise Refused(EXPIRED) from None
    except jwt.MissingRequiredClaimError as exc:
        raise Refused(f"This panel's token is not valid: it has no {exc.claim} claim.") from None
    except jwt.InvalidSignatureError:
        raise Refused(BAD_SIGNATURE) from None
    except jwt.PyJWTError:
        raise Refused(BAD_TOKEN) from None
    if not isinstance(claims, dict):
        raise Refused(BAD_TOKEN)
    return claims


def pipedrive_user(token: object, *, user_id: object = None, company_id: object = None,
                   check_query: bool = True) -> CrmUser:
    """The user of a Pipedrive panel token. With check_query (the panel page), the query's userId and
    companyId must be the token's; the session renewal has only the token."""
    secret = settings.PIPEDRIVE_JWT_SECRET
    if not secret:
        raise Refused(NOT_CONFIGURED)
    claims = _decode(token, secret, require=[])
    user = CrmUser(_external_id(claims, "companyId", "company_id"), _external_id(claims, "userId", "user_id"))
    if check_query:
        if str(user_id or "").strip() != user.user_id:
            raise Refused("This panel's token was issued for another user than the page names.")
        if str(company_id or "").strip() != user.company_id:
            raise Refused("This panel's token was issued for another company than the page names.")
    return user


def embed_grant(token: object) -> EmbedGrant:
    """A signed-embed token, verified with the key of the company it names."""
    unverified = _decode(token, None, require=[])
    company_id = _external_id(unverified, "companyId", "company_id")
    company = Company.objects.filter(external_id=company_id).first()
    # An unknown company and a wrong key read the same: the answer must not tell which companies exist.
    if company is None or not company.embed_secret:
        raise Refused(BAD_SIGNATURE)
    claims = _decode(token, secret_key_bytes(company.embed_secret, EMBED_SECRET_PREFIX), require=["exp"])
    if not isinstance(claims["exp"], int | float) or claims["exp"] > time.time() + EMBED_MAX_LIFETIME + LEEWAY_SECONDS:
        raise Refused("This panel's token is not valid: it must expire within 15 minutes (exp).")
    name = claims.get("name")
    user = CrmUser(company_id, _external_id(claims, "userId", "user_id"),
                   name.strip()[:150] if isinstance(name, str) and name.isprintable() else "")
    record, selected = embed_record(claims.get("resource"), claims.get("view"), claims.get("selectedIds"))
    place = [_place_claim(claims, name) if record.resource == "deal" else None for name in ("pipelineId", "stageId")]
    return EmbedGrant(company, user, record, selected,
                      RecordClaims(record_values(claims.get("record")), *place, signed=True))


def _place_claim(claims: dict[str, Any], name: str) -> str | None:
    """A deal's pipelineId or stageId claim (absent: not said; anything but an id: refused)."""
    if claims.get(name) is None:
        return None
    value = crm_id(claims[name])
    if value is None:
        raise Refused(f"This panel's token is not valid: its {name} claim is not an id.")
    return value


# The values ride in the panel's URL (the token) and its bearer credential (a header): 4 KB of JSON keeps
# both under the 8 KB most proxies accept in a request line or one header (accounts.authentication).
MAX_RECORD_KEYS, MAX_RECORD_BYTES = 100, 4096


def record_values(value: object) -> dict[str, Any] | None:
    """The `record` claim: the host's field values of the record, by the CRM's keys (None if absent)."""
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > MAX_RECORD_KEYS:
        raise Refused(f"This panel's token is not valid: record must be an object of at most {MAX_RECORD_KEYS} "
                      "field values.")
    if any(not isinstance(key, str) or not 0 < len(key) <= 100 for key in value):
        raise Refused("This panel's token is not valid: record's keys must be field keys of 1 to 100 characters.")
    if len(json.dumps(value)) > MAX_RECORD_BYTES:
        raise Refused(f"This panel's token is not valid: record is over {MAX_RECORD_BYTES // 1024} KB.")
    return value


def framing_origins(token: object) -> list[str]:
    """Who may frame the refusal of a signed-embed token: the origins of the company it is from, so that
    company's developers see the sentence in their page (the page shows nothing else). Only for a token
    that company's key signed (whatever else is wrong with it): an unsigned claim must not tell which
    companies exist nor which origins they allow."""
    try:
        company_id = _external_id(_decode(token, None, require=[]), "companyId", "company_id")
    except Refused:
        return []
    company = Company.objects.filter(external_id=company_id).only("embed_origins", "embed_secret").first()
    if company is None or not company.embed_secret:
        return []
    try:
        jwt.decode(token, secret_key_bytes(company.embed_secret, EMBED_SECRET_PREFIX), algorithms=[ALGORITHM],
                   options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False,
                            "verify_iss": False})
    except (jwt.PyJWTError, ValueError):
        return []
    return company.allowed_origins()


def embed_record(resource: object, view: object, selected_ids: object) -> tuple[Record, list[str]]:
    """The record a CRM shows the panel on: in details view the (first) selected id, in list view the
    list itself, its selected ids going with each click."""
    if resource not in RESOURCE_NAMES:
        raise Refused("The panel names no record type: resource must be deal, organization or person.")
    try:
        selected = parse_selected_ids(selected_ids)
    except ClickRefused as exc:
        raise Refused(f"The panel names no valid record: {exc}") from None
    if view == "list":
        return Record(str(resource), LIST_OBJECT_ID), selected
    if view not in (None, "", "details"):
        raise Refused("The panel names no valid record: view must be details or list.")
    if not selected or "/" in selected[0] or len(selected[0]) > MAX_OBJECT_ID_LENGTH:
        raise Refused("The panel names no record: selectedIds must hold the record's id.")
    return Record(str(resource), selected[0]), selected[:1]

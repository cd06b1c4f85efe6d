"""`Authorization: Bearer <access>`: the embedded panel's credential (accounts.access.issue_access)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts import access

EXPIRED = "This panel's session has ended. Reload the panel to continue."


class BearerAuthentication(authentication.BaseAuthentication):
    """No cookie, so no CSRF token either: a cross-site page cannot make the browser send this header."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, str] | None:
        token = bearer_token(request.META.get("HTTP_AUTHORIZATION", ""))
        if token is None:
            return None
        user = access.user_for_access(token)
        if user is None:
            raise exceptions.AuthenticationFailed(EXPIRED)
        return user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


MAX_CREDENTIAL = 8000


def bearer_token(header: str) -> str | None:
    """The credential of an `Authorization: Bearer <token>` header, or None for any other header."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    # A signed embed's credential carries the record's values (crm.tokens caps them at 4 KB): it stays under
    # the 8 KB one header line may have in most proxies (nginx's large_client_header_buffers).
    return token if token and len(token) <= MAX_CREDENTIAL else ""


class BearerScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema names the credential (registered by being defined)."""

    target_class = "accounts.authentication.BearerAuthentication"
    name = "embedBearer"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer",
                "description": "The embedded panel's credential, from POST /pipedrive/session/ or /embed/session/."}

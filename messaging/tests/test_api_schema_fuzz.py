"""schemathesis against the project's own OpenAPI schema: whatever it sends, never a 5xx, and every
answer is one the schema documents (status, content type, headers, body), so a generated client and
the server agree."""

from collections.abc import Iterator

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.actions import create_member
from oneclick.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture(autouse=True)
def keep_the_test_connection() -> Iterator[None]:
    """The WSGI app closes DB connections after each request; Django's test client stops that, and
    so must we, or the test's transaction is closed under it."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def token(db: None) -> str:
    member = create_member("fuzz", "pw-fuzz-123", "31337", company_name="Fuzz", is_admin=True)
    return Token.objects.create(user=member.user).key


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_the_api_fail(case: schemathesis.Case, token: str) -> None:
    response = case.call(headers={"Authorization": f"Token {token}"})
    # The answers only: the server is stricter than a schema can say (an event_id must be a click's,
    # HTML must pass the allowlist), so "a schema-valid request was refused" is no failure here.
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                                             response_headers_conformance, response_schema_conformance])

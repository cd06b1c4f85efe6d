"""The published OpenAPI schema tells the truth about every answer: schemathesis's CLI against the app served
on the test database, every operation, its stateful phase included (it creates buttons through the API
and follows them, through the links it infers, to their messages, clicks and events), and the suite
fails on any answer the schema does not describe or any 5xx.

Only the answers are checked: the server is stricter than a schema can say (an event_id must be a click's,
a signing secret must decode), so "a schema-valid request was refused" is no failure here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rest_framework.authtoken.models import Token

from accounts.actions import create_member
from testing.browser import app_on_test_database

pytestmark = [pytest.mark.e2e]
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,"
          "response_schema_conformance")
SEED = "20261207"  # a fixed seed: the same cases on every run, so a failure is reproducible with it


@pytest.mark.django_db(transaction=True)
def test_every_answer_of_every_operation_is_in_the_schema(django_db_blocker: Any, tmp_path: Path) -> None:
    member = create_member("conformance", "pw-conformance-123", "31337", company_name="Fuzz", is_admin=True)
    token = Token.objects.create(user=member.user).key
    with app_on_test_database(django_db_blocker) as base:
        done = subprocess.run(
            [str(Path(sys.executable).with_name("st")), "run", f"{base}/api/schema/",
             "-H", f"Authorization: Token {token}", "--checks", CHECKS, "--max-examples", "10",
             "--seed", SEED, "--workers", "1", "--no-color"],
            capture_output=True, text=True, timeout=600,
            cwd=tmp_path,  # schemathesis keeps a cache of cases where it runs: not in the checkout
        )
    report = done.stdout[-6000:]
    assert done.returncode == 0, report
    operations = schema_operations()
    # Every operation of the schema, and its stateful phase (links followed).
    assert "Stateful" in report and f"{operations}/{operations}" in report.replace(" ", ""), report


def schema_operations() -> int:
    """How many operations the published schema has (a new endpoint must not be skipped unnoticed)."""
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    return sum(1 for path in paths.values() for method in path if method in {"get", "post", "put", "patch", "delete"})

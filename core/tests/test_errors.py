"""No input gives a 500: bad charsets are 415s, every answer under /api/ is JSON with a sentence, and the
address rule of a webhook URL on save is the send-time guard's."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client, override_settings
from rest_framework.test import APIClient

from accounts.models import Member
from buttons.models import Button
from conftest import api_client

POST_ENDPOINTS = ["/api/trigger-message", "/api/auth/token/", "/api/buttons/", "/api/buttons/{button}/click",
                  "/api/buttons/{button}/messages/read", "/api/buttons/{button}/messages/read-all",
                  "/api/buttons/{button}/clear-messages", "/login/", "/admin/login/", "/admin/buttons/button/add/"]
NOT_TEXT = ["zlib", "rot13", "bz2", "quopri", "base64", "hex", "uu", "punycode", "undefined", "no-such-charset"]


@pytest.mark.parametrize("charset", NOT_TEXT)
@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_charset_that_is_no_text_encoding_is_a_415_everywhere(
    admin_member: Member, make_button: Callable[..., Button], charset: str, content_type: str
) -> None:
    button = make_button()
    client = Client(raise_request_exception=False)
    client.force_login(admin_member.user)
    for path in POST_ENDPOINTS:
        response = client.generic("POST", path.format(button=button.identifier), b'{"event_id": "x"}',
                                  content_type=f"{content_type}; charset={charset}")
        assert response.status_code == 415, (path, response.status_code)
        text = response.json()["detail"] if path.startswith("/api/") else response.content.decode()
        assert "send the body as UTF-8" in text


@pytest.mark.parametrize("charset", ["utf-7", "utf-16", "latin-1"])
def test_a_real_but_unexpected_charset_is_never_a_500(db: None, charset: str) -> None:
    client = Client(raise_request_exception=False)
    for path in ["/api/trigger-message", "/api/auth/token/", "/login/", "/admin/login/"]:
        for body, kind in ((b'{"event_id": "x"}', "application/json"), (b"username=a&password=b",
                                                                        "application/x-www-form-urlencoded")):
            response = client.generic("POST", path, body, content_type=f"{kind}; charset={charset}")
            assert response.status_code < 500, (path, kind, response.status_code)


def test_api_paths_that_match_nothing_answer_json(db: None) -> None:
    for path in ["/api/nothing/here", "/api/buttons/zzzz/", "/api/events/"]:
        response = Client().get(path)
        assert response.status_code == 404 and response.json() == {"detail": "Not found: no such URL or object."}


@override_settings(DEBUG=True)
def test_api_paths_answer_json_even_in_debug_mode(db: None) -> None:
    response = Client().get("/api/nothing/here")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"


def test_a_page_that_matches_nothing_is_a_styled_404(db: None) -> None:
    response = Client().get("/no/such/page/")
    assert response.status_code == 404 and "panel.css" in response.content.decode()


def test_too_many_form_fields_and_wrong_methods_are_json(db: None) -> None:
    body = "&".join(f"f{i}=1" for i in range(1200))
    response = Client().post("/api/trigger-message", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and response.json()["detail"].endswith(".")
    response = Client().post("/healthz")
    assert response.status_code == 405 and response["Allow"] == "GET"
    assert response.json() == {"detail": "This URL does not accept that method."}


def test_the_token_endpoint_is_bounded_like_the_others(db: None) -> None:
    deep = '{"username": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = APIClient().post("/api/auth/token/", deep, content_type="application/json")
    assert response.status_code == 400 and "nested too deeply" in response.json()["detail"]
    big = b'{"username": "' + b"a" * 3_000_000 + b'"}'
    response = APIClient().post("/api/auth/token/", big, content_type="application/json")
    assert response.status_code == 413 and response.json()["detail"].startswith("The request body is larger")


def test_csrf_failures_on_the_api_say_what_to_send(admin_member: Member, make_button: Callable[..., Button]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_member.user)
    response = client.post(f"/api/buttons/{make_button().identifier}/messages/read-all",
                           {"resource": "deal", "object_id": "1"}, content_type="application/json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]


@pytest.mark.parametrize("url", ["https://example.com:99999/hook", "https://example.com:0/hook",
                                 "https://example.com:abc/hook"])
def test_a_webhook_port_out_of_range_is_refused_with_a_sentence(admin_member: Member, url: str) -> None:
    response = api_client(admin_member).post("/api/buttons/", {
        "label": "x", "kind": "webhook", "url": url, "resource": "deal", "view": "details"}, format="json")
    assert response.status_code == 400
    assert "port" in response.json()["detail"] or "valid URL" in response.json()["detail"]


@override_settings(WEBHOOK_ALLOW_PRIVATE_NETWORKS=False)
@pytest.mark.parametrize("url", ["http://[2002:7f00:1::]/", "http://[2002:a9fe:a9fe::]/", "http://100.64.0.1/",
                                 "http://[64:ff9b::7f00:1]/", "http://192.88.99.1/"])
def test_save_refuses_what_the_send_time_guard_refuses(admin_member: Member, url: str) -> None:
    response = api_client(admin_member).post("/api/buttons/", {
        "label": "x", "kind": "webhook", "url": url, "resource": "deal", "view": "details"}, format="json")
    assert response.status_code == 400 and "private or reserved" in response.json()["detail"]


def test_the_admins_shortcut_view_is_a_404_for_a_bad_id(admin_member: Member) -> None:
    from django.contrib.contenttypes.models import ContentType

    client = Client(raise_request_exception=False)
    client.force_login(admin_member.user)
    from buttons.models import ClickEvent

    for model in (Button, ClickEvent):  # an integer key and a UUID key
        content_type = ContentType.objects.get_for_model(model).pk
        assert client.get(f"/admin/r/{content_type}/not-a-uuid/").status_code == 404


def test_the_schema_names_paths_as_the_design_does(db: None) -> None:
    """Paths that take an optional trailing slash are listed without it, as the README's API names them
    (POST /api/trigger-message)."""
    from django.test import Client

    paths = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert "/api/trigger-message" in paths and "/api/trigger-message/" not in paths
    assert "/api/buttons/{identifier}/messages/read" in paths
    assert "/api/panel/{resource}/{object_id}/" in paths  # routed with its slash, listed with it

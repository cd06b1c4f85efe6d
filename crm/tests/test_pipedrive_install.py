"""Installing the Pipedrive app: OAuth against a fake Pipedrive on 127.0.0.1, and Pipedrive's uninstall call."""

from __future__ import annotations

import base64
import json
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core import serializers
from django.test import Client
from rest_framework.authtoken.models import Token

from accounts.models import Company, Member
from buttons.models import Button

CLIENT_ID = "oneclick-test-client"
CLIENT_SECRET = "oneclick-test-client-secret-0123456789abcdef"
PUBLIC_URL = "https://oneclick.example.test"
REDIRECT_URI = f"{PUBLIC_URL}/pipedrive/callback/"
JWT_SECRET = "pipedrive-panel-jwt-secret-for-tests-0123456789"

ALICE = {"id": 1108047, "name": "Alice Admin", "email": "alice@acme.test", "company_id": 737569,
         "company_name": "Acme", "is_admin": True}
BOB = {"id": 1108048, "name": "Bob Builder", "email": "bob@acme.test", "company_id": 737569,
       "company_name": "Acme", "is_admin": False}


@dataclass
class FakePipedrive:
    """Pipedrive's OAuth server and /api/v1/users/me, as a real HTTP server: each code works once."""

    url: str
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)  # code -> the user it is for
    used_codes: set[str] = field(default_factory=set)
    access_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)  # access token -> user
    refresh_tokens: list[str] = field(default_factory=list)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    me_requests: list[str] = field(default_factory=list)  # the Authorization headers /users/me saw

    def grant(self, user: dict[str, Any]) -> str:
        """What Pipedrive's authorize page does when the user says yes: a fresh code for them."""
        code = secrets.token_urlsafe(16)
        self.codes[code] = user
        return code


@pytest.fixture
def fake_pipedrive() -> Iterator[FakePipedrive]:
    state: dict[str, FakePipedrive] = {}
    expected_basic = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            fake = state["fake"]
            length = int(self.headers.get("Content-Length") or 0)
            form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
            fake.token_requests.append({"path": self.path, "authorization": self.headers.get("Authorization"),
                                        "form": form})
            if self.path != "/oauth/token":
                return self.answer(404, {"error": "not_found"})
            if self.headers.get("Authorization") != expected_basic:
                return self.answer(401, {"error": "invalid_client"})
            code = form.get("code", "")
            if (form.get("grant_type") != "authorization_code" or form.get("redirect_uri") != REDIRECT_URI
                    or code not in fake.codes or code in fake.used_codes):
                return self.answer(400, {"error": "invalid_grant", "message": "Invalid grant"})
            fake.used_codes.add(code)
            access, refresh = f"pd-access-{secrets.token_hex(12)}", f"pd-refresh-{secrets.token_hex(12)}"
            fake.access_tokens[access] = fake.codes[code]
            fake.refresh_tokens.append(refresh)
            return self.answer(200, {"access_token": access, "token_type": "Bearer", "refresh_token": refresh,
                                     "scope": "base", "expires_in": 3599, "api_domain": fake.url})

        def do_GET(self) -> None:
            fake = state["fake"]
            authorization = self.headers.get("Authorization") or ""
            fake.me_requests.append(authorization)
            if self.path != "/api/v1/users/me":
                return self.answer(404, {"success": False})
            user = fake.access_tokens.get(authorization.removeprefix("Bearer "))
            if not authorization.startswith("Bearer ") or user is None:
                return self.answer(401, {"success": False, "error": "unauthorized access"})
            return self.answer(200, {"success": True, "data": user})

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state["fake"] = FakePipedrive(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state["fake"]
    server.shutdown()
    server.server_close()


@pytest.fixture
def pipedrive_app(settings: Any, fake_pipedrive: FakePipedrive, db: None) -> FakePipedrive:
    settings.PIPEDRIVE_CLIENT_ID = CLIENT_ID
    settings.PIPEDRIVE_CLIENT_SECRET = CLIENT_SECRET
    settings.PIPEDRIVE_JWT_SECRET = JWT_SECRET
    settings.PIPEDRIVE_OAUTH_URL = fake_pipedrive.url
    settings.PUBLIC_URL = PUBLIC_URL
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    return fake_pipedrive


def start(client: Client) -> str:
    """/pipedrive/install/ in this browser: the state it was given."""
    response = client.get("/pipedrive/install/")
    assert response.status_code == 302
    return parse_qs(urlsplit(response["Location"]).query)["state"][0]


def install(client: Client, fake: FakePipedrive, user: dict[str, Any]) -> Any:
    """The whole dance: start, say yes in Pipedrive, come back with the code and the state."""
    state = start(client)
    return client.get("/pipedrive/callback/", {"code": fake.grant(user), "state": state})


def alert_text(response: Any) -> str:
    html = response.content.decode()
    assert 'role="alert"' in html
    return html


def panel_url(user: dict[str, Any]) -> str:
    now = int(time.time())
    token = jwt.encode({"userId": user["id"], "companyId": user["company_id"], "iat": now, "exp": now + 300},
                       JWT_SECRET, algorithm="HS256")
    return (f"/pipedrive/panel/?userId={user['id']}&companyId={user['company_id']}&token={token}"
            "&id=panel-1&resource=deal&view=details&selectedIds=42")


def uninstall(body: Any, *, credentials: tuple[str, str] | None = (CLIENT_ID, CLIENT_SECRET), **extra: Any) -> Any:
    headers = dict(extra)
    if credentials is not None:
        headers["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(":".join(credentials).encode()).decode()
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return Client().delete("/pipedrive/uninstall/", data=data, content_type="application/json", **headers)


def uninstall_body(user: dict[str, Any]) -> dict[str, Any]:
    return {"client_id": CLIENT_ID, "company_id": user["company_id"], "user_id": user["id"],
            "timestamp": "2025-01-01T10:00:00.000Z"}


# --- Install ----------------------------------------------------------------------------------------


def test_install_redirects_to_pipedrives_authorize_page(pipedrive_app: FakePipedrive) -> None:
    response = Client().get("/pipedrive/install/")
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{pipedrive_app.url}/oauth/authorize"
    query = parse_qs(location.query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == [REDIRECT_URI]
    assert len(query["state"][0]) >= 16
    # A new state each time: it is not something an attacker can know in advance.
    assert start(Client()) != start(Client())


def test_the_callback_installs_the_company_and_signs_the_admin_in(pipedrive_app: FakePipedrive) -> None:
    client = Client()
    response = install(client, pipedrive_app, ALICE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "OneClick is installed" in html and "Acme" in html
    assert "/admin/buttons/button/add/" in html  # an admin's next step: add a button
    company = Company.objects.get()
    assert (company.external_id, company.name) == ("737569", "Acme")
    assert company.crm_domain == "127.0.0.1"  # its api_domain's host: redirects there open inside Pipedrive
    member = Member.objects.get()
    assert (member.company, member.external_id, member.is_active, member.is_company_admin) == (
        company, "1108047", True, True)
    assert (member.user.first_name, member.user.email) == ("Alice Admin", "alice@acme.test")
    assert not member.user.has_usable_password()  # she signs in through Pipedrive only
    # The exchange was made as the contract says.
    token_call = pipedrive_app.token_requests[-1]
    assert token_call["path"] == "/oauth/token"
    assert token_call["form"]["grant_type"] == "authorization_code"
    assert token_call["form"]["redirect_uri"] == REDIRECT_URI
    # Signed in: her pages and the admin open without a login.
    assert client.get("/").status_code == 200
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/buttons/button/add/").status_code == 200


def test_a_plain_pipedrive_user_becomes_a_plain_member(pipedrive_app: FakePipedrive) -> None:
    client = Client()
    response = install(client, pipedrive_app, BOB)
    assert response.status_code == 200
    assert "/admin/buttons/button/add/" not in response.content.decode()
    member = Member.objects.get()
    assert member.external_id == "1108048" and member.is_active and not member.is_company_admin
    assert client.get("/").status_code == 200  # signed in
    assert client.get("/admin/").status_code == 302  # but not an admin


def test_installing_again_updates_rather_than_duplicates(pipedrive_app: FakePipedrive) -> None:
    assert install(Client(), pipedrive_app, ALICE).status_code == 200
    first = Member.objects.get()
    renamed = {**ALICE, "company_name": "Acme Corporation", "name": "Alice A.", "is_admin": False}
    client = Client()
    assert install(client, pipedrive_app, renamed).status_code == 200
    assert Company.objects.count() == 1 and Member.objects.count() == 1
    assert get_user_model().objects.count() == 1
    member = Member.objects.select_related("company", "user").get()
    assert member.pk == first.pk and member.company.name == "Acme Corporation"
    assert member.user.first_name == "Alice A."
    # No longer an admin in Pipedrive, no longer one here.
    assert not member.is_company_admin
    assert client.get("/admin/").status_code == 302


def test_installing_a_member_made_by_createmember_adopts_it(pipedrive_app: FakePipedrive,
                                                            admin_member: Member) -> None:
    client = Client()
    assert install(client, pipedrive_app, ALICE).status_code == 200
    assert Member.objects.get().pk == admin_member.pk
    assert get_user_model().objects.get().username == "alice"
    assert client.get("/admin/").status_code == 200


def test_a_second_user_of_the_company_joins_it(pipedrive_app: FakePipedrive) -> None:
    install(Client(), pipedrive_app, ALICE)
    install(Client(), pipedrive_app, BOB)
    assert Company.objects.count() == 1
    assert sorted(Member.objects.values_list("external_id", "is_company_admin")) == [
        ("1108047", True), ("1108048", False)]


@pytest.mark.parametrize("state", [None, "", "not-the-state"])
def test_a_missing_or_wrong_state_is_a_400_page(pipedrive_app: FakePipedrive, state: str | None) -> None:
    client = Client()
    start(client)
    query = {"code": pipedrive_app.grant(ALICE)}
    if state is not None:
        query["state"] = state
    response = client.get("/pipedrive/callback/", query)
    assert response.status_code == 400
    assert "did not start in this browser" in alert_text(response)
    assert not Company.objects.exists() and not Member.objects.exists()
    assert pipedrive_app.token_requests == []  # the code was never even exchanged
    assert client.get("/").status_code == 302  # not signed in


def test_a_state_from_another_browser_is_a_400_page(pipedrive_app: FakePipedrive) -> None:
    # The attacker starts an install in their browser and sends the callback link to the victim.
    state = start(Client())
    victim = Client()
    response = victim.get("/pipedrive/callback/", {"code": pipedrive_app.grant(ALICE), "state": state})
    assert response.status_code == 400
    assert "did not start in this browser" in alert_text(response)
    assert not Company.objects.exists()
    assert victim.get("/").status_code == 302


def test_a_state_works_once(pipedrive_app: FakePipedrive) -> None:
    client = Client()
    state = start(client)
    assert client.get("/pipedrive/callback/", {"code": pipedrive_app.grant(ALICE), "state": state}).status_code == 200
    again = client.get("/pipedrive/callback/", {"code": pipedrive_app.grant(BOB), "state": state})
    assert again.status_code == 400
    assert "already used" in alert_text(again)
    assert list(Member.objects.values_list("external_id", flat=True)) == ["1108047"]


def test_a_reused_code_is_a_400_page(pipedrive_app: FakePipedrive) -> None:
    code = pipedrive_app.grant(ALICE)
    first = Client()
    assert first.get("/pipedrive/callback/", {"code": code, "state": start(first)}).status_code == 200
    Member.objects.all().delete()
    Company.objects.all().delete()
    second = Client()
    response = second.get("/pipedrive/callback/", {"code": code, "state": start(second)})
    assert response.status_code == 400
    assert "did not accept this installation link" in alert_text(response)
    assert not Company.objects.exists()
    assert second.get("/").status_code == 302


def test_a_cancelled_authorization_is_a_400_page(pipedrive_app: FakePipedrive) -> None:
    client = Client()
    response = client.get("/pipedrive/callback/", {"error": "user_denied", "state": start(client)})
    assert response.status_code == 400
    assert "cancelled" in alert_text(response)
    assert not Company.objects.exists() and pipedrive_app.token_requests == []


def test_pipedrive_down_is_a_page_with_a_sentence(pipedrive_app: FakePipedrive, settings: Any) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    settings.PIPEDRIVE_OAUTH_URL = f"http://127.0.0.1:{closed}"
    client = Client()
    response = client.get("/pipedrive/callback/", {"code": "any-code", "state": start(client)})
    assert 400 <= response.status_code < 600 and response.status_code != 500
    assert "Pipedrive could not be reached" in alert_text(response)
    assert "Start the installation again" in response.content.decode()  # a way on
    assert not Company.objects.exists()


def test_the_companys_tokens_are_kept_encrypted_and_never_in_plain_text(pipedrive_app: FakePipedrive) -> None:
    from crm.models import PipedriveConnection

    install(Client(), pipedrive_app, ALICE)
    install(Client(), pipedrive_app, BOB)
    issued = [*pipedrive_app.access_tokens, *pipedrive_app.refresh_tokens]
    assert len(issued) == 4
    # The latest installation's tokens are kept, encrypted, and they decrypt to what Pipedrive issued.
    connection = PipedriveConnection.objects.get()
    assert (connection.access_token, connection.refresh_token) == (list(pipedrive_app.access_tokens)[-1],
                                                                   list(pipedrive_app.refresh_tokens)[-1])
    assert connection.api_domain == pipedrive_app.url and connection.user_external_id == "1108048"
    # Every row of every table, sessions decoded too: no token in plain text anywhere.
    dump = "".join(serializers.serialize("json", model._default_manager.all()) for model in apps.get_models())
    dump += "".join(json.dumps(session.get_decoded()) for session in Session.objects.all())
    assert Member.objects.count() == 2 and "1108047" in dump  # the dump does hold the rows
    assert [token for token in issued if token in dump] == []
    assert "pd-access-" not in dump and "pd-refresh-" not in dump


def test_an_uninstall_by_the_tokens_owner_deletes_them(installed: dict[str, Client]) -> None:
    from crm.models import PipedriveConnection

    owner = PipedriveConnection.objects.get().user_external_id
    users = {str(ALICE["id"]): ALICE, str(BOB["id"]): BOB}
    other = next(user for key, user in users.items() if key != owner)
    assert uninstall(uninstall_body(other)).status_code < 300
    assert PipedriveConnection.objects.exists()  # someone else's uninstall: the company's access stays
    assert uninstall(uninstall_body(users[owner])).status_code < 300
    assert not PipedriveConnection.objects.exists()


def test_the_install_pages_say_so_when_the_app_is_not_configured(db: None, settings: Any) -> None:
    settings.PIPEDRIVE_CLIENT_ID = ""
    settings.PIPEDRIVE_CLIENT_SECRET = ""
    for url in ("/pipedrive/install/", "/pipedrive/callback/?code=x&state=y"):
        response = Client().get(url)
        assert response.status_code == 404
        assert "PIPEDRIVE_CLIENT_ID" in alert_text(response)


# --- Uninstall --------------------------------------------------------------------------------------


@pytest.fixture
def installed(pipedrive_app: FakePipedrive) -> dict[str, Client]:
    """Alice (admin) and Bob installed, each signed in in a browser of their own, and a deal button."""
    browsers = {"alice": Client(), "bob": Client()}
    install(browsers["alice"], pipedrive_app, ALICE)
    install(browsers["bob"], pipedrive_app, BOB)
    Button.objects.create(company=Company.objects.get(), label="Create invoice", url="http://hooks.example.test/x",
                          resource="deal", view="details")
    return browsers


def member(user: dict[str, Any]) -> Member:
    return Member.objects.get(external_id=str(user["id"]))


def test_uninstall_deactivates_the_member(installed: dict[str, Client]) -> None:
    response = uninstall(uninstall_body(BOB))
    assert response.status_code == 200
    assert "uninstalled" in response.json()["detail"]
    assert not member(BOB).is_active
    assert member(ALICE).is_active  # only the one Pipedrive named


def test_an_uninstalled_member_is_refused_everywhere(installed: dict[str, Client]) -> None:
    bob = installed["bob"]
    api_token = Token.objects.create(user=member(BOB).user)
    assert bob.get("/api/panel/deal/1/").status_code == 200
    assert Client().get(panel_url(BOB)).status_code == 200
    access = Client().post("/pipedrive/session/", {"token": panel_url(BOB).split("token=")[1].split("&")[0]},
                           content_type="application/json").json()["access"]
    assert Client().get("/api/panel/deal/1/", HTTP_AUTHORIZATION=f"Bearer {access}").status_code == 200

    assert uninstall(uninstall_body(BOB)).status_code == 200

    assert bob.get("/api/panel/deal/1/").status_code == 403  # session
    assert Client().get("/api/panel/deal/1/", HTTP_AUTHORIZATION=f"Token {api_token.key}").status_code == 403
    assert Client().get("/api/panel/deal/1/", HTTP_AUTHORIZATION=f"Bearer {access}").status_code == 401
    button = Button.objects.get()
    click = bob.post(f"/api/buttons/{button.identifier}/click",
                     {"resource": "deal", "view": "details", "selectedIds": ["1"]}, content_type="application/json")
    assert click.status_code == 403
    panel = Client().get(panel_url(BOB))
    assert panel.status_code == 403
    assert "uninstalled" in panel.content.decode() and "Create invoice" not in panel.content.decode()
    # Alice, who did not uninstall, still sees the panel.
    assert "Create invoice" in Client().get(panel_url(ALICE)).content.decode()


def test_once_the_last_member_uninstalls_the_company_is_not_installed(installed: dict[str, Client]) -> None:
    uninstall(uninstall_body(BOB))
    uninstall(uninstall_body(ALICE))
    panel = Client().get(panel_url(ALICE))
    html = panel.content.decode()
    assert "OneClick is not installed for this company" in html and "Create invoice" not in html
    assert 'href="/pipedrive/install/"' in html
    # An uninstalled admin no longer manages buttons.
    button = Button.objects.get()
    for url in ("/admin/buttons/button/", "/admin/buttons/button/add/", f"/admin/buttons/button/{button.pk}/change/"):
        assert installed["alice"].get(url).status_code == 403, url
    assert "Create invoice" not in installed["alice"].get("/admin/").content.decode()


@pytest.mark.parametrize("credentials", [None, (CLIENT_ID, "wrong-secret"), ("another-app", CLIENT_SECRET), ("", "")])
def test_uninstall_without_the_apps_credentials_is_401(installed: dict[str, Client],
                                                       credentials: tuple[str, str] | None) -> None:
    response = uninstall(uninstall_body(BOB), credentials=credentials)
    assert response.status_code == 401
    assert response.json()["detail"].endswith(".")
    assert member(BOB).is_active


@pytest.mark.parametrize("authorization", [f"Bearer {CLIENT_SECRET}", "Basic not-base64!", "Basic",
                                           "Basic " + base64.b64encode(CLIENT_ID.encode()).decode()])
def test_uninstall_with_a_garbled_authorization_is_401(installed: dict[str, Client], authorization: str) -> None:
    response = Client().delete("/pipedrive/uninstall/", data=json.dumps(uninstall_body(BOB)),
                               content_type="application/json", HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 401
    assert member(BOB).is_active


@pytest.mark.parametrize("body", [
    b"not json",
    b"",
    [1, 2],
    {"client_id": CLIENT_ID, "company_id": 737569},
    {"client_id": CLIENT_ID, "user_id": 1108048},
    {"company_id": True, "user_id": 1108048},
    {"company_id": 737569, "user_id": None},
    {"company_id": {"id": 737569}, "user_id": 1108048},
    {"company_id": 737569, "user_id": "  "},
])
def test_a_malformed_uninstall_body_is_400(installed: dict[str, Client], body: Any) -> None:
    response = uninstall(body)
    assert response.status_code == 400
    assert response.json()["detail"].endswith(".")
    assert Member.objects.filter(is_active=True).count() == 2


def test_uninstall_accepts_ids_as_strings_and_tells_when_nothing_changed(installed: dict[str, Client]) -> None:
    response = uninstall({"client_id": CLIENT_ID, "company_id": "737569", "user_id": "1108048",
                          "timestamp": "2025-01-01T10:00:00.000Z"})
    assert response.status_code == 200 and not member(BOB).is_active
    again = uninstall(uninstall_body(BOB))
    assert again.status_code == 200 and "nothing changed" in again.json()["detail"]
    unknown = uninstall({**uninstall_body(BOB), "user_id": 424242})
    assert unknown.status_code == 200 and "nothing changed" in unknown.json()["detail"]
    assert member(ALICE).is_active


def test_uninstall_is_a_delete(installed: dict[str, Client]) -> None:
    for method in ("get", "post"):
        assert getattr(Client(), method)("/pipedrive/uninstall/").status_code == 405
    assert member(BOB).is_active


def test_installing_again_brings_the_member_back(installed: dict[str, Client], pipedrive_app: FakePipedrive) -> None:
    uninstall(uninstall_body(BOB))
    uninstall(uninstall_body(ALICE))
    alice = Client()
    assert install(alice, pipedrive_app, ALICE).status_code == 200
    assert member(ALICE).is_active and member(ALICE).is_company_admin
    assert not member(BOB).is_active  # only the one who installed again
    assert alice.get("/api/panel/deal/1/").status_code == 200
    assert alice.get("/admin/").status_code == 200
    assert "Create invoice" in Client().get(panel_url(ALICE)).content.decode()
    assert Client().get(panel_url(BOB)).status_code == 403
    assert Member.objects.count() == 2

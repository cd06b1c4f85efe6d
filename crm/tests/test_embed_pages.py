"""The panel inside a CRM: Pipedrive's custom panel, the signed embed, their bearer credential, who may frame."""

from __future__ import annotations

import base64
import json
import random
import re
import time
import warnings
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest
import time_machine
from django.core import signing
from django.core.exceptions import ValidationError
from django.test import Client
from jwt.warnings import InsecureKeyLengthWarning

from accounts.actions import create_member, rotate_embed_secret
from accounts.models import Company, Member
from buttons.models import Button, ClickEvent
from conftest import Receiver
from core.secrets import EMBED_SECRET_PREFIX, secret_key_bytes

PD_SECRET = "pipedrive-panel-jwt-secret-for-tests-0123456789"
OTHER_SECRET = "not-pipedrives-secret-but-just-as-long-0123456789"
PIPEDRIVE_FRAMERS = ["https://*.pipedrive.com", "https://pipedrive-framer.example.test"]
CRM_ORIGIN = "https://crm.example.test"
ALICE, COMPANY = "1108047", "737569"  # admin_member in conftest
A_LABEL, B_LABEL = "Create invoice", "Payroll of Other Inc"
CLICK = {"resource": "deal", "view": "details", "selectedIds": ["42"], "fields": None}


@pytest.fixture(autouse=True)
def _pipedrive_settings(settings: Any) -> None:
    settings.PIPEDRIVE_JWT_SECRET = PD_SECRET
    settings.EMBED_FRAME_ANCESTORS = PIPEDRIVE_FRAMERS


@pytest.fixture
def buttons(admin_member: Member, outsider: Member, make_button: Callable[..., Button]) -> dict[str, Button]:
    """A deal button in Acme (company A) and one in Other Inc (company B)."""
    return {"a": make_button(label=A_LABEL), "b": make_button(company=outsider.company, label=B_LABEL)}


def b64url(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def pd_claims(user_id: object = ALICE, company_id: object = COMPANY, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"userId": user_id, "companyId": company_id, "iat": now, "exp": now + 300, **extra}


def pd_token(claims: dict[str, Any] | None = None, key: str = PD_SECRET, algorithm: str = "HS256") -> str:
    return sign(claims if claims is not None else pd_claims(), key, algorithm)


def sign(claims: dict[str, Any], key: str | bytes, algorithm: str) -> str:
    with warnings.catch_warnings():  # HS512 with the (right) HS256-sized key: PyJWT warns, we want it anyway
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(claims, key, algorithm=algorithm)


def pd_panel(token: str | None = None, user_id: str = ALICE, company_id: str = COMPANY, **query: str) -> Any:
    params = {"userId": user_id, "companyId": company_id, "id": "f1b2c3", "resource": "deal", "view": "details",
              "selectedIds": "42", **query}
    if token is not None:
        params["token"] = token
    return Client().get(f"/pipedrive/panel/?{urlencode(params)}")


def csp(response: Any) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {parts[0]: parts[1:] for parts in (d.split() for d in header.split(";")) if parts}


def access_of(response: Any) -> str:
    """The bearer credential the panel page carries for its API calls."""
    match = re.search(r'data-access="([^"]+)"', response.content.decode())
    assert match, "the panel page carries no credential"
    return match.group(1)


def refusal_sentence(response: Any) -> str:
    html = response.content.decode()
    match = re.search(r'role="alert">.*?<p>(.+?)</p>', html, re.S)
    assert match, "the page says nothing"
    return match.group(1).strip()


def assert_shows_nothing(response: Any) -> None:
    html = response.content.decode()
    assert A_LABEL not in html and B_LABEL not in html
    assert "data-access=" not in html


# --- Pipedrive's custom panel -----------------------------------------------------------------------


def test_the_pipedrive_panel_shows_the_companys_deal_buttons(buttons: dict[str, Button]) -> None:
    response = pd_panel(pd_token())
    assert response.status_code == 200
    html = response.content.decode()
    assert A_LABEL in html and B_LABEL not in html
    assert 'data-object-id="42"' in html and 'data-sdk-id="f1b2c3"' in html
    assert "vendor/app-extensions-sdk/" in html  # Pipedrive's SDK, from our own origin
    assert csp(response)["frame-ancestors"] == PIPEDRIVE_FRAMERS
    assert csp(response)["script-src"] == ["'self'"]  # only framing is relaxed
    assert "X-Frame-Options" not in response
    assert not response.cookies  # nothing a third-party frame would need (or get)
    assert response["Cache-Control"] == "no-store"


def test_the_pipedrive_panel_shows_only_buttons_of_its_view_and_resource(
    admin_member: Member, make_button: Callable[..., Button]
) -> None:
    make_button(label="Person thing", resource="person")
    make_button(label="Deal list thing", view="list")
    make_button(label=A_LABEL)
    html = pd_panel(pd_token()).content.decode()
    assert A_LABEL in html and "Person thing" not in html and "Deal list thing" not in html


@pytest.mark.parametrize(("claims", "user_id", "company_id"), [
    ({"userId": 1108047, "companyId": 737569}, ALICE, COMPANY),
    ({"userId": "1108047", "companyId": "737569"}, ALICE, COMPANY),
    ({"user_id": 1108047, "company_id": 737569}, ALICE, COMPANY),
    ({"user_id": "1108047", "company_id": "737569"}, ALICE, COMPANY),
])
def test_the_ids_may_be_numbers_or_strings_under_either_name(
    buttons: dict[str, Button], claims: dict[str, Any], user_id: str, company_id: str
) -> None:
    response = pd_panel(pd_token({**claims, "exp": int(time.time()) + 300}), user_id, company_id)
    assert response.status_code == 200 and A_LABEL in response.content.decode()
    assert Member.objects.count() == 2  # alice was found, nobody was made


def no_token() -> None:
    return None


REFUSALS: dict[str, tuple[Callable[[], str | None], dict[str, str], str]] = {
    "missing token": (no_token, {}, "carries no token"),
    "empty token": (lambda: "", {}, "carries no token"),
    "not a JWT": (lambda: "not-a-jwt", {}, "not a JWT"),
    "bad signature": (lambda: pd_token(key=OTHER_SECRET), {}, "signature does not match"),
    "expired": (lambda: pd_token(pd_claims(exp=int(time.time()) - 3600)), {}, "expired"),
    "another user": (lambda: pd_token(pd_claims(user_id=1108048)), {}, "another user"),
    "another company": (lambda: pd_token(pd_claims(company_id=999001)), {}, "another company"),
    "query names another user": (pd_token, {"userId": "1108048"}, "another user"),
    "query names another company": (pd_token, {"companyId": "999001"}, "another company"),
    "no userId": (lambda: pd_token({"companyId": 737569, "exp": int(time.time()) + 300}), {}, "userId"),
    "alg none": (lambda: f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(pd_claims())}.", {}, "HS256"),
    "alg HS512": (lambda: pd_token(algorithm="HS512"), {}, "HS256"),
    "unknown resource": (pd_token, {"resource": "lead"}, "resource"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_bad_pipedrive_token_is_a_401_that_shows_nothing(buttons: dict[str, Button], case: str) -> None:
    make_token, query, words = REFUSALS[case]
    response = pd_panel(make_token(), **query)
    assert response.status_code == 401
    assert words in refusal_sentence(response)
    assert_shows_nothing(response)
    assert csp(response)["frame-ancestors"] == PIPEDRIVE_FRAMERS  # the sentence shows inside Pipedrive
    assert "X-Frame-Options" not in response
    assert Member.objects.count() == 2


def test_a_company_that_never_installed_is_told_how_to(db: None) -> None:
    response = pd_panel(pd_token(pd_claims(company_id=424242)), company_id="424242")
    html = response.content.decode()
    assert "OneClick is not installed for this company" in html
    assert 'href="/pipedrive/install/"' in html
    assert "data-access=" not in html
    assert not Company.objects.exists() and not Member.objects.exists()


def test_a_new_user_of_an_installed_company_joins_as_a_plain_member(buttons: dict[str, Button]) -> None:
    response = pd_panel(pd_token(pd_claims(user_id=2000001)), user_id="2000001")
    assert response.status_code == 200 and A_LABEL in response.content.decode()
    member = Member.objects.select_related("user").get(external_id="2000001")
    assert member.company.external_id == COMPANY and member.is_active
    assert not member.is_company_admin and not member.user.is_staff
    assert not member.user.has_usable_password()
    # The second open finds the same member.
    assert pd_panel(pd_token(pd_claims(user_id=2000001)), user_id="2000001").status_code == 200
    assert Member.objects.filter(external_id="2000001").count() == 1


def test_an_uninstalled_member_is_refused(buttons: dict[str, Button], teammate: Member) -> None:
    Member.objects.filter(pk=teammate.pk).update(is_active=False)
    response = pd_panel(pd_token(pd_claims(user_id=1108048)), user_id="1108048")
    assert response.status_code == 403
    assert "uninstalled" in refusal_sentence(response)
    assert_shows_nothing(response)
    session = Client().post("/pipedrive/session/", {"token": pd_token(pd_claims(user_id=1108048))},
                            content_type="application/json")
    assert session.status_code == 401 and "access" not in session.json()


def test_a_user_the_operator_deactivated_is_refused(buttons: dict[str, Button], teammate: Member) -> None:
    teammate.user.is_active = False
    teammate.user.save(update_fields=["is_active"])
    token = pd_token(pd_claims(user_id=1108048))
    assert new_session(token).status_code == 401
    response = pd_panel(token, user_id="1108048")
    assert response.status_code == 403 and "Your OneClick account is deactivated" in response.content.decode()
    assert_shows_nothing(response)


# --- The bearer credential --------------------------------------------------------------------------


def new_session(token: str, url: str = "/pipedrive/session/") -> Any:
    return Client(enforce_csrf_checks=True).post(url, {"token": token}, content_type="application/json")


def test_the_session_endpoint_gives_a_short_lived_credential(buttons: dict[str, Button]) -> None:
    response = new_session(pd_token())
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "expires_in"}
    assert 0 < body["expires_in"] <= 900
    assert not response.cookies
    api = Client().get("/api/panel/deal/42/", HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert api.status_code == 200
    assert [b["label"] for b in api.json()["buttons"]] == [A_LABEL]


@pytest.mark.parametrize("body", [
    {"token": "not-a-jwt"}, {"token": ""}, {}, {"token": 42},
    {"token": pd_token(key=OTHER_SECRET)},
    {"token": pd_token(pd_claims(exp=int(time.time()) - 3600))},
    {"token": pd_token(algorithm="HS512")},
])
def test_the_session_endpoint_refuses_a_bad_token(buttons: dict[str, Button], body: dict[str, Any]) -> None:
    response = Client(enforce_csrf_checks=True).post("/pipedrive/session/", body, content_type="application/json")
    assert response.status_code == 401
    assert response.json()["detail"].endswith(".") and "access" not in response.json()


def test_the_session_endpoint_refuses_a_company_that_is_not_installed(db: None) -> None:
    response = new_session(pd_token(pd_claims(company_id=424242)))
    assert response.status_code == 401 and "not installed" in response.json()["detail"]


def test_the_panel_pages_credential_works_for_the_api(buttons: dict[str, Button]) -> None:
    access = access_of(pd_panel(pd_token()))
    response = Client().get("/api/panel/deal/42/", HTTP_AUTHORIZATION=f"Bearer {access}")
    assert response.status_code == 200
    assert [b["label"] for b in response.json()["buttons"]] == [A_LABEL]


def test_a_bearer_click_needs_no_csrf_token_and_carries_the_members_ids(buttons: dict[str, Button]) -> None:
    access = new_session(pd_token(pd_claims(user_id=2000001))).json()["access"]
    response = Client(enforce_csrf_checks=True).post(
        f"/api/buttons/{buttons['a'].identifier}/click", CLICK, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {access}")
    assert response.status_code == 202
    event = ClickEvent.objects.get(pk=response.json()["event_id"])
    assert event.user.member.external_id == "2000001"
    assert (event.payload["userId"], event.payload["companyId"], event.payload["selectedIds"]) == (
        "2000001", COMPANY, "42")


@pytest.mark.django_db(transaction=True)
def test_a_bearer_click_reaches_the_webhook(admin_member: Member, make_button: Callable[..., Button],
                                            receiver: Receiver) -> None:
    button = make_button(url=receiver.url)
    access = access_of(pd_panel(pd_token()))
    response = Client(enforce_csrf_checks=True).post(
        f"/api/buttons/{button.identifier}/click", CLICK, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {access}")
    assert response.status_code == 202
    assert receiver.received.wait(10)
    sent = json.loads(receiver.requests[0]["body"])
    assert (sent["userId"], sent["companyId"], sent["event_id"]) == (ALICE, COMPANY, response.json()["event_id"])


def test_a_session_click_still_needs_its_csrf_token(buttons: dict[str, Button], admin_member: Member) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_member.user)
    url = f"/api/buttons/{buttons['a'].identifier}/click"
    refused = client.post(url, CLICK, content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert not ClickEvent.objects.exists()
    csrf = "a" * 32
    client.cookies["csrftoken"] = csrf
    assert client.post(url, CLICK, content_type="application/json", HTTP_X_CSRFTOKEN=csrf).status_code == 202


def test_a_bearer_request_needs_no_csrf_token_even_beside_a_session_cookie(
    buttons: dict[str, Button], teammate: Member
) -> None:
    """The CRM's frame and our own pages may share cookies (same site): the Bearer, which names the CRM's
    user, decides who clicks, as it does for the live stream, and it needs no CSRF token."""
    access = new_session(pd_token()).json()["access"]  # alice, in the CRM's frame
    client = Client(enforce_csrf_checks=True)
    client.force_login(teammate.user)  # bob is signed in to OneClick itself in this browser
    response = client.post(f"/api/buttons/{buttons['a'].identifier}/click", CLICK, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {access}")
    assert response.status_code == 202
    assert ClickEvent.objects.get().payload["userId"] == ALICE


def test_a_credential_of_company_a_cannot_reach_company_bs_button(buttons: dict[str, Button]) -> None:
    access = new_session(pd_token()).json()["access"]
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {access}"}
    b = buttons["b"].identifier
    client = Client(enforce_csrf_checks=True)
    assert client.post(f"/api/buttons/{b}/click", CLICK, content_type="application/json", **bearer).status_code == 404
    assert client.get(f"/api/buttons/{b}/messages?resource=deal&object_id=42", **bearer).status_code == 404
    assert not ClickEvent.objects.exists()


@pytest.mark.parametrize("make_credential", [
    lambda: "garbage",
    lambda: signing.dumps({"u": 1, "m": 1}),  # signed by us, but not a panel credential
    lambda: signing.dumps({"u": 1, "m": 1}, salt="oneclick.embed-access", key="another-server's-key"),
])
def test_a_garbage_bearer_is_401(buttons: dict[str, Button], make_credential: Callable[[], str]) -> None:
    response = Client(enforce_csrf_checks=True).post(
        f"/api/buttons/{buttons['a'].identifier}/click", CLICK, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {make_credential()}")
    assert response.status_code == 401 and response.json()["detail"].endswith(".")
    assert not ClickEvent.objects.exists()


def test_an_expired_bearer_is_401(buttons: dict[str, Button], settings: Any) -> None:
    access = new_session(pd_token()).json()["access"]
    with time_machine.travel(time.time() + settings.EMBED_ACCESS_SECONDS - 30):
        assert Client().get("/api/panel/deal/42/", HTTP_AUTHORIZATION=f"Bearer {access}").status_code == 200
    with time_machine.travel(time.time() + settings.EMBED_ACCESS_SECONDS + 30):
        response = Client().get("/api/panel/deal/42/", HTTP_AUTHORIZATION=f"Bearer {access}")
    assert response.status_code == 401 and "Reload the panel" in response.json()["detail"]


def test_a_credential_stops_when_its_member_is_uninstalled(buttons: dict[str, Button], admin_member: Member) -> None:
    access = new_session(pd_token()).json()["access"]
    Member.objects.filter(pk=admin_member.pk).update(is_active=False)
    assert Client().get("/api/panel/deal/42/", HTTP_AUTHORIZATION=f"Bearer {access}").status_code == 401


# --- The signed embed -------------------------------------------------------------------------------


def embed_key(company: Company, origins: str = CRM_ORIGIN) -> bytes:
    secret = rotate_embed_secret(company)
    company.embed_origins = origins
    company.save(update_fields=["embed_origins"])
    return secret_key_bytes(secret, EMBED_SECRET_PREFIX)


@pytest.fixture
def keys(buttons: dict[str, Button]) -> dict[str, bytes]:
    """Both companies set up for the signed embed, each with its own secret and origin."""
    return {"a": embed_key(buttons["a"].company), "b": embed_key(buttons["b"].company, "https://other.example.test")}


def embed_claims(company_id: object = COMPANY, user_id: object = ALICE, **extra: Any) -> dict[str, Any]:
    return {"companyId": company_id, "userId": user_id, "resource": "deal", "view": "details", "selectedIds": "42",
            "exp": int(time.time()) + 600, "name": "Alice from the CRM", **extra}


def embed_token(key: bytes, claims: dict[str, Any] | None = None, algorithm: str = "HS256") -> str:
    return sign(claims if claims is not None else embed_claims(), key, algorithm)


def embed_panel(token: str | None) -> Any:
    return Client().get("/embed/panel/" + (f"?{urlencode({'token': token})}" if token is not None else ""))


@pytest.mark.parametrize("selected", ["42", ["42"], 42])
def test_the_signed_embed_shows_the_companys_buttons(keys: dict[str, bytes], selected: object) -> None:
    response = embed_panel(embed_token(keys["a"], embed_claims(selectedIds=selected)))
    assert response.status_code == 200
    html = response.content.decode()
    assert A_LABEL in html and B_LABEL not in html and 'data-object-id="42"' in html
    assert "app-extensions-sdk" not in html  # not Pipedrive: no Pipedrive SDK
    assert csp(response)["frame-ancestors"] == [CRM_ORIGIN]
    assert "X-Frame-Options" not in response
    assert not response.cookies


def test_the_signed_embed_of_each_company_shows_its_own_buttons_and_origins(keys: dict[str, bytes]) -> None:
    b = embed_panel(embed_token(keys["b"], embed_claims(company_id=999001, user_id=555)))
    assert b.status_code == 200
    assert B_LABEL in b.content.decode() and A_LABEL not in b.content.decode()
    assert csp(b)["frame-ancestors"] == ["https://other.example.test"]
    a = embed_panel(embed_token(keys["a"]))
    assert A_LABEL in a.content.decode() and B_LABEL not in a.content.decode()


def test_several_origins_may_frame_the_signed_embed(keys: dict[str, bytes], buttons: dict[str, Button]) -> None:
    company = buttons["a"].company
    company.embed_origins = f"{CRM_ORIGIN}\n\nhttps://*.crm.example.test\nhttp://localhost:8080\n"
    company.full_clean()
    company.save()
    response = embed_panel(embed_token(keys["a"]))
    assert csp(response)["frame-ancestors"] == [CRM_ORIGIN, "https://*.crm.example.test", "http://localhost:8080"]


def test_a_company_without_origins_cannot_be_framed(buttons: dict[str, Button]) -> None:
    key = embed_key(buttons["a"].company, origins="")
    response = embed_panel(embed_token(key))
    assert response.status_code == 200
    assert csp(response)["frame-ancestors"] == ["'none'"]


def test_the_signed_embed_in_list_view(keys: dict[str, bytes], make_button: Callable[..., Button]) -> None:
    make_button(label="Export the deals", view="list")
    response = embed_panel(embed_token(keys["a"], embed_claims(view="list", selectedIds=["41", "42"])))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Export the deals" in html and A_LABEL not in html
    assert 'data-selected-ids="41,42"' in html


def test_a_new_user_of_the_signed_embed_joins_as_a_plain_member(keys: dict[str, bytes]) -> None:
    response = embed_panel(embed_token(keys["a"], embed_claims(user_id="u-77", name="Zoe Zed")))
    assert response.status_code == 200 and A_LABEL in response.content.decode()
    member = Member.objects.select_related("user").get(external_id="u-77")
    assert member.company.external_id == COMPANY
    assert not member.is_company_admin and not member.user.is_staff
    assert member.user.first_name == "Zoe Zed"
    access = access_of(response)
    click = Client(enforce_csrf_checks=True).post(
        f"/api/buttons/{Button.objects.get(label=A_LABEL).identifier}/click", CLICK,
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {access}")
    assert click.status_code == 202
    assert ClickEvent.objects.get().payload["userId"] == "u-77"


def test_an_uninstalled_member_is_refused_in_the_signed_embed(keys: dict[str, bytes], teammate: Member) -> None:
    Member.objects.filter(pk=teammate.pk).update(is_active=False)
    response = embed_panel(embed_token(keys["a"], embed_claims(user_id="1108048")))
    assert response.status_code == 403
    assert_shows_nothing(response)


# Each: the token, words of the sentence, and whether the company's key signed it (then the company's own
# origins may frame the sentence, for its developers to read; otherwise nobody may).
EMBED_REFUSALS: dict[str, tuple[Callable[[dict[str, bytes]], str | None], str, bool]] = {
    "missing token": (lambda k: None, "carries no token", False),
    "not a JWT": (lambda k: "a.b.c", "not a JWT", False),
    "bad signature": (lambda k: embed_token(b"k" * 32), "signature does not match", False),
    "another company's secret": (lambda k: embed_token(k["b"]), "signature does not match", False),
    "expired": (lambda k: embed_token(k["a"], embed_claims(exp=int(time.time()) - 3600)), "expired", True),
    "exp too far ahead": (lambda k: embed_token(k["a"], embed_claims(exp=int(time.time()) + 20 * 60)),
                          "within 15 minutes", True),
    "a day ahead": (lambda k: embed_token(k["a"], embed_claims(exp=int(time.time()) + 86400)), "within 15 minutes",
                    True),
    "missing exp": (lambda k: embed_token(k["a"], {key: value for key, value in embed_claims().items()
                                                   if key != "exp"}), "exp", True),
    "alg none": (lambda k: f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(embed_claims())}.", "HS256", False),
    "alg HS512": (lambda k: embed_token(k["a"], algorithm="HS512"), "HS256", False),
    "unknown company": (lambda k: embed_token(k["a"], embed_claims(company_id=31337)), "signature does not match",
                        False),
    "no record": (lambda k: embed_token(k["a"], embed_claims(selectedIds="")), "selectedIds", True),
    "bad resource": (lambda k: embed_token(k["a"], embed_claims(resource="lead")), "resource", True),
}


@pytest.mark.parametrize("case", list(EMBED_REFUSALS))
def test_a_bad_signed_embed_token_is_a_401_that_shows_nothing(keys: dict[str, bytes], case: str) -> None:
    make_token, words, signed = EMBED_REFUSALS[case]
    response = embed_panel(make_token(keys))
    assert response.status_code == 401
    assert words in refusal_sentence(response)
    assert_shows_nothing(response)
    assert "X-Frame-Options" not in response
    assert csp(response)["frame-ancestors"] == ([CRM_ORIGIN] if signed else ["'none'"])
    assert Member.objects.count() == 2


def test_an_unknown_company_reads_exactly_like_a_bad_signature(keys: dict[str, bytes]) -> None:
    """Nothing in the answer tells whether a company id exists, nor what it allows."""
    unknown = embed_panel(embed_token(b"k" * 32, embed_claims(company_id=31337)))
    forged = embed_panel(embed_token(b"k" * 32, embed_claims(company_id=COMPANY)))
    assert (unknown.status_code, unknown.content) == (forged.status_code, forged.content)
    assert unknown["Content-Security-Policy"] == forged["Content-Security-Policy"]
    assert CRM_ORIGIN not in forged["Content-Security-Policy"]


def test_a_company_without_an_embed_secret_refuses_every_token(buttons: dict[str, Button]) -> None:
    response = embed_panel(embed_token(b"k" * 32, embed_claims()))
    assert response.status_code == 401
    assert "signature does not match" in refusal_sentence(response)


def test_rotating_the_embed_secret_stops_the_old_tokens(keys: dict[str, bytes], buttons: dict[str, Button]) -> None:
    old = embed_token(keys["a"])
    assert embed_panel(old).status_code == 200
    new_key = embed_key(buttons["a"].company)
    assert embed_panel(old).status_code == 401
    assert embed_panel(embed_token(new_key)).status_code == 200


def test_the_signed_embed_session_renews_the_credential(keys: dict[str, bytes]) -> None:
    response = new_session(embed_token(keys["a"]), "/embed/session/")
    assert response.status_code == 200 and 0 < response.json()["expires_in"] <= 900
    api = Client().get("/api/panel/deal/42/", HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    assert [b["label"] for b in api.json()["buttons"]] == [A_LABEL]
    assert new_session(embed_token(b"k" * 32), "/embed/session/").status_code == 401


# --- Every other page stays unframeable ----------------------------------------------------------------


def test_every_other_page_refuses_to_be_framed(admin_member: Member) -> None:
    client = Client()
    pages = [client.get("/login/")]
    client.force_login(admin_member.user)
    pages += [client.get("/panel/deal/42/"), client.get("/"), client.get("/admin/")]
    for page in pages:
        assert page.status_code == 200
        assert page["X-Frame-Options"] == "DENY"
        assert csp(page)["frame-ancestors"] == ["'none'"]


# --- The company's allowed origins ----------------------------------------------------------------


@pytest.mark.parametrize("origins", [
    "https://x.test/path",
    "javascript:alert(1)",
    "https://a.test; script-src *",
    f"{CRM_ORIGIN}\nhttps://a.test; script-src *",
    "https://a.test 'unsafe-inline'",
    "'none'",
    "*",
    "https://*",
    "https://a.test?x=1",
    "https://user@a.test",
    "data:",
])
def test_the_allowed_origins_take_origins_only(admin_member: Member, origins: str) -> None:
    company = admin_member.company
    company.embed_origins = origins
    with pytest.raises(ValidationError) as refused:
        company.full_clean()
    assert "embed_origins" in refused.value.message_dict


def test_well_formed_origins_are_accepted(admin_member: Member) -> None:
    company = admin_member.company
    company.embed_origins = f"{CRM_ORIGIN}\nhttps://*.crm.example.test\nhttp://localhost:8080"
    company.full_clean()  # no error
    assert company.allowed_origins() == [CRM_ORIGIN, "https://*.crm.example.test", "http://localhost:8080"]


def test_a_member_made_by_createmember_opens_the_signed_embed_too(keys: dict[str, bytes]) -> None:
    create_member("carol", "pw-carol-123", COMPANY, user_external_id="carol-crm-id")
    response = embed_panel(embed_token(keys["a"], embed_claims(user_id="carol-crm-id")))
    assert response.status_code == 200
    assert Member.objects.filter(external_id="carol-crm-id").count() == 1


# --- A deal's pipeline and stage from the signed embed's claims (visibility rules) -------------------


def test_the_signed_embeds_stage_claims_decide_a_stage_limited_button(
    keys: dict[str, bytes], make_button: Callable[..., Button]
) -> None:
    contract = make_button(label="Send contract")
    contract.visibility = {"pipelines": [1], "stages": [4]}
    contract.save()
    negotiating = embed_panel(embed_token(keys["a"], embed_claims(pipelineId=1, stageId="4")))
    assert "Send contract" in negotiating.content.decode()
    proposal = embed_panel(embed_token(keys["a"], embed_claims(pipelineId=1, stageId=3)))
    assert "Send contract" not in proposal.content.decode()
    silent = embed_panel(embed_token(keys["a"]))  # the token says nothing of the deal's place
    assert "Send contract" not in silent.content.decode()
    assert "this page&#x27;s token does not give both the deal&#x27;s pipelineId and stageId" in \
        silent.content.decode()
    # The claims ride in the page's credential: its API and its click answer the same, and a renewal with
    # a token from after the deal moved follows the move.
    api = Client(HTTP_AUTHORIZATION=f"Bearer {access_of(proposal)}")
    assert [b["label"] for b in api.get("/api/panel/deal/42/").json()["buttons"]] == [A_LABEL]
    refused = api.post(f"/api/buttons/{contract.identifier}/click", CLICK, content_type="application/json")
    assert refused.status_code == 404 and not ClickEvent.objects.filter(button=contract).exists()
    renewed = Client().post("/embed/session/", {"token": embed_token(keys["a"], embed_claims(pipelineId=1,
                                                                                             stageId=4))},
                            content_type="application/json")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {renewed.json()['access']}")
    assert "Send contract" in [b["label"] for b in api.get("/api/panel/deal/42/").json()["buttons"]]


@pytest.mark.parametrize("claim", [{"stageId": {"id": 4}}, {"pipelineId": True}, {"stageId": "x" * 65}])
def test_a_stage_claim_that_is_no_id_is_refused(keys: dict[str, bytes], claim: dict[str, Any]) -> None:
    response = embed_panel(embed_token(keys["a"], embed_claims(**claim)))
    assert response.status_code == 401
    assert f"its {next(iter(claim))} claim is not an id" in refusal_sentence(response)


def test_a_record_claim_of_4_kb_rides_in_a_credential_the_api_accepts(keys: dict[str, bytes]) -> None:
    # Incompressible values: the credential's worst case for its size.
    noise = random.Random(7)
    record = {f"field_{n:02}": base64.b64encode(noise.randbytes(18)).decode() for n in range(100)}
    assert 3900 < len(json.dumps(record)) <= 4096
    page = embed_panel(embed_token(keys["a"], embed_claims(record=record)))
    assert page.status_code == 200
    access = access_of(page)
    assert len(access) < 8000
    api = Client(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert api.get("/api/panel/deal/42/").status_code == 200
    token = embed_token(keys["a"], embed_claims(record=record))
    assert len(f"/embed/panel/?{urlencode({'token': token})}") < 8000
    renewed = Client().post("/embed/session/", {"token": token}, content_type="application/json")
    assert renewed.status_code == 200 and len(renewed.json()["access"]) < 8000
    too_big = embed_panel(embed_token(keys["a"], embed_claims(record={**record, "field_00": "x" * 200})))
    assert too_big.status_code == 401 and "record is over 4 KB" in refusal_sentence(too_big)

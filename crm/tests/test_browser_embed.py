"""The panel inside a CRM, in a real browser: a host page on another site (http://localhost:<port>, the
app being on 127.0.0.1) frames it, as Pipedrive frames a custom panel or any CRM a signed embed.

The host is static/demo-crm.js (the local mode's demo CRM), speaking Pipedrive's SDK protocol as
Pipedrive does (the SDK's dist: each message {id, payload} with a MessagePort for the answer) or the
signed embed's messages; every command it receives is recorded. Third-party cookies are blocked (the
browser's default for these contexts, and said again through DevTools), so nothing may rely on one.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest

from accounts.actions import create_member, rotate_embed_secret
from accounts.models import Member
from buttons.models import Button, ClickEvent
from core.secrets import EMBED_SECRET_PREFIX, secret_key_bytes
from testing.browser import app_on_test_database, chromium, free_port, require_chromium
from testing.hooks import JsonHook, QuietHandler

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

require_chromium()

PIPEDRIVE_SECRET = "browser-test-pipedrive-jwt-secret-0123456789abcdef"
ACCESS_SECONDS = 12  # short, so the scenario outlives one bearer credential and must renew it
HOST_PORT = free_port()
OTHER_PORT = free_port()  # a host whose origin is on no list
COMPANY, USER = "737569", "1108048"


class Host:
    """The CRM's pages and its server side (which signs the panel's tokens), on localhost."""

    def __init__(self, port: int) -> None:
        self.app = ""
        self.company: Any = None
        self.tokens_signed = 0
        host = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                if path == "/token":
                    host.tokens_signed += 1
                    token = host.pipedrive_token() if "pipedrive" in query else host.embed_token()
                    self._send(json.dumps({"token": token}), "application/json")
                elif path in ("/pipedrive", "/signed"):
                    self._send(host.page(path.strip("/"), expired="expired" in query), "text/html")
                else:
                    self.send_error(404)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def pipedrive_token(self, lifetime: int = 300) -> str:
        return jwt.encode({"userId": int(USER), "companyId": int(COMPANY), "exp": int(time.time()) + lifetime},
                          PIPEDRIVE_SECRET, algorithm="HS256")

    def embed_token(self) -> str:
        claims = {"companyId": COMPANY, "userId": USER, "resource": "deal", "view": "details", "selectedIds": "42",
                  "name": "Bob", "exp": int(time.time()) + 600}
        key = secret_key_bytes(self.company.embed_secret, EMBED_SECRET_PREFIX)
        return jwt.encode(claims, key, algorithm="HS256")

    def page(self, kind: str, expired: bool = False) -> str:
        if kind == "pipedrive":
            query = {"resource": "deal", "view": "details", "selectedIds": "42", "id": "panel-7f3a", "userId": USER,
                     "companyId": COMPANY, "theme": "light",
                     "token": self.pipedrive_token(-60 if expired else 300)}
            src = f"{self.app}/pipedrive/panel/?{urlencode(query)}"
        else:
            src = f"{self.app}/embed/panel/?{urlencode({'token': self.embed_token()})}"
        return (f'<!doctype html><title>CRM</title><ol id="host-log"></ol>'
                f'<iframe id="crm-panel" style="width:360px;height:200px;border:0" src="{src}" data-host="{kind}" '
                f'data-app-origin="{self.app}" data-token-url="/token?{kind}" data-theme="light"></iframe>'
                f'<script src="{self.app}/static/demo-crm.js"></script>')

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def drafting_hook() -> JsonHook:
    """The button's webhook receiver: records each payload and answers with a message."""
    return JsonHook(lambda _: {"message_type": "success", "message": "Invoice <b>drafted</b>"})


@pytest.fixture(scope="module")
def app_url(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    env = {"PIPEDRIVE_JWT_SECRET": PIPEDRIVE_SECRET, "EMBED_FRAME_ANCESTORS": f"http://localhost:{HOST_PORT}",
           "EMBED_ACCESS_SECONDS": str(ACCESS_SECONDS)}
    with app_on_test_database(django_db_blocker, env) as base:
        yield base


@pytest.fixture
def host(app_url: str) -> Iterator[Host]:
    instance = Host(HOST_PORT)
    instance.app = app_url
    yield instance
    instance.close()


@pytest.fixture
def automation() -> Iterator[JsonHook]:
    instance = drafting_hook()
    yield instance
    instance.close()


@pytest.fixture
def crm(db: None, automation: JsonHook) -> Member:
    create_member("alice", "pw-alice-123", COMPANY, company_name="Acme", user_external_id="1108047", is_admin=True)
    member = create_member("bob", "pw-bob-123", COMPANY, user_external_id=USER)
    company = member.company
    company.embed_origins = f"http://localhost:{HOST_PORT}"
    company.save()
    rotate_embed_secret(company)
    Button.objects.create(company=company, label="Create invoice", url=automation.url, resource="deal",
                          messaging_enabled=True)
    return member


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 900, "height": 900})
    # What the frame said and which calls failed: printed with a failure's captured output.
    ctx.on("console", lambda message: print("console:", message.type, message.text))
    ctx.on("response", lambda response: response.status >= 400 and print("HTTP", response.status, response.url))
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as instance:
        yield instance


def block_third_party_cookies(context: Any, page: Any) -> None:
    context.new_cdp_session(page).send("Network.setCookieControls", {
        "enableThirdPartyCookieRestriction": True, "disableThirdPartyCookieMetadata": True,
        "disableThirdPartyCookieHeuristics": True,
    })


def received(page: Any, kind: str, name: str | None = None) -> list[dict[str, Any]]:
    items = page.evaluate("window.oneclickHost.received")
    return [i for i in items if i.get("kind") == kind and (name is None or name in (i.get("command"), i.get("event")))]


def wait_until(check: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def post_message(app: str, event_id: str, text: str) -> None:
    request = urllib.request.Request(f"{app}/api/trigger-message", headers={"Content-Type": "application/json"},
                                     data=json.dumps({"event_id": event_id, "message": text}).encode())
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201


def test_pipedrive_panel_in_a_foreign_frame(crm: Member, host: Host, automation: JsonHook, context: Any,
                                            app_url: str) -> None:
    host.company = crm.company
    page = context.new_page()
    block_third_party_cookies(context, page)
    started = time.monotonic()
    page.goto(f"http://localhost:{HOST_PORT}/pipedrive")
    frame = page.frame_locator("#crm-panel")
    press = frame.get_by_role("button", name="Create invoice", exact=True)
    press.wait_for()

    # The SDK initialized within Pipedrive's 10 s, with the content's height, and follows the theme.
    init = wait_until(lambda: received(page, "command", "initialize"))
    assert time.monotonic() - started < 10
    assert 100 <= init[0]["args"]["size"]["height"] <= 750
    wait_until(lambda: received(page, "listener", "user_settings_change"))

    # A click: the webhook says who clicked as the token did; the answer shows in the frame.
    press.click()
    wait_until(lambda: automation.payloads)
    payload = automation.payloads[0]
    assert (payload["userId"], payload["companyId"], payload["selectedIds"]) == (USER, COMPANY, "42")
    frame.locator(".btn-status", has_text="Invoice drafted").wait_for()

    # A custom message arrives live; the envelope turns blue, reading it turns it grey.
    event = ClickEvent.objects.get(pk=payload["event_id"])
    assert event.user_id == crm.user_id
    post_message(app_url, payload["event_id"], "Sent to <b>accounting</b>")
    envelope = frame.locator('[data-role="envelope"]')
    wait_until(lambda: envelope.get_attribute("class") == "envelope envelope-blue")
    envelope.click()
    frame.locator(".log-list", has_text="Sent to accounting").wait_for()
    # The open log needs room: the frame was asked to grow, and did.
    wait_until(lambda: any(c["args"].get("height", 0) >= 560 for c in received(page, "command", "resize")))
    assert page.locator("#crm-panel").bounding_box()["height"] >= 560
    frame.get_by_role("button", name="Close the message log").click()
    wait_until(lambda: envelope.get_attribute("class") == "envelope envelope-grey")
    wait_until(lambda: any(c["args"]["height"] < 560 for c in received(page, "command", "resize")[-1:]))

    # Pipedrive's theme change reaches the panel.
    page.evaluate("window.oneclickHost.setTheme('dark')")
    wait_until(lambda: frame.locator("html").get_attribute("data-theme") == "dark")

    # Past its credential's lifetime the panel still works: it renewed through the SDK's signed token.
    wait_until(lambda: received(page, "command", "get_signed_token"), timeout=ACCESS_SECONDS + 5)
    time.sleep(max(0.0, started + ACCESS_SECONDS + 2 - time.monotonic()))
    press.click()
    wait_until(lambda: len(automation.payloads) == 2)
    frame.locator(".btn-status", has_text="Invoice drafted").wait_for()
    assert frame.locator("#embed-session").is_hidden()

    # No cookie of the app was stored, and none was needed.
    assert [c for c in context.cookies() if "127.0.0.1" in c["domain"]] == []


def test_signed_embed_in_a_listed_origin_only(crm: Member, host: Host, automation: JsonHook, context: Any,
                                             app_url: str) -> None:
    host.company = crm.company
    page = context.new_page()
    block_third_party_cookies(context, page)
    page.goto(f"http://localhost:{HOST_PORT}/signed")
    frame = page.frame_locator("#crm-panel")
    frame.get_by_role("button", name="Create invoice", exact=True).click()
    wait_until(lambda: automation.payloads)
    assert (automation.payloads[0]["userId"], automation.payloads[0]["companyId"]) == (USER, COMPANY)
    frame.locator(".btn-status", has_text="Invoice drafted").wait_for()
    # The host is told the content's height and sizes the frame to it.
    wait_until(lambda: received(page, "resize"))
    wait_until(lambda: page.locator("#crm-panel").bounding_box()["height"] == received(page, "resize")[-1]["height"])
    page.evaluate("window.oneclickHost.setTheme('dark')")
    wait_until(lambda: frame.locator("html").get_attribute("data-theme") == "dark")
    assert [c for c in context.cookies() if "127.0.0.1" in c["domain"]] == []

    # The same page on an origin the company did not list: the browser refuses to show the panel.
    other = Host(OTHER_PORT)
    other.app, other.company = app_url, crm.company
    try:
        blocked = context.new_page()
        blocked.goto(f"http://localhost:{OTHER_PORT}/signed")
        blocked.wait_for_load_state("load")  # subframes included: the refused one too
        child = next(f for f in blocked.frames if f != blocked.main_frame)
        assert child.locator("#panel").count() == 0
        assert "Create invoice" not in (child.content() if child.url.startswith("http") else "")
    finally:
        other.close()


def test_a_refused_pipedrive_panel_still_initializes_so_pipedrive_shows_its_sentence(
    crm: Member, host: Host, context: Any
) -> None:
    host.company = crm.company
    page = context.new_page()
    page.goto(f"http://localhost:{HOST_PORT}/pipedrive?expired")
    frame = page.frame_locator("#crm-panel")
    frame.get_by_text("This panel's token has expired").wait_for()
    assert frame.get_by_role("button", name="Create invoice", exact=True).count() == 0
    init = wait_until(lambda: received(page, "command", "initialize"))
    assert 100 <= init[0]["args"]["size"]["height"] <= 750


def test_inside_pipedrive_a_message_of_ones_own_click_is_a_snackbar(
    crm: Member, host: Host, automation: JsonHook, context: Any, app_url: str
) -> None:
    host.company = crm.company
    page = context.new_page()
    page.goto(f"http://localhost:{HOST_PORT}/pipedrive")
    frame = page.frame_locator("#crm-panel")
    frame.get_by_role("button", name="Create invoice", exact=True).click()
    # The webhook's answer, with the log closed: Pipedrive's snackbar says it, as plain text.
    first = wait_until(lambda: received(page, "command", "show_snackbar"))
    assert first[0]["args"] == {"message": "Create invoice: Invoice drafted"}
    # A burst: at most one snackbar every 2 s, then the count of what came meanwhile.
    event_id = automation.payloads[0]["event_id"]
    for text in ("Step 1", "Step 2", "Step <b>3</b> " + "x" * 120):
        post_message(app_url, event_id, text)
    shown = wait_until(lambda: len(received(page, "command", "show_snackbar")) >= 2 and
                       received(page, "command", "show_snackbar"))
    assert shown[1]["args"] == {"message": "3 new messages"}
    # Someone else's message is not announced, and an open log announces nothing either.
    frame.locator('[data-role="envelope"]').click()
    post_message(app_url, event_id, "Read it here")
    frame.locator(".log-list", has_text="Read it here").wait_for()
    page.wait_for_timeout(2500)
    assert len(received(page, "command", "show_snackbar")) == 2


def test_a_long_message_makes_a_snackbar_of_at_most_100_characters(
    crm: Member, host: Host, automation: JsonHook, context: Any, app_url: str
) -> None:
    host.company = crm.company
    page = context.new_page()
    page.goto(f"http://localhost:{HOST_PORT}/pipedrive")
    frame = page.frame_locator("#crm-panel")
    frame.get_by_role("button", name="Create invoice", exact=True).click()
    wait_until(lambda: received(page, "command", "show_snackbar"))
    page.wait_for_timeout(2100)
    post_message(app_url, automation.payloads[0]["event_id"], "Sent to <b>accounting</b>: " + "y" * 150)
    shown = wait_until(lambda: len(received(page, "command", "show_snackbar")) >= 2 and
                       received(page, "command", "show_snackbar"))
    text = shown[1]["args"]["message"]
    assert len(text) == 100 and text.startswith("Create invoice: Sent to accounting: yyy") and text.endswith("…")


def test_inside_pipedrive_the_confirmation_is_pipedrives_own(
    crm: Member, host: Host, automation: JsonHook, context: Any, app_url: str
) -> None:
    host.company = crm.company
    Button.objects.filter(company=crm.company).update(confirm=True, confirm_text="Draft the invoice now?")
    page = context.new_page()
    page.goto(f"http://localhost:{HOST_PORT}/pipedrive")
    press = page.frame_locator("#crm-panel").get_by_role("button", name="Create invoice", exact=True)
    press.wait_for()
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    press.click()
    page.wait_for_timeout(2000)  # a plain wait: the host's dialog holds its page's scripts until answered
    assert asked == ["Draft the invoice now?"]
    assert received(page, "command", "show_confirmation")[0]["args"]["title"] == "Draft the invoice now?"
    assert automation.payloads == []  # cancelled: nothing sent
    assert page.frame_locator("#crm-panel").locator("#ask").evaluate("n => n.open") is False  # no second ask
    page.once("dialog", lambda dialog: dialog.accept())
    press.click()
    page.wait_for_timeout(2000)
    wait_until(lambda: automation.payloads)
    page.frame_locator("#crm-panel").locator(".btn-status", has_text="Invoice drafted").wait_for()

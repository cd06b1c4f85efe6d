"""Take docs/screenshots/panel.png and log.png (and -dark twins): a seeded throw-away database, the real app, Chromium.

    .venv/bin/python docs/screenshots/take.py
    .venv/bin/python docs/screenshots/take.py --crm http://localhost:8000   # crm, redirect, crm-list-narrow, rules

The second form photographs the demo CRM page of a running `./run` (the panel inside another site's
frame, answered by the built-in demo automation).
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DB = ROOT / "var" / "screenshots.sqlite3"
os.environ.update({
    "DJANGO_SETTINGS_MODULE": "oneclick.test_settings", "DATABASE_URL": f"sqlite:///{DB}",
    "CELERY_BROKER_URL": "filesystem://",
})


def seed() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    from django.utils import timezone

    from accounts.actions import create_member
    from buttons.models import Button, ClickEvent
    from messaging.models import Message

    call_command("migrate", verbosity=0)
    dana = create_member("dana", "pw-dana-123", "737569", company_name="Acme Sales", user_external_id="11")
    now = timezone.now()

    def button(label: str, **values: object) -> Button:
        base = {"company": dana.company, "label": label, "url": "https://hooks.example.com/x",
                "resource": "deal", "messaging_enabled": True}
        return Button.objects.create(**{**base, **values})

    clicks: dict[tuple[int, float], ClickEvent] = {}

    def say(b: Button, minutes: float, content: str, kind: str = "info", read: bool = False,
            source: str = "custom", redirect: str = "", click: float | None = None) -> None:
        """A message `minutes` ago, answering the click made `click` minutes ago (its own, if None)."""
        at = now - timedelta(minutes=minutes)
        clicked = now - timedelta(minutes=click if click is not None else minutes)
        key = (b.pk, click if click is not None else minutes)
        if key not in clicks:
            clicks[key] = ClickEvent.objects.create(
                button=b, company=dana.company, user=dana.user, resource="deal", view="details",
                object_id="21389", created_at=clicked, window_ends_at=clicked + timedelta(seconds=45))
        Message.objects.create(event=clicks[key], button=b, company=dana.company, resource="deal",
                               object_id="21389", recipient=dana.user, source=source, message_type=kind,
                               content=content, redirect_url=redirect, created_at=at, read_at=at if read else None)

    invoice = button("Create invoice")
    sync = button("Sync to accounting", disable_on_unread_error=True)
    vat = button("Check VAT number", messages_public=True)
    button("Send contract for signature")
    button("Open in maps", kind="link", url="https://www.openstreetmap.org/", messaging_enabled=False)
    say(invoice, 180, "Started the invoice scenario.", read=True, source="http_response", click=180)
    say(invoice, 179.7, "Invoice <b>INV-2041</b> created for <i>Globex</i>.", "success", read=True, click=180)
    say(invoice, 179.5, "Could not reach the bank: <b>timed out after 40 s</b>.", "error", read=True, click=180)
    say(invoice, 3, "Started the invoice scenario.", source="http_response", click=3)
    say(invoice, 2.8, "VAT number missing on the organization: used the default rate.", "warning", click=3)
    say(invoice, 2.6, "Invoice <b>INV-2042</b> created. <a href=\"https://billing.example.com/inv/2042\">Open "
        "it in Billing</a>", "success", redirect="https://billing.example.com/inv/2042", click=3)
    say(sync, 12, "Could not sync <b>deal 21389</b>: the accounting system answered 422 (customer has no "
        "VAT id).", "error", source="http_response")
    say(vat, 60 * 26, "VAT number <b>DE811907980</b> is valid.", "success", read=True)
    # An admin, and a button whose automation answers what OneClick will not show (test-click.png).
    create_member("alex", "pw-alex-123", "737569", user_external_id="12", is_admin=True)
    button("Draft quote", url=f"{RECEIVER}/quote", fields=[
        {"label": "Deal", "kind": "record", "source": "title"},
        {"label": "Value", "kind": "record", "source": "value"},
        {"label": "Valid until", "type": "date", "required": True},
        {"label": "Discount (%)", "key": "discount", "type": "number"},
        {"label": "Send to", "type": "email", "required": True},
        {"label": "Products", "type": "multiselect", "options": ["Licences", "Support", "Training"]},
        {"label": "Language", "type": "select", "options": ["English", "German", "French"]},
        {"label": "Note to the customer", "type": "textarea"},
        {"label": "Send me a copy", "type": "boolean"}])


RECEIVER = "http://127.0.0.1:8799"


def receiver() -> None:
    """An automation whose answer carries a <script>: the test click page says why it was not shown."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b'{"message": "Quote <b>Q-311</b> drafted<script>track()</script>", "message_type": "success"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 8799), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()


def main() -> None:
    DB.unlink(missing_ok=True)
    seed()
    from testing.browser import app_server, chromium, log_in

    out = Path(__file__).parent
    with app_server(f"sqlite:///{DB}", broker_url="filesystem://") as base, chromium() as browser:
        for scheme, suffix in (("light", ""), ("dark", "-dark")):
            page = browser.new_page(viewport={"width": 1040, "height": 720}, device_scale_factor=1,
                                    color_scheme=scheme)
            log_in(page, base, "dana", "pw-dana-123", "/panel/deal/21389/")
            page.wait_for_selector('#live[data-state="poll"]')
            page.screenshot(path=str(out / f"panel{suffix}.png"))
            # Keep the unread markers on screen for the picture: reads never reach the server.
            page.route("**/messages/read", lambda route: route.fulfill(status=503, body="{}"))
            page.click('.btn-row[data-label="Create invoice"] [data-role="envelope"]')
            page.wait_for_selector("#log-list .msg >> nth=5")
            page.wait_for_timeout(400)
            page.screenshot(path=str(out / f"log{suffix}.png"))
            page.keyboard.press("Escape")
            # What a button asks before its click (values of the record: none without a CRM here).
            page.click('.btn-row[data-label="Draft quote"] [data-role="press"]')
            page.wait_for_selector("#ask[open] .ask-field")
            page.fill("#ask-send_to", "ap@globex.example")
            page.check('input[name="products"][value="Licences"]')
            page.set_viewport_size({"width": 1040, "height": 860})
            page.evaluate("document.querySelector('.ask-fields').scrollTop = 0")
            page.wait_for_timeout(300)
            page.screenshot(path=str(out / f"ask{suffix}.png"))
            page.close()
        receiver()
        page = browser.new_page(viewport={"width": 1040, "height": 860}, device_scale_factor=1)
        log_in(page, base, "alex", "pw-alex-123", "/admin/")
        page.goto(f"{base}/admin/buttons/button/")
        page.get_by_role("link", name="Draft quote").click()
        page.goto(page.url.replace("/change/", "/test-click/"))
        page.click('input[type="submit"]')
        page.locator('[data-role="replaced"]:not([hidden])').wait_for(timeout=15000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(out / "test-click.png"))
        page.close()
        browser.close()
    DB.unlink(missing_ok=True)
    print(f"Saved panel.png, log.png and their -dark twins, and test-click.png in {out}")


def crm(base: str) -> None:
    from testing.browser import chromium, log_in

    out = Path(__file__).parent
    base = base.rstrip("/")
    with chromium() as browser:
        for scheme, suffix in (("light", ""), ("dark", "-dark")):
            page = browser.new_page(viewport={"width": 1120, "height": 700}, device_scale_factor=1,
                                    color_scheme=scheme)
            page.goto(f"{base}/demo/crm/?theme={scheme}")
            frame = page.frame_locator("#crm-panel")
            frame.get_by_role("button", name="Create invoice", exact=True).click()
            # The demo's redirect comes after the browser's few seconds of user activation: offered. (A plain
            # sleep: Playwright's own waiting would lend the page a gesture, and the tab would open.)
            page.wait_for_timeout(12000)
            frame.locator("a.btn-open").wait_for(timeout=20000)
            page.screenshot(path=str(out / f"crm{suffix}.png"))
            page.wait_for_timeout(400)
            frame.locator(".btn-row", has=frame.locator("a.btn-open")).screenshot(
                path=str(out / f"redirect{suffix}.png"))
            page.close()
        # 390 px wide (a phone): the Open button inside the demo CRM's frame, ...
        page = browser.new_page(viewport={"width": 390, "height": 700}, device_scale_factor=1)
        page.goto(f"{base}/demo/crm/?deal=43")
        frame = page.frame_locator("#crm-panel")
        frame.get_by_role("button", name="Create invoice", exact=True).click()
        page.wait_for_timeout(12000)
        frame.locator("a.btn-open").wait_for(timeout=20000)
        page.locator("#crm-panel").screenshot(path=str(out / "redirect-narrow.png"))
        page.close()
        # ... the demo's Send quote, asking with the pretend deal's values, ...
        page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1)
        page.goto(f"{base}/demo/crm/?deal=42")
        frame = page.frame_locator("#crm-panel")
        frame.get_by_role("button", name="Send quote", exact=True).click()
        frame.locator("#ask[open] .ask-field").first.wait_for()
        page.wait_for_timeout(600)
        page.locator("#crm-panel").screenshot(path=str(out / "ask-crm-narrow.png"))
        page.close()
        # ... and the demo CRM's list of deals, two ticked, the list button's answer.
        page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1)
        page.goto(f"{base}/demo/crm/?deal=list")
        page.check('input[value="42"]')
        page.check('input[value="43"]')
        frame = page.frame_locator("#crm-panel")
        frame.get_by_role("button", name="Export selection", exact=True).click()
        frame.locator(".btn-status", has_text="deals").wait_for(timeout=15000)
        page.wait_for_timeout(600)
        page.screenshot(path=str(out / "crm-list-narrow.png"), full_page=True)
        page.close()
        # The admin's rule editor of the demo's Send contract (shown on deals in "Negotiations started").
        page = browser.new_page(viewport={"width": 1120, "height": 900}, device_scale_factor=1)
        log_in(page, base.replace("localhost", "127.0.0.1"), "admin", "oneclick-admin", "/admin/")
        page.goto(f"{base.replace('localhost', '127.0.0.1')}/admin/buttons/button/?q=Send+contract")
        page.get_by_role("link", name="Send contract", exact=True).click()
        rules = page.locator("fieldset.oneclick-rules")
        rules.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        rules.screenshot(path=str(out / "rules.png"))
        page.close()
    print(f"Saved crm.png, redirect.png (and -dark twins), crm-list-narrow.png and rules.png in {out}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--crm"]:
        crm(sys.argv[2] if len(sys.argv) > 2 else "http://localhost:8000")
    else:
        main()
